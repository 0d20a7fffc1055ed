"""Printed grid map (网格图, 彩色图版上墙): one village / community on an A3 landscape sheet.

A function from :class:`PrintData` (already in the jurisdiction's metric CRS) to PDF or PNG
bytes. The sheet holds: the basic grids in distinct calm colours (neighbours never share one),
each labelled inside with its code, name and households; the village outline; neighbouring
villages, roads, key sites and service centres lightly; a title; a legend; a true scale bar
(the extent is chosen so that the printed scale is a round 1:N) and a north arrow turned by
the grid convergence; the date and data source; and the table of each grid's staff with
roles and phone numbers.

Text is set in Noto Sans CJK (Debian's ``fonts-noto-cjk``), found by path, embedded in the
PDF as a subset (Type 3, with a ToUnicode map so the text can be searched and copied).
No database, no web framework, no pyplot: a :class:`matplotlib.figure.Figure` per sheet.
"""
from __future__ import annotations

import io
import math
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Polygon as MplPolygon, Rectangle
from matplotlib.path import Path
from matplotlib.patheffects import Stroke
from matplotlib.textpath import TextToPath
from pyproj import CRS, Transformer

from api.errors import WanggeError
from api.layers import STAFF_FIELDS
from dashboards.i18n import field_label, layer_name, norm_lang, pick
from gis.vocab import STAFF_ROLES

# ---- sheet geometry (millimetres; origin bottom left) ----------------------------------------
PAGE_MM = (420.0, 297.0)                # A3 landscape
BODY_MM = (10.0, 24.0, 400.0, 234.0)    # x, y, width, height of map frame + gap + panel
GAP_MM = 8.0
PANEL_WIDTHS_MM = (126.0, 150.0, 176.0, 202.0)  # the panel widens (the map narrows) for long tables
MAP_MM = (10.0, 24.0, 266.0, 234.0)     # the map frame with the narrowest panel
MM_PER_PT = 25.4 / 72.0
MAP_MARGIN = 0.05                       # share of the village's size left around it

# calm qualitative pastels (ColorBrewer Pastel1/Pastel2), most distinct first, so that a
# greedy colouring (which uses the first colours most) gives neighbours clearly different tints
PALETTE = ("#b3cde3", "#ccebc5", "#fed9a6", "#decbe4", "#fbb4ae", "#fff2ae",
           "#b3e2cd", "#fddaec", "#e5d8bd", "#cbd5e8", "#e6f5c9", "#f1e2cc")
INK = "#1f1f1f"
MUTED = "#6b6b6b"
GRID_EDGE = "#4d4d4d"
OUTLINE = "#202020"
NEIGHBOUR_FILL = "#ececec"
ROAD_STYLES = {"provincial": 2.4, "main_street": 1.8, "village_main": 1.2, "lane": 0.6}  # width, pt
ROAD_COLOUR = "#9a9a9a"
SITE_COLOUR = "#8c6d46"
CENTRE_COLOUR = "#b2182b"
NICE_SCALES = tuple(int(m * 10 ** k) for k in range(2, 7) for m in (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5))
FONT_PACKAGE = "fonts-noto-cjk"
FONT_FAMILY = "Noto Sans CJK SC"

MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("{place} {village}网格图", "{village}, {place}: grid map"),
    "subtitle": ("{jname}（辖区编码 {jcode}）· {level}编码 {code} · 基础网格 {n} 个 · {hh} 户",
                 "{jname} (jurisdiction {jcode}) · {level} code {code} · {n} basic grids · {hh} households"),
    "legend": ("图例", "Legend"),
    "lg_grids": ("基础网格（相邻网格颜色不同）", "Basic grids (neighbours differ in colour)"),
    "lg_outline": ("{level}界", "{level} boundary"),
    "lg_grid_edge": ("网格界", "Grid boundary"),
    "lg_neighbours": ("相邻{level}", "Neighbouring {level}"),
    "lg_label": ("网格编码 / 名称 / 户数", "Grid code / name / households"),
    "lg_label_short": ("网格编码（略去前面的{level}编码 {code}）/ 名称 / 户数",
                       "Grid code (after the {level} code {code}) / name / households"),
    "staff_title": ("网格工作人员（定格、定人、定责）", "Grid staff (fixed grid, fixed people, fixed duties)"),
    "no_staff": ("未配备", "none assigned"),
    "phone_hidden": ("（不公开）", "(restricted)"),
    "no_grids": ("尚未划分基础网格", "No basic grids yet"),
    "households": ("{n}户", "{n} hh"),
    "total": ("合计：基础网格 {n} 个，{hh} 户，工作人员 {staff} 人", "Total: {n} basic grids, {hh} households, {staff} staff"),
    "scale": ("比例尺 1:{scale}（A3 原大打印）", "Scale 1:{scale} (printed at A3)"),
    "metres": ("米", "m"),
    "north": ("北", "N"),
    "source": ("数据来源：Wangge 网格化管理系统（{jname}，辖区编码 {jcode}），网格、户数与人员分工为制图时数据。"
               "坐标系：{crs}（EPSG:{epsg}）",
               "Data source: Wangge grid management system ({jname}, jurisdiction {jcode}); grids, households "
               "and staff as at the date printed. CRS: {crs} (EPSG:{epsg})"),
    "notes": ("说明：颜色仅用于区分相邻网格；户数按网格内建筑统计。", "Notes: colours only tell neighbouring grids apart; "
              "households are counted from the buildings in each grid."),
    "notes_phone": ("电话号码仅向授权角色显示。", " Phone numbers are shown to authorised roles only."),
    "date": ("制图日期：{d.year}年{d.month}月{d.day}日", "Date: {d:%Y-%m-%d}"),
}


def t(key: str, lang: str, **values) -> str:
    """The sheet's message ``key`` in ``lang`` (zh-CN or en), formatted with ``values``."""
    return pick(MESSAGES[key], lang).format(**values)


# ---- data -----------------------------------------------------------------------------------

@dataclass
class PrintData:
    """What one sheet shows, all geometry in the metric CRS ``epsg``.

    ``grids``: basic grids (code, name, households); ``staff``: grid_code, role, name, title,
    phone, phone_hidden (phone None and phone_hidden True when the reader may not see it).
    """

    village_code: str
    village_name: str
    village_level: tuple[str, str]       # (zh, en) name of the village level
    place: str                           # the town (names of the ancestors), for the title
    jurisdiction_code: str
    jurisdiction_name: str
    epsg: int
    outline: object                      # shapely (Multi)Polygon of the village
    grids: gpd.GeoDataFrame
    staff: pd.DataFrame
    neighbours: gpd.GeoDataFrame = None  # other villages: name, geometry
    roads: gpd.GeoDataFrame = None       # road_class, name
    key_sites: gpd.GeoDataFrame = None   # category, name
    service_centres: gpd.GeoDataFrame = None
    made_on: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Extent:
    """The map frame's extent in metres and the printed scale (1:``scale``)."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    scale: int

    @property
    def metres_per_pt(self) -> float:
        return self.scale * MM_PER_PT / 1000.0


def page_extent(bounds: tuple[float, float, float, float], frame_mm: tuple[float, float] = MAP_MM[2:]) -> Extent:
    """The extent of the map frame around ``bounds`` (metres) at the smallest round scale
    that shows them with a margin, centred on them.

    >>> e = page_extent((0, 0, 1000, 500))
    >>> e.scale, round(e.maxx - e.minx, 1)
    (5000, 1330.0)
    """
    minx, miny, maxx, maxy = bounds
    pad = MAP_MARGIN * max(maxx - minx, maxy - miny, 1.0)
    w_m, h_m = frame_mm[0] / 1000.0, frame_mm[1] / 1000.0
    need = max((maxx - minx + 2 * pad) / w_m, (maxy - miny + 2 * pad) / h_m)
    scale = next((s for s in NICE_SCALES if s >= need), math.ceil(need))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return Extent(cx - w_m * scale / 2, cy - h_m * scale / 2, cx + w_m * scale / 2, cy + h_m * scale / 2, scale)


# ---- colouring ------------------------------------------------------------------------------

def neighbour_pairs(geoms, tolerance: float = 0.5) -> np.ndarray:
    """Index pairs (i < j) of geometries closer than ``tolerance`` (metres): cells sharing an
    edge or only a corner, and cells apart by a sliver gap the rules tolerate.

    >>> from shapely.geometry import box
    >>> neighbour_pairs([box(0, 0, 1, 1), box(1, 0, 2, 1), box(3, 0, 4, 1)]).tolist()
    [[0, 1]]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return np.zeros((0, 2), dtype=int)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=tolerance)
    keep = i < j
    return np.unique(np.column_stack([i[keep], j[keep]]), axis=0)


def colour_indices(geoms, tolerance: float = 0.5) -> np.ndarray:
    """Greedy graph colouring (largest degree first) of the cells' adjacency: colour numbers
    0, 1, … such that no two neighbours (:func:`neighbour_pairs`) share one.

    >>> from shapely.geometry import box
    >>> colour_indices([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)]).tolist()
    [1, 0, 1]
    """
    n = len(geoms)
    adj: list[set[int]] = [set() for _ in range(n)]
    for a, b in neighbour_pairs(geoms, tolerance):
        adj[a].add(int(b))
        adj[b].add(int(a))
    colours = np.full(n, -1, dtype=int)
    for v in sorted(range(n), key=lambda k: (-len(adj[k]), k)):
        used = {colours[u] for u in adj[v]}
        colours[v] = next(c for c in range(n + 1) if c not in used)
    return colours


def colour_of(index: int) -> str:
    """Palette colour of a colour number (beyond the palette: the palette again, lighter)."""
    base = np.array(to_rgb(PALETTE[index % len(PALETTE)]))
    rounds = index // len(PALETTE)
    rgb = base + (1 - base) * (1 - 0.6 ** rounds) if rounds else base
    return matplotlib.colors.to_hex(rgb)


# ---- fonts ----------------------------------------------------------------------------------

class FontMissing(WanggeError):
    def __init__(self):
        super().__init__("font_missing", f"未找到中文字体 {FONT_FAMILY}：请安装 Debian 软件包 {FONT_PACKAGE}"
                         f"（apt-get install {FONT_PACKAGE}）",
                         f"The Chinese font {FONT_FAMILY} is missing: install the Debian package {FONT_PACKAGE} "
                         f"(apt-get install {FONT_PACKAGE})", 500)


def _fc_match(weight: str) -> str | None:
    """Path of the font fontconfig matches, if it really is Noto Sans CJK."""
    if shutil.which("fc-match") is None:
        return None
    out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}", f"{FONT_FAMILY}:weight={weight}"],
                         capture_output=True, text=True, timeout=10).stdout
    family, _, path = out.partition("\t")
    return path if "Noto Sans CJK" in family and path else None


@lru_cache
def cjk_font(bold: bool = False) -> font_manager.FontProperties:
    """Noto Sans CJK SC (regular or bold) by its file path; the regular face stands in for a
    missing bold one. Raises :class:`FontMissing` (names the Debian package) if absent."""
    prop = font_manager.FontProperties(family=FONT_FAMILY, weight="bold" if bold else "normal")
    try:
        path = font_manager.findfont(prop, fallback_to_default=False)
    except ValueError:
        path = None
    if path is None or "NotoSansCJK" not in str(path).replace(" ", ""):
        found = _fc_match("bold" if bold else "regular")
        if found is None:
            raise FontMissing()
        font_manager.fontManager.addfont(found)  # installed after matplotlib built its cache
        path = font_manager.findfont(prop, fallback_to_default=False)
    if bold and "Bold" not in str(path):
        return cjk_font(False)
    return font_manager.FontProperties(fname=path)


@lru_cache(maxsize=8192)
def _width_em(s: str, bold: bool) -> float:
    """Width of ``s`` in ems (points at a 1 pt font size)."""
    prop = cjk_font(bold).copy()
    prop.set_size(100)
    w, _h, _d = TextToPath().get_text_width_height_descent(s, prop, ismath=False)
    return w / 100.0


def _font(bold: bool, size: float) -> font_manager.FontProperties:
    prop = cjk_font(bold).copy()
    prop.set_size(size)
    return prop


# ---- drawing helpers ------------------------------------------------------------------------

def _path(geom) -> Path:
    """A matplotlib path of a (Multi)Polygon, holes wound the other way (non-zero fill)."""
    verts, codes = [], []
    for poly in shapely.get_parts(shapely.orient_polygons(geom)):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            verts.append(xy)
            codes.append([Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY])
    return Path(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def _patches(geoms, **style) -> PatchCollection:
    return PatchCollection([PathPatch(_path(g)) for g in geoms if g is not None and not g.is_empty],
                           match_original=False, **style)


def _lines(geoms) -> list[np.ndarray]:
    parts = shapely.get_parts(np.asarray([g for g in geoms if g is not None], dtype=object))
    return [shapely.get_coordinates(p) for p in parts if not p.is_empty]


def _text(ax, x: float, y: float, s: str, halo: float = 0.0, **kw):
    """Text with a white halo of ``halo`` pt. The halo is a separate copy drawn as a path, so
    that the text itself stays text in the PDF (searchable, extractable)."""
    if halo:
        ax.text(x, y, s, **{**kw, "zorder": kw.get("zorder", 3) - 0.1},
                path_effects=[Stroke(linewidth=halo, foreground="white", alpha=0.85)])
    return ax.text(x, y, s, **kw)


def _frame_rect(fig: Figure, rect_mm: tuple[float, float, float, float]) -> list[float]:
    x, y, w, h = rect_mm
    return [x / PAGE_MM[0], y / PAGE_MM[1], w / PAGE_MM[0], h / PAGE_MM[1]]


def _present(gdf: gpd.GeoDataFrame | None) -> bool:
    return gdf is not None and len(gdf) > 0


# ---- the map frame --------------------------------------------------------------------------

def _draw_context(ax, data: PrintData, ext: Extent) -> None:
    if _present(data.neighbours):
        ax.add_collection(_patches(data.neighbours.geometry, facecolor=NEIGHBOUR_FILL, edgecolor="white",
                                   linewidth=1.2, zorder=1))
        frame = shapely.box(ext.minx, ext.miny, ext.maxx, ext.maxy)
        for name, geom in zip(data.neighbours["name"], data.neighbours.geometry):
            visible = geom.intersection(frame)
            if not visible.is_empty and visible.area > 0:
                pt = _anchor(visible)
                _text(ax, pt.x, pt.y, name, fontproperties=_font(False, 10), color="#9b9b9b",
                      ha="center", va="center", zorder=2)


def _draw_grids(ax, data: PrintData, colours: list[str]) -> None:
    g = data.grids
    if len(g):
        ax.add_collection(_patches(g.geometry, facecolor=colours, edgecolor="none", zorder=3))
    if _present(data.roads):
        widths = [ROAD_STYLES.get(c, 0.8) for c in data.roads["road_class"]]
        for geom, w in zip(data.roads.geometry, widths):
            ax.add_collection(LineCollection(_lines([geom]), colors=ROAD_COLOUR, linewidths=w,
                                             capstyle="round", joinstyle="round", zorder=4, alpha=0.8))
    if _present(data.key_sites):
        ax.add_collection(_patches(data.key_sites.geometry, facecolor="none", edgecolor=SITE_COLOUR,
                                   linewidth=0.5, hatch="////", zorder=5, alpha=0.7))
    if len(g):
        ax.add_collection(_patches(g.geometry, facecolor="none", edgecolor=GRID_EDGE, linewidth=0.7, zorder=6))
    ax.add_patch(PathPatch(_path(data.outline), facecolor="none", edgecolor=OUTLINE, linewidth=2.6,
                           joinstyle="round", zorder=7))


def _draw_sites(ax, data: PrintData, data_per_pt: float) -> None:
    if _present(data.key_sites):
        for name, geom in zip(data.key_sites["name"], data.key_sites.geometry):
            pt = _anchor(geom)
            _text(ax, pt.x, pt.y, name, 1.5, fontproperties=_font(False, 5.5), color=SITE_COLOUR,
                  ha="center", va="center", zorder=8)
    if _present(data.service_centres):
        xy = shapely.get_coordinates(data.service_centres.geometry.to_numpy())
        ax.scatter(xy[:, 0], xy[:, 1], marker="*", s=70, color=CENTRE_COLOUR, edgecolors="white",
                   linewidths=0.6, zorder=9)
        below = 7 * data_per_pt
        for name, (x, y) in zip(data.service_centres["name"], xy):
            _text(ax, x, y - below, name, 1.5, ha="center", va="top", fontproperties=_font(False, 6),
                  color=CENTRE_COLOUR, zorder=9)


def _anchor(geom) -> shapely.Point:
    """A point well inside ``geom``: the centre of the largest inscribed circle of its
    largest part (a polylabel), which always lies inside."""
    parts = shapely.get_parts(geom)
    part = parts[int(np.argmax(shapely.area(parts)))]
    tol = max(math.sqrt(part.area) / 200.0, 0.01)
    return shapely.get_point(shapely.maximum_inscribed_circle(part, tol), 0)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    lines: tuple[tuple[str, bool], ...]  # (text, bold)
    size: float                          # pt of the first line; the others are 0.8 of it
    fitted: bool = True                  # False: nothing fitted, this is the last resort


LABEL_MAX_PT, LABEL_MIN_PT, LABEL_STEP = 13.0, 4.5, 0.5
LABEL_READABLE_PT = 6.0  # below this the full code gives way to the code within the village
LINE_SPACING = 1.25


def _label_box(pt, lines, size: float, m_per_pt: float):
    sizes = [size] + [0.8 * size] * (len(lines) - 1)
    w = max(_width_em(s, b) * z for (s, b), z in zip(lines, sizes)) * m_per_pt
    h = sum(z * LINE_SPACING for z in sizes) * m_per_pt
    pad = 0.6 * m_per_pt * size / 4
    return shapely.box(pt.x - w / 2 - pad, pt.y - h / 2 - pad, pt.x + w / 2 + pad, pt.y + h / 2 + pad)


def fit_label(geom, candidates: list[tuple[list[tuple[str, bool]], float]], m_per_pt: float) -> Label:
    """The first of ``candidates`` ((lines, smallest size) in order of preference) whose box
    fits inside ``geom`` at its anchor point, at the biggest size that fits; at worst the
    last candidate's first line at :data:`LABEL_MIN_PT`."""
    pt = _anchor(geom)
    shapely.prepare(geom)
    for lines, smallest in candidates:
        for size in np.arange(LABEL_MAX_PT, smallest - 1e-9, -LABEL_STEP):
            if geom.contains(_label_box(pt, lines, float(size), m_per_pt)):
                return Label(pt.x, pt.y, tuple(lines), float(size))
    return Label(pt.x, pt.y, tuple(candidates[-1][0][:1]), LABEL_MIN_PT, fitted=False)


def _draw_label(ax, lab: Label, m_per_pt: float) -> None:
    sizes = [lab.size] + [0.8 * lab.size] * (len(lab.lines) - 1)
    total = sum(z * LINE_SPACING for z in sizes) * m_per_pt
    y = lab.y + total / 2
    for (s, bold), z in zip(lab.lines, sizes):
        y -= z * LINE_SPACING * m_per_pt / 2
        _text(ax, lab.x, y, s, 1.6, fontproperties=_font(bold, z), color=INK, ha="center", va="center", zorder=10)
        y -= z * LINE_SPACING * m_per_pt / 2


def label_candidates(code: str, name: str, households: int, village_code: str, lang: str):
    """Label texts of a grid in order of preference, each with the smallest size it may take:
    full code, name, households; then the code within the village (the digits after the
    village's code); then fewer lines."""
    short = code[len(village_code):] if code.startswith(village_code) and len(code) > len(village_code) else code
    name_l, hh_l = (name, False), (t("households", lang, n=f"{int(households):,}"), False)
    return [([(code, True), name_l, hh_l], LABEL_READABLE_PT), ([(short, True), name_l, hh_l], LABEL_READABLE_PT),
            ([(short, True), hh_l], LABEL_MIN_PT), ([(short, True)], LABEL_MIN_PT)]


def plan_labels(data: PrintData, m_per_pt: float, lang: str) -> tuple[list[Label], bool]:
    """A label for every grid, and whether they show the code within the village: the full
    code on every grid if it fits readably in every grid, else the shorter code on all (one
    sheet, one way of writing codes)."""
    g = data.grids
    cands = [label_candidates(str(c), str(n), h, data.village_code, lang)
             for c, n, h in zip(g["code"], g["name"], g["households"])]
    full = [fit_label(geom, c[:1], m_per_pt) for geom, c in zip(g.geometry, cands)]
    if all(lab.fitted for lab in full):
        return full, False
    return [fit_label(geom, c[1:], m_per_pt) for geom, c in zip(g.geometry, cands)], True


def _north_angle(epsg: int, x: float, y: float) -> float:
    """Angle (degrees, clockwise) from grid north to true north at (x, y)."""
    to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
    to_m = Transformer.from_crs(4326, epsg, always_xy=True)
    lon, lat = to_ll.transform(x, y)
    x2, y2 = to_m.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(x2 - x, y2 - y))


def _draw_north(ax, data: PrintData, ext: Extent, lang: str) -> None:
    m = ext.scale / 1000.0  # metres per mm on paper
    cx, cy = ext.maxx - 14 * m, ext.maxy - 20 * m
    a = math.radians(_north_angle(data.epsg, (ext.minx + ext.maxx) / 2, (ext.miny + ext.maxy) / 2))
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    tip, left, right, base = (np.array(p) * m for p in ((0, 9), (-4, -6), (4, -6), (0, -3)))
    for half, colour in (((tip, left, base), INK), ((tip, right, base), "white")):
        pts = np.array(half) @ rot.T + (cx, cy)
        ax.add_patch(MplPolygon(pts, closed=True, facecolor=colour, edgecolor=INK, linewidth=0.8, zorder=12))
    lx, ly = np.array((0, 13 * m)) @ rot.T + (cx, cy)
    _text(ax, lx, ly, t("north", lang), 2.5, fontproperties=_font(True, 12), ha="center", va="center",
          color=INK, zorder=12)


def _nice_length(target: float) -> float:
    k = 10 ** math.floor(math.log10(target))
    return max(m * k for m in (1, 2, 5) if m * k <= target)


def _draw_scalebar(ax, ext: Extent, lang: str) -> None:
    m = ext.scale / 1000.0
    length = _nice_length(0.22 * (ext.maxx - ext.minx))
    x0, y0, h = ext.minx + 8 * m, ext.miny + 10 * m, 1.8 * m
    ax.add_patch(Rectangle((x0 - 4 * m, y0 - 7 * m), length + 20 * m, 18 * m, facecolor="white", alpha=0.85,
                           edgecolor="none", zorder=11))
    for k in range(4):
        ax.add_patch(Rectangle((x0 + k * length / 4, y0), length / 4, h, facecolor=INK if k % 2 == 0 else "white",
                               edgecolor=INK, linewidth=0.6, zorder=12))
    for v in (0, length / 2, length):
        ax.text(x0 + v, y0 + h + 1.2 * m, f"{v:g}", fontproperties=_font(False, 7), ha="center", va="bottom",
                zorder=12)
    ax.text(x0 + length + 3 * m, y0 + h / 2, t("metres", lang), fontproperties=_font(False, 7), va="center", zorder=12)
    ax.text(x0, y0 - 2 * m, t("scale", lang, scale=f"{ext.scale:,}"), fontproperties=_font(False, 7),
            va="top", zorder=12)


def draw_map(fig: Figure, data: PrintData, colours: list[str], lang: str, frame_mm: tuple) -> bool:
    """The map frame: context, grids, roads, sites, outline, labels, scale bar, north arrow.
    Returns whether the labels show the codes within the village (see :func:`plan_labels`)."""
    ext = page_extent(data.outline.bounds, frame_mm[2:])
    ax = fig.add_axes(_frame_rect(fig, frame_mm))
    ax.set_xlim(ext.minx, ext.maxx)
    ax.set_ylim(ext.miny, ext.maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#fafaf7")
    for s in ax.spines.values():
        s.set_linewidth(1.0)
    _draw_context(ax, data, ext)
    _draw_grids(ax, data, colours)
    _draw_sites(ax, data, ext.metres_per_pt)
    labels, short = plan_labels(data, ext.metres_per_pt, lang)
    for lab in labels:
        _draw_label(ax, lab, ext.metres_per_pt)
    _draw_scalebar(ax, ext, lang)
    _draw_north(ax, data, ext, lang)
    return short


# ---- legend and staff table (panel axes in millimetres) ---------------------------------------

LEGEND_ROW_MM = 7.0
TABLE_KEYS = ("code", "name", "households", "role", "person", "phone")
SWATCH_MM, CELL_PAD_MM, BLOCK_GAP_MM = 4.0, 1.6, 4.0
TABLE_MAX_PT, TABLE_READABLE_PT, TABLE_MIN_PT = 9.0, 6.0, 3.0
TABLE_MAX_ROW_MM = 6.5
ROW_PER_PT = 1.3  # row height / font size


@dataclass(frozen=True)
class Layout:
    """Where the map frame and the panel go (mm, x, y, width, height) and how the staff
    table is set: blocks side by side, rows per block, font size (pt), row height and
    column widths (mm)."""

    map_mm: tuple[float, float, float, float]
    panel_mm: tuple[float, float, float, float]
    legend_h: float
    blocks: int
    per_block: int
    size: float
    row_h: float
    widths: dict
    block_w: float


def _legend_height(n_items: int) -> float:
    """Two columns, and the label key on a row of its own."""
    return 10 + (math.ceil((n_items - 1) / 2) + 1) * LEGEND_ROW_MM + 3


def _table_fit(em: dict, n_rows: int, width: float, height: float, blocks: int) -> tuple:
    """(font size, rows per block, block width, row height) of the table in blocks."""
    per = max(1, math.ceil(n_rows / blocks))
    bw = (width - BLOCK_GAP_MM * (blocks - 1)) / blocks
    row_h = min(height / (per + 1), TABLE_MAX_ROW_MM)
    by_width = (bw - SWATCH_MM - CELL_PAD_MM * len(TABLE_KEYS)) / MM_PER_PT / sum(em.values())
    return min(TABLE_MAX_PT, row_h / MM_PER_PT / ROW_PER_PT, by_width), per, bw, row_h


def plan_layout(data: PrintData, rows: list[dict], lang: str) -> Layout:
    """The narrowest panel, then the fewest table blocks, that set the staff table at a
    readable size (:data:`TABLE_READABLE_PT`); failing that, the arrangement with the largest
    size. A wider panel narrows the map frame (and so may change the map's scale)."""
    headers = _table_headers(lang)
    em = {k: max([_width_em(headers[k], True)] + [_width_em(r[k], False) for r in rows]) for k in TABLE_KEYS}
    legend_h = _legend_height(len(_legend_items(data, lang)))
    height = BODY_MM[3] - legend_h - 17  # the table's title above it, the total line below
    fits = {(pw, b): _table_fit(em, len(rows), pw, height, b) for pw in PANEL_WIDTHS_MM for b in (1, 2, 3)}
    good = [o for o, f in fits.items() if f[0] >= TABLE_READABLE_PT]
    pw, blocks = good[0] if good else max(fits, key=lambda o: fits[o][0])
    size, per, bw, row_h = fits[(pw, blocks)]
    size = max(size, TABLE_MIN_PT)
    widths = {k: em[k] * size * MM_PER_PT + CELL_PAD_MM for k in TABLE_KEYS}
    spare = max(0.0, bw - SWATCH_MM - sum(widths.values())) / len(TABLE_KEYS)
    x, y, w, h = BODY_MM
    map_w = w - GAP_MM - pw
    return Layout((x, y, map_w, h), (x + map_w + GAP_MM, y, pw, h), legend_h, blocks, per, size, row_h,
                  {k: v + spare for k, v in widths.items()}, bw)


def _panel(fig: Figure, panel_mm: tuple):
    ax = fig.add_axes(_frame_rect(fig, panel_mm))
    ax.set_xlim(0, panel_mm[2])
    ax.set_ylim(0, panel_mm[3])
    ax.axis("off")
    return ax


def _legend_items(data: PrintData, lang: str, short_codes: bool = False) -> list[tuple[str, str]]:
    level = pick(data.village_level, lang)
    items = [("grids", t("lg_grids", lang)), ("outline", t("lg_outline", lang, level=level)),
             ("grid_edge", t("lg_grid_edge", lang))]
    if _present(data.neighbours):
        items.append(("neighbours", t("lg_neighbours", lang, level=level[:1].lower() + level[1:])))
    if _present(data.roads):
        items.append(("roads", layer_name("roads", lang)))
    if _present(data.key_sites):
        items.append(("key_sites", layer_name("key_sites", lang)))
    if _present(data.service_centres):
        items.append(("centres", layer_name("service_centres", lang)))
    if short_codes:
        key = t("lg_label_short", lang, level=level[:1].lower() + level[1:], code=data.village_code)
        return items + [("label", key)]
    return items + [("label", t("lg_label", lang))]


def _legend_symbol(ax, kind: str, x: float, y: float) -> None:
    """A 10 x 5 mm symbol with its lower left corner at (x, y)."""
    if kind == "grids":
        for k in range(3):
            ax.add_patch(Rectangle((x + k * 10 / 3, y), 10 / 3, 5, facecolor=PALETTE[k], edgecolor=GRID_EDGE, lw=0.5))
    elif kind in ("outline", "grid_edge", "roads"):
        style = {"outline": (OUTLINE, 2.6), "grid_edge": (GRID_EDGE, 0.7), "roads": (ROAD_COLOUR, 1.8)}[kind]
        ax.plot([x, x + 10], [y + 2.5, y + 2.5], color=style[0], lw=style[1], solid_capstyle="butt")
    elif kind == "neighbours":
        ax.add_patch(Rectangle((x, y), 10, 5, facecolor=NEIGHBOUR_FILL, edgecolor="white"))
    elif kind == "key_sites":
        ax.add_patch(Rectangle((x, y), 10, 5, facecolor="none", edgecolor=SITE_COLOUR, hatch="////", lw=0.5))
    elif kind == "centres":
        ax.scatter([x + 5], [y + 2.5], marker="*", s=70, color=CENTRE_COLOUR, edgecolors="white", linewidths=0.6)
    elif kind == "label":
        ax.add_patch(Rectangle((x, y), 10, 5, facecolor=PALETTE[1], edgecolor=GRID_EDGE, lw=0.5))
        for k, w in enumerate((6.0, 4.5, 3.0)):
            ax.plot([x + 5 - w / 2, x + 5 + w / 2], [y + 3.8 - k * 1.3] * 2, color=INK, lw=1.1 if k == 0 else 0.6)


def draw_legend(ax, data: PrintData, lang: str, lay: Layout, short_codes: bool) -> None:
    """Legend at the top of the panel, in two columns."""
    top = lay.panel_mm[3]
    ax.text(0, top, t("legend", lang), fontproperties=_font(True, 11), va="top", color=INK)
    items = _legend_items(data, lang, short_codes)
    rows = math.ceil((len(items) - 1) / 2)
    for k, (kind, text) in enumerate(items):
        col, row = (k // rows, k % rows) if k < len(items) - 1 else (0, rows)  # the label key: own row
        x, y = col * lay.panel_mm[2] / 2, top - 10 - row * LEGEND_ROW_MM
        _legend_symbol(ax, kind, x, y - 5)
        ax.text(x + 12.5, y - 2.5, text, fontproperties=_font(False, 7.5), va="center", color=INK)


def staff_rows(data: PrintData, colours: list[str], lang: str) -> list[dict]:
    """One row per staff member (a grid with nobody: one row saying so), grids in code order,
    roles in the vocabulary's order; the first row of a grid carries its code, name and
    households."""
    order = {r: k for k, r in enumerate(STAFF_ROLES)}
    staff = data.staff if len(data.staff) else pd.DataFrame(columns=["grid_code", "role", "name", "phone"])
    staff = staff.assign(_o=staff["role"].map(order)).sort_values(["grid_code", "_o", "name"])
    by_grid = {c: s for c, s in staff.groupby("grid_code", sort=False)}
    out = []
    for (code, name, hh), colour in zip(data.grids[["code", "name", "households"]].itertuples(index=False), colours):
        people = by_grid.get(code)
        first = {"colour": colour, "code": code, "name": name, "households": f"{int(hh):,}"}
        if people is None or people.empty:
            out.append({**first, "role": "", "person": t("no_staff", lang), "phone": "", "missing": True})
            continue
        for k, p in enumerate(people.itertuples()):
            out.append({**(first if k == 0 else {"colour": colour, "code": "", "name": "", "households": ""}),
                        "role": pick(STAFF_ROLES[p.role], lang), "person": _person(p), "phone": _phone(p, lang)})
    return out


def _person(p) -> str:
    title = getattr(p, "title", None)
    return f"{p.name}（{title}）" if isinstance(title, str) and title else str(p.name)


def _phone(p, lang: str) -> str:
    if isinstance(p.phone, str) and p.phone:
        return p.phone
    return t("phone_hidden", lang) if bool(getattr(p, "phone_hidden", False)) else "—"


def _table_headers(lang: str) -> dict[str, str]:
    staff = {f.name: f for f in STAFF_FIELDS}
    return {"code": field_label("grids", "code", lang), "name": field_label("grids", "name", lang),
            "households": field_label("grids", "households", lang),
            "role": pick((staff["role"].zh, staff["role"].en), lang),
            "person": pick((staff["name"].zh, staff["name"].en), lang),
            "phone": pick((staff["phone"].zh, staff["phone"].en), lang)}


def _draw_table_block(ax, rows: list[dict], headers: dict, x0: float, top: float, lay: Layout) -> None:
    bw, row_h = SWATCH_MM + sum(lay.widths.values()), lay.row_h
    ax.add_patch(Rectangle((x0, top - row_h), bw, row_h, facecolor="#e8e8e8", edgecolor="none"))
    cells = [({k: headers[k] for k in TABLE_KEYS}, True, None)] + [(r, False, r["colour"]) for r in rows]
    for k, (r, bold, colour) in enumerate(cells):
        y = top - (k + 0.5) * row_h
        if colour is not None:
            ax.add_patch(Rectangle((x0, y - row_h / 2), SWATCH_MM, row_h, facecolor=colour, edgecolor="none"))
        if k > 0 and (r["code"] or k == 1):
            ax.plot([x0, x0 + bw], [y + row_h / 2] * 2, color="#9a9a9a", lw=0.4)
        x = x0 + SWATCH_MM
        for key in TABLE_KEYS:
            if r[key]:
                ink = CENTRE_COLOUR if r.get("missing") and key == "person" else INK
                ax.text(x + CELL_PAD_MM / 2, y, r[key], fontproperties=_font(bold, lay.size), va="center", color=ink)
            x += lay.widths[key]
    ax.plot([x0, x0 + bw], [top - len(cells) * row_h] * 2, color="#9a9a9a", lw=0.4)


def _blocks(rows: list[dict], lay: Layout) -> list[list[dict]]:
    """The rows cut into blocks; a grid continued from the previous block repeats its code."""
    out = []
    for b in range(lay.blocks):
        chunk = [dict(r) for r in rows[b * lay.per_block:(b + 1) * lay.per_block]]
        if chunk and not chunk[0]["code"]:
            prev = next(r for r in reversed(rows[:b * lay.per_block]) if r["code"])
            chunk[0].update(code=prev["code"], name=prev["name"], households=prev["households"])
        out.append(chunk)
    return out


def draw_staff_table(ax, data: PrintData, rows: list[dict], lang: str, lay: Layout) -> None:
    top = lay.panel_mm[3] - lay.legend_h
    ax.text(0, top, t("staff_title", lang), fontproperties=_font(True, 11), va="top", color=INK)
    if not rows:
        ax.text(0, top - 9, t("no_grids", lang), fontproperties=_font(False, 9), va="top", color=MUTED)
        return
    top -= 8
    headers = _table_headers(lang)
    for b, chunk in enumerate(_blocks(rows, lay)):
        if chunk:
            _draw_table_block(ax, chunk, headers, b * (lay.block_w + BLOCK_GAP_MM), top, lay)
    n_staff = data.staff["staff_id"].nunique() if "staff_id" in data.staff else len(data.staff)
    total = t("total", lang, n=len(data.grids), hh=f"{int(data.grids['households'].sum()):,}", staff=n_staff)
    bottom = top - (min(lay.per_block, len(rows)) + 1) * lay.row_h
    ax.text(0, bottom - 3, total, fontproperties=_font(False, 8), va="top", color=INK)


# ---- the sheet ------------------------------------------------------------------------------

def _crs_name(epsg: int) -> str:
    try:
        return CRS.from_epsg(epsg).name
    except Exception:  # noqa: BLE001 - an unknown code still prints
        return f"EPSG:{epsg}"


def draw_title_and_footer(fig: Figure, data: PrintData, lang: str) -> None:
    W, H = PAGE_MM
    fig.add_artist(Rectangle((6 / W, 6 / H), 1 - 12 / W, 1 - 12 / H, transform=fig.transFigure, fill=False,
                             edgecolor=INK, linewidth=1.2))
    fig.text(0.5, 1 - 19 / H, t("title", lang, place=data.place, village=data.village_name),
             fontproperties=_font(True, 26), ha="center", va="center", color=INK)
    sub = t("subtitle", lang, jname=data.jurisdiction_name, jcode=data.jurisdiction_code,
            level=pick(data.village_level, lang), code=data.village_code, n=len(data.grids),
            hh=f"{int(data.grids['households'].sum()) if len(data.grids) else 0:,}")
    fig.text(0.5, 1 - 30 / H, sub, fontproperties=_font(False, 11), ha="center", va="center", color=MUTED)
    source = t("source", lang, jname=data.jurisdiction_name, jcode=data.jurisdiction_code,
               crs=_crs_name(data.epsg), epsg=data.epsg)
    fig.text(10 / W, 17 / H, source, fontproperties=_font(False, 7.5), va="center", color=INK)
    notes = t("notes", lang) + (t("notes_phone", lang) if data.staff.get("phone_hidden", pd.Series()).any() else "")
    fig.text(10 / W, 11.5 / H, notes, fontproperties=_font(False, 7), va="center", color=MUTED)
    fig.text(1 - 10 / W, 17 / H, t("date", lang, d=data.made_on), fontproperties=_font(False, 9),
             ha="right", va="center", color=INK)


def grid_colours(data: PrintData) -> list[str]:
    return [colour_of(int(c)) for c in colour_indices(data.grids.geometry.to_numpy())]


def sheet_extent(data: PrintData, lang: str = "zh-CN") -> Extent:
    """The map extent the sheet of ``data`` will have (to fetch what lies around the village)."""
    lang = norm_lang(lang)
    lay = plan_layout(data, staff_rows(data, [PALETTE[0]] * len(data.grids), lang), lang)
    return page_extent(data.outline.bounds, lay.map_mm[2:])


def sheet(data: PrintData, lang: str = "zh-CN") -> Figure:
    """The A3 landscape figure of ``data`` in ``lang`` (zh-CN or en)."""
    lang = norm_lang(lang)
    fig = Figure(figsize=(PAGE_MM[0] / 25.4, PAGE_MM[1] / 25.4))
    fig.patch.set_facecolor("white")
    colours = grid_colours(data)
    rows = staff_rows(data, colours, lang)
    lay = plan_layout(data, rows, lang)
    draw_title_and_footer(fig, data, lang)
    short_codes = draw_map(fig, data, colours, lang, lay.map_mm)
    panel = _panel(fig, lay.panel_mm)
    draw_legend(panel, data, lang, lay, short_codes)
    draw_staff_table(panel, data, rows, lang, lay)
    return fig


_RC_LOCK = threading.Lock()  # rc_context changes process-wide settings: one sheet at a time


def render(data: PrintData, fmt: str = "pdf", lang: str = "zh-CN", dpi: int = 150) -> bytes:
    """The sheet as PDF (vector, fonts embedded as subsets) or PNG (``dpi``) bytes."""
    if fmt not in ("pdf", "png"):
        raise ValueError(fmt)
    cjk_font()  # fail early, naming the package, before anything is drawn
    rc = {"pdf.fonttype": 3, "pdf.compression": 6, "axes.unicode_minus": False, "hatch.linewidth": 0.5}
    with _RC_LOCK, matplotlib.rc_context(rc):
        fig = sheet(data, lang)
        buf = io.BytesIO()
        title = t("title", lang, place=data.place, village=data.village_name)
        meta = {"Title": title, "Creator": "Wangge"} if fmt == "pdf" else {"Title": title, "Software": "Wangge"}
        fig.savefig(buf, format=fmt, dpi=dpi if fmt == "png" else 72, metadata=meta)
    return buf.getvalue()
