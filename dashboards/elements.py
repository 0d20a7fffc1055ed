"""Small custom Leaflet behaviours as folium ``MacroElement`` s.

Each has a template; Python values reach JavaScript only through ``tojson`` (the safe one of
:mod:`dashboards.safe`: ``< > & '`` escaped, and no Jinja delimiter left for folium's second
rendering pass), and text reaches the page through ``textContent``, never through HTML strings.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from branca.element import MacroElement

from dashboards.assets import WANGGE_CSS
from dashboards.safe import Template


class PageSetup(MacroElement):
    """Document language, our stylesheet, and no favicon request."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <link rel="icon" href="data:,"/>
            <link rel="stylesheet" href="{{ this.css_url }}"/>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            document.documentElement.lang = {{ this.lang|tojson }};
        {% endmacro %}
    """)

    def __init__(self, lang: str):
        super().__init__()
        self._name = "PageSetup"
        self.lang = lang
        self.css_url = WANGGE_CSS


@dataclass
class InfoSpec:
    """The title panel: a heading, a code line, labelled counts, notes and links."""

    title: str
    subtitle: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, relative URL)
    position: str = "topleft"


class InfoPanel(MacroElement):
    """A Leaflet control with the page's title and figures."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var spec = {{ this.spec|tojson }};
            var panel = L.control({position: spec.position});
            panel.onAdd = function () {
                var div = L.DomUtil.create("div", "wg-panel wg-info");
                L.DomUtil.create("h1", "wg-title", div).textContent = spec.title;
                if (spec.subtitle) {
                    L.DomUtil.create("div", "wg-subtitle", div).textContent = spec.subtitle;
                }
                var dl = L.DomUtil.create("dl", "wg-counts", div);
                spec.rows.forEach(function (row) {
                    L.DomUtil.create("dt", "", dl).textContent = row[0];
                    L.DomUtil.create("dd", "", dl).textContent = row[1];
                });
                spec.notes.forEach(function (note) {
                    L.DomUtil.create("p", "wg-note", div).textContent = note;
                });
                var nav = L.DomUtil.create("nav", "wg-links", div);
                spec.links.forEach(function (link) {
                    var a = L.DomUtil.create("a", "", nav);
                    a.href = link[1];
                    a.textContent = link[0];
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            panel.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, spec: InfoSpec):
        super().__init__()
        self._name = "InfoPanel"
        self.spec = asdict(spec)


@dataclass
class LegendItem:
    label: str
    color: str
    shape: str = "box"  # box | line | dot
    outline: str | None = None


@dataclass
class LegendSection:
    title: str
    items: list[LegendItem]


class Legend(MacroElement):
    """A Leaflet control listing colour swatches by section."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var sections = {{ this.sections|tojson }};
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "wg-panel wg-legend");
                sections.forEach(function (section) {
                    L.DomUtil.create("h2", "", div).textContent = section.title;
                    var ul = L.DomUtil.create("ul", "", div);
                    section.items.forEach(function (item) {
                        var li = L.DomUtil.create("li", "", ul);
                        var sw = L.DomUtil.create("span", "wg-swatch wg-" + item.shape, li);
                        sw.style.background = item.shape === "line" ? "transparent" : item.color;
                        sw.style.borderColor = item.outline || item.color;
                        L.DomUtil.create("span", "wg-label", li).textContent = item.label;
                    });
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, sections: list[LegendSection], position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.sections = [asdict(s) for s in sections if s.items]
        self.position = position


class MinZoomLayer(MacroElement):
    """Keep ``layers`` inside ``group`` only from ``min_zoom`` on.

    The group stays in the layer control (the viewer can still switch it off); below the
    zoom level the browser holds no SVG paths for the layer, which keeps big towns light.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var group = {{ this.group.get_name() }};
            var layers = [{% for layer in this.layers %}{{ layer.get_name() }}{{ ", " if not loop.last }}{% endfor %}];
            var minZoom = {{ this.min_zoom|tojson }};
            function sync() {
                var show = map.getZoom() >= minZoom;
                layers.forEach(function (layer) {
                    if (show && !group.hasLayer(layer)) { group.addLayer(layer); }
                    if (!show && group.hasLayer(layer)) { group.removeLayer(layer); }
                });
            }
            map.on("zoomend", sync);
            map.whenReady(sync);
        })();
        {% endmacro %}
    """)

    def __init__(self, group: MacroElement, layers: list[MacroElement], min_zoom: int):
        super().__init__()
        self._name = "MinZoomLayer"
        self.group = group
        self.layers = list(layers)
        self.min_zoom = int(min_zoom)
