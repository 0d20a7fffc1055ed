"""Feature service: GeoJSON in and out of the layer tables.

One feature (or a FeatureCollection written in one transaction) is checked against its
:class:`api.layers.LayerSpec` — geometry valid, non-empty, of the stored type and inside the
jurisdiction; properties known, writable, of their kind, in their vocabulary, range and
pattern, codes unique — and every problem is reported at once (422, nothing written).
Rows go in and out through :mod:`api.db.features` and :mod:`api.db.read`.
"""
from __future__ import annotations

from contextlib import nullcontext

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal, require_read, require_write
from api.db import features as dbf
from api.db import read, repo
from api.db.models import AUDITED_TABLES, Jurisdiction
from api.errors import Problem, WanggeError, invalid_input
from api.layers import FieldSpec, LayerSpec
from api.settings import get_settings

#: naive timestamps are read as China Standard Time (the users' clocks)
CHINA_TZ = timezone(timedelta(hours=8))
_MULTI = {"MultiPolygon": "Polygon", "MultiLineString": "LineString", "MultiPoint": "Point"}
_DEG_PER_M = 1 / 111_320
_MEMBERS = {"type", "id", "geometry", "properties", "bbox", "links"}


# ---- rows -> GeoJSON ---------------------------------------------------------------------------

def _json_value(f: FieldSpec | None, v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    kind = f.kind if f else None
    if kind == "datetime" or isinstance(v, (pd.Timestamp, datetime)):
        return pd.Timestamp(v).isoformat()
    if kind == "int":
        return int(v)
    if kind == "float":
        return float(v)
    if kind == "bool":
        return bool(v)
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    return v if isinstance(v, (int, float, bool, str)) else str(v)


def to_features(spec: LayerSpec, gdf) -> list[dict]:
    """GeoJSON Features of a frame from :func:`api.db.read.read_layer` (ids are table ids)."""
    names = [f.name for f in spec.all_fields if f.name in gdf.columns]
    geoms = shapely.to_geojson(gdf.geometry.to_numpy()) if len(gdf) else []
    cols = {n: gdf[n].tolist() for n in names}
    ids = gdf["id"].tolist() if len(gdf) else []
    return [{"type": "Feature", "id": int(fid), "geometry": json.loads(g),
             "properties": {n: _json_value(spec.field(n), cols[n][i]) for n in names}}
            for i, (fid, g) in enumerate(zip(ids, geoms))]


def read_features(session: Session, spec: LayerSpec, j: Jurisdiction, ids: list[int]) -> list[dict]:
    gdf = read.read_layer(session, spec, j, read.Filter(ids=ids))
    by_id = {f["id"]: f for f in to_features(spec, gdf)}
    return [by_id[i] for i in ids if i in by_id]


# ---- where a feature lives -----------------------------------------------------------------------

def jurisdiction_of_feature(session: Session, spec: LayerSpec, fid: int,
                            code: str | None) -> Jurisdiction:
    """The jurisdiction of feature ``fid`` (must be ``code`` when given); 404 if none."""
    jid = dbf.jurisdiction_id_of(session, spec, fid)
    if jid is None:
        raise _feature_not_found(spec, fid)
    if code:
        j = repo.jurisdiction_by_code(session, code)
        if j.id != jid:
            raise _feature_not_found(spec, fid)
        return j
    return session.get(Jurisdiction, jid)


def _feature_not_found(spec: LayerSpec, fid: Any) -> WanggeError:
    return WanggeError("not_found", f"未找到{spec.zh}要素：{fid}", f"{spec.en} feature not found: {fid}", 404)


def get_feature(session: Session, principal: Principal, spec: LayerSpec, fid: int,
                code: str | None) -> dict:
    require_read(principal, spec)
    j = jurisdiction_of_feature(session, spec, fid, code)
    return read_features(session, spec, j, [fid])[0]


# ---- checking values ---------------------------------------------------------------------------

def parse_datetime(v: Any) -> datetime:
    """ISO 8601 (``T`` or space); naive times are China Standard Time (UTC+8)."""
    if isinstance(v, datetime):
        d = v
    elif isinstance(v, str):
        s = v.strip()
        d = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    else:
        raise ValueError(v)
    return d if d.tzinfo else d.replace(tzinfo=CHINA_TZ)


def vocab_key(f: FieldSpec, v: Any) -> str | None:
    """The vocabulary key for ``v`` given as key, zh-CN name or en name (any case)."""
    if not isinstance(v, str):
        return None
    s = v.strip()
    for key, (zh, en) in f.vocab.items():
        if s == key or s == zh or s.lower() == en.lower() or s.lower() == key.lower():
            return key
    return None


def _problem(code: str, zh: str, en: str, row: int | None, f: FieldSpec, value: Any = None) -> Problem:
    return Problem(code, f"{f.zh}（{f.name}）：{zh}", f"{f.en} ({f.name}): {en}", row=row, field=f.name,
                   value=value)


def coerce(f: FieldSpec, v: Any, row: int | None = None) -> tuple[Any, Problem | None]:
    """A JSON value made the field's Python value, or the reason it cannot be."""
    bad = lambda zh, en: (None, _problem("invalid_value", zh, en, row, f, v))  # noqa: E731
    if f.kind == "str":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v) if not isinstance(v, float) or not v.is_integer() else str(int(v))
        if not isinstance(v, str):
            return bad("应为文本", "must be text")
        v = v.strip()
        if f.max_len and len(v) > f.max_len:
            return bad(f"长度不能超过 {f.max_len}", f"must be at most {f.max_len} characters")
        if f.pattern and not re.fullmatch(f.pattern, v):
            return bad(f"格式不符（{f.pattern}）", f"does not match the pattern {f.pattern}")
        return v, None
    if f.kind == "enum":
        key = vocab_key(f, v)
        if key is None:
            known = "、".join(f"{k}（{zh}）" for k, (zh, _) in f.vocab.items())
            return bad(f"不在取值范围内，可选：{known}", f"is not one of: {', '.join(f.vocab)}")
        return key, None
    if f.kind == "bool":
        if not isinstance(v, bool):
            return bad("应为 true 或 false", "must be true or false")
        return v, None
    if f.kind == "datetime":
        try:
            return parse_datetime(v), None
        except (ValueError, TypeError):
            return bad("应为 ISO 8601 时间，如 2024-05-01T08:30:00+08:00",
                       "must be an ISO 8601 time, e.g. 2024-05-01T08:30:00+08:00")
    return _coerce_number(f, v, row)


def _coerce_number(f: FieldSpec, v: Any, row: int | None) -> tuple[Any, Problem | None]:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None, _problem("invalid_value", "应为数字", "must be a number", row, f, v)
    if f.kind == "int":
        if not float(v).is_integer():
            return None, _problem("invalid_value", "应为整数", "must be a whole number", row, f, v)
        v = int(v)
    else:
        v = float(v)
    if (f.min is not None and v < f.min) or (f.max is not None and v > f.max):
        return None, _problem("out_of_range", f"应在 {f.min:g} 到 {f.max:g} 之间",
                              f"must be between {f.min:g} and {f.max:g}", row, f, v)
    if f.name == "azimuth_deg" and v == 360:
        v = 0.0  # 360° and 0° are the same direction (the table keeps [0, 360))
    return v, None


def check_properties(spec: LayerSpec, props: Any, row: int | None) -> tuple[dict, list[Problem]]:
    """Typed values of the writable fields present in ``props``, and what is wrong.
    Unknown and derived (read-only) names are refused."""
    if props is None:
        props = {}
    if not isinstance(props, dict):
        return {}, [Problem("invalid_properties", "properties 应为对象", "properties must be an object", row=row)]
    out, problems = {}, []
    names = {f.name for f in spec.all_fields}
    for name, v in props.items():
        if name not in names:
            problems.append(Problem("unknown_field", f"图层“{spec.zh}”没有字段：{name}",
                                    f"Layer {spec.en} has no field: {name}", row=row, field=name))
            continue
        f = spec.field(name)
        if not f.writable:
            problems.append(_problem("derived_field", "由系统计算，不能写入", "is derived and cannot be written",
                                     row, f))
            continue
        if v is None:
            out[name] = None
            continue
        value, p = coerce(f, v, row)
        if p:
            problems.append(p)
        else:
            out[name] = None if value == "" else value  # blank text is no value
    return out, problems


def complete(spec: LayerSpec, values: dict, row: int | None,
             reported: frozenset[str] = frozenset()) -> tuple[dict, list[Problem]]:
    """All writable fields: defaults for the missing ones; required ones must have a value
    (unless a problem with the value sent is already ``reported``)."""
    out, problems = {}, []
    for f in spec.input_fields:
        v = values.get(f.name)
        if v is None:
            v = f.default
        if v is None and f.required and f.name not in reported:
            problems.append(_problem("required", "必填", "is required", row, f))
        out[f.name] = v
    return out, problems


# ---- checking geometry -------------------------------------------------------------------------

def _gj(g: BaseGeometry | None) -> dict | None:
    return None if g is None or g.is_empty else json.loads(shapely.to_geojson(g))


def check_geometry(spec: LayerSpec, obj: Any, boundary: BaseGeometry,
                   row: int | None) -> tuple[BaseGeometry | None, list[Problem]]:
    """The geometry to store (2D, the stored type) or the problems with it."""
    def bad(code, zh, en, geom=None, value=None):
        return None, [Problem(code, zh, en, row=row, field="geometry", value=value, geometry=_gj(geom))]

    if not isinstance(obj, dict):
        return bad("geometry_missing", "缺少几何（geometry）", "The geometry is missing")
    try:
        g = shapely.force_2d(shapely.from_geojson(json.dumps(obj)))
    except Exception as e:  # GEOSException: the parser's reason
        return bad("geometry_unreadable", f"几何无法解析：{e}", f"The geometry cannot be read: {e}")
    if g is None or g.is_empty:
        return bad("geometry_empty", "几何为空", "The geometry is empty")
    g, problem = _stored_type(spec, g)
    if problem:
        return bad(*problem, geom=g)
    minx, miny, maxx, maxy = g.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return bad("coordinates_out_of_range", "坐标超出经纬度范围：几何应为 EPSG:4326（经度, 纬度）",
                   "Coordinates out of range: the geometry must be EPSG:4326 (longitude, latitude)", geom=g)
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        return bad("invalid_geometry", f"几何无效：{reason}", f"Invalid geometry: {reason}", geom=g, value=reason)
    if not _inside(g, boundary):
        return bad("outside_jurisdiction", "几何超出辖区边界（图中为超出部分）",
                   "The geometry lies outside the jurisdiction boundary (the part outside is shown)",
                   geom=g.difference(boundary))
    return g, []


def _stored_type(spec: LayerSpec, g: BaseGeometry):
    want = spec.geometry_type
    if g.geom_type == want:
        return g, None
    if _MULTI.get(want) == g.geom_type:  # Polygon -> MultiPolygon etc.
        return getattr(shapely, want)([g]), None
    if _MULTI.get(g.geom_type) == want and len(g.geoms) == 1:
        return g.geoms[0], None
    return g, ("wrong_geometry_type", f"几何类型应为 {want}，收到 {g.geom_type}",
               f"The geometry must be a {want}, got a {g.geom_type}")


def _inside(g: BaseGeometry, boundary: BaseGeometry) -> bool:
    if shapely.covered_by(g, boundary):
        return True
    tol = get_settings().sliver_tolerance_m * _DEG_PER_M  # points on the boundary, rounding
    return shapely.covered_by(g, boundary.buffer(tol))


# ---- layer rules -------------------------------------------------------------------------------

_STEPS = ("reported_at", "accepted_at", "handled_at", "resolved_at", "evaluated_at")
_STATUS_NEEDS = {"accepted": 1, "handled": 2, "resolved": 3, "evaluated": 4}


def incident_rules(v: dict, row: int | None) -> list[Problem]:
    """The closed loop: a status needs the times of its steps, and the times are in order."""
    out = []
    need = _STATUS_NEEDS.get(v.get("status"), 0)
    for step in _STEPS[1:need + 1]:
        if v.get(step) is None:
            out.append(Problem("status_needs_time", f"状态为“{v['status']}”时必须填写 {step}",
                               f"Status {v['status']} needs {step}", row=row, field=step))
    times = [("occurred_at", v.get("occurred_at"))] + [(s, v.get(s)) for s in _STEPS]
    prev_name, prev = None, None
    for name, t in times:
        if t is None:
            continue
        slack = timedelta(minutes=1) if prev_name == "occurred_at" else timedelta(0)
        if prev is not None and t < prev - slack:
            out.append(Problem("times_out_of_order", f"{name} 早于 {prev_name}",
                               f"{name} is earlier than {prev_name}", row=row, field=name))
        prev_name, prev = name, t
    return out


def camera_rules(v: dict, row: int | None) -> list[Problem]:
    gb = v.get("gb_id")
    if gb and len(gb) == 20 and gb[10:13] not in ("131", "132"):
        return [Problem("gb_id_not_camera", f"国标编码第11–13位（类型码）应为 131 或 132，收到 {gb[10:13]}",
                        f"GB/T 28181 type code (digits 11-13) must be 131 or 132, got {gb[10:13]}",
                        row=row, field="gb_id", value=gb)]
    return []


@dataclass
class GridPlace:
    level: int
    parent_code: str | None


def grid_place(j: Jurisdiction, code: str | None, exists: Callable[[str], bool], row: int | None
               ) -> tuple[GridPlace | None, list[Problem]]:
    """Level and parent of a grid from its code: the code length gives the level, the code of
    the level above is its prefix and must ``exist`` (in the table or the same batch)."""
    if not code:
        return None, []
    lengths = repo.code_lengths(j)
    if len(code) not in lengths:
        return None, [Problem("grid_code_length", f"网格编码长度应为 {'、'.join(map(str, lengths))} 位之一",
                              f"A grid code has {', '.join(map(str, lengths))} digits", row=row,
                              field="code", value=code)]
    n = min(len(code), len(j.code))
    if code[:n] != j.code[:n]:
        return None, [Problem("grid_code_prefix", f"网格编码应以辖区编码 {j.code[:n]} 开头",
                              f"A grid code must start with the jurisdiction code {j.code[:n]}", row=row,
                              field="code", value=code)]
    level = lengths.index(len(code))
    if level == 0:
        return GridPlace(0, None), []
    parent = code[:lengths[level - 1]]
    if not exists(parent):
        return None, [Problem("grid_parent_missing", f"上级网格 {parent} 不存在，请先创建上级网格",
                              f"The parent grid {parent} does not exist: create it first", row=row,
                              field="code", value=code)]
    return GridPlace(level, parent), []


# ---- writing -----------------------------------------------------------------------------------

@dataclass
class Checked:
    """One feature ready to write."""

    values: dict
    geom: BaseGeometry | None
    place: GridPlace | None = None
    problems: list[Problem] = field(default_factory=list)


def _features_of(body: Any) -> list[dict]:
    if isinstance(body, dict) and body.get("type") == "Feature":
        return [body]
    if isinstance(body, dict) and body.get("type") == "FeatureCollection" and isinstance(body.get("features"), list):
        feats = body["features"]
        if not feats:
            raise invalid_input([Problem("empty_collection", "要素集合为空", "The FeatureCollection is empty")])
        cap = get_settings().page_size_max
        if len(feats) > cap:
            raise invalid_input([Problem("too_many_features", f"一次最多写入 {cap} 个要素，请使用导入功能",
                                         f"At most {cap} features per request: use the importer")])
        return feats
    raise invalid_input([Problem("not_a_feature", "请求体应为 GeoJSON Feature 或 FeatureCollection",
                                 "The body must be a GeoJSON Feature or FeatureCollection")])


def _boundary(j: Jurisdiction) -> BaseGeometry:
    return to_shape(j.geom)


def _check_one(session: Session, spec: LayerSpec, j: Jurisdiction, feat: Any, row: int | None,
               base: dict | None, fid: int | None, batch_codes: frozenset[str] = frozenset(),
               geometry_required: bool = True) -> Checked:
    """Validate one feature; ``base`` holds the current values when patching."""
    if not isinstance(feat, dict) or (base is None and feat.get("type") != "Feature"):
        return Checked({}, None, problems=[Problem("not_a_feature", "应为 GeoJSON Feature",
                                                   "Must be a GeoJSON Feature", row=row)])
    values, problems = check_properties(spec, feat.get("properties"), row)
    problems += [Problem("unknown_member", f"GeoJSON 要素没有成员“{k}”（属性请放在 properties 中）",
                         f"A GeoJSON Feature has no member '{k}' (put properties in 'properties')", row=row, field=k)
                 for k in feat if k not in _MEMBERS]
    geom = None
    if geometry_required or feat.get("geometry") is not None:
        geom, gp = check_geometry(spec, feat.get("geometry"), _boundary(j), row)
        problems += gp
    merged, req = complete(spec, {**(base or {}), **values}, row, frozenset(p.field for p in problems))
    problems += req
    problems += _layer_rules(spec, merged, row)
    problems += _code_problems(session, spec, j, merged, fid, row)
    place = None
    if spec.key == "grids" and merged.get("code") and not any(p.field == "code" for p in problems):
        def exists(code: str) -> bool:
            return code in batch_codes or dbf.grid_id_by_code(session, j.id, code) is not None
        place, gp = grid_place(j, merged["code"], exists, row)
        problems += gp
    return Checked(merged, geom, place, problems)


def _layer_rules(spec: LayerSpec, v: dict, row: int | None) -> list[Problem]:
    if spec.key == "incidents":
        return incident_rules(v, row)
    if spec.key == "cameras":
        return camera_rules(v, row)
    return []


def _code_problems(session: Session, spec: LayerSpec, j: Jurisdiction, v: dict, fid: int | None,
                   row: int | None) -> list[Problem]:
    code = v.get(spec.code_field) if spec.code_field else None
    if code and dbf.code_taken(session, spec, j.id, code, exclude_id=fid):
        f = spec.field(spec.code_field)
        return [_problem("duplicate_code", f"编码 {code} 已被使用", f"{code} is already used", row, f, code)]
    return []


def _batch_duplicates(spec: LayerSpec, checked: list[Checked]) -> list[Problem]:
    if not spec.code_field:
        return []
    seen, out = {}, []
    for i, c in enumerate(checked):
        code = c.values.get(spec.code_field)
        if code is None:
            continue
        if code in seen:
            out.append(Problem("duplicate_code", f"编码 {code} 与第 {seen[code]} 个要素重复",
                               f"Code {code} repeats feature {seen[code]}", row=i, field=spec.code_field,
                               value=code))
        seen.setdefault(code, i)
    return out


def _batch_codes(spec: LayerSpec, feats: list[Any]) -> frozenset[str]:
    """Grid codes created by this batch (a child may hang under a parent of the same batch)."""
    if spec.key != "grids":
        return frozenset()
    props = [f.get("properties") for f in feats if isinstance(f, dict)]
    return frozenset(p["code"] for p in props if isinstance(p, dict) and isinstance(p.get("code"), str))


def create(session: Session, principal: Principal, spec: LayerSpec, body: Any,
           jurisdiction: str | None) -> tuple[list[dict], bool]:
    """Create the feature(s) of ``body``; returns them as stored and whether it was a collection."""
    require_write(principal, spec)
    feats = _features_of(body)
    many = body.get("type") == "FeatureCollection"
    j = repo.jurisdiction_by_code(session, jurisdiction)
    batch = _batch_codes(spec, feats)
    checked = [_check_one(session, spec, j, f, i if many else None, None, None, batch)
               for i, f in enumerate(feats)]
    problems = [p for c in checked for p in c.problems] + _batch_duplicates(spec, checked)
    if problems:
        raise invalid_input(problems)
    order = sorted(range(len(checked)), key=lambda i: checked[i].place.level if checked[i].place else 0)
    ids = [0] * len(checked)
    gate = _grid_gate(session, spec, j, [c.values.get("code") for c in checked])
    with _constraints(spec), gate:
        for i in order:  # parents before children
            ids[i] = _insert(session, spec, j, checked[i])
        _after_write(session, spec, j, ids, [c.geom for c in checked])
    return read_features(session, spec, j, ids), many


def _grid_gate(session: Session, spec: LayerSpec, j: Jurisdiction, codes: list[str | None], own: bool = False):
    """Grid writes pass the grid rules (tiling, cap, buildings…) like the /grids edits do."""
    if spec.key != "grids":
        return nullcontext()
    from api import grids as grid_rules
    return grid_rules.rule_gate(session, j, grid_rules.affected_parents(j, [c for c in codes if c], own=own))


def _insert(session: Session, spec: LayerSpec, j: Jurisdiction, c: Checked) -> int:
    values = dict(c.values)
    if spec.key == "grids":
        values["level"] = c.place.level
        values["parent_id"] = (dbf.grid_id_by_code(session, j.id, c.place.parent_code)
                               if c.place.parent_code else None)
    if spec.key == "incidents" and values.get("reported_at") is None:
        values["reported_at"] = max(datetime.now(timezone.utc), values["occurred_at"])
    return dbf.insert_feature(session, spec, j.id, values, c.geom)


def _after_write(session: Session, spec: LayerSpec, j: Jurisdiction, ids: list[int],
                 areas: list[BaseGeometry | None], grid_id: int | None = None) -> None:
    """Derived links: a building / incident gets its basic grid; a basic grid drawn, moved
    or removed re-derives the grid of what lies under it."""
    basic = len(j.levels) - 1
    if spec.key in dbf.GRIDDED and ids:
        dbf.assign_basic_grid(session, spec, ids, basic)
    if spec.key == "grids":
        dbf.reassign_around(session, j.id, basic, [a for a in areas if a is not None], grid_id)


class _constraints:
    """Turn a constraint the database still refuses (a race, or a rule not checked above)
    into a 409 naming the constraint; never the SQL text."""

    def __init__(self, spec: LayerSpec):
        self.spec = spec

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if isinstance(exc, IntegrityError):
            name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or "?"
            raise WanggeError("constraint_violation", f"数据库约束拒绝了写入（{name}），未写入任何内容",
                              f"The database refused the write ({name}); nothing was written", 409,
                              [Problem("constraint", name, name, value=name)]) from None
        return False


def _current_values(session: Session, spec: LayerSpec, j: Jurisdiction, fid: int) -> tuple[dict, BaseGeometry]:
    gdf = read.read_layer(session, spec, j, read.Filter(ids=[fid]))
    feat = to_features(spec, gdf)[0]
    props = {f.name: feat["properties"].get(f.name) for f in spec.input_fields}
    typed = {}
    for f in spec.input_fields:
        v = props[f.name]
        typed[f.name] = parse_datetime(v) if (f.kind == "datetime" and v is not None) else v
    return typed, gdf.geometry.iloc[0]


def replace(session: Session, principal: Principal, spec: LayerSpec, fid: int, body: Any,
            jurisdiction: str | None, partial: bool) -> dict:
    """PUT (``partial=False``: the feature as sent, defaults for what is missing) or PATCH
    (merge the properties sent, geometry optional) of one feature."""
    require_write(principal, spec)
    j = jurisdiction_of_feature(session, spec, fid, jurisdiction)
    dbf.lock_feature(session, spec, fid, j.id)
    current, old_geom = _current_values(session, spec, j, fid)
    if not isinstance(body, dict):
        raise invalid_input([Problem("not_a_feature", "请求体应为 GeoJSON Feature", "The body must be a GeoJSON Feature")])
    if body.get("id") is not None and str(body["id"]) != str(fid):
        raise invalid_input([Problem("id_mismatch", f"要素 id {body['id']} 与路径中的 {fid} 不一致",
                                     f"Feature id {body['id']} differs from {fid} in the path", field="id")])
    base = current if partial else ({"reported_at": current["reported_at"]} if spec.key == "incidents" else {})
    c = _check_one(session, spec, j, body, None, base, fid, geometry_required=not partial)
    c.problems += _grid_code_change(session, spec, fid, current, c.values)
    if c.problems:
        raise invalid_input(c.problems)
    values = dict(c.values)
    if c.place is not None:
        values["level"] = c.place.level
        values["parent_id"] = (dbf.grid_id_by_code(session, j.id, c.place.parent_code)
                               if c.place.parent_code else None)
    moved = c.geom is not None and not c.geom.equals(old_geom)
    codes = list({current.get("code"), values.get("code") or current.get("code")}) if moved or \
        values.get("code", current.get("code")) != current.get("code") else []
    with _constraints(spec), _grid_gate(session, spec, j, codes, own=True):
        dbf.update_feature(session, spec, fid, values, c.geom)
        if spec.key != "grids" or moved:
            _after_write(session, spec, j, [fid], [old_geom, c.geom], grid_id=fid)
    return read_features(session, spec, j, [fid])[0]


def _grid_code_change(session: Session, spec: LayerSpec, fid: int, current: dict, new: dict) -> list[Problem]:
    if spec.key != "grids" or current.get("code") == new.get("code"):
        return []
    n = dbf.grid_child_count(session, fid)
    if n:
        return [Problem("grid_has_children", f"该网格有 {n} 个下级网格，不能修改编码",
                        f"The grid has {n} child grids: its code cannot change", field="code",
                        value=new.get("code"))]
    return []


def delete(session: Session, principal: Principal, spec: LayerSpec, fid: int, jurisdiction: str | None) -> None:
    require_write(principal, spec)
    j = jurisdiction_of_feature(session, spec, fid, jurisdiction)
    dbf.lock_feature(session, spec, fid, j.id)
    old_geom = None
    if spec.key == "grids":
        n = dbf.grid_child_count(session, fid)
        if n:
            raise WanggeError("grid_has_children", f"该网格有 {n} 个下级网格，请先删除或改划下级网格",
                              f"The grid has {n} child grids: remove or redraw them first", 409)
        old_geom = _current_values(session, spec, j, fid)[1]
    code = _current_values(session, spec, j, fid)[0].get("code") if spec.key == "grids" else None
    with _constraints(spec), _grid_gate(session, spec, j, [code]):
        dbf.delete_feature(session, spec, fid)
        if old_geom is not None:
            _after_write(session, spec, j, [], [old_geom], grid_id=None)


# ---- history -----------------------------------------------------------------------------------

_HIDDEN = {"geom", "geom_ewkb", "jurisdiction_id"}  # geometry is shown as GeoJSON on its own


def _state(row: dict | None) -> dict | None:
    if row is None:
        return None
    geom = row.get("geom")
    if isinstance(geom, dict):
        geom = {k: v for k, v in geom.items() if k != "crs"}
    return {"properties": {k: v for k, v in row.items() if k not in _HIDDEN}, "geometry": geom}


def history(session: Session, principal: Principal, spec: LayerSpec, fid: int,
            jurisdiction: str | None) -> dict:
    """Who changed the feature, when, and how (rows before and after), oldest first."""
    require_read(principal, spec)
    table = spec.model.__tablename__
    if table not in AUDITED_TABLES:
        raise WanggeError("history_not_kept", f"图层“{spec.zh}”不记录修改历史（仅网格、摄像机）",
                          f"No change history is kept for {spec.en} (only grids and cameras)", 404)
    if jurisdiction:
        repo.jurisdiction_by_code(session, jurisdiction)
    rows = dbf.history(session, table, fid)
    if not rows:
        raise _feature_not_found(spec, fid)
    entries = []
    for r in rows:
        before, after = _state(r["before"]), _state(r["after"])
        changed = sorted(k for k in set((r["before"] or {})) | set((r["after"] or {}))
                         if (r["before"] or {}).get(k) != (r["after"] or {}).get(k))
        entries.append({"id": r["id"], "action": r["action"], "actor": r["actor"],
                        "at": r["at"].isoformat(), "transaction": r["txid"],
                        "changed": sorted({"geometry" if k.startswith("geom") else k for k in changed}),
                        "before": before, "after": after})
    return {"layer": spec.key, "id": fid, "entries": entries}
