"""API schemas (never ORM rows)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class JurisdictionCreate(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6}([0-9]{3}){0,3}$", description="统计用区划代码 (6/9/12 digits)")
    name: str = Field(min_length=1)
    name_en: str | None = None
    metric_epsg: int | None = None
    boundary: dict[str, Any] = Field(description="GeoJSON geometry, Feature or FeatureCollection in EPSG:4326")


class JurisdictionPublic(BaseModel):
    code: str
    name: str
    name_en: str | None
    metric_epsg: int
    levels: list[dict[str, Any]]
    counts: dict[str, int]
    households: int
    bbox: list[float]
