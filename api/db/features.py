"""Repository SQL for single-feature reads and writes (bound parameters only).

Column names reaching SQL come from the layer registry (:mod:`api.layers`), never from a
request: the service validates request names against the registry first. Nothing here
commits; the caller's transaction decides.
"""
from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, delete, func, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from api.layers import LayerSpec

#: layers whose rows carry ``grid_id`` derived from the containing basic grid
GRIDDED = {"buildings": "building", "incidents": "incident"}
#: the point of a feature that decides its basic grid
_ANCHOR = {"building": "ST_PointOnSurface(t.geom)", "incident": "t.geom"}


def _table(spec: LayerSpec) -> Table:
    return spec.model.__table__


def _geom(g: BaseGeometry):
    return from_shape(g, srid=4326)


def jurisdiction_id_of(session: Session, spec: LayerSpec, fid: int) -> int | None:
    """The jurisdiction a feature belongs to (``None``: no such feature)."""
    t = _table(spec)
    return session.scalar(select(t.c.jurisdiction_id).where(t.c.id == fid))


def lock_feature(session: Session, spec: LayerSpec, fid: int, jurisdiction_id: int) -> bool:
    """Lock the row for the rest of the transaction; False if it is not in the jurisdiction."""
    t = _table(spec)
    q = select(t.c.id).where(t.c.id == fid, t.c.jurisdiction_id == jurisdiction_id).with_for_update()
    return session.scalar(q) is not None


def code_taken(session: Session, spec: LayerSpec, jurisdiction_id: int, code: str,
               exclude_id: int | None = None) -> bool:
    """Is ``code`` already used by another feature? Scope: the jurisdiction, or the whole
    table when the column is globally unique (camera GB/T 28181 IDs)."""
    t = _table(spec)
    col = t.c[spec.code_field]
    q = select(t.c.id).where(col == code)
    if not col.unique:
        q = q.where(t.c.jurisdiction_id == jurisdiction_id)
    if exclude_id is not None:
        q = q.where(t.c.id != exclude_id)
    return session.scalar(q.limit(1)) is not None


def grid_id_by_code(session: Session, jurisdiction_id: int, code: str) -> int | None:
    return session.scalar(text("SELECT id FROM grid WHERE jurisdiction_id = :j AND code = :c"),
                          {"j": jurisdiction_id, "c": code})


def grid_code_of(session: Session, grid_id: int) -> str | None:
    return session.scalar(text("SELECT code FROM grid WHERE id = :g"), {"g": grid_id})


def grid_child_count(session: Session, grid_id: int) -> int:
    return session.scalar(text("SELECT count(*) FROM grid WHERE parent_id = :g"), {"g": grid_id})


def jurisdictions_with_grid(session: Session, code: str) -> list[int]:
    """Ids of the jurisdictions that have a grid with this code."""
    return list(session.scalars(text("SELECT jurisdiction_id FROM grid WHERE code = :c ORDER BY 1"),
                                {"c": code}))


def insert_feature(session: Session, spec: LayerSpec, jurisdiction_id: int, values: dict[str, Any],
                   geom: BaseGeometry) -> int:
    """Insert one row (``values``: column -> typed value); returns its id."""
    t = _table(spec)
    row = dict(values, jurisdiction_id=jurisdiction_id, geom=_geom(geom))
    if spec.key == "grids":
        row["updated_by"] = _actor()
    return session.execute(insert(t).values(**row).returning(t.c.id)).scalar_one()


def update_feature(session: Session, spec: LayerSpec, fid: int, values: dict[str, Any],
                   geom: BaseGeometry | None) -> None:
    """Update one row in one statement (so the audit trail records one change); a grid's
    version goes up by one and remembers who changed it and when."""
    t = _table(spec)
    row = dict(values)
    if geom is not None:
        row["geom"] = _geom(geom)
    if spec.key == "grids":
        row.update(version=t.c.version + 1, updated_at=func.now(), updated_by=_actor())
    session.execute(update(t).where(t.c.id == fid).values(**row))


def delete_feature(session: Session, spec: LayerSpec, fid: int) -> None:
    t = _table(spec)
    session.execute(delete(t).where(t.c.id == fid))


def _actor():
    return literal_column("nullif(current_setting('wangge.actor', true), '')")


def assign_basic_grid(session: Session, spec: LayerSpec, ids: list[int], basic_level: int) -> None:
    """Derive ``grid_id`` of these buildings / incidents from the basic grid containing
    their anchor point (point on surface for footprints)."""
    table = GRIDDED[spec.key]
    session.execute(text(f"""
        UPDATE {table} t SET grid_id = (
          SELECT g.id FROM grid g
          WHERE g.jurisdiction_id = t.jurisdiction_id AND g.level = :basic
            AND g.geom && {_ANCHOR[table]} AND ST_Intersects(g.geom, {_ANCHOR[table]})
          ORDER BY g.id LIMIT 1)
        WHERE t.id = ANY(:ids)"""), {"basic": basic_level, "ids": list(ids)})


def reassign_around(session: Session, jurisdiction_id: int, basic_level: int,
                    areas: list[BaseGeometry], grid_id: int | None = None) -> None:
    """After a basic grid was drawn, moved or removed: derive ``grid_id`` again for the
    buildings and incidents under ``areas`` (old and new outlines) or assigned to ``grid_id``."""
    for table, anchor in _ANCHOR.items():
        for area in areas:
            session.execute(text(f"""
                UPDATE {table} t SET grid_id = (
                  SELECT g.id FROM grid g
                  WHERE g.jurisdiction_id = t.jurisdiction_id AND g.level = :basic
                    AND g.geom && {anchor} AND ST_Intersects(g.geom, {anchor})
                  ORDER BY g.id LIMIT 1)
                WHERE t.jurisdiction_id = :j
                  AND (t.geom && ST_GeomFromWKB(:area, 4326) OR t.grid_id = :gid)"""),
                {"basic": basic_level, "j": jurisdiction_id, "area": shapely.to_wkb(area),
                 "gid": grid_id})


def history(session: Session, table: str, row_id: int) -> list[dict]:
    """The audit trail of one row, oldest first: who, when, action, row before and after."""
    rows = session.execute(text(
        "SELECT id, action, actor, at, txid, before, after FROM change_log "
        "WHERE table_name = :t AND row_id = :r ORDER BY id"), {"t": table, "r": row_id}).mappings()
    return [dict(r) for r in rows]


def extent(session: Session, spec: LayerSpec, jurisdiction_id: int | None) -> list[float] | None:
    """[minx, miny, maxx, maxy] of the layer's features (in one jurisdiction or all)."""
    t = spec.model.__tablename__
    where = "WHERE jurisdiction_id = :j" if jurisdiction_id is not None else ""
    row = session.execute(text(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f"(SELECT ST_Extent(geom) AS e FROM {t} {where}) s"), {"j": jurisdiction_id}).one()
    return None if row[0] is None else [float(v) for v in row]


def jurisdiction_extent(session: Session, jurisdiction_id: int | None) -> list[float] | None:
    where = "WHERE id = :j" if jurisdiction_id is not None else ""
    row = session.execute(text(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f"(SELECT ST_Extent(geom) AS e FROM jurisdiction {where}) s"), {"j": jurisdiction_id}).one()
    return None if row[0] is None else [float(v) for v in row]


def time_extent(session: Session, spec: LayerSpec, column: str,
                jurisdiction_id: int | None) -> tuple[Any, Any]:
    """(min, max) of a timestamp column; ``column`` comes from the registry."""
    t = _table(spec)
    q = select(func.min(t.c[column]), func.max(t.c[column]))
    if jurisdiction_id is not None:
        q = q.where(t.c.jurisdiction_id == jurisdiction_id)
    lo, hi = session.execute(q).one()
    return lo, hi
