"""Town overview (辖区总览): a function from :class:`api.maps.TownData` to a ``folium.Map``.

Boundary; grids by level in the layer control, basic grids coloured by households against the
cap (green below 80 %, amber 80–100 %, red over it) with a legend; buildings (residential or
not); roads by class; key sites by category; service centres; cameras only if the data holds
them (the service leaves them out for roles that may not see them); a title panel with counts.
"""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np

from api.maps import TownData
from dashboards import geo
from dashboards.base import Basemap, new_map
from dashboards.elements import InfoPanel, InfoSpec, Legend, LegendItem, LegendSection, MinZoomLayer
from dashboards.i18n import field_label, layer_name, level_name, pick, place_name, t, yes_no
from dashboards.safe import html_text
from gis.vocab import KEY_SITE_CATEGORIES, ROAD_CLASSES, SERVICE_CENTRE_LEVELS

# above this many buildings, they are drawn only from BUILDINGS_MIN_ZOOM on
LAZY_BUILDINGS_ABOVE = 3000
BUILDINGS_MIN_ZOOM = 16
SIMPLIFY_M = 1.0  # grids, boundary, key sites and roads; buildings are kept as they are

STATUS_COLORS = {"ok": "#1a9850", "near": "#f5a623", "over": "#d73027"}
OUTLINE_COLORS = ["#1f2f86", "#6a3d9a", "#0f6f8f", "#7f4f24", "#555555"]
OUTLINE_WEIGHTS = [4.0, 2.5, 2.0, 1.5, 1.2]
BUILDING_COLORS = {True: "#8c510a", False: "#5b6b82"}
ROAD_STYLES = {"provincial": ("#c0392b", 5.0), "main_street": ("#e67e22", 4.0),
               "village_main": ("#7f8c8d", 3.0), "lane": ("#a6a6a6", 1.5)}
KEY_SITE_COLORS = dict(zip(KEY_SITE_CATEGORIES, [
    "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
    "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#b15928"]))
CENTRE_COLORS = {"district": "darkred", "town": "red", "village": "orange"}
CAMERA_COLORS = {True: "#2166ac", False: "#f1a340"}
OUTLINES_PANE = "wg-outlines"


def _overlay(m: folium.Map, name: str) -> folium.FeatureGroup:
    """A named overlay of the layer control (which shows names through innerHTML)."""
    return folium.FeatureGroup(name=html_text(name)).add_to(m)


def _tooltip(fields: list[tuple[str, str]], popup: bool = False):
    names, labels = [f for f, _ in fields], [label for _, label in fields]
    cls = folium.GeoJsonPopup if popup else folium.GeoJsonTooltip
    return cls(fields=names, aliases=labels, localize=False, labels=True)


def _layer(group: folium.FeatureGroup, fc: dict, style: dict | None, fields: list[tuple[str, str]],
           style_function=None, popup: bool = False, **kwargs) -> folium.GeoJson | None:
    """One GeoJson layer in ``group`` with a tooltip (and popup); None when empty.

    A constant ``style`` goes to Leaflet as the layer's style option; folium's per-feature
    style mapping is only used for a ``style_function``.
    """
    if not fc["features"]:
        return None
    if style_function is None:
        kwargs["style"] = style
    layer = folium.GeoJson(fc, style_function=style_function, control=False,
                           tooltip=_tooltip(fields), popup=_tooltip(fields, popup=True) if popup else None,
                           **kwargs)
    layer.add_to(group)
    return layer


# ---- grids -----------------------------------------------------------------------------------

def _grid_frame(data: TownData, key: str, lang: str) -> gpd.GeoDataFrame:
    g = data.grids[data.grids["level"] == key].copy()
    names = {lv.key: level_name(lv, lang) for lv in data.levels}
    g["level_name"] = g["level"].map(names)
    g["households_text"] = g["households"].map(lambda n: f"{n:,}")
    if key == data.basic_level.key:
        cap = data.household_cap
        g["load_text"] = [f"{h:,} / {cap:,}（{s:.0%}）" for h, s in zip(g["households"], g["load_share"])]
        g["status_text"] = g["status"].map(lambda s: t(f"status_{s}", lang))
    return g


def _grid_fields(basic: bool, lang: str) -> list[tuple[str, str]]:
    fields = [("code", field_label("grids", "code", lang)), ("name", field_label("grids", "name", lang)),
              ("level_name", field_label("grids", "level", lang)),
              ("households_text", field_label("grids", "households", lang))]
    if basic:
        fields += [("load_text", t("load", lang)), ("status_text", t("status", lang))]
    return fields


def _basic_style(feature: dict) -> dict:
    color = STATUS_COLORS.get(feature["properties"].get("status"), "#999999")
    return {"color": "#4d4d4d", "weight": 1, "fillColor": color, "fillOpacity": 0.45}


def add_grids(m: folium.Map, data: TownData, lang: str) -> None:
    """One overlay per level; upper levels are outlines drawn above the basic grid colours."""
    basic_key = data.basic_level.key
    for i, lv in enumerate(data.levels):
        basic = lv.key == basic_key
        g = _grid_frame(data, lv.key, lang)
        fields = _grid_fields(basic, lang)
        columns = [f for f, _ in fields] + (["status"] if basic else [])
        fc = geo.feature_collection(g, columns, SIMPLIFY_M, data.metric_epsg)
        group = _overlay(m, level_name(lv, lang))
        if basic:
            _layer(group, fc, None, fields, style_function=_basic_style, popup=True,
                   highlight_function=lambda _f: {"weight": 3, "color": "#000000"})
        else:
            style = {"color": OUTLINE_COLORS[i % 5], "weight": OUTLINE_WEIGHTS[i % 5], "fill": False}
            _layer(group, fc, style, fields, popup=True, pane=OUTLINES_PANE)


def add_boundary(m: folium.Map, data: TownData, lang: str) -> None:
    fc = geo.feature_collection(data.boundary, ["code"], SIMPLIFY_M, data.metric_epsg)
    group = _overlay(m, t("boundary", lang))
    folium.GeoJson(fc, style_function=lambda _f: {"color": "#111111", "weight": 2, "dashArray": "8 6",
                                                  "fill": False},
                   control=False, pane=OUTLINES_PANE, interactive=False).add_to(group)


# ---- buildings, roads, key sites, service centres, cameras -----------------------------------

def _building_style(residential: bool) -> dict:
    color = BUILDING_COLORS[residential]
    return {"color": color, "weight": 0.8, "fillColor": color, "fillOpacity": 0.7}


def add_buildings(m: folium.Map, data: TownData, lang: str) -> None:
    """Residential and other buildings as two layers of one overlay (one style each keeps the
    page small); from LAZY_BUILDINGS_ABOVE on, drawn only from BUILDINGS_MIN_ZOOM."""
    b = data.buildings.copy()
    if b.empty:
        return
    b["residential_text"] = b["residential"].map(lambda v: yes_no(v, lang))
    fields = [("code", field_label("buildings", "code", lang)), ("name", field_label("buildings", "name", lang)),
              ("households", field_label("buildings", "households", lang)),
              ("residential_text", field_label("buildings", "residential", lang)),
              ("grid_code", field_label("buildings", "grid_code", lang))]
    group = _overlay(m, layer_name("buildings", lang))
    layers = []
    for residential in (True, False):
        part = b[b["residential"].fillna(True).astype(bool) == residential]
        fc = geo.feature_collection(part, [f for f, _ in fields])
        layers.append(_layer(group, fc, _building_style(residential), fields))
    layers = [x for x in layers if x is not None]
    if len(b) > LAZY_BUILDINGS_ABOVE and layers:
        m.add_child(MinZoomLayer(group, layers, BUILDINGS_MIN_ZOOM))


def add_roads(m: folium.Map, data: TownData, lang: str) -> None:
    r = data.roads.copy()
    if r.empty:
        return
    r["class_text"] = r["road_class"].map(lambda c: pick(ROAD_CLASSES[c], lang))
    fields = [("name", field_label("roads", "name", lang)), ("class_text", field_label("roads", "road_class", lang)),
              ("width_m", field_label("roads", "width_m", lang))]
    fc = geo.feature_collection(r, [f for f, _ in fields] + ["road_class"], SIMPLIFY_M, data.metric_epsg)
    group = _overlay(m, layer_name("roads", lang))
    _layer(group, fc, None, fields, style_function=lambda f: {
        "color": ROAD_STYLES[f["properties"]["road_class"]][0],
        "weight": ROAD_STYLES[f["properties"]["road_class"]][1], "opacity": 0.9})


def add_key_sites(m: folium.Map, data: TownData, lang: str) -> None:
    k = data.key_sites.copy()
    if k.empty:
        return
    k["category_text"] = k["category"].map(lambda c: pick(KEY_SITE_CATEGORIES[c], lang))
    fields = [("name", field_label("key_sites", "name", lang)),
              ("category_text", field_label("key_sites", "category", lang))]
    fc = geo.feature_collection(k, [f for f, _ in fields] + ["category"], SIMPLIFY_M, data.metric_epsg)
    group = _overlay(m, layer_name("key_sites", lang))
    _layer(group, fc, None, fields, style_function=lambda f: {
        "color": KEY_SITE_COLORS[f["properties"]["category"]], "weight": 2, "dashArray": "4 3",
        "fillColor": KEY_SITE_COLORS[f["properties"]["category"]], "fillOpacity": 0.25})


def add_service_centres(m: folium.Map, data: TownData, lang: str) -> None:
    s = data.service_centres.copy()
    if s.empty:
        return
    s["level_text"] = s["level"].map(lambda v: pick(SERVICE_CENTRE_LEVELS[v], lang))
    fields = [("name", field_label("service_centres", "name", lang)),
              ("level_text", field_label("service_centres", "level", lang)),
              ("address", field_label("service_centres", "address", lang)),
              ("phone", field_label("service_centres", "phone", lang))]
    group = _overlay(m, layer_name("service_centres", lang))
    for level, part in s.groupby("level", sort=True):
        icon = folium.Icon(color=CENTRE_COLORS.get(level, "blue"), icon="house", prefix="fa")
        fc = geo.feature_collection(part, [f for f, _ in fields])
        folium.GeoJson(fc, marker=folium.Marker(icon=icon), control=False,
                       tooltip=_tooltip(fields)).add_to(group)


def add_cameras(m: folium.Map, data: TownData, lang: str) -> None:
    if data.cameras is None or data.cameras.empty:
        return
    c = data.cameras.copy()
    c["networked_text"] = c["networked"].map(lambda v: yes_no(v, lang))
    c["online_text"] = c["online"].map(lambda v: yes_no(v, lang))
    fields = [("gb_id", field_label("cameras", "gb_id", lang)), ("name", field_label("cameras", "name", lang)),
              ("networked_text", field_label("cameras", "networked", lang)),
              ("online_text", field_label("cameras", "online", lang))]
    fc = geo.feature_collection(c, [f for f, _ in fields] + ["networked"])
    group = _overlay(m, layer_name("cameras", lang))
    _layer(group, fc, None, fields, marker=folium.CircleMarker(radius=4), style_function=lambda f: {
        "color": "#ffffff", "weight": 1, "fill": True,
        "fillColor": CAMERA_COLORS[bool(f["properties"]["networked"])], "fillOpacity": 0.95, "radius": 4})


# ---- panel and legend ------------------------------------------------------------------------

def info_spec(data: TownData, lang: str, links: list[tuple[str, str]]) -> InfoSpec:
    c = data.counts
    rows = [(t("count_grids", lang), f"{c['grids']:,}"), (t("count_basic", lang), f"{c['basic_grids']:,}"),
            (t("count_buildings", lang), f"{c['buildings']:,}"), (t("count_households", lang), f"{c['households']:,}"),
            (t("count_cameras", lang), f"{c['cameras']:,}"), (t("count_incidents", lang), f"{c['incidents']:,}")]
    notes = []
    if data.buildings_capped:
        notes.append(t("note_capped", lang, shown=f"{len(data.buildings):,}", total=f"{c['buildings']:,}"))
    if len(data.buildings) > LAZY_BUILDINGS_ABOVE:
        notes.append(t("note_min_zoom", lang, zoom=BUILDINGS_MIN_ZOOM))
    return InfoSpec(title=place_name(data.name, data.name_en, lang), subtitle=f"{t('code', lang)} {data.code}",
                    rows=rows, notes=notes, links=links)


def _present(gdf: gpd.GeoDataFrame, column: str) -> set:
    return set(gdf[column]) if len(gdf) else set()


def legend_sections(data: TownData, lang: str) -> list[LegendSection]:
    load = LegendSection(t("legend_load", lang, cap=data.household_cap),
                         [LegendItem(t(f"status_{s}", lang), STATUS_COLORS[s], outline="#4d4d4d")
                          for s in ("ok", "near", "over")])
    levels = LegendSection(layer_name("grids", lang), [
        LegendItem(level_name(lv, lang), OUTLINE_COLORS[i % 5], "line") for i, lv in enumerate(data.levels[:-1])])
    buildings = LegendSection(t("legend_buildings", lang), [
        LegendItem(t("residential", lang), BUILDING_COLORS[True]), LegendItem(t("non_residential", lang),
                                                                              BUILDING_COLORS[False])])
    roads = LegendSection(layer_name("roads", lang), [
        LegendItem(pick(v, lang), ROAD_STYLES[k][0], "line") for k, v in ROAD_CLASSES.items()
        if k in _present(data.roads, "road_class")])
    sites = LegendSection(layer_name("key_sites", lang), [
        LegendItem(pick(v, lang), KEY_SITE_COLORS[k]) for k, v in KEY_SITE_CATEGORIES.items()
        if k in _present(data.key_sites, "category")])
    sections = [load, levels, buildings, roads, sites]
    if data.cameras is not None and len(data.cameras):
        sections.append(LegendSection(t("legend_cameras", lang), [
            LegendItem(t("networked", lang), CAMERA_COLORS[True], "dot"),
            LegendItem(t("not_networked", lang), CAMERA_COLORS[False], "dot")]))
    return sections


def town_map(data: TownData, *, lang: str = "zh-CN", basemap: Basemap = Basemap(),
             links: list[tuple[str, str]] | None = None) -> folium.Map:
    """The town overview page of ``data``."""
    title = t("town_title", lang, name=place_name(data.name, data.name_en, lang))
    m = new_map(tuple(np.asarray(data.boundary.total_bounds)), title=title, lang=lang, basemap=basemap)
    # outlines of the upper levels and the boundary go above the basic grid colours
    folium.map.CustomPane(OUTLINES_PANE, z_index=450, pointer_events=False).add_to(m)
    add_boundary(m, data, lang)
    add_grids(m, data, lang)
    for add in (add_key_sites, add_roads, add_buildings, add_service_centres, add_cameras):
        add(m, data, lang)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(InfoPanel(info_spec(data, lang, links or [])))
    m.add_child(Legend(legend_sections(data, lang)))
    return m
