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
import shapely
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


# ---- camera coverage and blind spots (/dashboards/coverage, /dashboards/blindspots) ----------
# police and admin only: both pages show camera positions and views (require_read on cameras)

MULTI_CLASSES = (2, 3)   # areas seen by ≥2 and by ≥3 cameras (from the multiplicity raster)
SUGGEST_BUDGET = 5       # suggested new cameras on the blind-spot page


@dataclass
class CoverageData:
    """What the coverage page draws, in EPSG:4326 (computed by :mod:`api.cameras`)."""

    code: str
    name: str
    name_en: str | None
    metric_epsg: int
    boundary: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame        # gb_id, name, kind, networked, online, documented + decoded parts
    views: gpd.GeoDataFrame          # gb_id, name, networked, online, area_m2
    coverage: gpd.GeoDataFrame       # one row: the union of the views
    multi: gpd.GeoDataFrame          # min_cameras (2, 3): seen by at least that many cameras
    sites: gpd.GeoDataFrame          # api.cameras.site_results rows on the sites' shapes
    kpis: dict[str, list[dict]]      # level key -> api.cameras.area_kpis rows (basic grids, villages)
    kpi_shapes: dict[str, gpd.GeoDataFrame]  # level key -> the areas (code, geometry)
    level_names: dict[str, tuple[str, str]]  # level key -> (zh, en)
    targets: dict
    summary: dict                    # cameras, covered_km2, multi_covered_km2, key_site_status


@dataclass
class BlindSpotsData:
    """What the blind-spot page draws, in EPSG:4326: blind spots ranked by priority and, when
    the placement service answers, suggested new cameras with their gains."""

    code: str
    name: str
    name_en: str | None
    metric_epsg: int
    boundary: gpd.GeoDataFrame
    coverage: gpd.GeoDataFrame
    spots: gpd.GeoDataFrame          # rank, priority, area_m2, category_zh/en, site_name, grid_code, ...
    incidents: dict                  # from, to, count, radius_m
    suggestions: gpd.GeoDataFrame | None   # points: rank, azimuth_deg, gain_m2, ...; None: not computed
    suggestion_views: gpd.GeoDataFrame | None
    suggestion_summary: dict | None


def _metric_frame(geoms, crs, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(list(geoms), crs=crs), crs=crs).to_crs(4326)


def _boundary(j) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [j.code]}, geometry=[to_shape(j.geom)], crs=4326)


def _decoded_columns(gb_ids) -> dict[str, list]:
    from gis import kpi
    out = {k: [] for k in ("admin_code", "type_zh", "type_en", "network_zh", "network_en", "serial")}
    for g in gb_ids:
        try:
            d = kpi.decode(g)
        except kpi.NotACamera:
            d = None
        out["admin_code"].append(d.admin_code if d else None)
        out["type_zh"].append(d.type.zh if d else None)
        out["type_en"].append(d.type.en if d else None)
        out["network_zh"].append(d.network.zh if d else None)
        out["network_en"].append(d.network.en if d else None)
        out["serial"].append(d.serial if d else None)
    return out


def coverage_data(session: Session, code: str | None, principal: Principal, settings: Settings) -> CoverageData:
    """Views, coverage, multiplicity, key sites and KPIs (basic grids and villages) of one
    jurisdiction for the coverage page."""
    from api import cameras as cam_svc
    from api.db import cameras as cam_store
    require_read(principal, LAYERS["cameras"])
    j = repo.jurisdiction_by_code(session, code)
    m = cam_svc.build_model(session, j, settings)
    crs = m.cams.crs or j.metric_epsg
    c = m.cams
    cameras = gpd.GeoDataFrame({k: c[k].to_numpy() for k in ("gb_id", "name", "kind", "networked", "online",
                                                              "documented")} | _decoded_columns(c["gb_id"]),
                               geometry=c.geometry.to_numpy(), crs=crs).to_crs(4326)
    area = np.round(shapely.area(m.views), 1) if len(m.views) else np.zeros(0)
    views = _metric_frame(m.views, crs, gb_id=c["gb_id"].to_numpy(), name=c["name"].to_numpy(),
                          networked=c["networked"].to_numpy(bool), online=c["online"].to_numpy(bool), area_m2=area)
    multi = []
    if m.counts is not None:
        from gis.coverage import raster_to_polygons
        multi = [(k, raster_to_polygons(m.counts >= k, m.transform)) for k in MULTI_CLASSES]
    multi = _metric_frame([g for _, g in multi], crs, min_cameras=[k for k, _ in multi])
    rows = cam_svc.site_results(m)
    sites = _metric_frame(m.sites.geometry.to_numpy(), crs, **{
        k: [r[k] for r in rows] for k in ("name", "category", "area_m2", "share_covered", "cameras_seeing",
                                           "entrances_covered", "status")},
        entrances=[len(r["entrances"]) for r in rows])
    levels = list(j.levels)
    keys = [("grid", len(levels) - 1)] + ([(levels[-2]["key"], len(levels) - 2)] if len(levels) > 1 else [])
    areas = {key: cam_store.grids(session, j, lv) for key, lv in keys}
    kpis = {key: cam_svc.area_kpis(m, a, settings) for key, a in areas.items()}
    shapes = {key: gpd.GeoDataFrame({"code": a["code"].to_numpy()}, geometry=a.geometry.to_numpy(), crs=a.crs)
              .to_crs(4326) for key, a in areas.items()}
    names = {key: (levels[lv]["name_zh"], levels[lv]["name_en"]) for key, lv in keys}
    summary = {"cameras": len(c), "covered_km2": round(m.coverage.area / 1e6, 4),
               "multi_covered_km2": cam_svc._multi_km2(m),
               "key_site_status": {s: sum(r["status"] == s for r in rows) for s in cam_svc.SITE_STATUS}}
    return CoverageData(code=j.code, name=j.name, name_en=j.name_en, metric_epsg=j.metric_epsg,
                        boundary=_boundary(j), cameras=cameras, views=views,
                        coverage=_metric_frame([m.coverage], crs), multi=multi, sites=sites, kpis=kpis,
                        kpi_shapes=shapes, level_names=names, targets=settings.camera_kpi_targets.model_dump(), summary=summary)


def blindspots_data(session: Session, code: str | None, principal: Principal, settings: Settings,
                    budget: int = SUGGEST_BUDGET) -> BlindSpotsData:
    """Ranked blind spots of one jurisdiction and (``budget`` > 0) suggested new cameras from the
    placement service (``POST /api/v1/cameras/suggest`` with its defaults)."""
    from api import cameras as cam_svc
    require_read(principal, LAYERS["cameras"])
    j = repo.jurisdiction_by_code(session, code)
    m = cam_svc.build_model(session, j, settings)
    crs = m.cams.crs or j.metric_epsg
    spots = cam_svc.blind_spot_frame(session, m, settings)
    incidents = spots.attrs.get("incidents", {})
    spots = gpd.GeoDataFrame(spots, geometry=spots.geometry, crs=crs).to_crs(4326)
    sugg = views = plan_summary = None
    if budget > 0 and len(spots):
        from api.routers import camera_plan
        _, plan, _ = camera_plan.plan_for(session, camera_plan.SuggestBody(jurisdiction=j.code, budget=budget))
        s = plan.suggestions
        cols = [k for k in ("rank", "azimuth_deg", "hfov_deg", "range_m", "gain_m2", "gain_weighted",
                            "cumulative_share") if k in s]
        sugg = gpd.GeoDataFrame(s[cols].copy(), geometry=s.geometry, crs=s.crs or j.metric_epsg).to_crs(4326)
        views = _metric_frame(s["view"].to_numpy(), s.crs or j.metric_epsg, rank=s["rank"].to_numpy())
        plan_summary = {k: camera_plan._plain(v) for k, v in plan.summary().items()}
    return BlindSpotsData(code=j.code, name=j.name, name_en=j.name_en, metric_epsg=j.metric_epsg,
                          boundary=_boundary(j), coverage=_metric_frame([m.coverage], crs), spots=spots,
                          incidents=incidents, suggestions=sugg, suggestion_views=views,
                          suggestion_summary=plan_summary)
