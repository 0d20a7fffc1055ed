"""Settings: typed, one env prefix, unsafe production defaults refused; docker-compose agrees."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_production_refuses_placeholder_secret(monkeypatch):
    monkeypatch.setenv("WANGGE_ENVIRONMENT", "production")
    monkeypatch.setenv("WANGGE_ANONYMOUS_ROLE", "")
    monkeypatch.delenv("WANGGE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="WANGGE_SECRET_KEY"):
        Settings(_env_file=None)


def test_production_refuses_anonymous_access(monkeypatch):
    monkeypatch.setenv("WANGGE_ENVIRONMENT", "production")
    monkeypatch.setenv("WANGGE_SECRET_KEY", "a-real-secret-of-enough-length")
    monkeypatch.setenv("WANGGE_ANONYMOUS_ROLE", "admin")
    with pytest.raises(ValidationError, match="ANONYMOUS_ROLE"):
        Settings(_env_file=None)


def test_unknown_role_in_tokens_is_refused(monkeypatch):
    monkeypatch.setenv("WANGGE_API_TOKENS", '{"abc": "superuser"}')
    with pytest.raises(ValidationError, match="unknown role"):
        Settings(_env_file=None)


def test_database_url_is_read_from_plain_env(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@db:5432/wangge")
    assert Settings(_env_file=None).database_url.endswith("@db:5432/wangge")


def test_household_cap_and_levels_are_settings(monkeypatch):
    monkeypatch.setenv("WANGGE_HOUSEHOLD_CAP", "300")
    s = Settings(_env_file=None)
    assert s.household_cap == 300
    assert [lv.key for lv in s.grid_levels] == ["town", "village", "basic"]
    assert s.basic_level.household_cap == 200


def test_docker_compose_env_is_accepted_by_settings(monkeypatch):
    """The settings docker-compose.yml passes to the api service validate as production."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api_env = compose["services"]["api"]["environment"]
    given = {"POSTGRES_PASSWORD": "pw-from-env", "WANGGE_SECRET_KEY": "compose-secret-value-123"}
    for k, v in api_env.items():
        monkeypatch.setenv(k, _interpolate(str(v), given))
    s = Settings(_env_file=None)
    assert s.environment == "production"
    assert "@db:5432/" in s.database_url
    assert compose["services"]["db"]["image"].startswith("postgis/postgis")
    assert "healthcheck" in compose["services"]["api"] and "healthcheck" in compose["services"]["db"]


def _interpolate(v: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} (the forms our file uses)."""
    import re

    def sub(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name in env:
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose requires {name}: {arg}")
        return arg or ""
    return re.sub(r"\$\{([A-Z_]+)(?:(:-|:\?)((?:[^{}]|\{[^}]*\})*))?\}", sub, v)


def test_compose_requires_secrets():
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        _interpolate("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", {})
    assert _interpolate("${WANGGE_API_TOKENS:-{}}", {}) == "{}"
