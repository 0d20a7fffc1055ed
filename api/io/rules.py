"""Rules beyond one field: unique codes, the grid code profile and parents, GB/T 28181
camera types and the closed loop of incident timestamps. Each works on whole columns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from api.io.problems import ProblemLog
from api.layers import LayerSpec

CAMERA_TYPE_CODES = ("131", "132")  # GB/T 28181 device type: camera, network camera
_STEPS = ("reported", "accepted", "handled", "resolved", "evaluated")


@dataclass
class GridPlan:
    """Level index and parent code of each imported grid (for :func:`bulk.copy_grids`)."""

    levels: np.ndarray
    parent_codes: np.ndarray


@dataclass
class Context:
    """What the rules need to know about the target jurisdiction."""

    jurisdiction_code: str
    existing_codes: set[str] = field(default_factory=set)
    code_lengths: list[int] = field(default_factory=list)
    level_names: list[str] = field(default_factory=list)


def duplicates(spec: LayerSpec, frame: pd.DataFrame, ctx: Context, log: ProblemLog) -> None:
    """Codes repeated inside the file, or already stored."""
    if not spec.code_field:
        return
    codes = frame[spec.code_field]
    present = codes.notna().to_numpy()
    dup = present & codes.duplicated(keep="first").to_numpy()  # later occurrences
    if dup.any():
        log.add(dup, "duplicate_code", "编码在文件中重复：{value}（首次出现于第 {reason} 行）",
                "The code occurs more than once in the file: {value} (first at row {reason})",
                field=spec.code_field, values=codes.to_numpy(dtype=object), reasons=_first_rows(codes))
    if not ctx.existing_codes:
        return
    stored = present & codes.isin(ctx.existing_codes).to_numpy()
    log.add(stored, "code_exists", "编码已存在于数据库中：{value}", "The code already exists in the database: {value}",
            field=spec.code_field, values=codes.to_numpy(dtype=object))


def _first_rows(codes: pd.Series) -> np.ndarray:
    pos = pd.Series(np.arange(len(codes)) + 1)
    return pos.groupby(codes.to_numpy(), dropna=False).transform("min").to_numpy()


def camera_rules(frame: pd.DataFrame, ctx: Context, log: ProblemLog) -> None:
    """Type code (digits 11–13) must be a camera; azimuth 360° is 0°."""
    ids = frame["gb_id"]
    full = ids.str.fullmatch(r"[0-9]{20}").fillna(False).to_numpy(dtype=bool)
    tcode = ids.str.slice(10, 13)
    bad = full & ~tcode.isin(CAMERA_TYPE_CODES).to_numpy()
    log.add(bad, "not_a_camera_id", "国标编码第 11–13 位（类型码）应为 131 或 132（摄像机），实为 {reason}：{value}",
            "GB/T 28181 type code (digits 11–13) must be 131 or 132 (camera), not {reason}: {value}",
            field="gb_id", values=lambda: ids.to_numpy(dtype=object), reasons=lambda: tcode.to_numpy(dtype=object))
    az = frame["azimuth_deg"]
    frame["azimuth_deg"] = az.where(az != 360.0, 0.0)


def grid_rules(frame: pd.DataFrame, ctx: Context, log: ProblemLog) -> GridPlan:
    """Code length gives the level; prefix must be the jurisdiction's; parent must exist."""
    codes = frame["code"].astype(object)
    lens = codes.map(lambda c: len(c) if isinstance(c, str) else -1).to_numpy()
    level = np.full(len(codes), -1)
    for i, n in enumerate(ctx.code_lengths):
        level[lens == n] = i
    present = lens > 0
    _bad_length(present & (level < 0), codes, lens, ctx, log)
    _bad_prefix(present, codes, ctx, log)
    parents = _parent_codes(codes, level, ctx.code_lengths)
    known = set(codes.dropna()) | ctx.existing_codes
    orphan = (level > 0) & ~pd.Series(parents).isin(known).to_numpy()
    log.add(orphan, "missing_parent", "上级网格 {reason} 不在文件中，也不在数据库中",
            "The parent grid {reason} is neither in the file nor in the database", field="code",
            values=codes.to_numpy(), reasons=parents)
    return GridPlan(level, parents)


def _bad_length(mask, codes, lens, ctx: Context, log: ProblemLog) -> None:
    allowed = "、".join(f"{n} 位（{name}）" for n, name in zip(ctx.code_lengths, ctx.level_names))
    allowed_en = ", ".join(str(n) for n in ctx.code_lengths)
    log.add(mask, "bad_code_length", f"网格编码长度应为 {allowed}，实为 {{reason}} 位：{{value}}",
            f"A grid code must have {allowed_en} digits (one per level), not {{reason}}: {{value}}",
            field="code", values=codes.to_numpy(), reasons=lens)


def _bad_prefix(present, codes, ctx: Context, log: ProblemLog) -> None:
    jc = ctx.jurisdiction_code
    ok = codes.map(lambda c: isinstance(c, str) and (c.startswith(jc) or jc.startswith(c))).to_numpy()
    log.add(present & ~ok, "wrong_code_prefix", f"网格编码应以辖区编码 {jc} 开头：{{value}}",
            f"A grid code must start with the jurisdiction code {jc}: {{value}}", field="code",
            values=codes.to_numpy())


def _parent_codes(codes: pd.Series, level: np.ndarray, lengths: list[int]) -> np.ndarray:
    parents = np.full(len(codes), None, dtype=object)
    for i in range(1, len(lengths)):
        at = level == i
        if at.any():
            parents[at] = codes[at].str.slice(0, lengths[i - 1]).to_numpy()
    return parents


def incident_rules(frame: pd.DataFrame, ctx: Context, log: ProblemLog) -> None:
    """reported_at defaults to occurred_at; each status needs its timestamps, in order."""
    frame["reported_at"] = frame["reported_at"].fillna(frame["occurred_at"])
    step = frame["status"].map({s: i for i, s in enumerate(_STEPS)}).fillna(-1).to_numpy()
    for i, s in enumerate(_STEPS[1:], start=1):
        missing = (step >= i) & frame[f"{s}_at"].isna().to_numpy()
        log.add(missing, "missing_step_time", f"状态为「{{value}}」时必须填写 {s}_at",
                f"Status {{value}} needs {s}_at", field=f"{s}_at", values=frame["status"].to_numpy())
    _in_order(frame, log)


def _in_order(frame: pd.DataFrame, log: ProblemLog) -> None:
    pairs = [("occurred_at", "reported_at", pd.Timedelta(minutes=1))] + [
        (f"{a}_at", f"{b}_at", pd.Timedelta(0)) for a, b in zip(_STEPS, _STEPS[1:])]
    for early, late, slack in pairs:
        a, b = frame[early], frame[late]
        bad = (a.notna() & b.notna() & (b < a - slack)).to_numpy()
        log.add(bad, "steps_out_of_order", f"{late} 早于 {early}", f"{late} is earlier than {early}",
                field=late, values=b.astype(str).to_numpy())


LAYER_RULES = {"cameras": camera_rules, "incidents": incident_rules}
