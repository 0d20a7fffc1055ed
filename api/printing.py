"""Printed grid maps (网格图上墙): gathers one village's grids, context and staff through
:mod:`api.db` and has :mod:`dashboards.printmap` draw the A3 sheet.

Access: any role that may read grids may print; phone numbers follow :mod:`api.staff` (only
the roles allowed to see them get them printed; the others get "(restricted)").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import box
from sqlalchemy.orm import Session

from api import staff as staff_svc
from api.auth import Principal, require_read
from api.db import read, repo
from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.layers import LAYERS
from dashboards import printmap

GRIDS = LAYERS["grids"]
MEDIA_TYPES = {"pdf": "application/pdf", "png": "image/png"}
CHINA_TZ = timezone(timedelta(hours=8))  # the date printed on the sheet is the local one
STAFF_COLUMNS = ["grid_code", "staff_id", "role", "name", "title", "phone", "phone_hidden"]


@dataclass(frozen=True)
class PrintedMap:
    content: bytes
    media_type: str
    filename: str         # UTF-8, for people
    ascii_filename: str   # for clients that only read the plain ``filename``

    @property
    def content_disposition(self) -> str:
        return f"inline; filename=\"{self.ascii_filename}\"; filename*=UTF-8''{quote(self.filename)}"


def _levels(j: Jurisdiction) -> tuple[int, dict, dict]:
    """Index of the village level (the one above the basic grids), it and the basic level."""
    if len(j.levels) < 2:
        raise WanggeError("no_village_level", "该辖区的网格只有一级，没有村/社区级可打印",
                          "This jurisdiction has a single grid level: there is no village level to print", 422)
    return len(j.levels) - 2, j.levels[-2], j.levels[-1]


def _village(session: Session, j: Jurisdiction, code: str) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """The village's row and its basic grids (EPSG:4326); 404 if unknown, 422 if not a village."""
    vi, village_level, basic_level = _levels(j)
    sub = read.read_layer(session, GRIDS, j, read.Filter(grid_code=code))  # 404 unknown_grid
    row = sub.loc[sub["code"] == code].iloc[0]
    if row["level"] != village_level["key"]:
        raise WanggeError("not_a_village", f"网格 {code} 不是{village_level['name_zh']}级网格，无法打印网格图",
                          f"Grid {code} is not at the {village_level['name_en']} level: there is no grid map "
                          "to print for it", 422)
    basic = sub[sub["level"] == basic_level["key"]].sort_values("code")
    return row, basic


def _place(session: Session, j: Jurisdiction, code: str) -> str:
    """Names of the village's ancestors (town …), top first; the jurisdiction's name if none."""
    names = []
    for n in repo.code_lengths(j):
        if n < len(code):
            up = read.read_layer(session, GRIDS, j, read.Filter(equals={"code": code[:n]}))
            names += list(up["name"])
    return " ".join(names) or j.name


def _context(session: Session, j: Jurisdiction, bbox: tuple, village_code: str, village_index: int) -> dict:
    """Neighbouring villages, roads, key sites and service centres in ``bbox`` (lon/lat)."""
    def layer(key: str, **kw) -> gpd.GeoDataFrame:
        return read.read_layer(session, LAYERS[key], j, read.Filter(bbox=bbox, **kw))

    villages = layer("grids", equals={"level": village_index})
    return {"neighbours": villages[villages["code"] != village_code], "roads": layer("roads"),
            "key_sites": layer("key_sites"), "service_centres": layer("service_centres")}


def _staff(session: Session, principal: Principal, j: Jurisdiction, codes: list[str]) -> pd.DataFrame:
    """Staff of these grids as :mod:`api.staff` shows them to ``principal`` (phones hidden
    from roles that may not see them)."""
    rows = [{**p, "grid_code": code} for code in codes
            for p in staff_svc.grid_staff(session, principal, code, j.code)["staff"]]
    return pd.DataFrame(rows, columns=STAFF_COLUMNS) if rows else pd.DataFrame(columns=STAFF_COLUMNS)


def _metric(gdf: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    return gdf.to_crs(epsg) if len(gdf) else gdf.set_crs(epsg, allow_override=True)


def print_data(session: Session, principal: Principal, village_code: str, jurisdiction: str | None = None,
               lang: str = "zh-CN") -> printmap.PrintData:
    """Everything the sheet of ``village_code`` shows, in the jurisdiction's metric CRS."""
    require_read(principal, GRIDS)
    j = repo.jurisdiction_by_code(session, jurisdiction)
    vi, village_level, _ = _levels(j)
    row, basic = _village(session, j, village_code)
    epsg = j.metric_epsg
    outline = gpd.GeoSeries([row["geometry"]], crs=4326).to_crs(epsg).iloc[0]
    data = printmap.PrintData(
        village_code=village_code, village_name=str(row["name"]),
        village_level=(village_level["name_zh"], village_level["name_en"]), place=_place(session, j, village_code),
        jurisdiction_code=j.code, jurisdiction_name=j.name, epsg=epsg, outline=shapely.make_valid(outline),
        grids=_metric(basic[["code", "name", "households", "geometry"]], epsg),
        staff=_staff(session, principal, j, list(basic["code"])), made_on=datetime.now(CHINA_TZ).date())
    ext = printmap.sheet_extent(data, lang)  # the frame's size depends on the staff table
    bbox = tuple(float(v) for v in gpd.GeoSeries([box(ext.minx, ext.miny, ext.maxx, ext.maxy)], crs=epsg)
                 .to_crs(4326).total_bounds)
    ctx = _context(session, j, bbox, village_code, vi)
    return replace(data, **{k: _metric(v, epsg) for k, v in ctx.items()})


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", name).strip("_") or "village"


def filenames(data: printmap.PrintData, fmt: str, lang: str) -> tuple[str, str]:
    """(UTF-8 file name, ASCII file name) of a village's sheet."""
    ascii_name = f"grid-map-{data.village_code}.{fmt}"
    if printmap.norm_lang(lang) == "en":
        return ascii_name, ascii_name
    return f"{data.village_code}_{_safe(data.village_name)}_网格图.{fmt}", ascii_name


def print_village(session: Session, principal: Principal, village_code: str, jurisdiction: str | None = None,
                  *, fmt: str = "pdf", lang: str = "zh-CN", dpi: int = 150) -> PrintedMap:
    """The village's A3 grid map as a PDF or PNG file."""
    if fmt not in MEDIA_TYPES:
        raise WanggeError("unknown_format", f"不支持的格式：{fmt}（可用 pdf、png）",
                          f"Unknown format: {fmt} (pdf or png)", 400)
    data = print_data(session, principal, village_code, jurisdiction, lang)
    name, ascii_name = filenames(data, fmt, lang)
    return PrintedMap(printmap.render(data, fmt, lang, dpi), MEDIA_TYPES[fmt], name, ascii_name)


def village_codes(session: Session, principal: Principal, jurisdiction: str | None = None) -> list[str]:
    """Codes of all villages / communities of the jurisdiction, in code order."""
    require_read(principal, GRIDS)
    j = repo.jurisdiction_by_code(session, jurisdiction)
    vi, _, _ = _levels(j)
    villages = read.read_layer(session, GRIDS, j, read.Filter(equals={"level": vi}, order=[("code", False)]))
    return list(villages["code"])
