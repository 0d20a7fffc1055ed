"""Camera coverage (视频覆盖) and blind spots (盲区盲点): functions from
:class:`api.maps.CoverageData` / :class:`api.maps.BlindSpotsData` to a ``folium.Map``.

Coverage page: camera views coloured networked / not networked (offline in grey); the union
of the views and the areas seen by ≥2 and ≥3 cameras (from the multiplicity raster); key sites
green / amber / red for covered / partly / not covered, with their share and entrances in the
popups; basic grids and villages coloured by their worst KPI (red / amber / green), and a KPI
panel (a table per level: value, target, met, coloured by status); camera points with their
GB/T 28181 ID decoded.

Blind-spot page: blind spots coloured by priority with a side list, sorted by priority, that
zooms to each when clicked; suggested new cameras with their views and gains when the
placement service gave them.

Both pages are for police and admin only: :mod:`api.maps` refuses the data to other roles.
Values reach the page as in the other pages: GeoJSON properties through
:func:`dashboards.geo.feature_collection` (escaped), configs through the safe ``tojson``,
text into the DOM through ``textContent``.
"""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
from branca.element import MacroElement

from api.maps import BlindSpotsData, CoverageData
from dashboards import geo
from dashboards import town as town_page
from dashboards.base import Basemap, new_map
from dashboards.elements import InfoPanel, InfoSpec, Legend, LegendItem, LegendSection
from dashboards.i18n import field_label, pick, place_name, t, yes_no
from dashboards.safe import Template
from gis.vocab import KEY_SITE_CATEGORIES

VIEW_COLORS = {"networked": "#2166ac", "not_networked": "#e08214", "offline": "#9e9e9e"}
COVERAGE_COLOR = "#74add1"
MULTI_COLORS = {2: "#4575b4", 3: "#313695"}
SITE_COLORS = {"covered": "#1a9850", "partly": "#f5a623", "not": "#d73027"}
RAG_COLORS = {"green": "#1a9850", "amber": "#f5a623", "red": "#d73027", "none": "#bdbdbd"}
PRIORITY_COLORS = {"high": "#b2182b", "mid": "#ef8a62", "low": "#fddbc7"}
SUGGEST_COLOR = "#7b3294"
KPI_KEYS = ("key_area_coverage", "networking_key", "networking_all", "online", "documented")
MAX_ZOOM_TO = 19
SIMPLIFY_M = 0.5


def _pct(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{float(v):.0%}"


def _fc(gdf: gpd.GeoDataFrame, columns: list[str], epsg: int, simplify: bool = True) -> dict:
    return geo.feature_collection(gdf, columns, SIMPLIFY_M if simplify else None, epsg)


def _camera_state(networked, online) -> str:
    return "offline" if not bool(online) else ("networked" if bool(networked) else "not_networked")


# ---- coverage page ---------------------------------------------------------------------------

def add_coverage(m: folium.Map, data, lang: str) -> None:
    """The union of the views; on the coverage page also the ≥2 / ≥3 cameras layers."""
    if len(data.coverage) and not data.coverage.geometry.iloc[0].is_empty:
        group = town_page._overlay(m, t("layer_coverage", lang))
        folium.GeoJson(_fc(data.coverage, [], data.metric_epsg), control=False, interactive=False,
                       style={"color": COVERAGE_COLOR, "weight": 0.5, "fillColor": COVERAGE_COLOR,
                              "fillOpacity": 0.25}).add_to(group)
    multi = getattr(data, "multi", None)
    if multi is not None and len(multi):
        group = town_page._overlay(m, t("layer_multi", lang))
        for k, part in multi.groupby("min_cameras"):
            if part.geometry.iloc[0].is_empty:
                continue
            c = MULTI_COLORS.get(int(k), "#313695")
            folium.GeoJson(_fc(part, [], data.metric_epsg), control=False, interactive=False,
                           style={"color": c, "weight": 0.5, "fillColor": c, "fillOpacity": 0.3}).add_to(group)


def add_views(m: folium.Map, data: CoverageData, lang: str) -> None:
    v = data.views.copy()
    if v.empty:
        return
    v["state"] = [_camera_state(n, o) for n, o in zip(v["networked"], v["online"])]
    v["networked_text"] = v["networked"].map(lambda x: yes_no(bool(x), lang))
    v["online_text"] = v["online"].map(lambda x: yes_no(bool(x), lang))
    fields = [("gb_id", field_label("cameras", "gb_id", lang)), ("name", field_label("cameras", "name", lang)),
              ("networked_text", t("networked", lang)), ("online_text", t("online", lang)),
              ("area_m2", t("view_area", lang))]
    group = town_page._overlay(m, t("layer_views", lang))
    town_page._layer(group, _fc(v, [f for f, _ in fields] + ["state"], data.metric_epsg, False), None, fields,
                     style_function=lambda f: {"color": VIEW_COLORS[f["properties"]["state"]], "weight": 1,
                                               "fillColor": VIEW_COLORS[f["properties"]["state"]],
                                               "fillOpacity": 0.2})


def add_sites(m: folium.Map, data: CoverageData, lang: str) -> None:
    s = data.sites.copy()
    if s.empty:
        return
    s["category_text"] = s["category"].map(lambda c: pick(KEY_SITE_CATEGORIES.get(c, (c, c)), lang))
    s["share_text"] = s["share_covered"].map(_pct)
    s["entrances_text"] = [f"{a} / {b}" for a, b in zip(s["entrances_covered"], s["entrances"])]
    s["status_text"] = s["status"].map(lambda x: t(f"site_{x}", lang))
    fields = [("name", field_label("key_sites", "name", lang)),
              ("category_text", field_label("key_sites", "category", lang)),
              ("share_text", t("site_share", lang)), ("entrances_text", t("site_entrances", lang)),
              ("cameras_seeing", t("site_cameras", lang)), ("status_text", t("site_status", lang))]
    group = town_page._overlay(m, t("layer_key_site_coverage", lang))
    town_page._layer(group, _fc(s, [f for f, _ in fields] + ["status"], data.metric_epsg), None, fields,
                     popup=True, style_function=lambda f: {
                         "color": SITE_COLORS[f["properties"]["status"]], "weight": 2.5,
                         "fillColor": SITE_COLORS[f["properties"]["status"]], "fillOpacity": 0.35})


def _kpi_rows(rows: list[dict], lang: str) -> list[dict]:
    """Table rows for the KPI panel: one per area and indicator."""
    out = []
    for r in rows:
        for key in KPI_KEYS:
            k = r["kpis"].get(key)
            if k is None:
                continue
            out.append({"area": f"{r['name']} ({r['code']})", "kpi": t(f"kpi_{key}", lang), "value": _pct(k["value"]),
                        "target": _pct(k["target"]), "met": "" if k["met"] is None else yes_no(k["met"], lang),
                        "status": k["status"], "color": RAG_COLORS.get(k["status"], RAG_COLORS["none"])})
    return out


def add_kpi_areas(m: folium.Map, data: CoverageData, lang: str) -> None:
    """Each level's areas as an outline coloured by their worst KPI, KPIs in the popup."""
    for key, rows in data.kpis.items():
        if not rows:
            continue
        level = pick(data.level_names[key], lang)
        shapes = data.kpi_shapes.get(key) if hasattr(data, "kpi_shapes") else None
        if shapes is None or shapes.empty:
            continue
        g = shapes.set_index("code").loc[[r["code"] for r in rows]].reset_index()
        g["name"] = [r["name"] for r in rows]
        g["status"] = [r["status"] for r in rows]
        g["status_text"] = g["status"].map(lambda s: t(f"rag_{s}", lang))
        fields = [("code", field_label("grids", "code", lang)), ("name", field_label("grids", "name", lang)),
                  ("status_text", t("kpi_title", lang))]
        for kk in KPI_KEYS:
            g[f"kpi_{kk}"] = [_pct(r["kpis"][kk]["value"]) + " / " + _pct(r["kpis"][kk]["target"]) for r in rows]
            fields.append((f"kpi_{kk}", t(f"kpi_{kk}", lang)))
        group = town_page._overlay(m, t("layer_kpi", lang, level=level))
        town_page._layer(group, _fc(g, [f for f, _ in fields] + ["status"], data.metric_epsg), None, fields,
                         popup=True, pane=town_page.OUTLINES_PANE, style_function=lambda f: {
                             "color": RAG_COLORS.get(f["properties"]["status"], "#bdbdbd"), "weight": 3,
                             "fill": False})


def add_camera_points(m: folium.Map, data: CoverageData, lang: str) -> None:
    c = data.cameras.copy()
    if c.empty:
        return
    c["state"] = [_camera_state(n, o) for n, o in zip(c["networked"], c["online"])]
    for col in ("networked", "online", "documented"):
        c[f"{col}_text"] = c[col].map(lambda x: yes_no(None if x is None else bool(x), lang))
    suffix = "en" if lang.lower().startswith("en") else "zh"
    c["type_text"], c["network_text"] = c[f"type_{suffix}"], c[f"network_{suffix}"]
    fields = [("gb_id", field_label("cameras", "gb_id", lang)), ("name", field_label("cameras", "name", lang)),
              ("admin_code", t("gb_admin", lang)), ("type_text", t("gb_type", lang)),
              ("network_text", t("gb_network", lang)), ("serial", t("gb_serial", lang)),
              ("networked_text", t("networked", lang)), ("online_text", t("online", lang)),
              ("documented_text", t("documented", lang))]
    group = town_page._overlay(m, t("layer_camera_points", lang))
    town_page._layer(group, _fc(c, [f for f, _ in fields] + ["state"], data.metric_epsg, False), None, fields,
                     popup=True, marker=folium.CircleMarker(radius=5), style_function=lambda f: {
                         "color": "#ffffff", "weight": 1, "fill": True, "radius": 5, "fillOpacity": 0.95,
                         "fillColor": VIEW_COLORS[f["properties"]["state"]]})


class KpiPanel(MacroElement):
    """A Leaflet control with one KPI table per level (area, indicator, value, target, met),
    each row coloured by its red / amber / green status."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var spec = {{ this.spec|tojson }};
            var panel = L.control({position: spec.position});
            panel.onAdd = function () {
                var div = L.DomUtil.create("div", "wg-panel wg-kpi");
                div.style.maxHeight = "45vh";
                div.style.overflowY = "auto";
                div.style.maxWidth = "36em";
                var h = L.DomUtil.create("h2", "", div);
                h.textContent = spec.title;
                h.style.fontSize = "15px";
                spec.levels.forEach(function (level) {
                    var h3 = L.DomUtil.create("h3", "", div);
                    h3.textContent = level.title;
                    h3.style.fontSize = "13px";
                    h3.style.margin = "6px 0 2px";
                    var table = L.DomUtil.create("table", "wg-kpi-table", div);
                    var head = L.DomUtil.create("tr", "", L.DomUtil.create("thead", "", table));
                    spec.columns.forEach(function (c) { L.DomUtil.create("th", "", head).textContent = c; });
                    var body = L.DomUtil.create("tbody", "", table);
                    level.rows.forEach(function (row) {
                        var tr = L.DomUtil.create("tr", "wg-rag-" + row.status, body);
                        [row.area, row.kpi, row.value, row.target, row.met].forEach(function (v) {
                            L.DomUtil.create("td", "", tr).textContent = v;
                        });
                        var light = L.DomUtil.create("td", "", tr);
                        var dot = L.DomUtil.create("span", "wg-swatch wg-dot", light);
                        dot.style.background = row.color;
                        dot.style.borderColor = row.color;
                        dot.title = row.status_text;
                        light.appendChild(document.createTextNode(" " + row.status_text));
                    });
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            panel.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, spec: dict):
        super().__init__()
        self._name = "KpiPanel"
        self.spec = spec


def kpi_spec(data: CoverageData, lang: str) -> dict:
    levels = []
    for key, rows in data.kpis.items():
        table = _kpi_rows(rows, lang)
        for r in table:
            r["status_text"] = t(f"rag_{r['status']}", lang)
        levels.append({"title": pick(data.level_names[key], lang), "rows": table})
    columns = [t(k, lang) for k in ("kpi_area", "kpi_indicator", "kpi_value", "kpi_target", "kpi_met")] + ["RAG"]
    return {"title": t("kpi_title", lang), "columns": columns, "levels": levels, "position": "bottomleft"}


def coverage_info(data: CoverageData, lang: str, links: list[tuple[str, str]]) -> InfoSpec:
    s, c = data.summary, data.cameras
    st = s["key_site_status"]
    rows = [(t("count_cameras", lang), f"{s['cameras']:,}"),
            (t("count_cameras_networked", lang), f"{int(c['networked'].astype(bool).sum()) if len(c) else 0:,}"),
            (t("count_cameras_online", lang), f"{int(c['online'].astype(bool).sum()) if len(c) else 0:,}"),
            (t("count_covered_km2", lang), f"{s['covered_km2']:.4f}"),
            (t("count_multi_km2", lang), "" if s["multi_covered_km2"] is None else f"{s['multi_covered_km2']:.4f}"),
            (t("count_sites_status", lang), f"{st['covered']} / {st['partly']} / {st['not']}")]
    return InfoSpec(title=t("coverage_title", lang, name=place_name(data.name, data.name_en, lang)),
                    subtitle=f"{t('code', lang)} {data.code}", rows=rows, notes=[t("note_police_only", lang)],
                    links=links)


def coverage_legend(data: CoverageData, lang: str) -> list[LegendSection]:
    return [LegendSection(t("layer_views", lang), [
                LegendItem(t("networked", lang), VIEW_COLORS["networked"]),
                LegendItem(t("not_networked", lang), VIEW_COLORS["not_networked"]),
                LegendItem(t("offline", lang), VIEW_COLORS["offline"])]),
            LegendSection(t("layer_multi", lang), [LegendItem(t("layer_coverage", lang), COVERAGE_COLOR)] + [
                LegendItem(t("min_cameras", lang, n=k), MULTI_COLORS[k]) for k in sorted(MULTI_COLORS)]),
            LegendSection(t("layer_key_site_coverage", lang), [
                LegendItem(t(f"site_{k}", lang), v) for k, v in SITE_COLORS.items()]),
            LegendSection(t("kpi_title", lang), [
                LegendItem(t(f"rag_{k}", lang), v, "line") for k, v in RAG_COLORS.items()])]


def coverage_map(data: CoverageData, *, lang: str = "zh-CN", basemap: Basemap = Basemap(),
                 links: list[tuple[str, str]] | None = None) -> folium.Map:
    """The camera coverage page of ``data``."""
    title = t("coverage_title", lang, name=place_name(data.name, data.name_en, lang))
    m = new_map(tuple(np.asarray(data.boundary.total_bounds)), title=title, lang=lang, basemap=basemap)
    folium.map.CustomPane(town_page.OUTLINES_PANE, z_index=450, pointer_events=False).add_to(m)
    town_page.add_boundary(m, data, lang)
    for add in (add_coverage, add_views, add_kpi_areas, add_sites, add_camera_points):
        add(m, data, lang)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(InfoPanel(coverage_info(data, lang, links or [])))
    m.add_child(KpiPanel(kpi_spec(data, lang)))
    m.add_child(Legend(coverage_legend(data, lang)))
    return m


# ---- blind-spot page -------------------------------------------------------------------------

def priority_class(p) -> str:
    """high from 2/3 of the highest incident density, mid from 1/3, low below.

    >>> [priority_class(x) for x in (1.0, 0.5, 0.0)]
    ['high', 'mid', 'low']
    """
    p = float(p or 0.0)
    return "high" if p >= 2 / 3 else ("mid" if p >= 1 / 3 else "low")


class SpotList(MacroElement):
    """The blind spots as a side list, sorted by priority; clicking an entry zooms to its
    polygon (found in ``layer`` by the feature id) and opens its popup."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var layer = {{ this.layer.get_name() if this.layer else "null" }};
            var spec = {{ this.spec|tojson }};
            var byId = {};
            if (layer) { layer.eachLayer(function (l) { if (l.feature) { byId[String(l.feature.id)] = l; } }); }
            var panel = L.control({position: spec.position});
            panel.onAdd = function () {
                var div = L.DomUtil.create("div", "wg-panel wg-spots");
                div.style.maxHeight = "50vh";
                div.style.overflowY = "auto";
                var h = L.DomUtil.create("h2", "", div);
                h.textContent = spec.title;
                h.style.fontSize = "15px";
                if (!spec.entries.length) {
                    L.DomUtil.create("p", "wg-note", div).textContent = spec.empty;
                }
                var ol = L.DomUtil.create("ol", "wg-spot-list", div);
                ol.style.paddingLeft = "0";
                ol.style.listStyle = "none";
                spec.entries.forEach(function (e) {
                    var li = L.DomUtil.create("li", "wg-spot wg-priority-" + e.class, ol);
                    li.style.cursor = "pointer";
                    li.style.borderLeft = "6px solid " + e.color;
                    li.style.paddingLeft = "4px";
                    li.dataset.id = e.id;
                    li.textContent = e.text;
                    L.DomEvent.on(li, "click", function () {
                        var l = byId[e.id];
                        if (!l) { return; }
                        map.fitBounds(l.getBounds(), {maxZoom: spec.max_zoom, padding: [40, 40], animate: false});
                        if (l.openPopup) { l.openPopup(); }
                    });
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            panel.addTo(map);
        })();
        {% endmacro %}
    """)

    def __init__(self, layer, spec: dict):
        super().__init__()
        self._name = "SpotList"
        self.layer, self.spec = layer, spec


def _spot_frame(data: BlindSpotsData, lang: str) -> gpd.GeoDataFrame:
    s = data.spots.sort_values(["rank"]).copy()
    en = lang.lower().startswith("en")
    s["category_text"] = s["category_en" if en else "category_zh"]
    s["site_text"] = s["site_name"].fillna("")
    s["priority_class"] = s["priority"].map(priority_class)
    left, right = (" (", ")") if en else ("（", "）")
    s["priority_text"] = [f"{p:.2f}{left}{t('priority_' + c, lang)}{right}"
                          for p, c in zip(s["priority"], s["priority_class"])]
    s["area_text"] = s["area_m2"].map(lambda a: f"{a:,.1f}")
    s["incidents_text"] = s["incidents_per_100m2"].map(lambda d: f"{d:.4f}")
    s["grid_text"] = s["grid_code"].fillna("")
    s.index = [f"spot-{r}" for r in s["rank"]]
    return s


def spot_entries(s: gpd.GeoDataFrame, lang: str) -> list[dict]:
    return [{"id": i, "class": c, "color": PRIORITY_COLORS[c],
             "text": t("spot_entry", lang, rank=r, category=cat, name=name, area=area, priority=f"{p:.2f}")}
            for i, r, cat, name, area, p, c in zip(s.index, s["rank"], s["category_text"], s["site_text"],
                                                   s["area_text"], s["priority"], s["priority_class"])]


def add_spots(m: folium.Map, data: BlindSpotsData, lang: str):
    s = _spot_frame(data, lang)
    fields = [("rank", t("spot_rank", lang)), ("priority_text", t("spot_priority", lang)),
              ("category_text", t("spot_category", lang)), ("site_text", t("spot_site", lang)),
              ("area_text", t("spot_area", lang)), ("grid_text", t("spot_grid", lang)),
              ("incidents_text", t("spot_incidents", lang))]
    group = town_page._overlay(m, t("layer_blind_spots", lang))
    layer = town_page._layer(group, _fc(s, [f for f, _ in fields] + ["priority_class"], data.metric_epsg, False),
                             None, fields, popup=True, style_function=lambda f: {
                                 "color": PRIORITY_COLORS[f["properties"]["priority_class"]], "weight": 2,
                                 "fillColor": PRIORITY_COLORS[f["properties"]["priority_class"]],
                                 "fillOpacity": 0.6})
    return layer, s


def add_suggestions(m: folium.Map, data: BlindSpotsData, lang: str) -> None:
    if data.suggestions is None or data.suggestions.empty:
        return
    group = town_page._overlay(m, t("layer_suggestions", lang))
    if data.suggestion_views is not None and len(data.suggestion_views):
        folium.GeoJson(_fc(data.suggestion_views, ["rank"], data.metric_epsg, False), control=False,
                       interactive=False, style={"color": SUGGEST_COLOR, "weight": 1, "dashArray": "4 3",
                                                 "fillColor": SUGGEST_COLOR, "fillOpacity": 0.15}).add_to(group)
    s = data.suggestions.copy()
    s["azimuth_text"] = s["azimuth_deg"].map(lambda a: f"{a:.0f}")
    s["gain_text"] = s["gain_m2"].map(lambda a: f"{a:,.1f}")
    s["weighted_text"] = s["gain_weighted"].map(lambda a: f"{a:,.1f}") if "gain_weighted" in s else ""
    s["cumulative_text"] = s["cumulative_share"].map(_pct) if "cumulative_share" in s else ""
    fields = [("rank", t("suggest_rank", lang)), ("azimuth_text", t("suggest_azimuth", lang)),
              ("gain_text", t("suggest_gain", lang)), ("weighted_text", t("suggest_gain_weighted", lang)),
              ("cumulative_text", t("suggest_cumulative", lang))]
    town_page._layer(group, _fc(s, [f for f, _ in fields], data.metric_epsg, False), None, fields, popup=True,
                     marker=folium.CircleMarker(radius=6), style_function=lambda _f: {
                         "color": "#ffffff", "weight": 2, "fill": True, "radius": 6, "fillOpacity": 1.0,
                         "fillColor": SUGGEST_COLOR})


def blindspots_info(data: BlindSpotsData, lang: str, links: list[tuple[str, str]]) -> InfoSpec:
    s = data.spots
    inc = data.incidents or {}
    rows = [(t("count_blind_spots", lang), f"{len(s):,}"),
            (t("count_blind_m2", lang), f"{float(s['area_m2'].sum()) if len(s) else 0.0:,.1f}"),
            (t("count_incidents_window", lang, start=str(inc.get("from", ""))[:10]), f"{inc.get('count', 0):,}")]
    notes = [t("note_police_only", lang)]
    if data.suggestion_summary:
        q = data.suggestion_summary.get("at_least_share_of_optimum")
        notes.append(t("note_suggestions", lang, quality=_pct(q) or "—"))
    else:
        notes.append(t("note_no_suggestions", lang))
    return InfoSpec(title=t("blindspots_title", lang, name=place_name(data.name, data.name_en, lang)),
                    subtitle=f"{t('code', lang)} {data.code}", rows=rows, notes=notes, links=links)


def blindspots_map(data: BlindSpotsData, *, lang: str = "zh-CN", basemap: Basemap = Basemap(),
                   links: list[tuple[str, str]] | None = None) -> folium.Map:
    """The blind-spot page of ``data``."""
    title = t("blindspots_title", lang, name=place_name(data.name, data.name_en, lang))
    m = new_map(tuple(np.asarray(data.boundary.total_bounds)), title=title, lang=lang, basemap=basemap)
    folium.map.CustomPane(town_page.OUTLINES_PANE, z_index=450, pointer_events=False).add_to(m)
    town_page.add_boundary(m, data, lang)
    add_coverage(m, data, lang)
    layer, spots = add_spots(m, data, lang)
    add_suggestions(m, data, lang)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(InfoPanel(blindspots_info(data, lang, links or [])))
    m.add_child(SpotList(layer, {"title": t("spot_list_title", lang, n=len(spots)), "empty": t("spot_list_empty", lang),
                                 "entries": spot_entries(spots, lang), "max_zoom": MAX_ZOOM_TO,
                                 "position": "topleft"}))
    legend = [LegendSection(t("layer_blind_spots", lang), [
        LegendItem(t(f"priority_{k}", lang), v) for k, v in PRIORITY_COLORS.items()]),
        LegendSection(t("layer_coverage", lang), [LegendItem(t("layer_coverage", lang), COVERAGE_COLOR)])]
    if data.suggestions is not None and len(data.suggestions):
        legend.append(LegendSection(t("layer_suggestions", lang), [
            LegendItem(t("layer_suggestions", lang), SUGGEST_COLOR, "dot")]))
    m.add_child(Legend(legend))
    return m
