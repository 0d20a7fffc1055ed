"""Where new cameras should go (新增点位建议): POST /cameras/suggest, police and admin only.

Demand = the key sites (重点部位, must-cover) minus building footprints (indoor space is not
what street cameras cover) minus what the existing cameras already see: the blind spots.
Each key site's cells are weighted ``1 + ln(1 + incidents within 50 m of it)`` (the incidents
layer as a priority signal; uniform 1 where a site has none). Candidate sites: outward building
corners and both edges of every road, about ``spacing_m`` apart. The solver is
:func:`gis.placement.suggest` (lazy greedy with a bound on the optimum).

The service part (:func:`plan_for`) lives here beside the route until an ``api/`` service
module for camera planning exists; the CLI (``wangge cameras-plan suggest``) calls it too.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import require_role
from api.deps import PrincipalDep, SessionDep
from api.errors import WanggeError

router = APIRouter(prefix="/cameras", tags=["cameras"])
PLANNERS = frozenset({"police", "admin"})
INCIDENT_RADIUS_M = 50.0


class SuggestBody(BaseModel):
    jurisdiction: str | None = Field(None, pattern=r"^[0-9]{6,15}$", description="辖区编码 / jurisdiction code")
    budget: int = Field(5, ge=1, le=200, description="新增摄像机数量 / new cameras to place")
    hfov_deg: float = Field(90.0, gt=0, le=360, description="水平视场角 / horizontal field of view")
    range_m: float = Field(40.0, gt=1, le=300, description="有效距离 / effective range (m)")
    spacing_m: float = Field(15.0, ge=2, le=200, description="候选点间距 / candidate site spacing (m)")
    azimuth_step_deg: float = Field(30.0, ge=5, le=180, description="候选朝向步长 / azimuth step")
    cell_m: float = Field(2.0, ge=1, le=10, description="需求栅格 / demand cell size (m)")
    area: dict[str, Any] | None = Field(None, description="GeoJSON geometry (EPSG:4326) to plan in")
    grid: str | None = Field(None, pattern=r"^[0-9]+$", description="plan in this grid (any level)")


# ---------------------------------------------------------------------------------------------
# service

def _read(session, j, key: str, flt=None) -> gpd.GeoDataFrame:
    from api.db.read import read_layer
    from api.layers import LAYERS
    return read_layer(session, LAYERS[key], j, flt).to_crs(j.metric_epsg)


def _area(session, j, body: SuggestBody):
    """The planning area in the metric CRS (None: the whole jurisdiction)."""
    from api.db.read import Filter
    if body.area is not None:
        try:
            g = shapely.geometry.shape(body.area)
        except Exception as e:  # noqa: BLE001 - any malformed GeoJSON is the client's error
            raise WanggeError("invalid_area", "范围不是有效的 GeoJSON 几何", "area is not a valid GeoJSON geometry",
                              422) from e
        return gpd.GeoSeries([g], crs=4326).to_crs(j.metric_epsg).iloc[0]
    if body.grid:
        g = _read(session, j, "grids", Filter(equals={"code": body.grid}))
        if g.empty:
            raise WanggeError("unknown_grid", f"未找到网格：{body.grid}", f"Grid not found: {body.grid}", 404)
        return g.geometry.iloc[0]
    return None


def _bbox_filter(area, j, pad_m: float):
    from api.db.read import Filter
    if area is None:
        return None
    lo = gpd.GeoSeries([shapely.box(*area.buffer(pad_m).bounds)], crs=j.metric_epsg).to_crs(4326)
    return Filter(bbox=tuple(float(v) for v in lo.total_bounds))


def _weights(sites: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame) -> np.ndarray:
    if incidents.empty or sites.empty:
        return np.ones(len(sites))
    si, _ = shapely.STRtree(incidents.geometry.to_numpy()).query(
        sites.geometry.to_numpy(), predicate="dwithin", distance=INCIDENT_RADIUS_M)
    return 1.0 + np.log1p(np.bincount(si, minlength=len(sites)))


def plan_for(session, body: SuggestBody, progress: Callable[[str], None] | None = None):
    """(jurisdiction, plan, demand key sites) for the request; ``progress(stage)`` is told
    when each stage starts."""
    from api.db import repo
    from gis import placement as pl
    from gis.views import Scene
    step = progress or (lambda _s: None)
    step("load")
    j = repo.jurisdiction_by_code(session, body.jurisdiction)
    area = _area(session, j, body)
    flt = _bbox_filter(area, j, body.range_m * 2)
    sites = _read(session, j, "key_sites", flt)
    buildings = _read(session, j, "buildings", flt)
    cams = _read(session, j, "cameras", flt)
    roads = _read(session, j, "roads", flt)
    incidents = _read(session, j, "incidents", flt)
    step("demand")
    must = sites.geometry.to_numpy()
    if area is not None:
        must = shapely.intersection(must, area)
    foot = buildings.geometry.to_numpy()
    if len(foot) and len(must):
        must = shapely.difference(must, shapely.union_all(foot[shapely.STRtree(foot).query(must, "intersects")[1]]))
    demand = pl.demand_cells(must, _weights(sites, incidents), cell=body.cell_m)
    xy = np.vstack([pl.corner_sites(foot), pl.line_sites(roads.geometry.to_numpy(), body.spacing_m,
                                                         offset_m=_road_half_width(roads))])
    xy = pl.thin_sites(xy, body.spacing_m)
    if area is not None and len(xy):
        xy = xy[shapely.dwithin(shapely.points(xy), area, body.range_m)]
    step("views")
    existing = cams[["azimuth_deg", "hfov_deg", "range_m", "geometry"]] if len(cams) else None
    plan = pl.suggest(demand, xy[:, 0], xy[:, 1], Scene.of(foot), body.budget, hfov_deg=body.hfov_deg,
                      range_m=body.range_m, azimuth_step_deg=body.azimuth_step_deg, existing=existing,
                      crs=j.metric_epsg)
    step("done")
    return j, plan, sites


def _road_half_width(roads: gpd.GeoDataFrame) -> float:
    """One offset for all roads (a road's edge): half the median width, at least 3 m."""
    return max(3.0, float(np.median(roads["width_m"])) / 2) if len(roads) else 3.0


def plan_geojson(plan, epsg: int) -> dict:
    """The suggestions as a FeatureCollection (EPSG:4326) with their views and the summary."""
    s = plan.suggestions
    pts = s.to_crs(4326)
    views = gpd.GeoSeries(s["view"].to_numpy(), crs=epsg).to_crs(4326)
    props = ["rank", "azimuth_deg", "hfov_deg", "range_m", "gain_m2", "gain_weighted", "cumulative_m2",
             "cumulative_weighted", "cumulative_share"]
    feats = []
    for i in range(len(s)):
        p = {k: _plain(s[k].iloc[i]) for k in props}
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(pts.geometry.iloc[i]),
                      "properties": p | {"view": shapely.geometry.mapping(views.iloc[i])}})
    summary = {k: _plain(v) for k, v in plan.summary().items()}
    return {"type": "FeatureCollection", "features": feats, "summary": summary}


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else round(float(v), 3)
    return v


# ---------------------------------------------------------------------------------------------
# route

@router.post("/suggest", summary="新增摄像机点位建议 / Suggest where new cameras go")
def suggest(body: SuggestBody, session: SessionDep, principal: PrincipalDep) -> dict:
    """Up to ``budget`` new cameras (position + azimuth) covering the most priority-weighted
    blind-spot area of the key sites, as GeoJSON points with their views, marginal gains and
    cumulative coverage; ``summary`` states the share of the optimum reached at least."""
    require_role(principal, PLANNERS)
    j, plan, _ = plan_for(session, body)
    return plan_geojson(plan, j.metric_epsg)
