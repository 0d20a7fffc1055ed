"""Bulk loading with PostgreSQL ``COPY`` inside the caller's transaction.

Input frames are already validated and typed (see :mod:`api.io`): columns named after the
layer's fields, geometry in EPSG:4326 and of the layer's type. Nothing here commits.
"""
from __future__ import annotations

import io
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.layers import LayerSpec

CHUNK = 200_000


def _ewkb_hex(geoms: np.ndarray, srid: int = 4326) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)


def _frame_for_copy(spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
                    columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(gdf)))
    out["jurisdiction_id"] = jurisdiction_id
    for c in columns:
        col = gdf[c].to_numpy()
        f = spec.field(c)
        if f.kind == "bool":
            col = pd.Series(col, dtype="boolean").map({True: "t", False: "f"}).to_numpy()
        elif f.kind == "int":
            col = pd.Series(col).astype("Int64").to_numpy()
        elif f.kind == "datetime":
            col = pd.to_datetime(pd.Series(col), utc=True).dt.strftime("%Y-%m-%d %H:%M:%S%z").to_numpy()
        out[c] = col
    out["geom"] = _ewkb_hex(gdf.geometry.to_numpy())
    return out


def raw_connection(session: Session):
    """The DBAPI (psycopg2) connection of this session's transaction."""
    return session.connection().connection.dbapi_connection


def copy_frame(session: Session, table: str, frame: pd.DataFrame,
               progress: Callable[[int], None] | None = None) -> int:
    """COPY a frame (CSV, NULL = empty unquoted) into ``table`` in chunks; returns rows."""
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    cur = raw_connection(session).cursor()
    n = len(frame)
    for start in range(0, n, CHUNK):
        buf = io.StringIO()
        frame.iloc[start:start + CHUNK].to_csv(buf, header=False, index=False, na_rep="")
        buf.seek(0)
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
        if progress:
            progress(min(CHUNK, n - start))
    return n


def copy_layer(session: Session, spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
               progress: Callable[[int], None] | None = None) -> int:
    """Insert validated features of a (non-grid) layer with COPY; returns the row count."""
    if spec.key == "grids":
        raise ValueError("grids are loaded with copy_grids (levels and parents)")
    columns = [f.name for f in spec.input_fields if f.name in gdf.columns]
    frame = _frame_for_copy(spec, gdf, jurisdiction_id, columns)
    return copy_frame(session, spec.model.__tablename__, frame, progress)


def copy_grids(session: Session, spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
               levels: np.ndarray, parent_codes: np.ndarray) -> int:
    """Insert grids level by level, resolving parents by code (parents may be in the batch)."""
    session.execute(text("CREATE TEMP TABLE _grid_in (code text, name text, geom geometry, "
                         "level smallint, parent_code text) ON COMMIT DROP"))
    frame = pd.DataFrame({"code": gdf["code"].to_numpy(), "name": gdf["name"].to_numpy(),
                          "geom": _ewkb_hex(gdf.geometry.to_numpy()),
                          "level": levels, "parent_code": parent_codes})
    copy_frame(session, "_grid_in", frame)
    total = 0
    for lv in sorted(set(int(x) for x in levels)):
        res = session.execute(text(
            "INSERT INTO grid (jurisdiction_id, level, code, name, parent_id, geom) "
            "SELECT :j, i.level, i.code, i.name, p.id, i.geom FROM _grid_in i "
            "LEFT JOIN grid p ON p.jurisdiction_id = :j AND p.code = i.parent_code "
            "WHERE i.level = :lv"), {"j": jurisdiction_id, "lv": lv})
        total += res.rowcount
    session.execute(text("DROP TABLE _grid_in"))
    return total
