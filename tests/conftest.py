"""Test set-up: a throwaway PostGIS database per run, migrated to head; tokens per role.

Database tests are never skipped: a run with any skipped test fails (see the last hook).
"""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ROLE_TOKENS = {role: f"test-{role}-{secrets.token_hex(8)}"
               for role in ("admin", "planner", "police", "leader", "analyst", "grid_worker")}


def _base_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        env = ROOT / ".local" / "db.env"
        if env.exists():
            for line in env.read_text().splitlines():
                if line.startswith("DATABASE_URL="):
                    url = line.split("=", 1)[1]
    if not url:
        raise pytest.UsageError("DATABASE_URL is not set and .local/db.env is missing: run `make test`")
    return url


def _admin_exec(base_url: str, sql: str) -> None:
    eng = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(sql))
    eng.dispose()


def create_throwaway_db(prefix: str = "wangge_test") -> str:
    base = _base_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin_exec(base, f'CREATE DATABASE "{name}"')
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_db(url: str, attempts: int = 10) -> None:
    """Drop a throwaway database. FORCE ends our own leftover sessions; an autovacuum worker
    (a superuser process the app role may not end) finishes within seconds: retry."""
    import time

    from sqlalchemy.exc import DBAPIError
    name = make_url(url).database
    for k in range(attempts):
        try:
            _admin_exec(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except DBAPIError:
            if k == attempts - 1:
                raise
            time.sleep(1 + k)


_TEST_DB = create_throwaway_db()
os.environ["DATABASE_URL"] = _TEST_DB
os.environ["WANGGE_ENVIRONMENT"] = "test"
os.environ["WANGGE_ANONYMOUS_ROLE"] = ""
os.environ["WANGGE_API_TOKENS"] = __import__("json").dumps({v: k for k, v in ROLE_TOKENS.items()})


def pytest_configure(config):
    from api.db.migrate import upgrade
    from api.settings import get_settings
    get_settings.cache_clear()
    upgrade(_TEST_DB)


def pytest_unconfigure(config):
    from api.db.session import get_engine
    try:
        get_engine().dispose()
    finally:
        drop_db(_TEST_DB)


@pytest.fixture(scope="session")
def db_url() -> str:
    return _TEST_DB


@pytest.fixture(scope="session")
def engine(db_url):
    from api.db.session import get_engine
    return get_engine()


@pytest.fixture(scope="session")
def app():
    from api.app import create_app
    return create_app()


@pytest.fixture(scope="session")
def client(app):
    """Real HTTP through the ASGI app (httpx transport), no token."""
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        yield c


def auth(role: str) -> dict[str, str]:
    """Headers of a request made with ``role``'s token."""
    return {"Authorization": f"Bearer {ROLE_TOKENS[role]}"}


@pytest.fixture
def make_jurisdiction():
    """Create a small empty jurisdiction (a 2 km square near 德清县) with a unique code."""
    import geopandas as gpd
    from shapely.geometry import box
    from api.db import repo
    from api.db.session import transaction
    made = []

    def _make(code: str | None = None, name: str = "测试镇", x0: float = 119.95, y0: float = 30.52,
              size_deg: float = 0.02):
        code = code or f"330521{secrets.randbelow(900) + 100:03d}"
        with transaction(actor="test") as s:
            j = repo.create_jurisdiction(s, code, name, gpd.GeoSeries([box(x0, y0, x0 + size_deg, y0 + size_deg)],
                                                                     crs=4326))
            made.append(j.id)
            return j
    yield _make
    with transaction(actor="test") as s:
        for jid in made:  # grids and everything else go with the jurisdiction (CASCADE)
            s.execute(text("DELETE FROM jurisdiction WHERE id=:j"), {"j": jid})


# ---- never skip a test silently -------------------------------------------------------------
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_line(
            f"FAILING THE RUN: {len(_skipped)} test(s) were skipped; every test must run "
            f"against the real PostGIS / browser: " + ", ".join(_skipped[:10]), red=True)


# ---- the demo town (data/demo.py), for integration tests -------------------------------------
@pytest.fixture(scope="session")
def demo_town(db_url) -> str:
    """The clean demo town (default seed), generated and loaded once into the test database;
    returns its jurisdiction code ("330521199"). Read it, do not change it."""
    from data.demo import TOWN_CODE
    from data.load import load_demo
    from api.db.session import get_engine
    if load_demo(if_missing=True) is not None:
        # settle the new rows now, so that no autovacuum worker (which DROP DATABASE ... FORCE
        # may not terminate) is busy in the throwaway database when the run ends
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE building, incident, camera, grid, road, key_site, staff, "
                           "grid_assignment, change_log"))
    return TOWN_CODE
