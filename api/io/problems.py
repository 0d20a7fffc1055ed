"""Collecting row problems vectorised: each check adds one block (a boolean mask or row
positions for one reason), and only the first ``MAX_LISTED`` problems become
:class:`api.errors.Problem` objects, so a million bad rows cost one numpy array, not a
million Python objects.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from api.errors import Problem, WanggeError, invalid_input

MAX_LISTED = 1000


@dataclass
class Block:
    """Rows (0-based positions in the file) failing one check."""

    positions: np.ndarray
    code: str
    zh: str
    en: str
    field: str | None = None
    values: np.ndarray | None = None  # per position, shown as ``value``; also fills {value}
    geoms: np.ndarray | None = None   # per position, shown as GeoJSON
    reasons: np.ndarray | None = None  # per position, fills {reason}


class ProblemLog:
    """All problems found in one input file."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def add(self, where, code: str, zh: str, en: str, *, field: str | None = None,
            values=None, geoms=None, reasons=None) -> None:
        """Record a problem for the rows where ``where`` (bool mask or positions) holds.

        ``values``, ``geoms`` and ``reasons`` are whole-column arrays (indexed like the file), or
        functions returning them (called only when some row fails); only failing rows are kept.
        """
        where = np.asarray(where)
        pos = np.flatnonzero(where) if where.dtype == bool else where.astype(np.int64)
        if len(pos) == 0:
            return
        pick = (lambda a: None if a is None else np.asarray(a() if callable(a) else a, dtype=object)[pos])
        self.blocks.append(Block(pos, code, zh, en, field, pick(values), pick(geoms), pick(reasons)))

    def add_one(self, code: str, zh: str, en: str, field: str | None = None) -> None:
        """A problem of the whole file (no row)."""
        self.blocks.append(Block(np.array([-1]), code, zh, en, field))

    def merge(self, other: "ProblemLog", offset: int) -> None:
        """Take ``other``'s problems, found on a slice of the file starting at row ``offset``."""
        for b in other.blocks:
            pos = np.where(b.positions >= 0, b.positions + offset, b.positions)
            self.blocks.append(Block(pos, b.code, b.zh, b.en, b.field, b.values, b.geoms, b.reasons))

    @property
    def count(self) -> int:
        return int(sum(len(b.positions) for b in self.blocks))

    def bad_rows(self, n: int) -> np.ndarray:
        """Boolean mask of the rows with any problem."""
        bad = np.zeros(n, dtype=bool)
        for b in self.blocks:
            bad[b.positions[b.positions >= 0]] = True
        return bad

    def problems(self, limit: int = MAX_LISTED) -> list[Problem]:
        """The first ``limit`` problems ordered by row, then by the order checks ran."""
        if not self.blocks:
            return []
        rows = np.concatenate([b.positions for b in self.blocks])
        which = np.concatenate([np.full(len(b.positions), i) for i, b in enumerate(self.blocks)])
        at = np.concatenate([np.arange(len(b.positions)) for b in self.blocks])
        order = np.lexsort((which, rows))[:limit]
        return [_problem(self.blocks[which[k]], int(at[k])) for k in order]

    def raise_if_any(self, zh: str | None = None, en: str | None = None) -> None:
        """Raise :func:`api.errors.invalid_input` (422) listing the problems, if any."""
        if not self.blocks:
            return
        listed = self.problems()
        more = self.count - len(listed)
        if more > 0:
            listed.append(Problem("more_problems", f"另有 {more} 个问题未列出（共 {self.count} 个）",
                                  f"{more} more problems not listed ({self.count} in all)"))
        err: WanggeError = invalid_input(listed) if zh is None else invalid_input(listed, zh, en)
        raise err


def _fmt(template: str, value, reason) -> str:
    if "{" not in template:
        return template
    return template.replace("{value}", _short(value)).replace("{reason}", str(reason))


def _short(value, n: int = 80) -> str:
    s = str(value)
    return s if len(s) <= n else s[:n] + "…"


def _problem(b: Block, k: int) -> Problem:
    value = None if b.values is None else b.values[k]
    reason = None if b.reasons is None else b.reasons[k]
    geom = None if b.geoms is None else b.geoms[k]
    pos = int(b.positions[k])
    return Problem(b.code, _fmt(b.zh, value, reason), _fmt(b.en, value, reason),
                   row=pos + 1 if pos >= 0 else None, field=b.field,
                   value=_plain(value), geometry=_geojson(geom))


def _plain(value):
    if value is None or (np.ndim(value) == 0 and not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return _short(value, 200) if isinstance(value, str) else value


def _geojson(geom) -> dict | None:
    if geom is None or not isinstance(geom, shapely.Geometry) or shapely.is_empty(geom):
        return None
    try:
        return json.loads(shapely.to_geojson(geom))
    except Exception:  # GEOS refuses some broken geometries; the row is listed anyway
        return None
