"""Grid service: validation of a jurisdiction, and every edit of grids (create, reshape,
split by a line, merge, delete, move the boundary between two neighbours, restore, renumber)
run as one transaction that locks the family it validates and refuses (HTTP 422, with the
violations as GeoJSON) when the edit would introduce an error-severity violation.

Staffing is not part of the edit gate (a newly split grid inherits its staff; a new grid gets
its staff after it exists); it is reported by full validation.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import split as split_by_line
from sqlalchemy.orm import Session

from api.db import grids as store
from api.db import repo
from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.settings import get_settings
from gis import rules
from gis.rules import Violation


def rule_config(j: Jurisdiction) -> rules.RuleConfig:
    s = get_settings()
    cap = j.levels[-1].get("household_cap") or s.household_cap
    return rules.config_from_levels(j.levels, household_cap=cap, sliver_tolerance_m=s.sliver_tolerance_m)


# ---- GeoJSON of violations -------------------------------------------------------------------

def violations_geojson(vs: list[Violation], epsg: int) -> dict:
    """Violations as a GeoJSON FeatureCollection in EPSG:4326."""
    geoms = gpd.GeoSeries([v.geometry for v in vs], crs=epsg).to_crs(4326)
    feats = []
    for v, g in zip(vs, geoms):
        feats.append({"type": "Feature", "properties": v.as_dict(),
                      "geometry": None if g is None or g.is_empty else json.loads(shapely.to_geojson(g))})
    return {"type": "FeatureCollection", "features": feats}


def summary(vs: list[Violation]) -> dict:
    by: dict[str, int] = {}
    for v in vs:
        by[v.kind] = by.get(v.kind, 0) + 1
    return {"errors": sum(v.severity == "error" for v in vs),
            "warnings": sum(v.severity == "warning" for v in vs), "by_kind": by}


# ---- full validation -------------------------------------------------------------------------

def _metric(gdf: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    return gdf.to_crs(epsg) if len(gdf) else gdf.set_crs(epsg, allow_override=True)


def validate_jurisdiction(session: Session, j: Jurisdiction, parent_code: str | None = None) -> list[Violation]:
    """All rules over the jurisdiction, or over one grid's subtree when ``parent_code``."""
    cfg = rule_config(j)
    g = store.all_grids(session, j)
    boundary = None
    if parent_code:
        if parent_code not in set(g["code"]):
            raise WanggeError("unknown_grid", f"未找到网格：{parent_code}", f"Grid not found: {parent_code}", 404)
        g = g[g["code"].str.startswith(parent_code)]
        area = shapely.to_wkb(g.loc[g["code"] == parent_code].geometry.iloc[0])
        g = g.assign(parent_code=np.where(g["code"] == parent_code, None, g["parent_code"]))
    else:
        area = None
        boundary = gpd.GeoSeries([store.boundary(session, j)], crs=4326).to_crs(j.metric_epsg).iloc[0]
    b = _metric(store.buildings_near(session, j, area), j.metric_epsg)
    a = store.assignments(session, j)
    a = a[a["grid_code"].isin(set(g["code"]))]
    vs = rules.validate(_metric(g, j.metric_epsg), cfg, boundary=boundary, buildings=b, assignments=a)
    if parent_code:  # the subtree root was made a top without a boundary: drop its own code rules
        vs = [v for v in vs if not (v.kind == "code_length" and v.grids == (parent_code,))]
    return vs


# ---- edits ------------------------------------------------------------------------------------

@dataclass
class Change:
    """What an edit does to one family (the children of ``parent``)."""

    parent: str | None
    updates: dict[str, object] = field(default_factory=dict)      # code -> new geometry (4326)
    creates: list[tuple[str, str, object]] = field(default_factory=list)  # (code, name, geom)
    deletes: list[str] = field(default_factory=list)
    staff_from: dict[str, str] = field(default_factory=dict)      # new code -> code whose staff it gets
    merge_into: dict[str, str] = field(default_factory=dict)      # deleted code -> surviving code


@dataclass
class EditResult:
    applied: bool
    before: list[Violation]
    after: list[Violation]
    new_errors: list[Violation]
    epsg: int
    changed: list[str]

    def body(self) -> dict:
        return {"applied": self.applied, "changed": self.changed,
                "summary": {"before": summary(self.before), "after": summary(self.after)},
                "new_errors": violations_geojson(self.new_errors, self.epsg),
                "violations": violations_geojson(self.after, self.epsg)}


def _signature(v: Violation) -> tuple:
    return (v.kind, frozenset(v.grids), frozenset(map(str, v.buildings)),
            None if v.value is None else round(v.value, 0))


def _apply(fam: gpd.GeoDataFrame, ch: Change, child_level: int) -> gpd.GeoDataFrame:
    out = fam[~fam["code"].isin(ch.deletes)].copy()
    for code, geom in ch.updates.items():
        out.loc[out["code"] == code, "geometry"] = geom
    if ch.creates:
        new = gpd.GeoDataFrame({"code": [c for c, _, _ in ch.creates], "name": [n for _, n, _ in ch.creates],
                                "level": child_level, "parent_code": ch.parent},
                               geometry=[g for _, _, g in ch.creates], crs=4326)
        out = pd.concat([out, new], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def _family_buildings(session: Session, j: Jurisdiction, area) -> gpd.GeoDataFrame:
    return _metric(store.buildings_near(session, j, shapely.to_wkb(area)), j.metric_epsg)


def _validate_family(session: Session, j: Jurisdiction, fam: gpd.GeoDataFrame, parent: str | None,
                     area, buildings: gpd.GeoDataFrame | None = None) -> list[Violation]:
    """Rules over one family (``parent`` and its children); ``buildings`` (metric) are read
    from ``area`` unless given."""
    cfg = rule_config(j)
    m = _metric(fam, j.metric_epsg)
    boundary = None
    if parent is None:
        boundary = gpd.GeoSeries([store.boundary(session, j)], crs=4326).to_crs(j.metric_epsg).iloc[0]
    else:
        m = m.assign(parent_code=np.where(m["code"] == parent, None, m["parent_code"]))
    b = buildings if buildings is not None else _family_buildings(session, j, area)
    vs = rules.validate(m, cfg, boundary=boundary, buildings=b if cfg.basic in set(m["level"]) else None)
    return [v for v in vs if not (v.kind == "code_length" and parent and v.grids == (parent,))]


def _family_area(fam: gpd.GeoDataFrame, extra=(), parent: str | None = None):
    """The ground a family covers: its parent's shape (plus any new shapes), or the union of
    its grids when there is no parent row."""
    if parent is not None and (fam["code"] == parent).any():
        base = [fam.loc[fam["code"] == parent].geometry.iloc[0]]
    else:
        base = list(fam.geometry.to_numpy())
    return shapely.union_all(base + list(extra))


def run_edit(session: Session, j: Jurisdiction, ch: Change, *, dry_run: bool, actor: str | None) -> EditResult:
    """Lock the family, validate before and after the change, write it if no new error."""
    store.lock_scope(session, j, ch.parent)
    fam = store.family(session, j, ch.parent)
    known = set(fam["code"])
    for code in list(ch.updates) + ch.deletes:
        if code not in known:
            raise WanggeError("unknown_grid", f"未找到网格：{code}", f"Grid not found: {code}", 404)
    child_level = 0 if ch.parent is None else int(fam.loc[fam["code"] == ch.parent, "level"].iloc[0]) + 1
    new_fam = _apply(fam, ch, child_level)
    area = _family_area(fam, [g for _, _, g in ch.creates] + list(ch.updates.values()), ch.parent)
    buildings = _family_buildings(session, j, area)
    before = _validate_family(session, j, fam, ch.parent, area, buildings)
    after = _validate_family(session, j, new_fam, ch.parent, area, buildings)
    seen = {_signature(v) for v in before}
    new_errors = [v for v in after if v.severity == "error" and _signature(v) not in seen]
    changed = list(ch.updates) + [c for c, _, _ in ch.creates] + ch.deletes
    result = EditResult(False, before, after, new_errors, j.metric_epsg, changed)
    if new_errors and not dry_run:
        raise GridRuleError(result)
    if not dry_run:
        _write(session, j, fam, ch, child_level, area, actor)
        result.applied = True
    return result


class GridRuleError(WanggeError):
    """An edit refused because it would break a grid rule (422, violations as GeoJSON)."""

    def __init__(self, result: EditResult):
        kinds = "、".join(sorted({rules.KIND_NAMES[v.kind][0] for v in result.new_errors}))
        kinds_en = ", ".join(sorted({rules.KIND_NAMES[v.kind][1].lower() for v in result.new_errors}))
        super().__init__("grid_rule_violation", f"修改未保存：会产生 {len(result.new_errors)} 个错误（{kinds}）",
                         f"Not saved: the edit would introduce {len(result.new_errors)} error(s) ({kinds_en})", 422)
        self.result = result

    def body(self, lang: str = "zh-CN") -> dict:
        out = super().body(lang)
        out["error"]["features"] = violations_geojson(self.result.new_errors, self.result.epsg)
        out["error"]["details"] = [v.as_dict() for v in self.result.new_errors]
        out["error"]["summary"] = summary(self.result.after)
        return out


WHOLE_JURISDICTION_ABOVE = 20  # families touched by one write; beyond this validate everything


def _family_violations(session: Session, j: Jurisdiction, parent: str | None) -> list[Violation]:
    fam = store.family(session, j, parent)
    if fam.empty:
        return []
    area = store.boundary(session, j) if parent is None else _family_area(fam, parent=parent)
    return _validate_family(session, j, fam, parent, area)


def _new_errors(before: list[Violation], after: list[Violation]) -> list[Violation]:
    seen = {_signature(v) for v in before}
    return [v for v in after if v.severity == "error" and _signature(v) not in seen]


@contextmanager
def rule_gate(session: Session, j: Jurisdiction, parents: Iterable[str | None]) -> Iterator[None]:
    """Write-then-validate for any write path (generic feature writes, bulk imports): lock the
    families whose children the writes touch, validate them before, let the caller write in
    this transaction, validate again, and raise :class:`GridRuleError` (the transaction then
    rolls back) if the writes introduced an error-severity violation."""
    existing = set(store.all_codes(session, j))
    fams = sorted({p for p in parents}, key=lambda p: (p is not None, p or ""))
    for p in fams:
        if p is None or p in existing:
            store.lock_scope(session, j, p)
    whole = len(fams) > WHOLE_JURISDICTION_ABOVE
    check = (lambda: validate_jurisdiction(session, j)) if whole else \
        (lambda: [v for p in fams for v in _family_violations(session, j, p)])
    before = check() if (existing or whole) else []
    yield
    session.flush()
    after = check()
    new = _new_errors(before, after)
    if new:
        raise GridRuleError(EditResult(False, before, after, new, j.metric_epsg, []))


def affected_parents(j: Jurisdiction, codes: Iterable[str], own: bool = False) -> set[str | None]:
    """Families touched by writing grids ``codes`` (their parents; with ``own``, the grids'
    own children too, as when a grid's shape changes)."""
    out: set[str | None] = set()
    for c in codes:
        out.add(parent_of(j, c)[0])
        if own:
            out.add(c)
    return out


def _write(session, j, fam, ch: Change, child_level: int, area, actor) -> None:
    ids = dict(zip(fam["code"], fam["id"]))
    for code, geom in ch.updates.items():
        store.update_geometry(session, int(ids[code]), _multi(geom), actor)
    new_ids = {}
    for code, name, geom in ch.creates:
        new_ids[code] = store.insert_grid(session, j, code, name, child_level, ch.parent, _multi(geom), actor)
    for code, src in ch.staff_from.items():
        store.copy_assignments(session, int(ids[src]), int(new_ids.get(code) or ids[code]))
    for code in ch.deletes:
        if code in ch.merge_into:
            store.move_assignments(session, int(ids[code]), int(ids[ch.merge_into[code]]))
        store.delete_grid(session, int(ids[code]))
    changed = _changed_ground(fam, ch)
    if not changed.is_empty:
        store.reassign_area(session, j, shapely.to_wkb(changed), len(j.levels) - 1)


def _changed_ground(fam: gpd.GeoDataFrame, ch: Change):
    """Where the grid a point belongs to may have changed: what moved between old and new
    shapes, what was created, what was deleted."""
    old = dict(zip(fam["code"], fam.geometry))
    parts = [shapely.symmetric_difference(old[c], g) for c, g in ch.updates.items()]
    parts += [g for _, _, g in ch.creates] + [old[c] for c in ch.deletes]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _multi(geom):
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


# ---- the operations ---------------------------------------------------------------------------

def parent_of(j: Jurisdiction, code: str) -> tuple[str | None, int]:
    """Parent code and level of a grid code from the jurisdiction's code profile."""
    lengths = repo.code_lengths(j)
    if len(code) not in lengths or not code.isdigit():
        raise WanggeError("code_length", f"网格编码 {code} 的长度不符合编码规则（{lengths} 位）",
                          f"Grid code {code} does not fit the code profile (lengths {lengths})", 422)
    level = lengths.index(len(code))
    return (None if level == 0 else code[:lengths[level - 1]]), level


def next_codes(j: Jurisdiction, parent: str | None, existing: set[str], n: int) -> list[str]:
    """``n`` unused codes under ``parent`` (max + 1, …): codes stay stable on edits."""
    lengths = repo.code_lengths(j)
    plen = len(parent) if parent else 6
    digits = lengths[lengths.index(plen) + 1] - plen if parent else lengths[0] - 6
    prefix = parent or j.code[:6]
    used = [int(c[plen:]) for c in existing if c.startswith(prefix) and len(c) == plen + digits]
    start = max(used, default=0) + 1
    if start + n - 1 >= 10 ** digits:
        raise WanggeError("codes_exhausted", "下级编码已用尽", "No free child codes left", 422)
    return [f"{prefix}{k:0{digits}d}" for k in range(start, start + n)]


def geom_from_geojson(obj: dict, what: str = "geometry"):
    try:
        g = shapely.from_geojson(json.dumps(obj.get("geometry", obj) if obj.get("type") == "Feature" else obj))
    except Exception as e:
        raise WanggeError("invalid_geometry", f"{what} 无法解析：{e}", f"Cannot read the {what}: {e}", 422) from None
    if g.is_empty or not g.is_valid:
        reason = "empty" if g.is_empty else shapely.is_valid_reason(g)
        raise WanggeError("invalid_geometry", f"{what} 几何无效：{reason}", f"The {what} is invalid: {reason}", 422)
    return g


def op_create(session, j, code: str | None, parent: str | None, name: str, geom, **kw) -> EditResult:
    if code:
        parent, _ = parent_of(j, code)
    elif parent is None:
        raise WanggeError("parent_required", "新建网格需要编码或上级网格编码", "Give a code or a parent code", 422)
    if code is None:
        code = next_codes(j, parent, set(store.family(session, j, parent)["code"]), 1)[0]
    return run_edit(session, j, Change(parent, creates=[(code, name, _polygonal(geom))]), **kw)


def op_reshape(session, j, code: str, geom, **kw) -> EditResult:
    parent, _ = parent_of(j, code)
    return run_edit(session, j, Change(parent, updates={code: _polygonal(geom)}), **kw)


def op_delete(session, j, code: str, **kw) -> EditResult:
    parent, _ = parent_of(j, code)
    _no_children(session, j, code)
    return run_edit(session, j, Change(parent, deletes=[code]), **kw)


def op_split(session, j, code: str, line, names: list[str] | None = None, **kw) -> EditResult:
    """Split a grid by a drawn line; the largest piece keeps the code, the others get new
    codes and a copy of the grid's staff."""
    parent, _ = parent_of(j, code)
    _no_children(session, j, code)
    row = store.grid_row(session, j, code)
    geom = shapely.from_wkb(bytes(row["wkb"]))
    pieces = shapely.get_parts(split_by_line(geom, line))
    pieces = pieces[shapely.get_type_id(pieces) == 3]
    if len(pieces) < 2:
        raise WanggeError("split_failed", "分割线没有把网格分成两块以上（分割线须完整穿过网格）",
                          "The line does not cut the grid into pieces (it must cross the grid completely)", 422)
    order = np.argsort(-shapely.area(pieces))
    pieces = pieces[order]
    fam_codes = set(store.family(session, j, parent)["code"])
    new = next_codes(j, parent, fam_codes, len(pieces) - 1)
    names = names or [f"{row['name']}（{k + 2}）" for k in range(len(new))]
    creates = [(c, n, p) for c, n, p in zip(new, names, pieces[1:])]
    ch = Change(parent, updates={code: pieces[0]}, creates=creates, staff_from={c: code for c in new})
    return run_edit(session, j, ch, **kw)


def op_merge(session, j, codes: list[str], name: str | None = None, **kw) -> EditResult:
    """Merge sibling grids into the first code; staff of the others join it."""
    if len(set(codes)) < 2:
        raise WanggeError("merge_needs_two", "合并至少需要两个网格", "Merging needs at least two grids", 422)
    parents = {parent_of(j, c)[0] for c in codes}
    if len(parents) != 1:
        raise WanggeError("not_siblings", "只能合并同一上级下的网格", "Only grids of the same parent can be merged", 422)
    for c in codes:
        _no_children(session, j, c)
    geoms = [shapely.from_wkb(bytes(store.grid_row(session, j, c)["wkb"])) for c in codes]
    union = shapely.coverage_union_all(geoms) if shapely.coverage_is_valid(geoms) else shapely.union_all(geoms)
    keep, rest = codes[0], codes[1:]
    ch = Change(parents.pop(), updates={keep: union}, deletes=rest, merge_into={c: keep for c in rest})
    return run_edit(session, j, ch, **kw)


def op_move_boundary(session, j, code: str, neighbour: str, geom, **kw) -> EditResult:
    """Give ``code`` the new shape ``geom``; ``neighbour`` gets the rest of their union.
    Both change in one operation."""
    p1, p2 = parent_of(j, code)[0], parent_of(j, neighbour)[0]
    if p1 != p2:
        raise WanggeError("not_siblings", "只能在同一上级下的相邻网格之间调整边界",
                          "Boundaries can only be moved between grids of the same parent", 422)
    a = shapely.from_wkb(bytes(store.grid_row(session, j, code)["wkb"]))
    b = shapely.from_wkb(bytes(store.grid_row(session, j, neighbour)["wkb"]))
    both = shapely.coverage_union_all([a, b])
    new_a = shapely.intersection(_polygonal(geom), both)
    new_b = shapely.difference(both, new_a)
    return run_edit(session, j, Change(p1, updates={code: _polygonal(new_a), neighbour: _polygonal(new_b)}), **kw)


def _polygonal(g):
    parts = shapely.get_parts(g)
    parts = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
    if len(parts) == 0:
        raise WanggeError("wrong_geometry_type", "网格必须是面", "A grid must be a polygon", 422)
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(list(shapely.get_parts(parts)))


def _no_children(session, j, code: str) -> None:
    fam = store.family(session, j, code)
    if (fam["code"] != code).any():
        raise WanggeError("has_children", f"网格 {code} 还有下级网格，请先调整下级网格",
                          f"Grid {code} has child grids: edit those first", 422)


def op_fix_slivers(session, j, parent: str, **kw) -> EditResult:
    """Snap away sliver gaps/overlaps (thinner than the sliver tolerance) among the children
    of ``parent``; real gaps and overlaps are left for the planner."""
    from gis.fix import fix_slivers
    fam = store.family(session, j, parent)
    if not (fam["parent_code"] == parent).any():
        raise WanggeError("no_children", f"网格 {parent} 没有下级网格", f"Grid {parent} has no child grids", 422)
    m = _metric(fam, j.metric_epsg)
    pgeom = m.loc[m["code"] == parent].geometry.iloc[0]
    kids = m[m["parent_code"] == parent]
    fixed = fix_slivers(pgeom, list(kids.geometry), get_settings().sliver_tolerance_m)
    back = gpd.GeoSeries(fixed, crs=j.metric_epsg).to_crs(4326)
    updates = {c: g for c, g, f, old in zip(kids["code"], back, fixed, kids.geometry)
               if not shapely.equals_exact(f, old, 0)}
    return run_edit(session, j, Change(parent, updates=updates), **kw)


# ---- history: versions and restore ------------------------------------------------------------

def restore_version(session, j, code: str, version: int, *, dry_run: bool, actor: str | None) -> EditResult:
    row = store.grid_row(session, j, code)
    state = store.version_state(session, int(row["id"]), version)
    if state is None:
        raise WanggeError("unknown_version", f"网格 {code} 没有第 {version} 版", f"Grid {code} has no version {version}", 404)
    geom = shapely.from_wkb(bytes.fromhex(state["geom_ewkb"]))
    return op_reshape(session, j, code, geom, dry_run=dry_run, actor=actor)


def restore_tree(session, j, code: str, at: datetime, *, actor: str | None) -> dict:
    """Restore a grid and all its descendants (e.g. a whole village) to their state at ``at``;
    validated afterwards like any edit of the family."""
    parent, _ = parent_of(j, code)
    store.lock_scope(session, j, parent)
    states = store.tree_state_at(session, j, code, at)
    if not states:
        raise WanggeError("nothing_to_restore", f"{at} 时不存在网格 {code}", f"Grid {code} did not exist at {at}", 404)
    before = validate_jurisdiction(session, j, parent_code=code) if code in set(store.all_grids(session, j)["code"]) else []
    keep_ids = {int(s["after"]["id"]) for s in states}
    current = store.family_tree(session, j, code)
    for gid in current.sort_values("level", ascending=False)["id"]:
        if int(gid) not in keep_ids:
            store.delete_grid(session, int(gid))
    store.park_ids(session, [int(g) for g in current["id"] if int(g) in keep_ids])
    for s in sorted((s["after"] for s in states), key=lambda a: a["level"]):
        store.restore_row(session, s, actor)
    store.restore_assignments(session, sorted(keep_ids), at)
    area = shapely.union_all([shapely.from_wkb(bytes.fromhex(s["after"]["geom_ewkb"])) for s in states])
    store.reassign_area(session, j, shapely.to_wkb(area), len(j.levels) - 1)
    after = validate_jurisdiction(session, j, parent_code=code)
    seen = {_signature(v) for v in before}
    new_errors = [v for v in after if v.severity == "error" and _signature(v) not in seen]
    if new_errors:
        raise GridRuleError(EditResult(False, before, after, new_errors, j.metric_epsg, [code]))
    return {"restored": sorted(s["after"]["code"] for s in states), "at": at.isoformat(),
            "summary": summary(after)}


def renumber(session, j, parent: str, *, actor: str | None) -> dict:
    """Renumber the children of ``parent`` west→east, north→south (rows of similar latitude);
    descendants follow; old codes stay in the history."""
    store.lock_scope(session, j, parent)
    fam = store.family(session, j, parent)
    kids = fam[fam["parent_code"] == parent]
    order = reading_order(_metric(kids, j.metric_epsg))
    lengths = repo.code_lengths(j)
    digits = lengths[lengths.index(len(parent)) + 1] - len(parent)
    mapping = {kids["code"].iloc[i]: f"{parent}{k + 1:0{digits}d}" for k, i in enumerate(order)}
    changed = {o: n for o, n in mapping.items() if o != n}
    for old in changed:  # two steps, so that swapped codes never collide
        store.rename_code(session, j, old, store.parked(old))
    for old, new in changed.items():
        store.rename_code(session, j, store.parked(old), new)
    return {"renumbered": changed}


def reading_order(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Indices in reading order: rows north→south (a row = centroids within half the median
    cell height), west→east within a row."""
    c = gdf.geometry.centroid
    b = gdf.geometry.bounds
    band = max(float(np.median(b["maxy"] - b["miny"])) / 2.0, 1e-9)
    y, x = c.y.to_numpy(), c.x.to_numpy()
    order = np.argsort(-y)
    rows, current, top = [], [], None
    for i in order:
        if top is not None and top - y[i] > band:
            rows.append(current)
            current = []
        if not current:
            top = y[i]
        current.append(i)
    rows.append(current)
    return np.array([i for r in rows for i in sorted(r, key=lambda k: x[k])])


# ---- proposals: automatic basic grids for a village, as an editable draft ----------------------

def _proposal_parent(session, j, code: str) -> dict:
    """The grid row of ``code``, which must be one level above the basic grids."""
    row = store.grid_row(session, j, code)
    if int(row["level"]) != len(j.levels) - 2:
        raise WanggeError("not_a_village", f"网格 {code} 不是基础网格的上一级（村/社区），无法自动划分",
                          f"Grid {code} is not one level above the basic grids (a village / community)", 422)
    return row


#: How much a road of each class should be a grid boundary (gis.propose road weights). Lanes
#: (巷道) bound grids in built-up areas but not in open country (field lanes): their weight
#: grows with the village's household density up to LANE_WEIGHT at URBAN_HH_PER_HA.
ROAD_WEIGHTS = {"provincial": 1.0, "main_street": 1.0, "village_main": 1.0}
LANE_WEIGHT, URBAN_HH_PER_HA = 0.25, 30.0


def auto_lane_weight(households: float, area_m2: float) -> float:
    """Lane weight for a village with ``households`` on ``area_m2`` (denser: more like streets)."""
    density = households / max(area_m2 / 10_000.0, 1e-9)
    return round(LANE_WEIGHT * min(1.0, density / URBAN_HH_PER_HA), 3)


def _proposal_inputs(session, j, row: dict):
    """Village polygon, buildings and roads (with their class) in the jurisdiction's metric CRS."""
    from api.db.read import Filter, read_layer
    from api.layers import LAYERS
    village = gpd.GeoSeries([shapely.from_wkb(bytes(row["wkb"]))], crs=4326).to_crs(j.metric_epsg).iloc[0]
    b = _metric(store.buildings_near(session, j, bytes(row["wkb"])), j.metric_epsg)
    roads = read_layer(session, LAYERS["roads"], j, Filter(grid_code=row["code"]))
    return village, b, _metric(roads, j.metric_epsg)


def propose_grids(session, j, code: str, *, cap: int | None = None, target: int | None = None,
                  follow_roads: bool = True, seed: int = 0, lane_weight: float | None = None,
                  actor: str | None = None) -> dict:
    """A draft split of village ``code`` into basic grids (nothing is saved): a GeoJSON
    FeatureCollection (EPSG:4326) with proposed codes in reading order, households per grid,
    metrics, and the rule check of the draft as it would be saved."""
    from gis.propose import ProposeConfig
    row = _proposal_parent(session, j, code)
    cfg = ProposeConfig(cap=cap or rule_config(j).household_cap or 200, target=target,
                        follow_roads=follow_roads, seed=seed)
    p, params = _run_proposal(session, j, row, cfg, lane_weight)
    cells = p.cells.iloc[reading_order(p.cells)].reset_index(drop=True)
    fam = store.family(session, j, code)
    codes = next_codes(j, code, set(fam["code"]), len(cells))
    names = [f"{row['name']}第{k + 1}网格" for k in range(len(cells))]
    back = cells.geometry.to_crs(4326)
    check = run_edit(session, j, _proposal_change(fam, code, list(zip(codes, names, back))), dry_run=True, actor=actor)
    feats = [{"type": "Feature", "properties": {"code": c, "name": n, **_cell_props(cells.iloc[k])},
              "geometry": json.loads(shapely.to_geojson(g))} for k, (c, n, g) in enumerate(zip(codes, names, back))]
    errors = [v for v in check.after if v.severity == "error"]
    return {"type": "FeatureCollection", "features": feats, "draft": True, "village": code, "jurisdiction": j.code,
            "parameters": {"cap": cfg.cap, "target": target, "follow_roads": follow_roads, "seed": seed, **params},
            "metrics": p.metrics, "replaces": _old_children(fam, code),
            "validation": {"summary": summary(check.after), "errors": violations_geojson(errors, j.metric_epsg)}}


def _run_proposal(session, j, row: dict, cfg, lane_weight: float | None):
    """gis.propose on the village's buildings and roads (weighted by class)."""
    from gis.propose import propose
    village, b, roads = _proposal_inputs(session, j, row)
    if lane_weight is None:
        inside = shapely.contains(village, shapely.point_on_surface(b.geometry.to_numpy())) if len(b) else []
        lane_weight = auto_lane_weight(float(b["households"][inside].sum()) if len(b) else 0.0, village.area)
    weights = [ROAD_WEIGHTS.get(c, lane_weight) for c in roads["road_class"]]
    p = propose(village, b, roads.geometry, cfg, road_weights=weights)
    return p, {"roads": int(len(roads)), "lane_weight": lane_weight}


def _cell_props(cell) -> dict:
    return {"households": int(cell["households"]), "buildings": int(cell["buildings"]),
            "area_m2": float(cell["area_m2"]), "perimeter_m": float(cell["perimeter_m"]),
            "polsby_popper": float(cell["polsby_popper"])}


def _old_children(fam: gpd.GeoDataFrame, code: str) -> list[str]:
    return sorted(fam.loc[fam["parent_code"] == code, "code"])


def _proposal_change(fam: gpd.GeoDataFrame, code: str, creates: list) -> Change:
    return Change(code, creates=[(c, n, _polygonal(g)) for c, n, g in creates], deletes=_old_children(fam, code))


def apply_proposal(session, j, code: str, fc: dict, *, dry_run: bool, actor: str | None) -> dict:
    """Replace the basic grids of village ``code`` by the (possibly edited) draft ``fc`` in one
    transaction through the rule engine; refused (422) if the result breaks any error rule.
    Staff of the old grids are not carried over: they are reported for reassignment."""
    row = _proposal_parent(session, j, code)
    fam = store.family(session, j, code)
    creates = _draft_grids(j, code, fc, fam, row["name"])
    change = _proposal_change(fam, code, creates)
    check = run_edit(session, j, change, dry_run=True, actor=actor)
    errs = [v for v in check.after if v.severity == "error"]
    if errs:
        check.new_errors = errs
        raise GridRuleError(check)
    staff = store.assignments(session, j)
    staff = staff[staff["grid_code"].isin(change.deletes)]
    result = check if dry_run else run_edit(session, j, change, dry_run=False, actor=actor)
    return {**result.body(), "replaced": change.deletes, "created": [c for c, _, _ in change.creates],
            "staff": {"unassigned": int(len(staff)),
                      "by_old_grid": {c: sorted(g["role"].tolist()) for c, g in staff.groupby("grid_code")},
                      "message": {"zh-CN": "原网格的人员未自动转入新网格，请为新网格重新分配网格员和责任人员",
                                  "en": "Staff of the replaced grids were not carried over: assign staff to the new grids"}}}


def _draft_grids(j, code: str, fc: dict, fam: gpd.GeoDataFrame, village_name: str) -> list:
    """(code, name, geometry) of the draft's features; missing codes are numbered after the
    village's existing ones. Codes must be new children of ``code``, distinct."""
    feats = fc.get("features") if isinstance(fc, dict) else None
    if not feats:
        raise WanggeError("empty_proposal", "方案中没有网格", "The proposal has no grids", 422)
    props = [f.get("properties") or {} for f in feats]
    given = [p.get("code") or None for p in props]
    taken = set(fam["code"]) | {c for c in given if isinstance(c, str)}
    free = iter(next_codes(j, code, taken, sum(c is None for c in given)))
    codes = [next(free) if c is None else c for c in given]
    used = set(fam["code"])
    for c in codes:
        if not isinstance(c, str) or parent_of(j, c)[0] != code:
            raise WanggeError("code_prefix", f"网格编码 {c} 不是 {code} 的下级编码", f"Code {c} is not a child code of {code}", 422)
        if c in used:
            raise WanggeError("code_in_use", f"网格编码 {c} 已被使用（方案须使用新编码）",
                              f"Code {c} is already in use (a proposal takes new codes)", 422)
        used.add(c)
    geoms = [geom_from_geojson(f.get("geometry") or {}, f"grid {c}") for f, c in zip(feats, codes)]
    return [(c, p.get("name") or f"{village_name}第{k + 1}网格", g) for k, (c, p, g) in enumerate(zip(codes, props, geoms))]
