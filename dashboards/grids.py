"""Planner's dashboard (网格规划): a function from :class:`api.maps.GridsData` to a ``folium.Map``.

Grids by level in the layer control, basic grids coloured by households against the cap (the
town page's colours and legend) with their staff in the popups; the violations of the grid
rules drawn on the map by severity, with a side list that zooms to each; for planners and
administrators, a grid editor (Leaflet.draw): draw a new grid, reshape a grid by its vertices,
or split a grid by a line. Every change goes to the grid API first as a dry run, whose
violations come back onto the map and the list; only then does "保存 / Save" make the real
call, and a saved change reloads the page.

The behaviour lives in one static script (``/static/wangge/grids.js``, never rendered through
Jinja); the two :class:`MacroElement` s below only call it, with their values through the
safe ``tojson`` (:mod:`dashboards.safe`).
"""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin

from api.maps import GridsData
from dashboards import geo
from dashboards import town as town_page
from dashboards.assets import CSS, JS, STATIC_URL
from dashboards.base import Basemap, new_map
from dashboards.elements import InfoPanel, InfoSpec, Legend, LegendItem, LegendSection
from dashboards.i18n import MESSAGES, field_label, layer_name, level_name, norm_lang, pick, place_name, t
from dashboards.safe import Template
from gis.vocab import STAFF_ROLES

GRIDS_JS = f"{STATIC_URL}/wangge/grids.js"
GRIDS_CSS = f"{STATIC_URL}/wangge/grids.css"
API_URL = "/api/v1"

SEVERITY_COLORS = {"error": "#d7191c", "warning": "#e08214"}
NEW_ERROR_COLOR = "#c51b7d"
DRAFT_COLOR = "#1f5fbf"
# violations whose geometry is a whole grid: drawn as a dashed outline, not a fill
WHOLE_GRID_KINDS = ("over_cap", "undersized", "size_spread", "understaffed", "multipart")
MAX_ZOOM_TO = 18  # zooming to a violation stops here (a small gap would zoom in too far)


# ---- grids with their staff ------------------------------------------------------------------

def staff_text(staff: pd.DataFrame, lang: str) -> pd.Series:
    """One line per person and role ("网格员 张三 138…"), joined per grid code."""
    if staff.empty:
        return pd.Series(dtype=object)
    order = {role: k for k, role in enumerate(STAFF_ROLES)}
    s = staff.assign(order=staff["role"].map(order).fillna(len(order))).sort_values(["grid_code", "order", "name"])
    role = s["role"].map({k: pick(v, lang) for k, v in STAFF_ROLES.items()}).fillna(s["role"])
    phone = s["phone"].fillna("").astype(str)
    line = role + " " + s["name"].astype(str) + phone.where(phone == "", " " + phone)
    return line.groupby(s["grid_code"]).agg("\n".join)


def _grid_frame(data: GridsData, key: str, lang: str) -> gpd.GeoDataFrame:
    g = town_page._grid_frame(data, key, lang)
    g["staff_text"] = g["code"].map(staff_text(data.staff, lang)).fillna(t("no_staff", lang))
    return g


def _grid_fields(basic: bool, lang: str) -> list[tuple[str, str]]:
    return town_page._grid_fields(basic, lang) + [("version", field_label("grids", "version", lang)),
                                                  ("staff_text", t("staff", lang))]


def add_grids(m: folium.Map, data: GridsData, lang: str) -> dict[str, folium.GeoJson]:
    """One overlay per level (as on the town page), popups with staff and version; the
    GeoJSON layer of each level, by level key (the editor picks grids from them).

    Basic grids are drawn unsimplified, so that the editor's outlines follow the stored ones."""
    basic_key, layers = data.basic_level.key, {}
    for i, lv in enumerate(data.levels):
        basic = lv.key == basic_key
        fields = _grid_fields(basic, lang)
        g = _grid_frame(data, lv.key, lang)
        fc = geo.feature_collection(g, [f for f, _ in fields] + (["status"] if basic else []),
                                    None if basic else town_page.SIMPLIFY_M, data.metric_epsg)
        group = town_page._overlay(m, level_name(lv, lang))
        if basic:
            layer = town_page._layer(group, fc, None, fields, style_function=town_page._basic_style, popup=True)
        else:
            style = {"color": town_page.OUTLINE_COLORS[i % 5], "weight": town_page.OUTLINE_WEIGHTS[i % 5],
                     "fill": False}
            layer = town_page._layer(group, fc, style, fields, popup=True, pane=town_page.OUTLINES_PANE)
        if layer is not None:
            layers[lv.key] = layer
    return layers


# ---- violations and the editor: calls into grids.js -------------------------------------------

class _GridsScript(JSCSSMixin, MacroElement):
    """Loads grids.js / grids.css (declared as data, like folium's plugins)."""

    default_js = [("wangge_grids_js", GRIDS_JS)]
    default_css = [("wangge_grids_css", GRIDS_CSS)]


class ViolationList(_GridsScript):
    """The violations on the map (in ``group``, by severity, popups in the page language) and
    a side list that zooms to each; ``preview`` receives the violations of dry runs."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = WanggeGrids.violations({{ this._parent.get_name() }}, {
            group: {{ this.group.get_name() }},
            preview: {{ this.preview.get_name() if this.preview else "null" }},
            grids: [{% for layer in this.grid_layers %}{{ layer.get_name() }}{{ ", " if not loop.last }}{% endfor %}]
        }, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, group, preview, grid_layers: list, config: dict):
        super().__init__()
        self._name = "ViolationList"
        self.group, self.preview, self.grid_layers, self.config = group, preview, list(grid_layers), config


class GridEditor(_GridsScript):
    """Leaflet.draw tools for planners: new grid, reshape, split; dry run first, then save."""

    default_js = [("leaflet_draw_js", JS["leaflet_draw_js"]), ("wangge_grids_js", GRIDS_JS)]
    default_css = [("leaflet_draw_css", CSS["leaflet_draw_css"]), ("wangge_grids_css", GRIDS_CSS)]

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = WanggeGrids.editor({{ this._parent.get_name() }}, {
            basic: {{ this.basic.get_name() }},
            parents: {{ this.parents.get_name() if this.parents else "null" }},
            violations: {{ this.violations.get_name() }}
        }, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, basic, parents, violations: ViolationList, config: dict):
        super().__init__()
        self._name = "GridEditor"
        self.basic, self.parents, self.violations, self.config = basic, parents, violations, config


def _raw(key: str, lang: str) -> str:
    """A message with its {placeholders} left for grids.js to fill."""
    return pick(MESSAGES[key], lang)


def _lang_key(lang: str) -> str:
    return norm_lang(lang)  # the keys of the API's messages: "zh-CN" / "en"


def violation_config(data: GridsData, lang: str) -> dict:
    labels = {k: _raw(f"violations_{k}", lang) for k in (
        "title", "empty", "severity", "grids", "buildings", "severity_error", "severity_warning", "new_error")}
    features = sorted(data.violations["features"], key=lambda f: f["properties"]["severity"] != "error")
    return {"lang": _lang_key(lang), "features": {**data.violations, "features": features},
            "summary": data.summary, "labels": labels,
            "colors": {**SEVERITY_COLORS, "new": NEW_ERROR_COLOR}, "whole_grid_kinds": list(WHOLE_GRID_KINDS),
            "max_zoom": MAX_ZOOM_TO, "position": "topleft"}


EDITOR_TEXT = (
    "title", "hint_select", "selected", "create", "reshape", "split", "finish", "undo", "save", "cancel",
    "name", "parent", "default_name", "need_selection", "need_name", "need_parent", "multipart",
    "drawing_polygon", "drawing_line", "editing", "checking", "dry_run_ok", "dry_run_bad", "saving", "saved",
    "failed", "polygon_start", "polygon_cont", "polygon_end", "line_start", "line_cont", "line_end",
    "line_error")


def editor_config(data: GridsData, lang: str) -> dict:
    parents = data.grids[data.grids["level"] == data.levels[-2].key] if len(data.levels) > 1 else data.grids.iloc[:0]
    basic = data.grids[data.grids["level"] == data.basic_level.key]
    return {"lang": _lang_key(lang), "jurisdiction": data.code, "api": API_URL,
            "text": {**{k: _raw(f"editor_{k}", lang) for k in EDITOR_TEXT},
                     "preview_title": _raw("violations_preview_title", lang),
                     "refused_title": _raw("violations_refused_title", lang)},
            "parents": [[c, n] for c, n in zip(parents["code"], parents["name"])],
            "names": dict(zip(basic["code"], basic["name"])),
            "colors": {"draft": DRAFT_COLOR}, "position": "topright"}


# ---- panel and legend ------------------------------------------------------------------------

def info_spec(data: GridsData, lang: str, links: list[tuple[str, str]]) -> InfoSpec:
    g = data.grids
    basic = int((g["level"] == data.basic_level.key).sum()) if len(g) else 0
    households = int(g.loc[g["level"] == data.basic_level.key, "households"].sum()) if len(g) else 0
    rows = [(t("count_grids", lang), f"{len(g):,}"), (t("count_basic", lang), f"{basic:,}"),
            (t("count_households", lang), f"{households:,}"),
            (t("count_errors", lang), f"{data.summary['errors']:,}"),
            (t("count_warnings", lang), f"{data.summary['warnings']:,}")]
    notes = [t("note_editable" if data.can_edit else "note_read_only", lang)]
    if len(data.buildings) < data.buildings_total:
        notes.append(t("note_capped", lang, shown=f"{len(data.buildings):,}", total=f"{data.buildings_total:,}"))
    return InfoSpec(title=t("grids_title", lang, name=place_name(data.name, data.name_en, lang)),
                    subtitle=f"{t('code', lang)} {data.code}", rows=rows, notes=notes, links=links)


def legend_sections(data: GridsData, lang: str) -> list[LegendSection]:
    load = LegendSection(t("legend_load", lang, cap=data.household_cap),
                         [LegendItem(t(f"status_{s}", lang), town_page.STATUS_COLORS[s], outline="#4d4d4d")
                          for s in ("ok", "near", "over")])
    levels = LegendSection(layer_name("grids", lang), [
        LegendItem(level_name(lv, lang), town_page.OUTLINE_COLORS[i % 5], "line")
        for i, lv in enumerate(data.levels[:-1])])
    rules = [LegendItem(t("violations_severity_error", lang), SEVERITY_COLORS["error"]),
             LegendItem(t("violations_severity_warning", lang), SEVERITY_COLORS["warning"])]
    if data.can_edit:
        rules.append(LegendItem(t("violations_new_error", lang), NEW_ERROR_COLOR))
    buildings = LegendSection(t("legend_buildings", lang), [
        LegendItem(t("residential", lang), town_page.BUILDING_COLORS[True]),
        LegendItem(t("non_residential", lang), town_page.BUILDING_COLORS[False])])
    return [LegendSection(t("legend_violations", lang), rules), load, levels, buildings]


# ---- the page --------------------------------------------------------------------------------

def grids_map(data: GridsData, *, lang: str = "zh-CN", basemap: Basemap = Basemap(),
              links: list[tuple[str, str]] | None = None) -> folium.Map:
    """The planner's dashboard of ``data`` (the editor only when ``data.can_edit``)."""
    title = t("grids_title", lang, name=place_name(data.name, data.name_en, lang))
    m = new_map(tuple(np.asarray(data.boundary.total_bounds)), title=title, lang=lang, basemap=basemap)
    folium.map.CustomPane(town_page.OUTLINES_PANE, z_index=450, pointer_events=False).add_to(m)
    town_page.add_boundary(m, data, lang)
    grid_layers = add_grids(m, data, lang)
    town_page.add_buildings(m, data, lang)
    violations_group = town_page._overlay(m, t("layer_violations", lang))
    preview = town_page._overlay(m, t("layer_preview", lang)) if data.can_edit else None
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(InfoPanel(info_spec(data, lang, links or [])))
    listing = ViolationList(violations_group, preview, list(grid_layers.values()), violation_config(data, lang))
    m.add_child(listing)
    basic = grid_layers.get(data.basic_level.key)
    if data.can_edit and basic is not None:
        parents = grid_layers.get(data.levels[-2].key) if len(data.levels) > 1 else None
        m.add_child(GridEditor(basic, parents, listing, editor_config(data, lang)))
    m.add_child(Legend(legend_sections(data, lang)))
    return m
