"""Reading layers out of PostGIS as GeoDataFrames (EPSG:4326), with derived fields.

Used by CRUD listing, exports, OGC API and dashboards, so that filters (bbox, grid) and
derived fields (grid code, households per grid, level key) are written once.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.layers import LayerSpec


@dataclass
class Filter:
    bbox: tuple[float, float, float, float] | None = None  # lon/lat, EPSG:4326
    grid_code: str | None = None  # features inside this grid (any level)
    ids: list[int] | None = None
    limit: int | None = None
    offset: int = 0
    # column -> value (None: IS NULL); names must be in filter_columns(spec)
    equals: dict[str, Any] | None = None
    # column -> (lo, hi), inclusive, either end None for open; names from filter_columns(spec)
    ranges: dict[str, tuple[Any, Any]] | None = None
    # (column, descending) pairs; id is always the last key so that paging is stable
    order: list[tuple[str, bool]] | None = None


def filter_columns(spec: LayerSpec) -> frozenset[str]:
    """Stored columns of ``spec`` that may be filtered on or sorted by (request names are
    checked against this set before they reach SQL)."""
    cols = {"id"} | {f.name for f in spec.fields}
    if spec.key == "cameras":
        cols |= {"centre_code", "industry_code", "type_code", "network_code"}
    if spec.key == "grids":
        cols |= {"level", "version"}  # level: the stored level index
    return frozenset(cols)


def _checked(spec: LayerSpec, name: str) -> str:
    if name not in filter_columns(spec):
        raise WanggeError("unknown_property", f"图层 {spec.key} 没有可筛选的字段：{name}",
                          f"Layer {spec.key} has no filterable field: {name}", 400)
    return name


def _select_sql(spec: LayerSpec) -> str:
    t = spec.model.__tablename__
    cols = ["x.id"] + [f"x.{f.name}" for f in spec.fields]
    if spec.key == "grids":
        cols += ["x.level AS level_index", "p.code AS parent_code", "x.version",
                 "(SELECT coalesce(sum(b.households), 0) FROM building b JOIN grid c ON b.grid_id = c.id "
                 " WHERE c.code LIKE x.code || '%' AND c.jurisdiction_id = x.jurisdiction_id) AS households"]
        join = "LEFT JOIN grid p ON p.id = x.parent_id"
    elif spec.key == "cameras":
        cols += ["x.centre_code", "x.industry_code", "x.type_code", "x.network_code"]
        join = ""
    elif any(f.name == "grid_code" for f in spec.extra_fields):
        cols += ["g.code AS grid_code"]
        join = "LEFT JOIN grid g ON g.id = x.grid_id"
    else:
        join = ""
    cols.append("ST_AsBinary(x.geom) AS geom_wkb")
    return f"SELECT {', '.join(cols)} FROM {t} x {join}"


def _where(spec: LayerSpec, jurisdiction_id: int, flt: Filter) -> tuple[str, dict]:
    clauses, params = ["x.jurisdiction_id = :j"], {"j": jurisdiction_id}
    if flt.bbox is not None:
        minx, miny, maxx, maxy = flt.bbox
        if not (minx <= maxx and miny <= maxy):
            raise WanggeError("invalid_bbox", "bbox 应为 minx,miny,maxx,maxy", "bbox must be minx,miny,maxx,maxy", 400)
        clauses.append("x.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND "
                       "ST_Intersects(x.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))")
        params.update(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
    if flt.grid_code:
        clauses.append("ST_Intersects(x.geom, (SELECT gf.geom FROM grid gf WHERE gf.jurisdiction_id = :j "
                       "AND gf.code = :gcode))" if spec.key != "grids" else "x.code LIKE :gcode || '%'")
        params["gcode"] = flt.grid_code
    if flt.ids is not None:
        clauses.append("x.id = ANY(:ids)")
        params["ids"] = list(flt.ids)
    for i, (name, value) in enumerate((flt.equals or {}).items()):
        col = _checked(spec, name)
        if value is None:
            clauses.append(f"x.{col} IS NULL")
        else:
            clauses.append(f"x.{col} = :eq{i}")
            params[f"eq{i}"] = value
    for i, (name, (lo, hi)) in enumerate((flt.ranges or {}).items()):
        col = _checked(spec, name)
        if lo is not None:
            clauses.append(f"x.{col} >= :lo{i}")
            params[f"lo{i}"] = lo
        if hi is not None:
            clauses.append(f"x.{col} <= :hi{i}")
            params[f"hi{i}"] = hi
    return " WHERE " + " AND ".join(clauses), params


def read_layer(session: Session, spec: LayerSpec, jurisdiction: Jurisdiction,
               flt: Filter | None = None) -> gpd.GeoDataFrame:
    """Features of ``spec`` in ``jurisdiction`` matching ``flt``, ordered by ``flt.order``, then id."""
    flt = flt or Filter()
    if flt.grid_code and not session.execute(
            text("SELECT 1 FROM grid WHERE jurisdiction_id = :j AND code = :c"),
            {"j": jurisdiction.id, "c": flt.grid_code}).first():
        raise WanggeError("unknown_grid", f"未找到网格：{flt.grid_code}", f"Grid not found: {flt.grid_code}", 404)
    where, params = _where(spec, jurisdiction.id, flt)
    keys = [f"x.{_checked(spec, c)} {'DESC' if desc else 'ASC'}" for c, desc in (flt.order or [])]
    sql = _select_sql(spec) + where + " ORDER BY " + ", ".join(keys + ["x.id"])
    if flt.limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=flt.limit, offset=flt.offset)
    res = session.execute(text(sql), params)
    df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    geoms = shapely.from_wkb([bytes(b) for b in df.pop("geom_wkb")]) if len(df) else []
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    if spec.key == "grids" and len(gdf):
        keys = [lv["key"] for lv in jurisdiction.levels]
        gdf.insert(3, "level", [keys[i] for i in gdf.pop("level_index")])
        gdf["households"] = gdf["households"].astype("int64")
    return gdf


def count_layer(session: Session, spec: LayerSpec, jurisdiction: Jurisdiction,
                flt: Filter | None = None) -> int:
    flt = flt or Filter()
    where, params = _where(spec, jurisdiction.id, replace(flt, limit=None, offset=0, order=None))
    return session.execute(text(f"SELECT count(*) FROM {spec.model.__tablename__} x{where}"), params).scalar_one()
