"""Fixtures of the dashboard tests: a small town, and the settings they read."""
from __future__ import annotations

import pytest

from tests.dashboards.town_data import Town, build_town


@pytest.fixture
def town(make_jurisdiction) -> Town:
    return build_town(make_jurisdiction)
