"""Scripts and styles come from the app: installed, complete, and refused when unknown."""
from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pytest
from folium import plugins

from dashboards import assets
from dashboards.assets import CSS, JS, OfflineAssetError, css_urls, is_external, local_path, localize
from dashboards.base import Basemap, content_security_policy, new_map, render

ROOT = Path(__file__).resolve().parents[2]


def test_every_local_asset_is_installed():
    missing = [u for u in [*JS.values(), *CSS.values(), assets.WANGGE_CSS] if not local_path(u).is_file()]
    assert not missing, f"run `make assets` (scripts/fetch_assets.sh); missing: {missing}"


@pytest.mark.parametrize("url", sorted({*CSS.values(), assets.WANGGE_CSS}))
def test_stylesheets_only_reference_files_that_exist(url):
    css_file = local_path(url)
    css = css_file.read_text(encoding="utf-8", errors="replace")
    assert not [u for u in css_urls(css) if is_external(u)]
    refs = [r.split("?")[0].split("#")[0] for r in css_urls(css) if not r.startswith("data:")]
    assert all((css_file.parent / r).resolve().is_file() for r in refs if r), refs


def test_fetch_script_pins_the_versions_the_pages_use():
    script = (ROOT / "scripts" / "fetch_assets.sh").read_text()
    pinned = dict(re.findall(r'^\s*"(?:@[^/]+/)?([^@"|]+)@([0-9][^|]*)\|sha512-', script, re.M))
    assert pinned == assets.VERSIONS


def test_localize_swaps_folium_and_plugin_urls_for_local_ones():
    m, cluster, draw = localize(folium.Map(tiles=None)), localize(plugins.MarkerCluster()), localize(plugins.Draw())
    urls = [u for el in (m, cluster, draw) for _, u in [*el.default_js, *el.default_css]]
    assert urls and all(u.startswith("/static/vendor/") for u in urls)
    assert ("leaflet", "/static/vendor/leaflet@1.9.3/leaflet.js") in m.default_js
    assert folium.Map.default_js[0][1].startswith("https://")  # folium's own lists untouched


def test_an_element_asking_for_an_unknown_cdn_is_refused():
    with pytest.raises(OfflineAssetError):
        localize(plugins.Fullscreen())
    m = new_map((119.95, 30.52, 119.97, 30.54), title="t", lang="zh-CN")
    m.add_child(plugins.Fullscreen())  # not localized: its CDN link must not reach a page
    with pytest.raises(OfflineAssetError):
        render(m)


def test_no_basemap_means_no_tile_layer_and_no_outside_url():
    page = render(new_map((119.95, 30.52, 119.97, 30.54), title="测试", lang="zh-CN"))
    assert "L.tileLayer" not in page
    assert re.findall(r"https?://", page) == []
    assert "img-src 'self' data:;" in content_security_policy(Basemap())


def test_osm_basemap():
    page = render(new_map((119.95, 30.52, 119.97, 30.54), title="t", lang="en", basemap=Basemap("osm")))
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "https://tile.openstreetmap.org" in content_security_policy(Basemap("osm"))


def test_tianditu_basemap_has_vector_and_labels_with_the_key():
    page = render(new_map((119.95, 30.52, 119.97, 30.54), title="t", lang="zh-CN",
                          basemap=Basemap("tianditu", "k3y&x")))
    tiles = re.findall(r'L\.tileLayer\(\s*"([^"]+)"', page)
    assert [u.split("/")[3] for u in tiles] == ["vec_w", "cva_w"]
    assert all(u.startswith("https://t{s}.tianditu.gov.cn/") and u.endswith("tk=k3y%26x") for u in tiles)
    assert all("TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in u.replace("\\u0026", "&") for u in tiles)
    assert '"subdomains": "01234567"' in page
    assert "https://*.tianditu.gov.cn" in content_security_policy(Basemap("tianditu", "k"))


def test_safe_tojson_leaves_no_jinja_delimiter_and_no_tag():
    from dashboards.safe import tojson
    out = str(tojson({"a": "{{ x }} {% y %} {# z #} </script>", "b": [{"c": {}}]}))
    assert not any(d in out for d in ("{{", "{%", "{#", "</")) and json.loads(out)["a"].startswith("{{ x }}")
