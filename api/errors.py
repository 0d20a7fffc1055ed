"""Domain errors and their one JSON shape.

Every error has an HTTP status, a stable machine ``code``, a message in zh-CN and en and,
where rows or geometries are at fault, ``details`` (row, field, reason) and ``features``
(GeoJSON of the offending geometries). A 500 never echoes exception or SQL text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("wangge")


@dataclass
class Problem:
    """One thing wrong with one row / field / geometry of an input."""

    reason_code: str
    zh: str
    en: str
    row: int | None = None
    field: str | None = None
    value: Any = None
    geometry: dict | None = None  # GeoJSON geometry of the offending thing

    def as_dict(self) -> dict:
        d = {"code": self.reason_code, "message": {"zh-CN": self.zh, "en": self.en}}
        if self.row is not None:
            d["row"] = self.row
        if self.field is not None:
            d["field"] = self.field
        if self.value is not None:
            d["value"] = self.value if isinstance(self.value, (int, float, bool)) else str(self.value)
        return d


@dataclass
class WanggeError(Exception):
    """Base of all errors shown to users."""

    code: str
    zh: str
    en: str
    status: int = 400
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:  # CLI output, logs
        lines = [f"[{self.code}] {self.zh} / {self.en}"]
        for p in self.problems[:200]:
            where = ", ".join(x for x in (
                f"row {p.row}" if p.row is not None else "",
                f"field {p.field}" if p.field else "") if x)
            lines.append(f"  - {where + ': ' if where else ''}{p.zh} / {p.en}")
        if len(self.problems) > 200:
            lines.append(f"  … {len(self.problems) - 200} more")
        return "\n".join(lines)

    def body(self, lang: str = "zh-CN") -> dict:
        msg = {"zh-CN": self.zh, "en": self.en}
        out: dict[str, Any] = {"error": {
            "code": self.code,
            "message": msg["en" if lang.startswith("en") else "zh-CN"],
            "messages": msg,
        }}
        if self.problems:
            out["error"]["details"] = [p.as_dict() for p in self.problems]
            feats = [{"type": "Feature", "geometry": p.geometry,
                      "properties": p.as_dict()} for p in self.problems if p.geometry]
            if feats:
                out["error"]["features"] = {"type": "FeatureCollection", "features": feats}
        return out


def not_found(what: str, key: Any) -> WanggeError:
    return WanggeError("not_found", f"未找到{what}：{key}", f"{what} not found: {key}", 404)


class NotFound(WanggeError):
    pass


def invalid_input(problems: list[Problem], zh: str = "输入数据有误，未写入任何内容",
                  en: str = "The input has errors; nothing was written") -> WanggeError:
    return WanggeError("invalid_input", zh, en, 422, problems)


def forbidden(role: str | None) -> WanggeError:
    return WanggeError("forbidden", f"当前角色（{role or '未登录'}）无权执行此操作",
                       f"Your role ({role or 'anonymous'}) may not do this", 403)
