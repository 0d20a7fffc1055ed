"""Where the pages' scripts and styles come from: the app's own /static/vendor, never a CDN.

``scripts/fetch_assets.sh`` installs these exact versions from the npm registry; a test checks
that every URL here exists on disk. folium names each resource (``Map.default_js`` is a list of
``(name, url)``); :func:`localize` swaps the URL of every known name for the local one and
refuses an element that asks for anything unknown, so a new plugin cannot quietly add a CDN.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from branca.element import Element

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/static"
VENDOR_URL = f"{STATIC_URL}/vendor"

VERSIONS = {
    "leaflet": "1.9.3",
    "jquery": "3.7.1",
    "bootstrap": "5.2.2",
    "leaflet.awesome-markers": "2.0.5",
    "fontawesome-free": "6.2.0",
    "glyphicons-only-bootstrap": "1.0.1",
    "leaflet.markercluster": "1.5.3",
    "leaflet-draw": "1.0.4",
}


def _v(package: str, path: str) -> str:
    return f"{VENDOR_URL}/{package}@{VERSIONS[package]}/{path}"


# folium resource name -> local URL (names as folium.Map and folium.plugins declare them)
JS: dict[str, str] = {
    "leaflet": _v("leaflet", "leaflet.js"),
    "jquery": _v("jquery", "jquery.min.js"),
    "bootstrap": _v("bootstrap", "js/bootstrap.bundle.min.js"),
    "awesome_markers": _v("leaflet.awesome-markers", "leaflet.awesome-markers.js"),
    "markerclusterjs": _v("leaflet.markercluster", "leaflet.markercluster.js"),
    "leaflet_draw_js": _v("leaflet-draw", "leaflet.draw.js"),
}
CSS: dict[str, str] = {
    "leaflet_css": _v("leaflet", "leaflet.css"),
    "bootstrap_css": _v("bootstrap", "css/bootstrap.min.css"),
    "glyphicons_css": _v("glyphicons-only-bootstrap", "css/bootstrap.min.css"),
    "awesome_markers_font_css": _v("fontawesome-free", "css/all.min.css"),
    "awesome_markers_css": _v("leaflet.awesome-markers", "leaflet.awesome-markers.css"),
    "awesome_rotate_css": f"{VENDOR_URL}/folium/leaflet.awesome.rotate.min.css",
    "markerclustercss": _v("leaflet.markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": _v("leaflet.markercluster", "MarkerCluster.Default.css"),
    "leaflet_draw_css": _v("leaflet-draw", "leaflet.draw.css"),
}
# our own stylesheet for panels and legends (committed, not vendored)
WANGGE_CSS = f"{STATIC_URL}/wangge/dashboards.css"


class OfflineAssetError(RuntimeError):
    """An element asks for a script or style that is not installed locally."""


def _swap(kind: str, table: dict[str, str], links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    unknown = [(n, u) for n, u in links if n not in table]
    if unknown:
        raise OfflineAssetError(f"no local copy of {kind} {unknown}: add it to scripts/fetch_assets.sh "
                                "and dashboards/assets.py")
    return [(n, table[n]) for n, _ in links]


def localize(element: Element) -> Element:
    """Point ``element``'s ``default_js`` / ``default_css`` at the local copies (in place).

    Sets instance attributes, so folium's class-level lists stay untouched.
    """
    element.default_js = _swap("script", JS, list(getattr(element, "default_js", [])))
    element.default_css = _swap("style", CSS, list(getattr(element, "default_css", [])))
    return element


def local_path(url: str) -> Path:
    """The file behind a /static URL."""
    if not url.startswith(STATIC_URL + "/"):
        raise ValueError(url)
    return STATIC_DIR / url[len(STATIC_URL) + 1:]


class _TagUrls(HTMLParser):
    """src / href attributes of the page's elements (script bodies are not parsed as tags)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def tag_urls(page: str) -> list[str]:
    """Every src= and href= of the elements of an HTML page."""
    parser = _TagUrls()
    parser.feed(page)
    parser.close()
    return parser.urls


_CSS_REF = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])([^"')\s]+)""", re.I)


def css_urls(css: str) -> list[str]:
    """Every url(...) and @import target of a stylesheet."""
    return _CSS_REF.findall(css)


def is_external(url: str) -> bool:
    """Would loading ``url`` leave the machine (absolute http(s) or protocol-relative)?"""
    return url.strip().lower().startswith(("http:", "https:", "//"))


def external_urls(page: str) -> list[str]:
    """The src / href of a page's elements that point off the app."""
    return [u for u in tag_urls(page) if is_external(u)]
