"""Demo towns generated once per test session (generation takes a few seconds)."""
from __future__ import annotations

from functools import lru_cache

from data.demo import DEFAULT_SEED, DemoTown, generate_town


@lru_cache(maxsize=None)
def cached_town(defects: bool = False) -> DemoTown:
    """The demo town of the default seed (shared: do not modify it)."""
    return generate_town(seed=DEFAULT_SEED, defects=defects)


def settle() -> None:
    """VACUUM ANALYZE the tables a demo load or delete touches, so that no autovacuum worker
    is still busy in the throwaway database when the run drops it."""
    from sqlalchemy import text

    from api.db.session import get_engine
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE building, incident, camera, grid, road, key_site, service_centre, "
                       "staff, grid_assignment, change_log, jurisdiction"))
