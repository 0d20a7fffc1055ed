"""From a read file to rows ready for the database, or a 422 listing every bad row.

Order: map columns → type every field → layer rules (codes, grid profile, camera IDs,
incident steps) → geometries (CRS, GCJ-02/BD-09, type, validity, plausibility, boundary).
All problems are collected before anything is decided, so one run tells the user all that
is wrong with the file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy.orm import Session

from api.db import repo
from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.io import geometry as geo
from api.io import lookups, values
from api.io.mapping import ColumnMapping, map_columns
from api.io.problems import ProblemLog
from api.io.readers import Source
from api.io.rules import LAYER_RULES, Context, GridPlan, duplicates, grid_rules
from api.layers import FieldSpec, LayerSpec


@dataclass
class Prepared:
    """Validated rows of one layer."""

    frame: pd.DataFrame          # one typed column per input field
    geoms: np.ndarray            # EPSG:4326, the layer's geometry type
    wkb: pa.Array | None         # the file's WKB when geometries were not changed
    mapping: ColumnMapping
    crs_label: str
    grid_plan: GridPlan | None = None


def typed_frame(fields: tuple[FieldSpec, ...], src: Source, mapping: ColumnMapping,
                log: ProblemLog) -> pd.DataFrame:
    """One typed column per field (columns not in the file: defaults or nulls)."""
    out = {}
    for f in fields:
        col = mapping.used.get(f.name)
        out[f.name] = values.parse(f, src.attrs[col] if col is not None else None, src.n, log)
    return pd.DataFrame(out)


def resolve_crs(src: Source, declared: str | int | None) -> CRS:
    """``--crs`` if given; else the file's; GeoJSON and CSV without one are EPSG:4326."""
    if declared not in (None, ""):
        try:
            return CRS.from_user_input(int(declared) if str(declared).isdigit() else declared)
        except CRSError:
            raise WanggeError("unknown_crs", f"无法识别的坐标参考系：{declared}",
                              f"Unknown CRS: {declared}", 422) from None
    if src.crs is not None:
        return src.crs
    if src.fmt in ("geojson", "csv", "kml"):
        return CRS.from_epsg(4326)
    raise WanggeError("missing_crs", "文件缺少坐标参考系（Shapefile 缺少 .prj），请补上 .prj 或用 --crs 指定",
                      "The file has no CRS (a Shapefile without .prj): add the .prj or give --crs", 422)


def crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def context(session: Session, spec: LayerSpec, j: Jurisdiction) -> Context:
    ctx = Context(j.code)
    if spec.code_field:
        ctx.existing_codes = lookups.existing_codes(session, spec, j.id)
    if spec.key == "grids":
        ctx.code_lengths = repo.code_lengths(j)
        ctx.level_names = [lv.name_zh for lv in repo.levels_of(j)]
    return ctx


def rules(spec: LayerSpec, frame: pd.DataFrame, ctx: Context, log: ProblemLog) -> GridPlan | None:
    duplicates(spec, frame, ctx, log)
    if spec.key == "grids":
        return grid_rules(frame, ctx, log)
    if spec.key in LAYER_RULES:
        LAYER_RULES[spec.key](frame, ctx, log)
    return None


def geometries(spec: LayerSpec, src: Source, crs: CRS, coords: str, boundary: geo.Boundary, log: ProblemLog,
               rows: slice = slice(None)) -> tuple[np.ndarray, bool]:
    """Geometries of ``rows`` in EPSG:4326 and of the layer's type; problems logged with row
    positions relative to ``rows.start``. Returns (geometries, whether any changed)."""
    if not src.has_geometry:
        raise WanggeError("no_geometry", "文件中没有几何（坐标）", "The file has no geometries", 422)
    geoms, unreadable, raw = src.geometry_rows(rows)
    geoms, changed = geo.to_lonlat(geoms, crs, coords)
    geoms, retyped = geo.to_layer_type(geoms, spec.geometry_type)
    ok = geo.check(geoms, unreadable, raw, spec.geometry_type, crs_label(crs), log)
    geo.check_inside(geoms, ok, boundary, log)
    return geoms, changed or retyped


@dataclass
class Attributes:
    """Typed attribute columns of the whole file, with the problems found so far."""

    frame: pd.DataFrame
    mapping: ColumnMapping
    crs: CRS
    log: ProblemLog
    grid_plan: GridPlan | None = None

    @property
    def crs_label(self) -> str:
        return crs_label(self.crs)


def check_attributes(session: Session, spec: LayerSpec, j: Jurisdiction, src: Source, *,
                     mapping: dict[str, str], crs: str | int | None = None) -> Attributes:
    """Map, type and check every attribute; whole-file rules (codes, grid profile) included."""
    cols = map_columns(spec.input_fields, [str(c) for c in src.attrs.columns], mapping,
                       reserved=src.geometry_columns)
    the_crs = resolve_crs(src, crs)
    log = ProblemLog()
    frame = typed_frame(spec.input_fields, src, cols, log)
    plan = rules(spec, frame, context(session, spec, j), log)
    return Attributes(frame, cols, the_crs, log, plan)


def prepare(session: Session, spec: LayerSpec, j: Jurisdiction, src: Source, *, mapping: dict[str, str],
            crs: str | int | None = None, coords: str = "wgs84") -> Prepared:
    """Validate all of ``src`` for ``spec`` in ``j``; raises 422 listing every bad row."""
    a = check_attributes(session, spec, j, src, mapping=mapping, crs=crs)
    geoms, changed = geometries(spec, src, a.crs, coords, geo.Boundary(lookups.boundary_of(j)), a.log)
    a.log.raise_if_any()
    return Prepared(a.frame, geoms, None if changed else src.wkb, a.mapping, a.crs_label, a.grid_plan)
