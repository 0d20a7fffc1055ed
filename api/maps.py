"""Map data service: what a dashboard page draws, read through :mod:`api.db.read`.

Pages (:mod:`dashboards`) are functions from these data classes to a ``folium.Map``; they
never open a database connection. Access is decided here: camera positions are only read
when the principal may read the camera layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from api import grids as grid_svc
from api import staff as staff_svc
from api.auth import Principal, require_read
from api.db import read, repo
from api.layers import LAYERS
from api.settings import GridLevelConfig, Settings

# share of the household cap from which a basic grid is amber (DOMAIN.md: cap is a setting;
# the warning share is the usual 80%)
WARN_SHARE = 0.8
# the most buildings one page embeds; beyond it the page says how many it left out
MAX_BUILDINGS = 10_000

STATUSES = ("ok", "near", "over")


@dataclass(frozen=True)
class TownSummary:
    code: str
    name: str
    name_en: str | None


@dataclass
class TownData:
    """Everything the town overview draws, in EPSG:4326."""

    code: str
    name: str
    name_en: str | None
    metric_epsg: int
    levels: list[GridLevelConfig]
    household_cap: int
    boundary: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame          # + status / load_share on the basic level
    buildings: gpd.GeoDataFrame      # at most MAX_BUILDINGS, residential and biggest first
    roads: gpd.GeoDataFrame
    key_sites: gpd.GeoDataFrame
    service_centres: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame | None  # None: the viewer may not see camera positions
    counts: dict[str, int]           # grids, basic_grids, buildings, households, cameras, incidents

    @property
    def basic_level(self) -> GridLevelConfig:
        return self.levels[-1]

    @property
    def buildings_capped(self) -> bool:
        return len(self.buildings) < self.counts["buildings"]


def household_status(households: np.ndarray, cap: int, warn_share: float = WARN_SHARE) -> np.ndarray:
    """'ok' below ``warn_share`` of ``cap``, 'near' up to the cap, 'over' beyond it.

    >>> household_status(np.array([0, 159, 160, 200, 201]), 200).tolist()
    ['ok', 'ok', 'near', 'near', 'over']
    """
    hh = np.asarray(households, dtype="float64")
    return np.select([hh > cap, hh >= warn_share * cap], ["over", "near"], default="ok")


def _with_status(grids: gpd.GeoDataFrame, basic_key: str, cap: int) -> gpd.GeoDataFrame:
    grids = grids.copy()
    basic = (grids["level"] == basic_key).to_numpy() if len(grids) else np.zeros(0, bool)
    hh = grids["households"].to_numpy() if len(grids) else np.zeros(0)
    grids["status"] = np.where(basic, household_status(hh, cap), None)
    grids["load_share"] = np.where(basic, hh / cap, np.nan)
    return grids


def list_towns(session: Session, principal: Principal) -> list[TownSummary]:
    """The jurisdictions a dashboard can be opened for."""
    require_read(principal, LAYERS["grids"])
    return [TownSummary(j.code, j.name, j.name_en) for j in repo.list_jurisdictions(session)]


def _counts(summary: dict, grids: gpd.GeoDataFrame, basic_key: str) -> dict[str, int]:
    n = summary["counts"]
    basic = int((grids["level"] == basic_key).sum()) if len(grids) else 0
    return {"grids": n["grid"], "basic_grids": basic, "buildings": n["building"],
            "households": summary["households"], "cameras": n["camera"], "incidents": n["incident"]}


def town_data(session: Session, code: str | None, principal: Principal, settings: Settings,
              max_buildings: int = MAX_BUILDINGS) -> TownData:
    """Layers and counts of one jurisdiction for the town overview page."""
    require_read(principal, LAYERS["grids"])
    j = repo.jurisdiction_by_code(session, code)
    levels = repo.levels_of(j)
    cap = levels[-1].household_cap or settings.household_cap

    def layer(key: str, flt: read.Filter | None = None) -> gpd.GeoDataFrame:
        return read.read_layer(session, LAYERS[key], j, flt)

    grids = _with_status(layer("grids"), levels[-1].key, cap)
    buildings = layer("buildings", read.Filter(limit=max_buildings,
                                               order=[("residential", True), ("households", True)]))
    cameras = layer("cameras") if principal.can_read(LAYERS["cameras"]) else None
    boundary = gpd.GeoDataFrame({"code": [j.code]}, geometry=[to_shape(j.geom)], crs=4326)
    return TownData(code=j.code, name=j.name, name_en=j.name_en, metric_epsg=j.metric_epsg,
                    levels=levels, household_cap=cap, boundary=boundary, grids=grids,
                    buildings=buildings, roads=layer("roads"), key_sites=layer("key_sites"),
                    service_centres=layer("service_centres"), cameras=cameras,
                    counts=_counts(repo.jurisdiction_summary(session, j), grids, levels[-1].key))


# ---- planner's dashboard (/dashboards/grids) -------------------------------------------------

STAFF_COLUMNS = ["grid_code", "role", "name", "phone", "title"]


@dataclass
class GridsData:
    """What the planner's dashboard draws, in EPSG:4326: grids with their staff, and the
    violations of the grid rules (``GET /api/v1/grids/validate``)."""

    code: str
    name: str
    name_en: str | None
    metric_epsg: int
    levels: list[GridLevelConfig]
    household_cap: int
    boundary: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame          # + status / load_share on the basic level, version
    buildings: gpd.GeoDataFrame      # at most MAX_BUILDINGS, residential and biggest first
    staff: pd.DataFrame              # STAFF_COLUMNS; phone None where the viewer may not see it
    violations: dict                 # GeoJSON FeatureCollection (api.grids.violations_geojson)
    summary: dict                    # errors, warnings, by_kind
    can_edit: bool                   # the viewer may edit grids (planner, admin)
    buildings_total: int

    @property
    def basic_level(self) -> GridLevelConfig:
        return self.levels[-1]


def grid_staff_table(session: Session, principal: Principal, code: str, page_size: int) -> pd.DataFrame:
    """Everyone's roles in the grids of jurisdiction ``code``, as :mod:`api.staff` shows them to
    ``principal`` (phone numbers only for the roles that may see them), read page by page."""
    size, offset, rows = page_size, 0, []
    while True:
        page = staff_svc.list_staff(session, principal, code, size, offset)
        rows += [{"grid_code": a["grid_code"], "role": a["role"], "name": s["name"], "phone": s["phone"],
                  "title": s["title"]} for s in page["staff"] for a in s["assignments"]]
        offset += page["numberReturned"]
        if page["numberReturned"] < size or offset >= page["numberMatched"]:
            return pd.DataFrame(rows, columns=STAFF_COLUMNS)


def grids_data(session: Session, code: str | None, principal: Principal, settings: Settings,
               max_buildings: int = MAX_BUILDINGS) -> GridsData:
    """Grids, staff, buildings and rule violations of one jurisdiction for the planner's page."""
    require_read(principal, LAYERS["grids"])
    j = repo.jurisdiction_by_code(session, code)
    levels = repo.levels_of(j)
    cap = levels[-1].household_cap or settings.household_cap
    grids = _with_status(read.read_layer(session, LAYERS["grids"], j), levels[-1].key, cap)
    buildings = read.read_layer(session, LAYERS["buildings"], j, read.Filter(
        limit=max_buildings, order=[("residential", True), ("households", True)]))
    vs = grid_svc.validate_jurisdiction(session, j)
    return GridsData(code=j.code, name=j.name, name_en=j.name_en, metric_epsg=j.metric_epsg, levels=levels,
                     household_cap=cap, grids=grids, buildings=buildings,
                     boundary=gpd.GeoDataFrame({"code": [j.code]}, geometry=[to_shape(j.geom)], crs=4326),
                     staff=grid_staff_table(session, principal, j.code, settings.page_size_max),
                     violations=grid_svc.violations_geojson(vs, j.metric_epsg), summary=grid_svc.summary(vs),
                     can_edit=principal.can_write(LAYERS["grids"]),
                     buildings_total=read.count_layer(session, LAYERS["buildings"], j))
