"""Liveness and readiness: the database answers, PostGIS is there, the schema is at head."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.db.session import get_engine

router = APIRouter(tags=["health"])


@router.get("/health", summary="健康检查 / Health check")
def health() -> JSONResponse:
    try:
        with get_engine().connect() as c:
            postgis = c.execute(text("SELECT postgis_lib_version()")).scalar_one()
            rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    from api.db.migrate import head_revision
    ok = rev == head_revision()
    return JSONResponse({"status": "ok" if ok else "migrations_pending", "database": "ok",
                         "postgis": postgis, "schema_revision": rev},
                        status_code=200 if ok else 503)
