"""Writing validated rows inside the caller's transaction, and keeping grid_id derived.

Non-grid layers are validated and written as a pipeline: attributes are checked for the
whole file first; then geometries are checked chunk by chunk while a background thread
COPYs the previous chunk, so the database and the client work at the same time. Once any
problem is found nothing more is sent, the remaining chunks are still checked (every bad
row is listed), and the 422 rolls the transaction back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from sqlalchemy.orm import Session

from api.db import bulk, repo
from api.db.models import Jurisdiction
from api.io import lookups, pgcopy
from api.io.geometry import Boundary, threaded
from api.io.problems import ProblemLog
from api.io.readers import Source
from api.io.validate import Attributes, Prepared, check_attributes, geometries
from api.layers import FieldSpec, LayerSpec

CHUNK = 100_000
BACKGROUND_COPY = True  # COPY on a thread while the next chunk is validated
ANALYZE_ROWS = 10_000
# the derived grid_id columns each layer's import changes
DERIVED_GRID_IDS = {"grids": ("building", "incident"), "buildings": ("building",), "incidents": ("incident",)}


def arrow_column(f: FieldSpec, s: pd.Series) -> pa.Array:
    """A typed column as the Arrow array the COPY encoder writes (nulls stay null)."""
    if f.kind == "int":
        return pa.array(s.astype("Int64"), type=pa.int64(), from_pandas=True)
    if f.kind == "float":
        return pa.array(s.to_numpy(dtype=float), type=pa.float64(), from_pandas=True)
    if f.kind == "bool":
        return pa.array(s.astype("boolean"), type=pa.bool_(), from_pandas=True)
    if f.kind == "datetime":
        return pa.array(s, from_pandas=True).cast(pa.timestamp("us", tz="UTC"))
    return pa.array(s.astype(object), type=pa.string(), from_pandas=True)


def attribute_columns(spec: LayerSpec, frame: pd.DataFrame, jurisdiction_id: int) -> dict[str, pa.Array]:
    cols = {"jurisdiction_id": pa.array(np.full(len(frame), jurisdiction_id, dtype=np.int32))}
    cols.update({f.name: arrow_column(f, frame[f.name]) for f in spec.input_fields})
    return cols


def wkb_of(geoms: np.ndarray) -> pa.Array:
    return pa.array(threaded(shapely.to_wkb, geoms), type=pa.binary())


@dataclass
class Written:
    attributes: Attributes
    rows: int


def _chunk(cols: dict[str, pa.Array], src: Source, geoms: np.ndarray, changed: bool, rows: slice) -> dict:
    part = {k: v.slice(rows.start, rows.stop - rows.start) for k, v in cols.items()}
    reuse = not changed and src.wkb is not None
    part["geom"] = src.wkb.slice(rows.start, rows.stop - rows.start) if reuse else wkb_of(geoms)
    return part


def validate_and_write(session: Session, spec: LayerSpec, j: Jurisdiction, src: Source, *,
                       mapping: dict[str, str], crs=None, coords: str = "wgs84",
                       advance: Callable[[int], None] | None = None) -> Written:
    """All rows of a non-grid layer, or a 422 listing every bad row (nothing kept)."""
    a = check_attributes(session, spec, j, src, mapping=mapping, crs=crs)
    boundary, table, n = Boundary(lookups.boundary_of(j)), spec.model.__tablename__, src.n
    cols = attribute_columns(spec, a.frame, j.id) if a.log.count == 0 else {}
    with pgcopy.deferred_indexes(session, table, n if a.log.count == 0 else 0):
        with pgcopy.ChunkWriter(session, table, advance, BACKGROUND_COPY) as writer:
            for start in range(0, n, CHUNK):
                rows, part_log = slice(start, min(n, start + CHUNK)), ProblemLog()
                geoms, changed = geometries(spec, src, a.crs, coords, boundary, part_log, rows)
                a.log.merge(part_log, start)
                if a.log.count == 0:
                    writer.submit(_chunk(cols, src, geoms, changed, rows))
        a.log.raise_if_any()
    if writer.written >= ANALYZE_ROWS and spec.key in DERIVED_GRID_IDS and lookups.has_grids(session, j.id):
        pgcopy.analyze(session, table)  # the grid_id derivation that follows plans on these statistics
    return Written(a, writer.written)


def write_grids(session: Session, spec: LayerSpec, j: Jurisdiction, prep: Prepared) -> int:
    """Grids go level by level (parents by code) through :func:`bulk.copy_grids`."""
    gdf = gpd.GeoDataFrame(prep.frame[["code", "name"]], geometry=prep.geoms, crs=4326)
    plan = prep.grid_plan
    return bulk.copy_grids(session, spec, gdf, j.id, plan.levels, plan.parent_codes)


def derive_grid_ids(session: Session, spec: LayerSpec, j: Jurisdiction) -> dict[str, int]:
    """Re-derive building / incident grid_id after their layer (or the grids) changed."""
    return {t: repo.assign_to_basic_grids(session, j.id, t) for t in DERIVED_GRID_IDS.get(spec.key, ())}
