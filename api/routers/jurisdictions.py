"""Jurisdictions: the towns / districts whose layers live in this database."""
from __future__ import annotations

import geopandas as gpd
import shapely
from fastapi import APIRouter, Body
from sqlalchemy import select

from api.auth import require_role
from api.db import repo
from api.db.models import Jurisdiction
from api.deps import PrincipalDep, SessionDep
from api.errors import WanggeError
from api.schemas import JurisdictionCreate, JurisdictionPublic

router = APIRouter(tags=["jurisdictions"])


@router.get("/jurisdictions", response_model=list[JurisdictionPublic], summary="辖区列表 / Jurisdictions")
def list_jurisdictions(session: SessionDep, principal: PrincipalDep):
    require_role(principal, {"admin", "planner", "police", "leader", "analyst", "grid_worker"})
    js = session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)).all()
    return [repo.jurisdiction_summary(session, j) for j in js]


@router.get("/jurisdictions/{code}", response_model=JurisdictionPublic)
def get_jurisdiction(code: str, session: SessionDep, principal: PrincipalDep):
    require_role(principal, {"admin", "planner", "police", "leader", "analyst", "grid_worker"})
    return repo.jurisdiction_summary(session, repo.jurisdiction_by_code(session, code))


@router.post("/jurisdictions", response_model=JurisdictionPublic, status_code=201,
             summary="新建辖区 / Create a jurisdiction from its boundary (GeoJSON, EPSG:4326)")
def create_jurisdiction(session: SessionDep, principal: PrincipalDep,
                        body: JurisdictionCreate = Body(...)):
    require_role(principal, {"admin"})
    try:
        geom = shapely.from_geojson(_geometry_json(body.boundary))
    except Exception as e:  # shapely raises GEOSException with the parser's reason
        raise WanggeError("invalid_geometry", f"边界 GeoJSON 无法解析：{e}",
                          f"The boundary GeoJSON cannot be read: {e}", 422) from None
    j = repo.create_jurisdiction(session, body.code, body.name, gpd.GeoSeries([geom], crs=4326),
                                 name_en=body.name_en, metric_epsg=body.metric_epsg)
    return repo.jurisdiction_summary(session, j)


def _geometry_json(obj: dict) -> str:
    import json
    if obj.get("type") == "FeatureCollection":
        geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in obj.get("features", [])]
        return shapely.to_geojson(shapely.union_all(geoms))
    if obj.get("type") == "Feature":
        return json.dumps(obj["geometry"])
    return json.dumps(obj)
