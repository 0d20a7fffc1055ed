"""OGC API – Features (Part 1 core + GeoJSON, Part 3 queryables) documents for every layer.

Landing page, conformance, collections with their extents, and item pages with paging
links, built from the layer registry. Filters from a request (bbox, datetime, grid, property
equality, sortby) are parsed and checked here, then read through :mod:`api.db.read`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import URL

from api.auth import Principal, require_read, require_role
from api.db import features as dbf
from api.db import read, repo
from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.features import coerce, parse_datetime, to_features
from api.layers import LAYERS, FieldSpec, LayerSpec
from api.settings import ROLES, get_settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]
#: query parameters of /items that are not property filters
ITEM_PARAMS = frozenset({"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "jurisdiction",
                         "grid", "sortby", "f", "lang"})
#: the timestamp each temporal layer is filtered and described by
TEMPORAL = {"incidents": "occurred_at"}
_JSON_TYPES = {"str": "string", "enum": "string", "int": "integer", "float": "number",
               "bool": "boolean", "datetime": "string"}


@dataclass
class Api:
    """Where the API lives and which query parameters every link carries on."""

    base: str  # .../api/v1, no trailing slash
    keep: dict[str, str] = field(default_factory=dict)  # jurisdiction, lang

    def url(self, path: str, **params: Any) -> str:
        u = URL(self.base + path).include_query_params(**self.keep) if self.keep else URL(self.base + path)
        return str(u.include_query_params(**params)) if params else str(u)


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    d = {"href": href, "rel": rel, "type": type_}
    if title:
        d["title"] = title
    return d


def _title(spec: LayerSpec, lang: str) -> str:
    return spec.en if lang.startswith("en") else spec.zh


def now_stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- landing, conformance ----------------------------------------------------------------------

def landing(api: Api, lang: str) -> dict:
    en = lang.startswith("en")
    return {
        "title": "Wangge grid management and video coverage" if en else "网格化管理与视频监控覆盖",
        "description": ("OGC API – Features for grids, buildings, cameras, key sites, roads, service "
                        "centres and incidents" if en else
                        "网格、建筑、摄像机、重点部位、道路、服务中心与事件的 OGC API – Features 服务"),
        "links": [
            _link(api.url("/"), "self", "application/json", "this document"),
            _link(api.base + "/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.1",
                  "OpenAPI"),
            _link(api.base.rsplit("/api/v1", 1)[0] + "/docs", "service-doc", "text/html", "API docs"),
            _link(api.url("/conformance"), "conformance", "application/json", "conformance classes"),
            _link(api.url("/collections"), "data", "application/json", "collections"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


# ---- collections -------------------------------------------------------------------------------

def _scope(session: Session, code: str | None) -> Jurisdiction | None:
    """The jurisdiction asked for; ``None`` (all of them) when none is named."""
    return repo.jurisdiction_by_code(session, code) if code else None


def collections(session: Session, principal: Principal, api: Api, code: str | None, lang: str) -> dict:
    """The layers this caller may read (cameras only for police and admin)."""
    require_role(principal, set(ROLES))
    j = _scope(session, code)
    cols = [collection_doc(session, spec, api, j, lang) for spec in LAYERS.values() if principal.can_read(spec)]
    return {"links": [_link(api.url("/collections"), "self", "application/json")], "collections": cols}


def collection(session: Session, principal: Principal, spec: LayerSpec, api: Api, code: str | None,
               lang: str) -> dict:
    require_read(principal, spec)
    return collection_doc(session, spec, api, _scope(session, code), lang)


def collection_doc(session: Session, spec: LayerSpec, api: Api, j: Jurisdiction | None, lang: str) -> dict:
    jid = j.id if j is not None else None
    bbox = dbf.extent(session, spec, jid) or dbf.jurisdiction_extent(session, jid)
    extent: dict[str, Any] = {}
    if bbox:
        extent["spatial"] = {"bbox": [bbox], "crs": CRS84}
    if spec.key in TEMPORAL:
        lo, hi = dbf.time_extent(session, spec, TEMPORAL[spec.key], jid)
        extent["temporal"] = {"interval": [[lo.isoformat() if lo else None, hi.isoformat() if hi else None]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    base = f"/collections/{spec.key}"
    doc = {
        "id": spec.key, "title": _title(spec, lang), "titles": {"zh-CN": spec.zh, "en": spec.en},
        "description": f"{spec.zh} / {spec.en}", "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84, "geometryType": spec.geometry_type,
        "links": [
            _link(api.url(base), "self", "application/json"),
            _link(api.url(base + "/items"), "items", GEOJSON, _title(spec, lang)),
            _link(api.url(base + "/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                  "application/schema+json"),
        ],
    }
    if extent:
        doc["extent"] = extent
    return doc


def queryables(principal: Principal, spec: LayerSpec, api: Api, lang: str) -> dict:
    """JSON Schema of the properties usable as ``?name=value`` filters (OGC API – Features Part 3)."""
    require_read(principal, spec)
    cols = read.filter_columns(spec)
    props: dict[str, Any] = {"geometry": {"format": f"geometry-{spec.geometry_type.lower()}",
                                          "x-ogc-role": "primary-geometry"}}
    for f in spec.all_fields:
        if f.name not in cols:
            continue
        p: dict[str, Any] = {"title": f.en if lang.startswith("en") else f.zh, "type": _JSON_TYPES[f.kind]}
        if f.kind == "datetime":
            p["format"] = "date-time"
        if f.vocab:
            p["enum"] = list(f.vocab)
        if f.min is not None:
            p["minimum"] = f.min
        if f.max is not None:
            p["maximum"] = f.max
        if f.pattern:
            p["pattern"] = f.pattern
        props[f.name] = p
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": api.url(f"/collections/{spec.key}/queryables"), "type": "object",
            "title": _title(spec, lang), "properties": props, "additionalProperties": False}


# ---- items -------------------------------------------------------------------------------------

@dataclass
class ItemsQuery:
    limit: int | None = None
    offset: int = 0
    bbox: str | None = None
    datetime: str | None = None
    grid: str | None = None
    sortby: str | None = None
    crs: str | None = None
    bbox_crs: str | None = None
    f: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # every other query parameter


def _bad(code: str, zh: str, en: str) -> WanggeError:
    return WanggeError(code, zh, en, 400)


def parse_bbox(s: str) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` (or the 6-number 3D form) in CRS84 longitude/latitude."""
    try:
        v = [float(x) for x in s.split(",")]
    except ValueError:
        v = []
    if len(v) == 6:
        v = [v[0], v[1], v[3], v[4]]
    if len(v) != 4 or not all(math.isfinite(x) for x in v):
        raise _bad("invalid_bbox", "bbox 应为 4 个数字：最小经度,最小纬度,最大经度,最大纬度",
                   "bbox must be 4 numbers: minlon,minlat,maxlon,maxlat")
    minx, miny, maxx, maxy = v
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad("invalid_bbox", "bbox 超出经纬度范围或最小值大于最大值（坐标系 CRS84：经度,纬度）",
                   "bbox is outside longitude/latitude or min > max (CRS84: lon,lat)")
    return minx, miny, maxx, maxy


def parse_interval(s: str) -> tuple[datetime | None, datetime | None]:
    """An instant, a date (the whole day) or ``start/end`` with ``..`` or empty for open ends."""
    def one(x: str, end: bool) -> datetime | None:
        x = x.strip()
        if x in ("", ".."):
            return None
        if len(x) == 10:  # a date: the whole day in China Standard Time
            d = parse_datetime(x + "T00:00:00")
            return d + timedelta(days=1) - timedelta(microseconds=1) if end else d
        return parse_datetime(x)
    try:
        if "/" in s:
            a, b = s.split("/", 1)
            lo, hi = one(a, False), one(b, True)
        else:
            lo, hi = one(s, False), one(s, True)
    except ValueError:
        raise _bad("invalid_datetime", "datetime 应为 ISO 8601 时间、日期或区间（如 2024-01-01/2024-02-01）",
                   "datetime must be an ISO 8601 time, date or interval (e.g. 2024-01-01/2024-02-01)") from None
    if lo and hi and lo > hi:
        raise _bad("invalid_datetime", "datetime 区间起点晚于终点", "datetime interval starts after it ends")
    return lo, hi


def parse_sortby(spec: LayerSpec, s: str) -> list[tuple[str, bool]]:
    out = []
    allowed = read.filter_columns(spec)
    for part in (p.strip() for p in s.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-")
        if name not in allowed:
            raise _bad("unknown_sort_property", f"不能按“{name}”排序，可用：{'、'.join(sorted(allowed))}",
                       f"Cannot sort by '{name}'; sortable: {', '.join(sorted(allowed))}")
        out.append((name, desc))
    return out


def _filter_value(spec: LayerSpec, j: Jurisdiction, f: FieldSpec, raw: str) -> Any:
    if f.name == "level" and spec.key == "grids":  # the level key (or its name) -> stored index
        for i, lv in enumerate(j.levels):
            if raw in (lv["key"], lv["name_zh"], lv["name_en"], str(i)):
                return i
        raise _bad("invalid_property_value", f"层级“{raw}”不存在，可选：{'、'.join(lv['key'] for lv in j.levels)}",
                   f"No level '{raw}'; levels: {', '.join(lv['key'] for lv in j.levels)}")
    v: Any = raw
    if f.kind in ("int", "float"):
        try:
            v = float(raw)
        except ValueError:
            v = raw
    elif f.kind == "bool":
        v = {"true": True, "false": False, "1": True, "0": False}.get(raw.lower(), raw)
    value, problem = coerce(f, v)
    if problem:
        raise WanggeError("invalid_property_value", f"筛选条件无效：{problem.zh}",
                          f"Invalid filter: {problem.en}", 400, [problem])
    return value


def parse_properties(spec: LayerSpec, j: Jurisdiction, params: dict[str, str]) -> dict[str, Any]:
    """``?name=value`` equality filters, names checked against the layer's fields."""
    cols = read.filter_columns(spec)
    fields = {f.name: f for f in spec.all_fields}
    out = {}
    for name, raw in params.items():
        if name not in fields and name != "id":
            raise _bad("unknown_property",
                       f"图层“{spec.zh}”没有字段或参数“{name}”，可用字段：{'、'.join(sorted(cols))}",
                       f"Layer {spec.key} has no field or parameter '{name}'; fields: {', '.join(sorted(cols))}")
        if name not in cols:
            hint = "，按网格筛选请用 grid=网格编码" if name == "grid_code" else ""
            hint_en = "; filter by grid with grid=<code>" if name == "grid_code" else ""
            raise _bad("property_not_filterable", f"字段“{name}”由系统计算，不能用于筛选{hint}",
                       f"Field '{name}' is derived and cannot be filtered on{hint_en}")
        if name == "id":
            try:
                out["id"] = int(raw)
            except ValueError:
                raise _bad("invalid_property_value", "id 应为整数", "id must be an integer") from None
            continue
        out[name] = _filter_value(spec, j, fields[name], raw)
    return out


def _check_format(q: ItemsQuery) -> None:
    if q.f and q.f.lower() not in ("json", "geojson", GEOJSON):
        raise _bad("unsupported_format", f"不支持的格式：{q.f}（仅 GeoJSON）", f"Unsupported format: {q.f} (GeoJSON only)")
    for name, v in (("crs", q.crs), ("bbox-crs", q.bbox_crs)):
        if v and v.strip("<>[]") not in (CRS84, "CRS84", "OGC:CRS84"):
            raise _bad("unsupported_crs", f"{name} 仅支持 CRS84（经度,纬度）", f"{name}: only CRS84 (lon,lat) is supported")


def build_filter(spec: LayerSpec, j: Jurisdiction, q: ItemsQuery) -> read.Filter:
    _check_format(q)
    s = get_settings()
    limit = min(q.limit or s.page_size_default, s.page_size_max)
    flt = read.Filter(limit=limit, offset=q.offset or 0, grid_code=q.grid)
    if q.bbox:
        flt.bbox = parse_bbox(q.bbox)
    if q.datetime and spec.key in TEMPORAL:  # layers without time: every feature matches
        flt.ranges = {TEMPORAL[spec.key]: parse_interval(q.datetime)}
    elif q.datetime:
        parse_interval(q.datetime)
    if q.sortby:
        flt.order = parse_sortby(spec, q.sortby)
    props = parse_properties(spec, j, q.properties)
    if "id" in props:
        flt.ids = [props.pop("id")]
    flt.equals = props
    return flt


def items(session: Session, principal: Principal, spec: LayerSpec, q: ItemsQuery, code: str | None,
          url: URL, api: Api) -> dict:
    """One page of features with numberMatched / numberReturned and next / prev links."""
    require_read(principal, spec)
    j = repo.jurisdiction_by_code(session, code)
    flt = build_filter(spec, j, q)
    feats = to_features(spec, read.read_layer(session, spec, j, flt))
    matched = read.count_layer(session, spec, j, flt)
    links = [_link(str(url), "self", GEOJSON, "this page"),
             _link(api.url(f"/collections/{spec.key}"), "collection", "application/json")]
    if flt.offset + len(feats) < matched:
        links.append(_link(str(url.include_query_params(offset=flt.offset + flt.limit, limit=flt.limit)),
                           "next", GEOJSON, "next page"))
    if flt.offset > 0:
        links.append(_link(str(url.include_query_params(offset=max(0, flt.offset - flt.limit), limit=flt.limit)),
                           "prev", GEOJSON, "previous page"))
    return {"type": "FeatureCollection", "features": feats, "numberMatched": matched,
            "numberReturned": len(feats), "timeStamp": now_stamp(), "links": links}


def item_links(api: Api, spec: LayerSpec, fid: int) -> list[dict]:
    base = f"/collections/{spec.key}"
    return [_link(api.url(f"{base}/items/{fid}"), "self", GEOJSON),
            _link(api.url(base), "collection", "application/json")]
