"""Grid storage for validation and edits: reading families of grids with locks, writing
geometry changes, reassigning buildings and incidents, history and restore.

All geometry leaves and enters here in EPSG:4326 (WKB); the service transforms to the
jurisdiction's metric CRS in one place (geopandas / pyproj), so shared vertices stay shared.
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Jurisdiction
from api.errors import WanggeError


def _frame(rows, keys) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=list(keys))
    geoms = shapely.from_wkb([bytes(b) for b in df.pop("wkb")]) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


GRID_COLS = ("SELECT g.id, g.code, g.name, g.level, p.code AS parent_code, g.version, "
             "ST_AsBinary(g.geom) AS wkb FROM grid g LEFT JOIN grid p ON p.id = g.parent_id ")


def lock_scope(session: Session, j: Jurisdiction, parent_code: str | None) -> None:
    """Serialise edits of one family: lock the parent grid row (or the jurisdiction row for
    the top level) until the transaction ends. Two planners editing neighbouring grids of the
    same parent queue here, and the second one validates what the first one committed."""
    if parent_code is None:
        session.execute(text("SELECT id FROM jurisdiction WHERE id = :j FOR UPDATE"), {"j": j.id})
        return
    row = session.execute(text("SELECT id FROM grid WHERE jurisdiction_id = :j AND code = :c FOR UPDATE"),
                          {"j": j.id, "c": parent_code}).first()
    if row is None:
        raise WanggeError("unknown_grid", f"未找到网格：{parent_code}", f"Grid not found: {parent_code}", 404)


def grid_row(session: Session, j: Jurisdiction, code: str) -> dict:
    row = session.execute(text(GRID_COLS + "WHERE g.jurisdiction_id = :j AND g.code = :c"),
                          {"j": j.id, "c": code}).mappings().first()
    if row is None:
        raise WanggeError("unknown_grid", f"未找到网格：{code}", f"Grid not found: {code}", 404)
    return dict(row)


def family(session: Session, j: Jurisdiction, parent_code: str | None) -> gpd.GeoDataFrame:
    """The parent (if any), its children and their children (EPSG:4326)."""
    if parent_code is None:
        sql = GRID_COLS + "WHERE g.jurisdiction_id = :j AND g.level <= 1 ORDER BY g.level, g.code"
        res = session.execute(text(sql), {"j": j.id})
    else:
        sql = GRID_COLS + ("WHERE g.jurisdiction_id = :j AND g.code LIKE :c || '%' "
                           "AND length(g.code) <= :maxlen ORDER BY g.level, g.code")
        res = session.execute(text(sql), {"j": j.id, "c": parent_code, "maxlen": len(parent_code) + 6})
    rows = res.fetchall()
    return _frame(rows, res.keys())


def family_tree(session: Session, j: Jurisdiction, code: str) -> gpd.GeoDataFrame:
    """A grid and all its descendants (EPSG:4326)."""
    res = session.execute(text(GRID_COLS + "WHERE g.jurisdiction_id = :j AND g.code LIKE :c || '%' "
                                           "ORDER BY g.level, g.code"), {"j": j.id, "c": code})
    return _frame(res.fetchall(), res.keys())


PARK = "8" * 16  # parked codes are longer than any real code, so they never collide


def parked(code: str) -> str:
    return PARK + code


def park_ids(session: Session, ids: list[int]) -> None:
    """Move rows' codes out of the way (restore and renumber swap codes between rows)."""
    if ids:
        session.execute(text("UPDATE grid SET code = :p || code WHERE id = ANY(:ids)"), {"p": PARK, "ids": ids})


def all_codes(session: Session, j: Jurisdiction) -> list[str]:
    return list(session.execute(text("SELECT code FROM grid WHERE jurisdiction_id = :j"), {"j": j.id}).scalars())


def all_grids(session: Session, j: Jurisdiction) -> gpd.GeoDataFrame:
    res = session.execute(text(GRID_COLS + "WHERE g.jurisdiction_id = :j ORDER BY g.level, g.code"), {"j": j.id})
    return _frame(res.fetchall(), res.keys())


def buildings_near(session: Session, j: Jurisdiction, area_wkb: bytes | None) -> gpd.GeoDataFrame:
    """Buildings of the jurisdiction (intersecting ``area`` when given)."""
    sql = ("SELECT b.id, b.code, b.households, b.residential, ST_AsBinary(b.geom) AS wkb FROM building b "
           "WHERE b.jurisdiction_id = :j")
    params: dict = {"j": j.id}
    if area_wkb is not None:
        sql += " AND ST_Intersects(b.geom, ST_GeomFromWKB(:a, 4326))"
        params["a"] = area_wkb
    res = session.execute(text(sql + " ORDER BY b.id"), params)
    return _frame(res.fetchall(), res.keys())


def assignments(session: Session, j: Jurisdiction) -> pd.DataFrame:
    res = session.execute(text("SELECT g.code AS grid_code, a.role FROM grid_assignment a "
                               "JOIN grid g ON g.id = a.grid_id WHERE g.jurisdiction_id = :j"), {"j": j.id})
    return pd.DataFrame(res.fetchall(), columns=["grid_code", "role"])


def boundary(session: Session, j: Jurisdiction):
    return shapely.from_wkb(bytes(session.execute(
        text("SELECT ST_AsBinary(geom) FROM jurisdiction WHERE id = :j"), {"j": j.id}).scalar_one()))


# ---- writes -------------------------------------------------------------------------------

def update_geometry(session: Session, grid_id: int, geom, actor: str | None = None) -> None:
    session.execute(text("UPDATE grid SET geom = ST_GeomFromWKB(:g, 4326), version = version + 1, "
                         "updated_at = now(), updated_by = :a WHERE id = :id"),
                    {"g": shapely.to_wkb(geom), "id": grid_id, "a": actor})


def insert_grid(session: Session, j: Jurisdiction, code: str, name: str, level: int,
                parent_code: str | None, geom, actor: str | None = None) -> int:
    return session.execute(text(
        "INSERT INTO grid (jurisdiction_id, level, code, name, parent_id, geom, updated_by) "
        "SELECT :j, :lv, :c, :n, (SELECT id FROM grid WHERE jurisdiction_id = :j AND code = :p), "
        "ST_GeomFromWKB(:g, 4326), :a RETURNING id"),
        {"j": j.id, "lv": level, "c": code, "n": name, "p": parent_code, "g": shapely.to_wkb(geom),
         "a": actor}).scalar_one()


def delete_grid(session: Session, grid_id: int) -> None:
    session.execute(text("DELETE FROM grid WHERE id = :id"), {"id": grid_id})


def move_assignments(session: Session, from_id: int, to_id: int) -> None:
    """Staff of a merged-away grid join the surviving grid (duplicates dropped)."""
    session.execute(text("INSERT INTO grid_assignment (grid_id, staff_id, role) "
                         "SELECT :to, staff_id, role FROM grid_assignment WHERE grid_id = :f "
                         "ON CONFLICT ON CONSTRAINT uq_assignment DO NOTHING"), {"f": from_id, "to": to_id})


def copy_assignments(session: Session, from_id: int, to_id: int) -> None:
    move_assignments(session, from_id, to_id)


def rename_code(session: Session, j: Jurisdiction, old_prefix: str, new_prefix: str) -> None:
    """Renumber a grid and all its descendants (codes start with the parent's code)."""
    session.execute(text("UPDATE grid SET code = :new || substr(code, length(:old) + 1), "
                         "version = version + 1, updated_at = now() "
                         "WHERE jurisdiction_id = :j AND code LIKE :old || '%'"),
                    {"j": j.id, "old": old_prefix, "new": new_prefix})


def reassign_area(session: Session, j: Jurisdiction, area_wkb: bytes, basic_level: int) -> None:
    """Re-derive grid_id of the buildings and incidents in ``area`` (the ground whose grid
    changed) after an edit; only rows whose grid actually changes are written."""
    for table, pt in (("building", "ST_PointOnSurface(x.geom)"), ("incident", "x.geom")):
        session.execute(text(f"""
            WITH n AS (
              SELECT x.id, (SELECT g.id FROM grid g WHERE g.jurisdiction_id = :j AND g.level = :lv
                            AND ST_Intersects(g.geom, {pt}) ORDER BY g.id LIMIT 1) AS gid
              FROM {table} x
              WHERE x.jurisdiction_id = :j AND ST_Intersects(x.geom, ST_GeomFromWKB(:a, 4326)))
            UPDATE {table} x SET grid_id = n.gid FROM n
            WHERE x.id = n.id AND x.grid_id IS DISTINCT FROM n.gid"""),
            {"j": j.id, "lv": basic_level, "a": area_wkb})


# ---- history ------------------------------------------------------------------------------

def versions(session: Session, grid_id: int) -> list[dict]:
    res = session.execute(text(
        "SELECT id AS change_id, action, actor, at, (after->>'version')::int AS version, "
        "after->>'code' AS code, after->>'name' AS name, "
        "CASE WHEN after IS NULL THEN NULL ELSE ST_Area(ST_GeomFromEWKB(decode(after->>'geom_ewkb', 'hex'))::geography) END AS area_m2 "
        "FROM change_log WHERE table_name = 'grid' AND row_id = :g ORDER BY id"), {"g": grid_id})
    return [dict(r) for r in res.mappings()]


def version_state(session: Session, grid_id: int, version: int) -> dict | None:
    row = session.execute(text(
        "SELECT after FROM change_log WHERE table_name = 'grid' AND row_id = :g "
        "AND (after->>'version')::int = :v ORDER BY id DESC LIMIT 1"), {"g": grid_id, "v": version}).first()
    return row[0] if row else None


def tree_state_at(session: Session, j: Jurisdiction, prefix: str, at) -> list[dict]:
    """Last recorded state at time ``at`` of every grid whose code started with ``prefix``
    then (rows deleted by then are left out)."""
    res = session.execute(text("""
        SELECT DISTINCT ON (row_id) row_id, action, after FROM change_log
        WHERE table_name = 'grid' AND at <= :at
          AND coalesce(after->>'jurisdiction_id', before->>'jurisdiction_id')::int = :j
          AND row_id IN (SELECT row_id FROM change_log WHERE table_name = 'grid'
                         AND coalesce(after->>'code', before->>'code') LIKE :p || '%')
        ORDER BY row_id, id DESC"""), {"at": at, "j": j.id, "p": prefix})
    return [dict(r) for r in res.mappings() if r["action"] != "delete"
            and str(r["after"]["code"]).startswith(prefix)]


def restore_row(session: Session, state: dict, actor: str | None) -> None:
    """Put a grid row back to a recorded state (re-creating it with its old id if deleted)."""
    params = {"id": int(state["id"]), "j": int(state["jurisdiction_id"]), "lv": int(state["level"]),
              "c": state["code"], "n": state["name"], "p": state.get("parent_id"),
              "g": bytes.fromhex(state["geom_ewkb"]), "a": actor}
    session.execute(text("""
        INSERT INTO grid (id, jurisdiction_id, level, code, name, parent_id, geom, updated_by, version)
        VALUES (:id, :j, :lv, :c, :n, :p, ST_GeomFromEWKB(:g), :a,
                coalesce((SELECT max((after->>'version')::int) FROM change_log
                          WHERE table_name = 'grid' AND row_id = :id), 0) + 1)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
          parent_id = EXCLUDED.parent_id, geom = EXCLUDED.geom, level = EXCLUDED.level,
          version = grid.version + 1, updated_at = now(), updated_by = EXCLUDED.updated_by"""), params)


def restore_assignments(session: Session, grid_ids: list[int], at) -> None:
    """Staff assignments of these grids as they were at ``at`` (replacing today's)."""
    session.execute(text("DELETE FROM grid_assignment WHERE grid_id = ANY(:ids)"), {"ids": grid_ids})
    session.execute(text("""
        INSERT INTO grid_assignment (id, grid_id, staff_id, role)
        SELECT (after->>'id')::int, (after->>'grid_id')::int, (after->>'staff_id')::int, after->>'role'
        FROM (SELECT DISTINCT ON (row_id) action, after FROM change_log
              WHERE table_name = 'grid_assignment' AND at <= :at
                AND (coalesce(after, before)->>'grid_id')::int = ANY(:ids)
              ORDER BY row_id, id DESC) s
        WHERE action <> 'delete'
          AND EXISTS (SELECT 1 FROM staff st WHERE st.id = (s.after->>'staff_id')::int)
        ON CONFLICT DO NOTHING"""), {"ids": grid_ids, "at": at})
