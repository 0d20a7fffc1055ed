"""Repository functions: all SQL of the product lives in api/db (bound parameters only)."""
from __future__ import annotations

import json

import geopandas as gpd
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.db.models import Grid, Jurisdiction
from api.errors import WanggeError
from api.settings import GridLevelConfig, Settings, get_settings
from gis.crs import metric_crs_for


def jurisdiction_by_code(session: Session, code: str | None) -> Jurisdiction:
    """The jurisdiction with this code; with ``None``, the only one (error if several)."""
    if code:
        j = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
        if j is None:
            raise WanggeError("unknown_jurisdiction", f"未找到辖区：{code}",
                              f"Jurisdiction not found: {code}", 404)
        return j
    rows = session.scalars(select(Jurisdiction).order_by(Jurisdiction.id).limit(2)).all()
    if not rows:
        raise WanggeError("no_jurisdiction", "尚未创建辖区，请先运行 wangge jurisdiction create 或 wangge demo load",
                          "No jurisdiction yet: run `wangge jurisdiction create` or `wangge demo load`", 404)
    if len(rows) > 1:
        raise WanggeError("jurisdiction_required", "存在多个辖区，请指定辖区编码（jurisdiction）",
                          "Several jurisdictions exist: give the jurisdiction code", 400)
    return rows[0]


def list_jurisdictions(session: Session) -> list[Jurisdiction]:
    """All jurisdictions, by code."""
    return list(session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)))


def levels_of(j: Jurisdiction) -> list[GridLevelConfig]:
    return [GridLevelConfig(**lv) for lv in j.levels]


def code_lengths(j: Jurisdiction) -> list[int]:
    """Code length of each grid level: the jurisdiction's code profile starts at 6 digits."""
    n, out = 6, []
    for lv in levels_of(j):
        n += lv.code_digits
        out.append(n)
    return out


def create_jurisdiction(session: Session, code: str, name: str, boundary: gpd.GeoSeries,
                        name_en: str | None = None, settings: Settings | None = None,
                        metric_epsg: int | None = None) -> Jurisdiction:
    """Create an empty jurisdiction from its boundary (any CRS; stored in EPSG:4326)."""
    settings = settings or get_settings()
    if boundary.crs is None:
        raise WanggeError("missing_crs", "边界文件缺少坐标参考系", "The boundary file has no CRS", 422)
    b = boundary.to_crs(4326)
    geom = shapely.force_2d(b.union_all())
    if geom.is_empty or not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise WanggeError("invalid_geometry", f"辖区边界几何无效：{reason}",
                          f"The boundary geometry is invalid: {reason}", 422)
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon":
        raise WanggeError("wrong_geometry_type", "辖区边界必须是面", "The boundary must be a polygon", 422)
    if session.scalar(select(func.count()).select_from(Jurisdiction).where(Jurisdiction.code == code)):
        raise WanggeError("duplicate_code", f"辖区编码已存在：{code}", f"Jurisdiction code exists: {code}", 409)
    epsg = metric_crs_for(gpd.GeoSeries([geom], crs=4326), metric_epsg or settings.metric_epsg)
    j = Jurisdiction(code=code, name=name, name_en=name_en, metric_epsg=epsg,
                     levels=[lv.model_dump() for lv in settings.grid_levels],
                     geom=from_shape(geom, srid=4326))  # WKB: no rounding of coordinates
    session.add(j)
    session.flush()
    return j


def assign_to_basic_grids(session: Session, jurisdiction_id: int, table: str) -> int:
    """Derive ``grid_id`` of buildings (point on surface) or incidents (point) from the basic
    grids. Grid-outer nested loop (OFFSET 0 keeps the planner from flattening it)."""
    if table not in ("building", "incident", ):
        raise ValueError(table)
    pt = "ST_PointOnSurface(x.geom)" if table == "building" else "x.geom"
    j = session.get(Jurisdiction, jurisdiction_id)
    basic = len(j.levels) - 1
    session.execute(text(f"UPDATE {table} SET grid_id = NULL WHERE jurisdiction_id = :j "
                         "AND grid_id IS NOT NULL"), {"j": jurisdiction_id})
    res = session.execute(text(f"""
        UPDATE {table} t SET grid_id = s.gid FROM (
          SELECT x.id, g.id AS gid FROM grid g
          CROSS JOIN LATERAL (
            SELECT x.id FROM {table} x
            WHERE x.jurisdiction_id = :j AND x.geom && g.geom AND ST_Intersects(g.geom, {pt})
            OFFSET 0) x
          WHERE g.jurisdiction_id = :j AND g.level = :basic
        ) s WHERE t.id = s.id"""), {"j": jurisdiction_id, "basic": basic})
    return res.rowcount


def set_actor(session: Session, actor: str) -> None:
    session.execute(text("SELECT set_config('wangge.actor', :a, true)"), {"a": actor})


def jurisdiction_summary(session: Session, j: Jurisdiction) -> dict:
    counts = {}
    for table in ("grid", "building", "camera", "key_site", "road", "service_centre", "incident", "staff"):
        counts[table] = session.execute(
            text(f"SELECT count(*) FROM {table} WHERE jurisdiction_id = :j"), {"j": j.id}).scalar_one()
    hh = session.execute(text("SELECT coalesce(sum(households), 0) FROM building WHERE jurisdiction_id = :j"),
                         {"j": j.id}).scalar_one()
    bbox = json.loads(session.execute(text("SELECT ST_AsGeoJSON(ST_Envelope(geom)) FROM jurisdiction "
                                           "WHERE id = :j"), {"j": j.id}).scalar_one())
    xs = [p[0] for p in bbox["coordinates"][0]]
    ys = [p[1] for p in bbox["coordinates"][0]]
    return {"code": j.code, "name": j.name, "name_en": j.name_en, "metric_epsg": j.metric_epsg,
            "levels": j.levels, "counts": counts, "households": int(hh),
            "bbox": [min(xs), min(ys), max(xs), max(ys)]}
