"""Which column of the file feeds which field: explicit ``--map ours=theirs`` first, then the
field's own name, its Shapefile short name, its zh / en labels and its synonyms
(case-insensitive). Columns nobody claims are reported, not loaded.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from api.errors import Problem, WanggeError
from api.layers import FieldSpec

GEOMETRY_KEYS = ("lon", "lat", "wkt")  # --map targets for CSV geometry columns


@dataclass
class ColumnMapping:
    used: dict[str, str] = field(default_factory=dict)  # our field → their column
    ignored: list[str] = field(default_factory=list)
    explicit: dict[str, str] = field(default_factory=dict)


def parse_map_options(items: Iterable[str] | None) -> dict[str, str]:
    """``["households=HH_COUNT", …]`` → ``{"households": "HH_COUNT"}``."""
    out: dict[str, str] = {}
    problems = []
    for item in items or ():
        ours, sep, theirs = str(item).partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            problems.append(Problem("bad_map_option", f"映射参数应为 字段=列名：{item}",
                                    f"A mapping must read field=column: {item}", field="map"))
            continue
        out[ours.strip()] = theirs.strip()
    if problems:
        raise WanggeError("invalid_mapping", "字段映射参数有误", "The column mapping is invalid", 422, problems)
    return out


def _names_for(f: FieldSpec) -> list[str]:
    names = [f.name, f.shp_name, f.name[:10], f.zh, f.en, *f.synonyms]  # [:10]: GDAL's Shapefile cut
    return [n.strip().lower() for n in names if n]


def map_columns(fields: Sequence[FieldSpec], columns: Sequence[str], explicit: dict[str, str],
                reserved: Sequence[str] = ()) -> ColumnMapping:
    """Match ``fields`` to the file's ``columns``; ``reserved`` columns (geometry) are taken."""
    _check_explicit(fields, columns, explicit)
    by_lower: dict[str, str] = {}
    for c in columns:
        by_lower.setdefault(str(c).strip().lower(), c)
    taken = set(reserved) | {v for k, v in explicit.items() if k not in GEOMETRY_KEYS}
    used = {k: v for k, v in explicit.items() if k not in GEOMETRY_KEYS}
    for f in fields:
        if f.name in used:
            continue
        for name in _names_for(f):
            col = by_lower.get(name)
            if col is not None and col not in taken:
                used[f.name] = col
                taken.add(col)
                break
    ignored = [c for c in columns if c not in taken]
    return ColumnMapping(used, ignored, dict(explicit))


def _check_explicit(fields: Sequence[FieldSpec], columns: Sequence[str], explicit: dict[str, str]) -> None:
    known = {f.name for f in fields}
    problems = []
    for ours, theirs in explicit.items():
        if ours not in known and ours not in GEOMETRY_KEYS:
            problems.append(Problem("unknown_field", f"映射中的字段不存在：{ours}（可用：{'、'.join(sorted(known))}）",
                                    f"Unknown field in mapping: {ours} (known: {', '.join(sorted(known))})",
                                    field=ours))
        elif theirs not in columns:
            problems.append(Problem("unknown_column", f"文件中没有列：{theirs}（有：{'、'.join(map(str, columns))}）",
                                    f"The file has no column {theirs} (it has: {', '.join(map(str, columns))})",
                                    field=ours, value=theirs))
    if problems:
        raise WanggeError("invalid_mapping", "字段映射与文件不符", "The column mapping does not fit the file",
                          422, problems)
