"""Engine and transactions. Nothing connects at import time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.settings import get_settings


@lru_cache
def engine_for(url: str, pool_size: int = 5) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         future=True)


def get_engine() -> Engine:
    s = get_settings()
    return engine_for(s.database_url, s.db_pool_size)


def reset_engines() -> None:
    for eng in list(_cached_engines()):
        eng.dispose()
    engine_for.cache_clear()


def _cached_engines():
    # lru_cache keeps no public list; dispose through a fresh call per known url
    s = get_settings()
    try:
        yield engine_for(s.database_url, s.db_pool_size)
    except Exception:  # pragma: no cover
        return


@contextmanager
def transaction(actor: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error.

    ``actor`` is recorded by the audit triggers as who made the change.
    """
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    with factory() as session:
        with session.begin():
            if actor:
                session.execute(text("SELECT set_config('wangge.actor', :a, true)"), {"a": actor})
            yield session
