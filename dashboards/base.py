"""The map every page starts from: local scripts and styles, a basemap from settings.

- ``none`` (default): a plain background and no tile request at all;
- ``osm``: OpenStreetMap tiles;
- ``tianditu``: Tianditu vector (vec_w) and its labels (cva_w), with the configured key.

Tianditu serves CGCS2000, practically WGS84, so our EPSG:4326 layers line up with it
(GCJ-02 basemaps such as AMap would be offset by hundreds of metres: not offered).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

import folium

from dashboards.assets import OfflineAssetError, external_urls, localize
from dashboards.elements import PageSetup
from dashboards.i18n import t

TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
TILE_HOSTS = {"none": (), "osm": ("https://tile.openstreetmap.org",),
              "tianditu": ("https://*.tianditu.gov.cn",)}


@dataclass(frozen=True)
class Basemap:
    kind: Literal["none", "osm", "tianditu"] = "none"
    tianditu_key: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "Basemap":
        key = settings.tianditu_key.get_secret_value() if settings.tianditu_key else None
        return cls(settings.basemap, key)


def _tianditu(layer: str, key: str) -> str:
    return TIANDITU.replace("{layer}", layer).replace("{key}", quote(key, safe=""))


def add_basemap(m: folium.Map, basemap: Basemap, lang: str) -> None:
    if basemap.kind == "osm":
        folium.TileLayer(OSM, attr=OSM_ATTR, name=t("basemap_osm", lang), max_zoom=19).add_to(m)
    elif basemap.kind == "tianditu":
        if not basemap.tianditu_key:
            raise ValueError("the Tianditu basemap needs a key")
        attr = "&copy; 天地图 Tianditu"
        folium.TileLayer(_tianditu("vec", basemap.tianditu_key), attr=attr, subdomains="01234567",
                         name=t("basemap_tianditu", lang), max_zoom=18).add_to(m)
        folium.TileLayer(_tianditu("cva", basemap.tianditu_key), attr=attr, subdomains="01234567",
                         overlay=True, control=False, max_zoom=18).add_to(m)


def new_map(bounds: tuple[float, float, float, float], *, title: str, lang: str,
            basemap: Basemap = Basemap()) -> folium.Map:
    """An empty page map fitted to ``bounds`` (minx, miny, maxx, maxy in lon/lat)."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=14, tiles=None,
                   control_scale=True, zoom_control="bottomleft", max_zoom=20)
    localize(m)
    m.get_root().title = html.escape(title)
    m.add_child(PageSetup(lang))
    add_basemap(m, basemap, lang)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def render(m: folium.Map) -> str:
    """The page's HTML; refuses a page that would load a script or style from elsewhere."""
    page = m.get_root().render()
    leaks = external_urls(page)
    if leaks:
        raise OfflineAssetError(f"the page references outside URLs: {leaks[:5]}")
    return page


def content_security_policy(basemap: Basemap) -> str:
    """Browsers enforce what the page may load: the app itself, plus the tile host if any."""
    tiles = " ".join(TILE_HOSTS[basemap.kind])
    return ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: {tiles}".rstrip() + "; font-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def page_url(path: str, **params: str | None) -> str:
    """A same-site URL with the given query parameters (``None`` ones left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path


def lang_links(path: str, lang: str, **params: str | None) -> list[tuple[str, str]]:
    """Link to this page in the other language, and to the dashboards index."""
    other = "zh-CN" if lang == "en" else "en"
    return [(t("other_language", lang), page_url(path, **params, lang=other)),
            (t("all_dashboards", lang), page_url("/dashboards/", token=params.get("token"), lang=lang))]
