"""FastAPI dependencies: settings, session (one transaction per request), principal, language."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from api.auth import Principal, principal_from
from api.db.session import transaction
from api.settings import Settings, get_settings


def settings_dep() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def principal_dep(request: Request, settings: SettingsDep) -> Principal:
    return principal_from(request, settings)


PrincipalDep = Annotated[Principal, Depends(principal_dep)]


def session_dep(principal: PrincipalDep) -> Iterator[Session]:
    """One transaction per request; the audit trail records the principal as actor."""
    with transaction(actor=principal.name) as s:
        yield s


# scope="function": the transaction commits (or rolls back) before the response is sent, so a
# 2xx is never returned for a write that then fails to commit.
SessionDep = Annotated[Session, Depends(session_dep, scope="function")]


def lang_of(request: Request) -> str:
    q = request.query_params.get("lang")
    if q:
        return "en" if q.lower().startswith("en") else "zh-CN"
    al = request.headers.get("accept-language", "")
    if al and al.split(",")[0].strip().lower().startswith("en"):
        return "en"
    return get_settings().default_language


LangDep = Annotated[str, Depends(lang_of)]
JurisdictionQ = Annotated[str | None, Query(description="辖区编码 / jurisdiction code (optional when only one)",
                                            pattern=r"^[0-9]{6,15}$")]
