"""Camera views, coverage, blind spots, KPIs and ID decoding: police and admin only (camera
positions are sensitive). Thin routes: parse, check access, one service call."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Path, Query, Response

from api import cameras as svc
from api.auth import require_read
from api.db import repo
from api.deps import JurisdictionQ, PrincipalDep, SessionDep, SettingsDep
from api.io.export import parse_bbox
from api.layers import LAYERS

router = APIRouter(prefix="/cameras", tags=["cameras"])
CAMERAS = LAYERS["cameras"]   # its read roles (police, admin) decide who may see camera analyses

MethodQ = Query(None, description="可视域算法 / view method: exact (default) | rays")
UnionQ = Query("auto", description="覆盖合并 / union: auto (default: exact up to a number of cameras) | exact | raster")
LevelQ = Query("grid", pattern=r"^[a-z_]+$", description="统计层级 / level: grid (basic) | village | town")


def _geojson(fc: dict) -> Response:
    """Large FeatureCollections straight to JSON (FastAPI's encoder walks every coordinate)."""
    return Response(json.dumps(fc, ensure_ascii=False, default=float, separators=(",", ":")),
                    media_type="application/geo+json")


def _ctx(session, principal, jurisdiction):
    require_read(principal, CAMERAS)
    return repo.jurisdiction_by_code(session, jurisdiction)


@router.get("/views", summary="摄像机可视域（含建筑遮挡）/ Camera views with occlusion")
def views(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, jurisdiction: JurisdictionQ = None,
          grid: str | None = Query(None, pattern=r"^[0-9]+$"),
          bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
          method: Literal["exact", "rays"] | None = MethodQ,
          resolution: int | None = Query(None, ge=100, le=20000, description="水平像素（用于DORI分区；"
                                         "摄像机表尚无此字段）/ horizontal pixels for DORI rings (no column yet)")):
    j = _ctx(session, principal, jurisdiction)
    cams, vs = svc.compute_views(session, j, settings, method=method, grid_code=grid, bbox=parse_bbox(bbox))
    return _geojson(svc.views_geojson(cams, vs, method or settings.camera_view_method, resolution))


@router.get("/coverage", summary="覆盖率（重点部位、公共空间、道路）/ Coverage per site and grid")
def coverage(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, jurisdiction: JurisdictionQ = None,
             level: str = LevelQ, method: Literal["exact", "rays"] | None = MethodQ,
             union: Literal["auto", "raster", "exact"] = UnionQ):
    j = _ctx(session, principal, jurisdiction)
    return svc.coverage_report(session, j, settings, level, method=method, union=union)


@router.get("/blindspots", summary="盲区盲点（按优先级排序）/ Blind spots, ranked")
def blindspots(session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
               jurisdiction: JurisdictionQ = None,
               min_area: float | None = Query(None, ge=0, description="最小面积（平方米）/ minimum area, m²"),
               method: Literal["exact", "rays"] | None = MethodQ, union: Literal["auto", "raster", "exact"] = UnionQ,
               as_of: datetime | None = Query(None, description="事件统计截止时间（默认现在）/ incidents counted "
                                              "back from this time (default now)")):
    j = _ctx(session, principal, jurisdiction)
    return _geojson(svc.blind_spots_report(session, j, settings, min_area, method=method, union=union, as_of=as_of))


@router.get("/kpi", summary="联网率、在线率、建档率、覆盖率考核 / Camera KPIs against targets")
def kpis(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, jurisdiction: JurisdictionQ = None,
         level: str = LevelQ, method: Literal["exact", "rays"] | None = MethodQ,
         union: Literal["auto", "raster", "exact"] = UnionQ):
    j = _ctx(session, principal, jurisdiction)
    return svc.kpi_report(session, j, settings, level, method=method, union=union)


@router.get("/{gb_id}/decode", summary="解析国标编码 / Decode a GB/T 28181 ID")
def decode(session: SessionDep, principal: PrincipalDep, gb_id: str = Path(pattern=r"^[0-9]{20}$"),
           jurisdiction: JurisdictionQ = None):
    require_read(principal, CAMERAS)
    j = repo.jurisdiction_by_code(session, jurisdiction) if jurisdiction else None
    return svc.decode_report(session, gb_id, j)
