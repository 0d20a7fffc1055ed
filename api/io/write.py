"""Writing validated rows inside the caller's transaction, and keeping grid_id derived."""
from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session

from api.db import bulk, repo
from api.db.models import Jurisdiction
from api.io import pgcopy
from api.io.geometry import threaded
from api.io.validate import Prepared
from api.layers import FieldSpec, LayerSpec

ANALYZE_ROWS = 10_000
# layers whose grid_id is derived, by the layer whose import changes them
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


def _wkb(prep: Prepared) -> pa.Array:
    if prep.wkb is not None:
        return prep.wkb
    return pa.array(threaded(lambda a: pgcopy.shapely.to_wkb(a), prep.geoms), type=pa.binary())


def write_rows(session: Session, spec: LayerSpec, j: Jurisdiction, prep: Prepared,
               advance: Callable[[int], None] | None = None) -> int:
    """COPY the rows of a non-grid layer; GiST rebuilt after big loads."""
    if spec.key == "grids":
        return write_grids(session, spec, j, prep)
    n = len(prep.frame)
    cols = {"jurisdiction_id": pa.array(np.full(n, j.id, dtype=np.int32))}
    cols.update({f.name: arrow_column(f, prep.frame[f.name]) for f in spec.input_fields})
    cols["geom"] = _wkb(prep)
    table = spec.model.__tablename__
    with pgcopy.deferred_spatial_index(session, table, n):
        written = pgcopy.copy_table(session, table, cols, advance)
    if written >= ANALYZE_ROWS:
        pgcopy.analyze(session, table)
    return written


def write_grids(session: Session, spec: LayerSpec, j: Jurisdiction, prep: Prepared) -> int:
    gdf = gpd.GeoDataFrame(prep.frame[["code", "name"]], geometry=prep.geoms, crs=4326)
    plan = prep.grid_plan
    return bulk.copy_grids(session, spec, gdf, j.id, plan.levels, plan.parent_codes)


def derive_grid_ids(session: Session, spec: LayerSpec, j: Jurisdiction) -> dict[str, int]:
    """Re-derive building / incident grid_id after their layer (or the grids) changed."""
    return {t: repo.assign_to_basic_grids(session, j.id, t) for t in DERIVED_GRID_IDS.get(spec.key, ())}
