"""One settings object for the whole product (env prefix ``WANGGE_``; ``DATABASE_URL`` as is)."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-only-change-me"

ROLES = ("admin", "planner", "police", "leader", "analyst", "grid_worker")


class GridLevelConfig(BaseModel):
    """One level of the grid hierarchy: names, code digits it adds, and its rules."""

    key: str
    name_zh: str
    name_en: str
    code_digits: int = Field(ge=1, le=6)
    household_cap: int | None = None
    min_responsible: int = 2
    min_managers: int = 0
    max_managers: int | None = None


DEFAULT_LEVELS = [
    GridLevelConfig(key="town", name_zh="镇/街道", name_en="Town / sub-district", code_digits=3),
    GridLevelConfig(key="village", name_zh="村/社区", name_en="Village / community", code_digits=3),
    GridLevelConfig(key="basic", name_zh="基础网格", name_en="Basic grid", code_digits=3,
                    household_cap=200, min_managers=2, max_managers=3),
]


class CameraKpiTargets(BaseModel):
    """Targets of the video-coverage programme (DOMAIN.md, Cameras), as shares 0–1."""
    key_area_coverage: float = Field(1.0, ge=0, le=1)   # must-cover places: 100%
    networking_key: float = Field(1.0, ge=0, le=1)      # 联网率, cameras seeing key sites: 100%
    networking_all: float = Field(0.8, ge=0, le=1)      # 联网率, all cameras: 80%
    online: float = Field(0.98, ge=0, le=1)             # 在线率 ≥ 98%
    documented: float = Field(1.0, ge=0, le=1)          # 建档率: 100%
    amber_margin: float = Field(0.1, ge=0, le=1)        # below target by at most this: amber, else red


class Settings(BaseSettings):
    """Typed settings. Every number from DOMAIN.md is here because towns differ."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", env_file=(".env", ".local/db.env"),
                                      extra="ignore", env_nested_delimiter="__")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        "postgresql+psycopg2://wangge@127.0.0.1:54329/wangge",
        validation_alias=AliasChoices("DATABASE_URL", "WANGGE_DATABASE_URL"),
    )
    db_pool_size: int = 5
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # token -> role, e.g. WANGGE_API_TOKENS='{"s3cr3t": "police"}'
    api_tokens: dict[str, str] = Field(default_factory=dict)
    # role given to requests without a token; only allowed outside production
    anonymous_role: str | None = "admin"

    grid_levels: list[GridLevelConfig] = Field(default_factory=lambda: list(DEFAULT_LEVELS))
    household_cap: int = 200
    # metric CRS override (EPSG code); default: the UTM zone of the jurisdiction
    metric_epsg: int | None = None
    sliver_tolerance_m: float = 0.5

    default_language: Literal["zh-CN", "en"] = "zh-CN"
    basemap: Literal["none", "osm", "tianditu"] = "none"
    tianditu_key: SecretStr | None = None
    page_size_default: int = 100
    page_size_max: int = 10000
    import_max_bytes: int = 512 * 1024 * 1024

    # cameras: coverage raster cell, view method, blind spots, KPI targets
    camera_raster_cell_m: float = Field(2.0, gt=0, le=50)
    camera_view_method: Literal["exact", "rays"] = "exact"
    camera_exact_union_max: int = Field(3000, ge=0)   # more cameras: coverage from the raster
    blindspot_min_area_m2: float = Field(25.0, ge=0)
    blindspot_incident_radius_m: float = Field(100.0, gt=0)
    blindspot_incident_days: int = Field(90, ge=1)
    camera_kpi_targets: CameraKpiTargets = Field(default_factory=CameraKpiTargets)
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("anonymous_role", "metric_epsg", "tianditu_key", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return None if v == "" else v

    @field_validator("api_tokens")
    @classmethod
    def _known_roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {r for r in v.values() if r not in ROLES}
        if bad:
            raise ValueError(f"unknown role(s) in WANGGE_API_TOKENS: {sorted(bad)}; known: {ROLES}")
        return v

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment == "production":
            if self.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
                raise ValueError("WANGGE_SECRET_KEY must be set to a real secret in production")
            if self.anonymous_role is not None:
                raise ValueError("WANGGE_ANONYMOUS_ROLE must be empty in production")
        if self.anonymous_role is not None and self.anonymous_role not in ROLES:
            raise ValueError(f"WANGGE_ANONYMOUS_ROLE must be one of {ROLES}")
        if self.basemap == "tianditu" and self.tianditu_key is None:
            raise ValueError("WANGGE_BASEMAP=tianditu needs WANGGE_TIANDITU_KEY")
        return self

    def level(self, key: str) -> GridLevelConfig:
        for lv in self.grid_levels:
            if lv.key == key:
                return lv
        raise KeyError(key)

    @property
    def basic_level(self) -> GridLevelConfig:
        return self.grid_levels[-1]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` to re-read."""
    return Settings()
