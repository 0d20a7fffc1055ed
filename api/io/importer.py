"""The import service used by ``wangge import`` and ``POST /api/v1/import/{layer}``.

One call, one transaction (the caller's session): read → validate → COPY → derive grid_id.
Any bad row raises :func:`api.errors.invalid_input` before anything is written; an error
during writing rolls the whole transaction back.
"""
from __future__ import annotations

from contextlib import nullcontext

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from api.db import repo
from api.errors import WanggeError
from api.io import staff
from api.io.mapping import ColumnMapping
from api.io.readers import read_source
from api.io.validate import prepare
from api.io.write import derive_grid_ids, validate_and_write, write_grids
from api.layers import LAYERS, LayerSpec

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int) -> None: ...


class NoProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, n: int) -> None:
        return None


@dataclass
class ImportOptions:
    jurisdiction: str | None = None
    coords: str = "wgs84"
    mapping: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    encoding: str | None = None
    source_layer: str | None = None


@dataclass
class ImportResult:
    layer: str
    jurisdiction: str
    rows_written: int
    mapping: dict[str, str]
    ignored_columns: list[str]
    format: str
    encoding: str | None
    crs: str | None
    coords: str
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    grid_assignment: dict[str, int] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


def importable_spec(layer: str) -> LayerSpec:
    """The spec of an importable layer (the layers, plus ``staff``); 404 if unknown."""
    if layer == "staff":
        return staff.STAFF
    if layer not in LAYERS:
        names = ", ".join([*LAYERS, "staff"])
        raise WanggeError("unknown_layer", f"未知图层：{layer}（可用：{names}）",
                          f"Unknown layer: {layer} (known: {names})", 404)
    return LAYERS[layer]


def check_options(opts: ImportOptions) -> None:
    if opts.coords not in COORD_SYSTEMS:
        raise WanggeError("unknown_coords", f"坐标系应为 {'/'.join(COORD_SYSTEMS)}：{opts.coords}",
                          f"coords must be one of {', '.join(COORD_SYSTEMS)}: {opts.coords}", 422)


def info_messages(mapping: ColumnMapping) -> list[dict[str, str]]:
    if not mapping.ignored:
        return []
    cols = ", ".join(mapping.ignored)
    return [{"code": "ignored_columns", "zh-CN": f"未使用的列（已忽略）：{cols}", "en": f"Columns not used (ignored): {cols}"}]


def import_file(session: Session, layer: str, path: str | Path, opts: ImportOptions | None = None,
                progress: Progress | None = None) -> ImportResult:
    """Import ``path`` into ``layer`` of the jurisdiction; all rows or none."""
    opts, progress = opts or ImportOptions(), progress or NoProgress()
    check_options(opts)
    spec = importable_spec(layer)
    j = repo.jurisdiction_by_code(session, opts.jurisdiction)
    if layer == "staff":
        return staff.import_staff(session, j, Path(path), opts, progress)
    clock = _Clock()
    progress.stage("read")
    src = read_source(Path(path), encoding=opts.encoding, source_layer=opts.source_layer,
                      geometry_map=opts.mapping, layer_key=layer)
    timings = {"read": clock.lap()}
    progress.stage("validate+write", src.n)
    mapping, crs, written, assigned = _validate_and_write(session, spec, j, src, opts, progress)
    timings["validate+write"] = clock.lap()
    return ImportResult(layer, j.code, written, mapping.used, mapping.ignored, src.fmt, src.encoding, crs,
                        opts.coords, round(clock.total(), 3), {k: round(v, 3) for k, v in timings.items()},
                        assigned, info_messages(mapping))


def _validate_and_write(session: Session, spec: LayerSpec, j, src, opts: ImportOptions, progress: Progress):
    """(mapping, CRS label, rows written, grid_id rows derived)."""
    if spec.key == "grids":
        return _import_grids(session, spec, j, src, opts, progress)
    w = validate_and_write(session, spec, j, src, mapping=opts.mapping, crs=opts.crs, coords=opts.coords,
                           advance=progress.advance)
    progress.stage("derive")
    return w.attributes.mapping, w.attributes.crs_label, w.rows, derive_grid_ids(session, spec, j)


def _import_grids(session: Session, spec: LayerSpec, j, src, opts: ImportOptions, progress: Progress):
    prep = prepare(session, spec, j, src, mapping=opts.mapping, crs=opts.crs, coords=opts.coords)
    with _grid_rules(session, spec, j, prep):
        n = write_grids(session, spec, j, prep)
        progress.advance(n)
        progress.stage("derive")
        assigned = derive_grid_ids(session, spec, j)
    return prep.mapping, prep.crs_label, n, assigned


def _grid_rules(session: Session, spec, j, prep):
    """Imported grids pass the grid rules of the families they land in (refused whole, 422,
    with the violations as GeoJSON, if they overlap, leave gaps, cut buildings…)."""
    if spec.key != "grids":
        return nullcontext()
    from api.grids import rule_gate
    return rule_gate(session, j, set(prep.grid_plan.parent_codes))


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        out, self.last = now - self.last, now
        return out

    def total(self) -> float:
        return time.perf_counter() - self.start
