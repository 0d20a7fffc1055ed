"""Typed values from whatever a file holds, one whole column at a time.

Each parser takes the raw column (strings, numbers or nulls as read) and a
:class:`api.layers.FieldSpec`, records problems in a :class:`ProblemLog` and returns the
typed column (nulls where missing or bad). Missing optional values get the field's default.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from api.io.problems import ProblemLog
from api.layers import FieldSpec

LOCAL_TZ = "Asia/Shanghai"  # time zone of timestamps written without an offset
_TRUE = ("true", "t", "1", "1.0", "yes", "y", "是", "对", "√", "on")
_FALSE = ("false", "f", "0", "0.0", "no", "n", "否", "不", "×", "off")
_BOOLS = {**{k: True for k in _TRUE}, **{k: False for k in _FALSE}}
_TZ_SUFFIX = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _label(f: FieldSpec) -> tuple[str, str]:
    return f"「{f.zh}」({f.name})", f"'{f.en}' ({f.name})"


def as_text(raw: pd.Series) -> pd.Series:
    """Strings, stripped, with empty → NA; integral floats lose their '.0' (codes)."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("string")
    if pd.api.types.is_float_dtype(raw.dtype):
        v = raw.to_numpy(dtype=float)
        whole = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 2 ** 53)
        out = np.where(whole, np.where(whole, v, 0).astype(np.int64).astype(str), v.astype(str))
        return pd.Series(out, index=raw.index, dtype="string").mask(np.isnan(v))
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw.dt.strftime("%Y-%m-%dT%H:%M:%S%z").astype("string")
    s = raw.astype("string").str.strip()
    return s.mask(s == "")


def parse(f: FieldSpec, raw: pd.Series | None, n: int, log: ProblemLog) -> pd.Series:
    """The typed column for field ``f`` (``raw`` None: not in the file)."""
    if raw is None:
        return _absent(f, n, log)
    text = as_text(raw.reset_index(drop=True))
    typed = _PARSERS[f.kind](f, raw.reset_index(drop=True), text, log)
    missing = text.isna().to_numpy()
    if f.required and f.default is None:
        zh, en = _label(f)
        log.add(missing, "missing_value", f"必填字段{zh}为空", f"Required field {en} is empty", field=f.name)
    elif f.default is not None and missing.any():
        typed = typed.where(~missing, f.default) if f.kind != "datetime" else typed
    return typed


def _absent(f: FieldSpec, n: int, log: ProblemLog) -> pd.Series:
    """A field the file does not have: its default, or nulls (required: every row missing)."""
    if f.required and f.default is None:
        zh, en = _label(f)
        log.add(np.ones(n, dtype=bool), "missing_value", f"必填字段{zh}为空（文件中没有此列）",
                f"Required field {en} is empty (the file has no such column)", field=f.name)
    dtype = {"int": "Int64", "float": "float64", "bool": "boolean", "datetime": "datetime64[ns, UTC]"}.get(f.kind, object)
    return pd.Series([f.default] * n if f.default is not None else [None] * n, dtype=dtype)


def _parse_str(f: FieldSpec, raw: pd.Series, text: pd.Series, log: ProblemLog) -> pd.Series:
    zh, en = _label(f)
    if f.max_len:
        log.add((text.str.len() > f.max_len).fillna(False).to_numpy(), "too_long",
                f"{zh}超过 {f.max_len} 个字符", f"{en} is longer than {f.max_len} characters",
                field=f.name, values=lambda: text.to_numpy(dtype=object))
    if f.pattern:
        ok = text.str.fullmatch(f.pattern).fillna(True).to_numpy(dtype=bool)
        log.add(~ok, "pattern_mismatch", f"{zh}格式不符（应匹配 {f.pattern}）：{{value}}",
                f"{en} does not match {f.pattern}: {{value}}", field=f.name,
                values=lambda: text.to_numpy(dtype=object))
    return text.astype(object).where(text.notna(), None)


def _numbers(f: FieldSpec, raw: pd.Series, text: pd.Series, log: ProblemLog, integer: bool) -> pd.Series:
    zh, en = _label(f)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        num = pd.Series(raw.to_numpy(dtype=float))
    else:
        num = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype(float)
    v = num.to_numpy()
    bad = text.notna().to_numpy() & ~np.isfinite(v)
    if integer:
        bad |= np.isfinite(v) & (np.floor(v) != v)
    what = ("整数", "an integer") if integer else ("数字", "a number")
    log.add(bad, "not_a_number", f"{zh}不是{what[0]}：{{value}}", f"{en} is not {what[1]}: {{value}}",
            field=f.name, values=lambda: text.to_numpy(dtype=object))
    v = np.where(bad, np.nan, v)
    _check_range(f, v, log)
    return pd.Series(v).astype("Int64") if integer else pd.Series(v)


def _check_range(f: FieldSpec, v: np.ndarray, log: ProblemLog) -> None:
    if f.min is None and f.max is None:
        return
    lo = -np.inf if f.min is None else f.min
    hi = np.inf if f.max is None else f.max
    with np.errstate(invalid="ignore"):
        out = np.isfinite(v) & ((v < lo) | (v > hi))
    zh, en = _label(f)
    log.add(out, "out_of_range", f"{zh}超出范围 [{_n(lo)}, {_n(hi)}]：{{value}}",
            f"{en} is outside [{_n(lo)}, {_n(hi)}]: {{value}}", field=f.name, values=v)


def _n(x: float) -> str:
    return "∞" if np.isinf(x) else (str(int(x)) if float(x).is_integer() else str(x))


def _parse_int(f, raw, text, log):
    return _numbers(f, raw, text, log, integer=True)


def _parse_float(f, raw, text, log):
    return _numbers(f, raw, text, log, integer=False)


def _parse_bool(f: FieldSpec, raw: pd.Series, text: pd.Series, log: ProblemLog) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean")
    val = text.str.lower().map(_BOOLS)
    bad = (text.notna() & val.isna()).to_numpy()
    zh, en = _label(f)
    log.add(bad, "not_a_bool", f"{zh}应为 是/否（true/false、1/0）：{{value}}",
            f"{en} must be yes/no (true/false, 1/0): {{value}}", field=f.name,
            values=lambda: text.to_numpy(dtype=object))
    return val.astype("boolean")


def vocab_lookup(f: FieldSpec) -> dict[str, str]:
    """Every accepted spelling (key, zh name, en name; case-insensitive) → key."""
    out: dict[str, str] = {}
    for key, (zh, en) in (f.vocab or {}).items():
        for s in (key, zh, en):
            out[s.strip().lower()] = key
    return out


def _parse_enum(f: FieldSpec, raw: pd.Series, text: pd.Series, log: ProblemLog) -> pd.Series:
    val = text.str.lower().map(vocab_lookup(f))
    bad = (text.notna() & val.isna()).to_numpy()
    zh, en = _label(f)
    keys = "、".join(f"{k}（{v[0]}）" for k, v in (f.vocab or {}).items())
    log.add(bad, "unknown_value", f"{zh}取值无效：{{value}}；可选：{keys}",
            f"{en} has an unknown value: {{value}}; known: {', '.join(f.vocab or {})}",
            field=f.name, values=lambda: text.to_numpy(dtype=object))
    return val.astype(object).where(val.notna(), None)


def parse_datetimes(text: pd.Series) -> pd.Series:
    """UTC timestamps; text without an offset is local time (:data:`LOCAL_TZ`)."""
    t = text.str.replace("年", "-", regex=False).str.replace("月", "-", regex=False) \
        .str.replace("日", " ", regex=False).str.replace("/", "-", regex=False).str.strip()
    aware = t.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = _to_dt(t[aware], utc=True)
    naive = ~aware & t.notna().to_numpy()
    if naive.any():
        local = _to_dt(t[naive], utc=False)
        out[naive] = local.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return out


def _to_dt(t: pd.Series, utc: bool) -> pd.Series:
    first = pd.to_datetime(t, errors="coerce", utc=utc, format="ISO8601")
    retry = first.isna() & t.notna()
    if retry.any():
        first[retry] = pd.to_datetime(t[retry], errors="coerce", utc=utc, format="mixed")
    return first


def _parse_datetime(f: FieldSpec, raw: pd.Series, text: pd.Series, log: ProblemLog) -> pd.Series:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return raw.dt.tz_localize(LOCAL_TZ).dt.tz_convert("UTC")
    val = parse_datetimes(text)
    bad = (text.notna() & val.isna()).to_numpy()
    zh, en = _label(f)
    log.add(bad, "not_a_datetime", f"{zh}不是有效时间（如 2024-05-01 08:30）：{{value}}",
            f"{en} is not a valid time (e.g. 2024-05-01 08:30): {{value}}", field=f.name,
            values=lambda: text.to_numpy(dtype=object))
    return val


_PARSERS = {"str": _parse_str, "int": _parse_int, "float": _parse_float, "bool": _parse_bool,
            "enum": _parse_enum, "datetime": _parse_datetime}
