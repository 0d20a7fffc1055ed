"""Labels of the dashboards in zh-CN (default) and English.

Layer and field names come from the layer registry (:mod:`api.layers`) and vocabularies from
:mod:`gis.vocab`, so a label is written once; this module holds only what pages add.
"""
from __future__ import annotations

from api.layers import LAYERS

ZH, EN = "zh-CN", "en"

MESSAGES: dict[str, tuple[str, str]] = {
    "town_title": ("{name} 网格总览", "{name}: grid overview"),
    "index_title": ("网格化管理看板", "Grid management dashboards"),
    "index_intro": ("选择辖区打开看板。", "Choose a jurisdiction to open a dashboard."),
    "index_none": ("尚未创建辖区：请先运行 wangge demo load。", "No jurisdiction yet: run `wangge demo load`."),
    "town_page": ("辖区总览", "Town overview"),
    "town_page_desc": ("网格分级、户数负荷、建筑、道路、重点部位与服务中心",
                       "Grids by level, household load, buildings, roads, key sites and service centres"),
    "boundary": ("辖区边界", "Jurisdiction boundary"),
    "basemap_osm": ("OpenStreetMap 底图", "OpenStreetMap basemap"),
    "basemap_tianditu": ("天地图 矢量", "Tianditu vector"),
    "legend_load": ("基础网格户数负荷（上限 {cap} 户）", "Basic grid households (cap {cap})"),
    "status_ok": ("低于上限的 80%", "Below 80% of cap"),
    "status_near": ("上限的 80%–100%", "80–100% of cap"),
    "status_over": ("超过上限", "Over cap"),
    "status": ("负荷", "Load"),
    "load": ("户数/上限", "Households / cap"),
    "legend_buildings": ("建筑", "Buildings"),
    "residential": ("住宅", "Residential"),
    "non_residential": ("非住宅", "Non-residential"),
    "legend_cameras": ("摄像机", "Cameras"),
    "networked": ("已联网", "Networked"),
    "not_networked": ("未联网", "Not networked"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "count_grids": ("网格", "Grids"),
    "count_basic": ("其中基础网格", "of which basic"),
    "count_buildings": ("建筑", "Buildings"),
    "count_households": ("户数", "Households"),
    "count_cameras": ("摄像机", "Cameras"),
    "count_incidents": ("事件", "Incidents"),
    "note_min_zoom": ("建筑在放大到第 {zoom} 级后显示", "Buildings show from zoom level {zoom}"),
    "note_capped": ("建筑较多，仅显示前 {shown} 栋（共 {total} 栋）",
                    "Many buildings: showing the first {shown} of {total}"),
    "other_language": ("English", "中文"),
    "all_dashboards": ("全部看板", "All dashboards"),
    "code": ("编码", "Code"),
}


def norm_lang(lang: str | None) -> str:
    return EN if (lang or "").lower().startswith("en") else ZH


def t(key: str, lang: str, **values) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    zh, en = MESSAGES[key]
    return (en if norm_lang(lang) == EN else zh).format(**values)


def pick(pair: tuple[str, str], lang: str) -> str:
    """One of a (zh, en) pair, as vocabularies hold them."""
    return pair[1] if norm_lang(lang) == EN else pair[0]


def layer_name(key: str, lang: str) -> str:
    spec = LAYERS[key]
    return spec.en if norm_lang(lang) == EN else spec.zh


def field_label(layer: str, field: str, lang: str) -> str:
    f = LAYERS[layer].field(field)
    return f.en if norm_lang(lang) == EN else f.zh


def level_name(level: dict | object, lang: str) -> str:
    """Name of a grid level (a GridLevelConfig or its dict form) in ``lang``."""
    get = level.get if isinstance(level, dict) else lambda k: getattr(level, k)
    return get("name_en") if norm_lang(lang) == EN else get("name_zh")


def place_name(name: str, name_en: str | None, lang: str) -> str:
    return (name_en or name) if norm_lang(lang) == EN else name


def yes_no(value: bool | None, lang: str) -> str:
    return "" if value is None else t("yes" if value else "no", lang)
