"""FastAPI app factory. Nothing connects to the database at import time."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api.deps import lang_of
from api.errors import WanggeError
from api.settings import Settings, get_settings

log = logging.getLogger("wangge")
STATIC = Path(__file__).resolve().parent.parent / "dashboards" / "static"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WanggeError)
    async def _domain(request: Request, exc: WanggeError):
        return JSONResponse(exc.body(lang_of(request)), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        from api.errors import Problem
        problems = [Problem("invalid_parameter", f"参数无效：{e.get('msg')}", f"Invalid parameter: {e.get('msg')}",
                            field=".".join(str(x) for x in e.get("loc", ()))) for e in exc.errors()]
        err = WanggeError("invalid_request", "请求参数有误", "The request is invalid", 422, problems)
        return JSONResponse(err.body(lang_of(request)), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = WanggeError("internal_error", "服务器内部错误，已记录", "Internal server error (logged)", 500)
        return JSONResponse(err.body(lang_of(request)), status_code=500)


@asynccontextmanager
async def lifespan(app: FastAPI):
    from api.db.session import get_engine
    engine = get_engine()  # pool opened here, not at import
    yield
    engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Wangge 网格 API", version="0.1.0", lifespan=lifespan,
                  description="网格化管理与视频监控覆盖地理服务 / Grid management and video-coverage GIS service",
                  docs_url="/docs", openapi_url="/api/v1/openapi.json")
    _install_error_handlers(app)
    from api.routers import dashboards, health, io, jurisdictions, layers, staff
    app.include_router(health.router)
    app.include_router(jurisdictions.router, prefix="/api/v1")
    from api.routers import grids as grids_router
    app.include_router(grids_router.router, prefix="/api/v1")
    app.include_router(io.router, prefix="/api/v1")
    app.include_router(layers.router, prefix="/api/v1")
    app.include_router(staff.router, prefix="/api/v1")
    from api.routers import cameras as cameras_router
    app.include_router(cameras_router.router, prefix="/api/v1")
    from api.routers import camera_plan; app.include_router(camera_plan.router, prefix="/api/v1")  # noqa: E702
    app.include_router(dashboards.router)
    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
