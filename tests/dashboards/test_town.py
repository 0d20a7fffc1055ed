"""The town overview page and the index, rendered through the app (real PostGIS)."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from api import maps
from api.auth import Principal
from api.db.session import transaction
from api.settings import get_settings
from dashboards import town as town_page
from dashboards.assets import external_urls, tag_urls
from dashboards.base import render
from tests.conftest import ROLE_TOKENS, auth
from tests.dashboards.helpers import js_text, overlay_names
from tests.dashboards.town_data import XSS_NAME

ZH_OVERLAYS = ["辖区边界", "镇/街道", "村/社区", "基础网格", "重点部位", "道路", "建筑", "服务中心"]
EN_OVERLAYS = ["Jurisdiction boundary", "Town / sub-district", "Village / community", "Basic grid",
               "Key sites", "Roads", "Buildings", "Service centres"]


def _page(client, town, role="police", **params):
    r = client.get("/dashboards/town", params={"jurisdiction": town.code, **params}, headers=auth(role))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r


def test_police_page_in_chinese_has_layers_legend_grids_and_cameras(client, town):
    r = _page(client, town)
    text = js_text(r.text)
    assert overlay_names(r.text) == ZH_OVERLAYS + ["摄像机"]
    assert "<title>测试镇 网格总览</title>" in r.text
    assert town.grids["over"] in text and town.grids["ok"] in text
    assert "基础网格户数负荷（上限 200 户）" in text
    assert all(s in text for s in ("低于上限的 80%", "上限的 80%–100%", "超过上限"))
    assert all(c in r.text for c in town_page.STATUS_COLORS.values())
    assert "250 / 200（125%）" in text  # the over-cap grid's tooltip
    assert town.gb_id in text and "已联网" in text
    assert '"户数", "520"' in text.replace("[", "").replace("]", "")  # title panel counts


def test_planner_sees_no_camera_positions(client, town):
    r = _page(client, town, role="planner")
    text = js_text(r.text)
    assert "摄像机" not in overlay_names(r.text)
    assert town.gb_id not in text and "中心路口" not in text
    assert str(town.camera_xy[0]) not in text and "已联网" not in text
    assert "基础网格" in overlay_names(r.text)  # the rest of the page is there


def test_english_by_query_or_accept_language(client, town):
    for r in (_page(client, town, lang="en"),
              client.get("/dashboards/town", params={"jurisdiction": town.code},
                         headers={**auth("police"), "Accept-Language": "en-GB,en;q=0.9"})):
        text = js_text(r.text)
        assert overlay_names(r.text) == EN_OVERLAYS + ["Cameras"]
        assert "Basic grid households (cap 200)" in text and "Over cap" in text and "Households" in text
        assert "基础网格" not in text and "超过上限" not in text
        assert 'document.documentElement.lang = "en"' in r.text


def test_page_loads_nothing_from_outside_and_every_asset_is_served(client, town):
    r = _page(client, town)
    assert external_urls(r.text) == [] and re.findall(r"https?://", r.text) == []
    refs = [u for u in tag_urls(r.text) if not u.startswith("data:")]
    assert refs and all(u.startswith("/static/") for u in refs), refs
    for u in refs:
        assert client.get(u).status_code == 200, u
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:;" in csp
    assert r.headers["cache-control"] == "no-store"


def test_names_are_escaped_before_tooltips_put_them_into_html(client, town):
    text = js_text(_page(client, town).text)
    assert '一村二格&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;' in text
    assert XSS_NAME not in text


def test_names_never_run_as_templates_on_the_server(client, town):
    text = js_text(_page(client, town).text)
    assert "&#123;&#123; 7*7 &#125;&#125;号楼&#123;# c #&#125;&#123;% if 1 %&#125;!" in text
    assert "49号楼" not in text


def test_jurisdiction_name_is_text_in_title_and_panel(town):
    data = dataclasses.replace(_data(town), name="{{ 6*7 }}镇<b>")
    page = render(town_page.town_map(data))
    assert "<title>{{ 6*7 }}镇&lt;b&gt; 网格总览</title>" in page  # the figure is rendered once
    assert '"title": "{{ 6*7 }}镇<b>"' in js_text(page) and "42镇" not in page


def test_token_in_query_and_links_keep_it(client, town):
    token = ROLE_TOKENS["police"]
    r = client.get("/dashboards/town", params={"jurisdiction": town.code, "token": token})
    assert r.status_code == 200 and town.gb_id in js_text(r.text)
    assert f"/dashboards/town?jurisdiction={town.code}\\u0026token={token}\\u0026lang=en" in r.text


def test_no_token_no_page_and_unknown_jurisdiction_is_404(client, town):
    assert client.get("/dashboards/town", params={"jurisdiction": town.code}).status_code == 403
    r = client.get("/dashboards/town", params={"jurisdiction": "330521999999"}, headers=auth("police"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_jurisdiction"


def test_index_lists_the_town_page_for_each_jurisdiction(client, town):
    r = client.get("/dashboards/", headers=auth("leader"))
    assert r.status_code == 200
    assert f'href="/dashboards/town?jurisdiction={town.code}&amp;lang=zh-CN"' in r.text
    assert "辖区总览" in r.text and "测试镇" in r.text and external_urls(r.text) == []
    assert client.get("/dashboards", headers=auth("leader"), follow_redirects=False).headers["location"] \
        .endswith("/dashboards/")
    en = client.get("/dashboards/", params={"lang": "en"}, headers=auth("leader"))
    assert "Town overview" in en.text and '<html lang="en">' in en.text


def _data(town, role="police", **kw):
    with transaction() as s:
        return maps.town_data(s, town.code, Principal(role, "test"), get_settings(), **kw)


def test_big_towns_cap_buildings_and_draw_them_from_a_zoom_level(town, monkeypatch):
    data = _data(town, max_buildings=4)
    assert len(data.buildings) == 4 and data.counts["buildings"] == 6
    assert list(data.buildings["households"]) == [170, 130, 120, 60]  # residential, biggest first
    monkeypatch.setattr(town_page, "LAZY_BUILDINGS_ABOVE", 2)
    text = js_text(render(town_page.town_map(data)))
    assert "建筑较多，仅显示前 4 栋（共 6 栋）" in text and "建筑在放大到第 16 级后显示" in text
    assert "var minZoom = 16;" in text


def test_household_status_thresholds():
    assert maps.household_status(np.array([0, 159, 160, 200, 201]), 200).tolist() == [
        "ok", "ok", "near", "near", "over"]


@pytest.mark.parametrize("role", ["admin", "police"])
def test_roles_that_may_read_cameras_get_them(town, role):
    assert _data(town, role).cameras["gb_id"].tolist() == [town.gb_id]


@pytest.mark.parametrize("role", ["planner", "leader", "analyst", "grid_worker"])
def test_other_roles_get_no_camera_rows(town, role):
    assert _data(town, role).cameras is None
