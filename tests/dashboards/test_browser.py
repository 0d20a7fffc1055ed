"""The town overview in a real browser (Debian's Chromium through Playwright), served by
uvicorn on 127.0.0.1: the map draws, nothing is requested from anywhere else, no console
error, tooltips show names as text, buildings follow the zoom rule. A screenshot is kept in
$WANGGE_SCREENSHOT_DIR (default: <tmp>/wangge-dashboards) for a person to look at.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from dashboards import town as town_page
from tests.conftest import ROLE_TOKENS
from tests.dashboards.town_data import TEMPLATE_NAME, XSS_NAME

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("WANGGE_SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "wangge-dashboards"))
MAP = "window[document.querySelector('.folium-map').id]"


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from api.app import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """One page load with every request and console error recorded; outside requests aborted."""

    def __init__(self, browser, base: str):
        self.base, self.requests, self.errors = base + "/", [], []
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        self.context.on("request", lambda req: self.requests.append(req.url))
        self.context.route("**/*", lambda route: route.continue_() if self.local(route.request.url)
                           else route.abort())
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def local(self, url: str) -> bool:
        return url.startswith(self.base) or url.startswith("data:")

    def open(self, path: str) -> None:
        self.page.goto(self.base + path.lstrip("/"), wait_until="networkidle")
        self.page.wait_for_selector(".leaflet-container")
        self.page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length >= 7")
        self.page.evaluate("() => document.fonts.ready")

    def fills(self) -> list[str]:
        return self.page.eval_on_selector_all("path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))")

    def hover(self, lat: float, lon: float, expect: str) -> str:
        """Move the mouse over a place; the text of the tooltip that shows ``expect``."""
        xy = self.page.evaluate(f"""() => {{ const m = {MAP}; const p = m.latLngToContainerPoint([{lat}, {lon}]);
            const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }}""")
        self.page.mouse.move(*xy)
        tooltip = self.page.locator(".leaflet-tooltip", has_text=expect)
        tooltip.wait_for()
        return tooltip.inner_text()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server):
    v = Visit(browser, server)
    yield v
    v.close()


def _url(town, role="police", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"jurisdiction": town.code, "token": ROLE_TOKENS[role], **params}.items())
    return f"/dashboards/town?{query}"


def test_town_overview_draws_offline_with_no_console_error(visit, town):
    visit.open(_url(town))
    fills = visit.fills()
    for status, color in town_page.STATUS_COLORS.items():
        assert color in fills, status
    assert fills.count(town_page.BUILDING_COLORS[True]) == 5 and town_page.BUILDING_COLORS[False] in fills
    assert visit.page.locator(".awesome-marker i.fa-house").count() == 1  # service centre marker
    assert visit.page.evaluate("""document.fonts.check('900 16px "Font Awesome 6 Free"')""")
    panel = visit.page.locator(".wg-info").inner_text()
    assert "测试镇" in panel and "520" in panel
    assert "超过上限" in visit.page.locator(".wg-legend").inner_text()
    assert "基础网格" in visit.page.locator(".leaflet-control-layers").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SHOTS / "town_zh.png"))
    print(f"screenshot: {SHOTS / 'town_zh.png'}")
    assert visit.errors == []
    assert visit.requests and all(visit.local(u) for u in visit.requests), \
        [u for u in visit.requests if not visit.local(u)]


def test_tooltip_shows_a_hostile_name_as_text(visit, town):
    visit.open(_url(town))
    text = visit.hover(30.538, 119.957, town.grids["near"])  # inside the 'near' grid, off buildings
    assert XSS_NAME in text and town.grids["near"] in text and "170 / 200（85%）" in text
    assert visit.page.evaluate("window.__xss") is None
    assert visit.page.locator(".leaflet-tooltip img").count() == 0
    assert TEMPLATE_NAME in visit.hover(30.527, 119.956, "号楼")  # building B2, shown as typed
    assert visit.errors == []


def test_english_page_and_cameras_only_for_police(visit, town):
    visit.open(_url(town, lang="en"))
    assert "Over cap" in visit.page.locator(".wg-legend").inner_text()
    assert "Cameras" in visit.page.locator(".leaflet-control-layers").inner_text()
    camera = visit.page.evaluate(f"""() => {{ let n = 0; {MAP}.eachLayer(l => {{
        if (l.feature && l.feature.properties.gb_id) n++; }}); return n; }}""")
    assert camera == 1
    visit.open(_url(town, role="planner", lang="en"))
    assert "Cameras" not in visit.page.locator(".leaflet-control-layers").inner_text()
    assert visit.errors == []
    assert all(visit.local(u) for u in visit.requests)


def test_buildings_appear_only_from_the_zoom_level(visit, town, monkeypatch):
    monkeypatch.setattr(town_page, "LAZY_BUILDINGS_ABOVE", 0)  # treat the small town as a big one
    visit.open(_url(town))
    brown = town_page.BUILDING_COLORS[True]
    assert visit.page.evaluate(f"{MAP}.getZoom()") < town_page.BUILDINGS_MIN_ZOOM
    assert brown not in visit.fills()
    visit.page.evaluate(f"{MAP}.setView([30.53, 119.96], {town_page.BUILDINGS_MIN_ZOOM + 1}, {{animate: false}})")
    visit.page.wait_for_function(f"""() => Array.from(document.querySelectorAll('path.leaflet-interactive'))
        .some(p => p.getAttribute('fill') === '{brown}')""")
    assert visit.fills().count(brown) == 5
    assert "建筑在放大到第 16 级后显示" in visit.page.locator(".wg-info").inner_text()
    assert visit.errors == []
