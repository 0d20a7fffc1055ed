"""Every layer as OGC API – Features (read) and transactional REST (write) under /api/v1.

Routes only translate the request and call :mod:`api.ogc` (documents, listing) or
:mod:`api.features` (one feature, writes, history).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api import features, ogc
from api.deps import JurisdictionQ, LangDep, PrincipalDep, SessionDep, session_dep
from api.layers import LAYERS, get_layer

router = APIRouter(tags=["features"])

#: writes commit before the response is sent, so a 2xx means the change is stored
WriteSessionDep = Annotated[Session, Depends(session_dep, scope="function")]
LayerP = Annotated[str, Path(description=f"图层 / layer: {', '.join(LAYERS)}")]
IdP = Annotated[int, Path(description="要素 id（表主键）/ feature id (table id)", ge=1)]
FeatureBody = Annotated[dict[str, Any], Body(
    media_type="application/geo+json",
    description="GeoJSON Feature（或 FeatureCollection，一个事务写入多个）/ a GeoJSON Feature, "
                "or a FeatureCollection written in one transaction")]
_GEO = {200: {"content": {ogc.GEOJSON: {}}, "description": "GeoJSON"}}


class GeoJSONResponse(JSONResponse):
    media_type = ogc.GEOJSON


def _api(request: Request) -> ogc.Api:
    keep = {k: request.query_params[k] for k in ("jurisdiction", "lang") if k in request.query_params}
    return ogc.Api(str(request.url_for("ogc_landing")).rstrip("/"), keep)


@router.get("/", name="ogc_landing", summary="OGC API 首页 / Landing page")
def landing(request: Request, lang: LangDep) -> dict:
    return ogc.landing(_api(request), lang)


@router.get("/conformance", summary="一致性类别 / Conformance classes")
def conformance() -> dict:
    return ogc.conformance()


@router.get("/collections", summary="可读图层 / Collections the caller may read")
def collections(request: Request, session: SessionDep, principal: PrincipalDep, lang: LangDep,
                jurisdiction: JurisdictionQ = None) -> dict:
    return ogc.collections(session, principal, _api(request), jurisdiction, lang)


@router.get("/collections/{layer}", summary="图层说明与范围 / One collection with its extent")
def collection(layer: LayerP, request: Request, session: SessionDep, principal: PrincipalDep,
               lang: LangDep, jurisdiction: JurisdictionQ = None) -> dict:
    return ogc.collection(session, principal, get_layer(layer), _api(request), jurisdiction, lang)


@router.get("/collections/{layer}/queryables", summary="可筛选字段 / Queryables (JSON Schema)",
            response_class=JSONResponse)
def queryables(layer: LayerP, request: Request, principal: PrincipalDep, lang: LangDep):
    doc = ogc.queryables(principal, get_layer(layer), _api(request), lang)
    return JSONResponse(doc, media_type="application/schema+json")


@router.get("/collections/{layer}/items", response_class=GeoJSONResponse, responses=_GEO,
            summary="要素分页查询 / Features, paged and filtered",
            description="其余查询参数按字段相等筛选（如 `?kind=ptz`）/ any other query parameter is an "
                        "equality filter on a field of the layer (e.g. `?kind=ptz`).")
def items(layer: LayerP, request: Request, session: SessionDep, principal: PrincipalDep,
          jurisdiction: JurisdictionQ = None,
          limit: Annotated[int | None, Query(ge=1, description="每页数量 / page size")] = None,
          offset: Annotated[int, Query(ge=0)] = 0,
          bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
          datetime: Annotated[str | None, Query(description="时间或区间 / instant or interval (incidents)")] = None,
          grid: Annotated[str | None, Query(pattern=r"^[0-9]+$", description="网格编码 / grid code")] = None,
          sortby: Annotated[str | None, Query(description="field 或 -field，逗号分隔 / field or -field")] = None,
          crs: str | None = None,
          bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
          f: Annotated[str | None, Query(description="json / geojson")] = None):
    props = {k: v for k, v in request.query_params.items() if k not in ogc.ITEM_PARAMS}
    q = ogc.ItemsQuery(limit, offset, bbox, datetime, grid, sortby, crs, bbox_crs, f, props)
    return GeoJSONResponse(ogc.items(session, principal, get_layer(layer), q, jurisdiction,
                                     request.url, _api(request)))


@router.post("/collections/{layer}/items", status_code=201, response_class=GeoJSONResponse,
             responses={201: {"content": {ogc.GEOJSON: {}}, "description": "created"}},
             summary="新建要素 / Create a feature (or several in one transaction)")
def create_items(layer: LayerP, body: FeatureBody, request: Request, session: WriteSessionDep,
                 principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    spec = get_layer(layer)
    feats, many = features.create(session, principal, spec, body, jurisdiction)
    api = _api(request)
    if many:
        return GeoJSONResponse({"type": "FeatureCollection", "features": feats,
                                "numberReturned": len(feats), "timeStamp": ogc.now_stamp()}, status_code=201)
    feat = {**feats[0], "links": ogc.item_links(api, spec, feats[0]["id"])}
    return GeoJSONResponse(feat, status_code=201, headers={"Location": feat["links"][0]["href"]})


@router.get("/collections/{layer}/items/{fid}", response_class=GeoJSONResponse, responses=_GEO,
            summary="单个要素 / One feature")
def get_item(layer: LayerP, fid: IdP, request: Request, session: SessionDep, principal: PrincipalDep,
             jurisdiction: JurisdictionQ = None):
    spec = get_layer(layer)
    feat = features.get_feature(session, principal, spec, fid, jurisdiction)
    return GeoJSONResponse({**feat, "links": ogc.item_links(_api(request), spec, fid)})


@router.put("/collections/{layer}/items/{fid}", response_class=GeoJSONResponse, responses=_GEO,
            summary="替换要素 / Replace a feature")
def put_item(layer: LayerP, fid: IdP, body: FeatureBody, request: Request, session: WriteSessionDep,
             principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    spec = get_layer(layer)
    feat = features.replace(session, principal, spec, fid, body, jurisdiction, partial=False)
    return GeoJSONResponse({**feat, "links": ogc.item_links(_api(request), spec, fid)})


@router.patch("/collections/{layer}/items/{fid}", response_class=GeoJSONResponse, responses=_GEO,
              summary="修改要素（只改所给属性/几何）/ Update the properties or geometry sent")
def patch_item(layer: LayerP, fid: IdP, body: FeatureBody, request: Request, session: WriteSessionDep,
               principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    spec = get_layer(layer)
    feat = features.replace(session, principal, spec, fid, body, jurisdiction, partial=True)
    return GeoJSONResponse({**feat, "links": ogc.item_links(_api(request), spec, fid)})


@router.delete("/collections/{layer}/items/{fid}", status_code=204, summary="删除要素 / Delete a feature")
def delete_item(layer: LayerP, fid: IdP, session: WriteSessionDep, principal: PrincipalDep,
                jurisdiction: JurisdictionQ = None) -> Response:
    features.delete(session, principal, get_layer(layer), fid, jurisdiction)
    return Response(status_code=204)


@router.get("/collections/{layer}/items/{fid}/history",
            summary="修改历史（网格、摄像机）/ Change history (grids, cameras)")
def item_history(layer: LayerP, fid: IdP, session: SessionDep, principal: PrincipalDep,
                 jurisdiction: JurisdictionQ = None) -> dict:
    return features.history(session, principal, get_layer(layer), fid, jurisdiction)
