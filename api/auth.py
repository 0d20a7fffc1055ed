"""Who is asking and what their role lets them do. The one place access is decided.

Tokens come from settings (``WANGGE_API_TOKENS``: token -> role), sent as
``Authorization: Bearer <token>``. Requests without a token get ``WANGGE_ANONYMOUS_ROLE``
(development only; refused in production) or no role at all.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request

from api.errors import WanggeError, forbidden
from api.layers import LayerSpec
from api.settings import Settings


@dataclass(frozen=True)
class Principal:
    role: str | None
    name: str

    def can_read(self, spec: LayerSpec) -> bool:
        return self.role is not None and self.role in spec.read_roles

    def can_write(self, spec: LayerSpec) -> bool:
        return self.role is not None and self.role in spec.write_roles


def principal_from(request: Request, settings: Settings) -> Principal:
    header = request.headers.get("authorization", "")
    token = request.query_params.get("token") if request.url.path.startswith("/dashboards") else None
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    if token:
        for known, role in settings.api_tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return Principal(role, f"token:{role}:{known[:4]}…")
        raise WanggeError("bad_token", "访问令牌无效", "Invalid access token", 401)
    return Principal(settings.anonymous_role, "anonymous")


def require_read(p: Principal, spec: LayerSpec) -> None:
    if not p.can_read(spec):
        raise forbidden(p.role)


def require_write(p: Principal, spec: LayerSpec) -> None:
    if not p.can_write(spec):
        raise forbidden(p.role)


def require_role(p: Principal, roles: set[str] | frozenset[str]) -> None:
    if p.role not in roles:
        raise forbidden(p.role)
