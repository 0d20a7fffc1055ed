"""Reading what camera coverage needs out of PostGIS, already in the jurisdiction's metric CRS.

Every query is ``text()`` with bound parameters; geometries come back as WKB transformed with
``ST_Transform(geom, :epsg)`` so that :mod:`gis` gets metres.
"""
from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Jurisdiction
from api.errors import WanggeError

CAMERA_COLUMNS = ("id", "gb_id", "name", "height_m", "azimuth_deg", "hfov_deg", "range_m", "kind",
                  "networked", "online", "documented", "owner", "centre_code", "admin_code",
                  "industry_code", "type_code", "network_code")


def _frame(session: Session, sql: str, params: dict, epsg: int, geom_cols=("geom",)) -> gpd.GeoDataFrame:
    res = session.execute(text(sql), {**params, "epsg": epsg})
    df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    for c in geom_cols:
        df[c] = shapely.from_wkb([None if b is None else bytes(b) for b in df[c]]) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(df[geom_cols[0]], crs=epsg), crs=epsg)


def _grid_exists(session: Session, j: Jurisdiction, code: str) -> None:
    if not session.execute(text("SELECT 1 FROM grid WHERE jurisdiction_id = :j AND code = :c"),
                           {"j": j.id, "c": code}).first():
        raise WanggeError("unknown_grid", f"未找到网格：{code}", f"Grid not found: {code}", 404)


def cameras(session: Session, j: Jurisdiction, *, grid_code: str | None = None,
            bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Cameras of ``j`` (optionally inside a grid or a lon/lat bbox), metric CRS, by gb_id."""
    where, params = ["c.jurisdiction_id = :j"], {"j": j.id}
    if grid_code:
        _grid_exists(session, j, grid_code)
        where.append("ST_Intersects(c.geom, (SELECT g.geom FROM grid g WHERE g.jurisdiction_id = :j "
                     "AND g.code = :gcode))")
        params["gcode"] = grid_code
    if bbox is not None:
        where.append("c.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params.update(zip(("minx", "miny", "maxx", "maxy"), bbox))
    cols = ", ".join(f"c.{c}" for c in CAMERA_COLUMNS)
    sql = (f"SELECT {cols}, ST_AsBinary(ST_Transform(c.geom, :epsg)) AS geom FROM camera c "
           f"WHERE {' AND '.join(where)} ORDER BY c.gb_id")
    return _frame(session, sql, params, j.metric_epsg)


def _envelope_clause(bounds) -> tuple[str, dict]:
    if bounds is None:
        return "", {}
    return (" AND x.geom && ST_Transform(ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, :epsg), 4326)",
            dict(zip(("bx0", "by0", "bx1", "by1"), map(float, bounds))))


def buildings(session: Session, j: Jurisdiction, bounds=None) -> gpd.GeoDataFrame:
    """Footprints (with households) of ``j``, those meeting ``bounds`` (metric) when given."""
    clause, params = _envelope_clause(bounds)
    sql = ("SELECT x.id, x.households, x.residential, ST_AsBinary(ST_Transform(x.geom, :epsg)) AS geom "
           "FROM building x WHERE x.jurisdiction_id = :j" + clause + " ORDER BY x.id")
    return _frame(session, sql, {"j": j.id, **params}, j.metric_epsg)


def key_sites(session: Session, j: Jurisdiction) -> gpd.GeoDataFrame:
    sql = ("SELECT x.id, x.category, x.name, ST_AsBinary(ST_Transform(x.geom, :epsg)) AS geom, "
           "ST_AsBinary(ST_Transform(x.entrances, :epsg)) AS entrances "
           "FROM key_site x WHERE x.jurisdiction_id = :j ORDER BY x.id")
    return _frame(session, sql, {"j": j.id}, j.metric_epsg, ("geom", "entrances"))


def roads(session: Session, j: Jurisdiction) -> gpd.GeoDataFrame:
    sql = ("SELECT x.id, x.name, x.road_class, x.width_m, ST_AsBinary(ST_Transform(x.geom, :epsg)) AS geom "
           "FROM road x WHERE x.jurisdiction_id = :j ORDER BY x.id")
    return _frame(session, sql, {"j": j.id}, j.metric_epsg)


def grids(session: Session, j: Jurisdiction, level: int | None = None) -> gpd.GeoDataFrame:
    """Grids of ``j`` (of one stored level index when given), metric CRS, by code."""
    sql = ("SELECT x.id, x.code, x.name, x.level, ST_AsBinary(ST_Transform(x.geom, :epsg)) AS geom "
           "FROM grid x WHERE x.jurisdiction_id = :j AND (CAST(:lv AS integer) IS NULL OR x.level = :lv) "
           "ORDER BY x.code")
    return _frame(session, sql, {"j": j.id, "lv": level}, j.metric_epsg)


def incidents_since(session: Session, j: Jurisdiction, since: datetime) -> gpd.GeoDataFrame:
    sql = ("SELECT x.id, x.type, x.occurred_at, ST_AsBinary(ST_Transform(x.geom, :epsg)) AS geom "
           "FROM incident x WHERE x.jurisdiction_id = :j AND x.occurred_at >= :since ORDER BY x.id")
    return _frame(session, sql, {"j": j.id, "since": since}, j.metric_epsg)


def camera_by_gb_id(session: Session, j: Jurisdiction | None, gb_id: str) -> dict | None:
    """One stored camera's registry fields (whether it has a position, not the position), or None."""
    sql = ("SELECT c.gb_id, c.name, c.jurisdiction_id, c.networked, c.online, c.documented, c.owner, "
           "c.kind, c.height_m, c.azimuth_deg, c.hfov_deg, c.range_m, "
           "(c.geom IS NOT NULL AND NOT ST_IsEmpty(c.geom)) AS has_position, "
           "j.code AS jurisdiction FROM camera c JOIN jurisdiction j ON j.id = c.jurisdiction_id "
           "WHERE c.gb_id = :g AND (CAST(:j AS integer) IS NULL OR c.jurisdiction_id = :j)")
    row = session.execute(text(sql), {"g": gb_id, "j": None if j is None else j.id}).mappings().first()
    return dict(row) if row else None
