"""Demo towns generated once per test session (generation takes a few seconds)."""
from __future__ import annotations

from functools import lru_cache

from data.demo import DEFAULT_SEED, DemoTown, generate_town


@lru_cache(maxsize=None)
def cached_town(defects: bool = False) -> DemoTown:
    """The demo town of the default seed (shared: do not modify it)."""
    return generate_town(seed=DEFAULT_SEED, defects=defects)
