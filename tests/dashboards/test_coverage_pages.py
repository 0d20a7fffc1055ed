"""The camera coverage and blind-spot pages (/dashboards/coverage, /dashboards/blindspots),
rendered through the app (real PostGIS) on the camera tests' small hand-built town, and in a
real browser (Debian's Chromium through Playwright, uvicorn on 127.0.0.1).

The town: a school (实验小学) north of O, half seen by a networked camera looking north; a second
camera (not networked) and a third (offline) elsewhere; a market (菜市场) nobody sees, with
incidents next to it, so that its blind spot ranks first, and a building beside it whose corners
the placement service may suggest for new cameras.
"""
from __future__ import annotations

import re

import pytest
from shapely.geometry import box

from dashboards import coverage as coverage_page
from dashboards.assets import external_urls
from tests.cameras.town import Town
from tests.conftest import ROLE_TOKENS, auth
from tests.dashboards.helpers import js_text, overlay_names
from tests.dashboards.test_browser import MAP, Visit, browser, server  # noqa: F401 (fixtures)

SCHOOL = box(-40, 20, 40, 60)      # metres from O; the camera at O sees its southern part
MARKET = box(300, 300, 340, 330)
HOSTILE = "{{ 7*7 }}<img src=x onerror=window.__xss=1>市场"


@pytest.fixture
def ctown(make_jurisdiction) -> Town:
    t = Town(make_jurisdiction)
    t.buildings([box(345, 300, 365, 320)])      # its corners are candidate sites for new cameras
    t.site(SCHOOL, name="实验小学", category="school", entrances=[(0, 20), (0, 60)])
    t.site(MARKET, name=HOSTILE, category="mall")
    t.camera(1, 0, 0, azimuth=0, hfov=90, range_m=40, networked=True, online=True)
    t.camera(2, -150, -150, azimuth=90, hfov=60, range_m=50, networked=False, online=True)
    t.camera(3, 150, -150, azimuth=180, hfov=60, range_m=50, networked=True, online=False)
    t.incidents([(320, 310), (310, 320), (330, 290)], days_ago=5)
    return t


def _get(client, path, town, role="police", **params):
    return client.get(path, params={"jurisdiction": town.code, **params}, headers=auth(role))


def _page(client, path, town, role="police", **params):
    r = _get(client, path, town, role, **params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    return r


def test_coverage_page_has_views_sites_kpis_and_cameras_in_both_languages(client, ctown):
    r = _page(client, "/dashboards/coverage", ctown)
    text = js_text(r.text)
    assert overlay_names(r.text) == ["辖区边界", "覆盖范围（可视域合并）", "多机覆盖（≥2 台）", "摄像机可视域",
                                     "考核指标（基础网格）", "考核指标（村/社区）", "重点部位覆盖", "摄像机点位"]
    assert "实验小学" in text and "部分覆盖" in text and "出入口覆盖" in text and "1 / 2" in text
    for label in ("重点区域覆盖率", "联网率", "在线率", "建档率", "目标", "达标"):
        assert label in text, label
    assert ctown.gb_id(1) in text and "摄像机" in text        # decoded type of a 132
    assert coverage_page.VIEW_COLORS["offline"] in text and coverage_page.SITE_COLORS["partly"] in text
    assert external_urls(r.text) == []
    en = js_text(_page(client, "/dashboards/coverage", ctown, lang="en").text)
    for label in ("Key-area coverage", "Networking (all)", "Online rate", "Documented rate", "Target", "Met",
                  "Camera views", "Key-site coverage", "Partly covered", "Entrances covered"):
        assert label in en, label


def test_hostile_names_stay_text(client, ctown):
    """A key-site name holding a Jinja expression and an <img> is never run (folium renders
    twice) and reaches the page only escaped: entities in popups, JSON for the side list."""
    for path in ("/dashboards/coverage", "/dashboards/blindspots"):
        raw = _page(client, path, ctown).text
        assert "<img src=x" not in raw and "49<img" not in js_text(raw) and "49&lt;img" not in js_text(raw)
        assert "&#123;&#123; 7*7 &#125;&#125;&lt;img src=x" in js_text(raw)     # popups (innerHTML)
    assert HOSTILE in js_text(raw)                                             # side list (textContent)


def test_blindspots_page_ranks_the_market_first_with_a_list(client, ctown):
    r = _page(client, "/dashboards/blindspots", ctown)
    text = js_text(r.text)
    names = overlay_names(r.text)
    assert names[:3] == ["辖区边界", "覆盖范围（可视域合并）", "盲区盲点"]
    assert names[3:] == ["建议新增点位"]
    m = re.search(r'"entries": (\[.*?\]), "max_zoom"', text, re.S)
    first = m.group(1).split('"text": ')[1]
    assert first.startswith('"1. 商场超市 ' + HOSTILE) and "优先级 1.00" in first   # incidents: ranks first
    assert "2. 中小学及幼儿园 实验小学" in m.group(1)
    assert "建议序号" in text and "新增覆盖（㎡）" in text and "至少达到最优的" in text
    assert "优先级" in text and "盲区盲点（按优先级" in text
    assert external_urls(r.text) == []
    en = js_text(_page(client, "/dashboards/blindspots", ctown, lang="en").text)
    assert "Blind spots by priority" in en and "High priority" in en


@pytest.mark.parametrize("path", ["/dashboards/coverage", "/dashboards/blindspots"])
@pytest.mark.parametrize("role", ["planner", "leader"])
def test_other_roles_get_403_and_no_camera_position(client, ctown, path, role):
    r = _get(client, path, ctown, role)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "forbidden" and "无权" in err["messages"]["zh-CN"] and "may not" in err["messages"]["en"]
    assert ctown.gb_id(1) not in r.text and "119.96" not in r.text and "30.53" not in r.text
    assert client.get(path, params={"jurisdiction": ctown.code}).status_code == 403   # no token


def test_index_lists_both_pages(client, ctown):
    r = client.get("/dashboards/", headers=auth("police"))
    assert r.status_code == 200
    assert f'href="/dashboards/coverage?jurisdiction={ctown.code}&amp;lang=zh-CN"' in r.text
    assert f'href="/dashboards/blindspots?jurisdiction={ctown.code}&amp;lang=zh-CN"' in r.text
    assert "视频覆盖" in r.text and "盲区盲点" in r.text


# ---- in a browser --------------------------------------------------------------------------------

@pytest.fixture
def visit(browser, server):  # noqa: F811
    v = Visit(browser, server)
    yield v
    v.close()


def _open(visit, path: str, town) -> None:
    visit.page.goto(f"{visit.base}{path.lstrip('/')}?jurisdiction={town.code}&token={ROLE_TOKENS['police']}",
                    wait_until="networkidle")
    visit.page.wait_for_selector(".leaflet-container")


@pytest.mark.browser
def test_coverage_page_in_a_browser(visit, ctown):
    _open(visit, "/dashboards/coverage", ctown)
    assert "重点区域覆盖率" in visit.page.locator(".wg-kpi").inner_text()
    assert "摄像机可视域" in visit.page.locator(".leaflet-control-layers").inner_text()
    assert visit.errors == []
    assert visit.requests and all(visit.local(u) for u in visit.requests), \
        [u for u in visit.requests if not visit.local(u)]


@pytest.mark.browser
def test_blindspots_list_zooms_to_a_spot(visit, ctown):
    _open(visit, "/dashboards/blindspots", ctown)
    first = visit.page.locator(".wg-spot").first
    assert "市场" in first.inner_text() and visit.page.evaluate("window.__xss") is None
    zoom = visit.page.evaluate(f"{MAP}.getZoom()")
    first.click()
    assert visit.page.evaluate(f"{MAP}.getZoom()") > zoom
    assert visit.errors == []
    assert all(visit.local(u) for u in visit.requests)
