"""The planner's dashboard (/dashboards/grids): rendered through the app (real PostGIS), and
in a real browser (Debian's Chromium through Playwright, uvicorn on 127.0.0.1).

The town is the dashboard tests' small town (two villages of two basic grids) with staff in
every grid and one injected defect: the grid "二村一格" grown 0.001° (≈110 m) north into its
neighbour "二村二格", an overlap the rules report as an error.
"""
from __future__ import annotations

import json
import re

import pytest
import shapely
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from api.db.session import get_engine, transaction
from dashboards import grids as grids_page
from dashboards.assets import external_urls, tag_urls
from tests.conftest import ROLE_TOKENS, auth
from tests.dashboards.helpers import js_text, overlay_names
from tests.dashboards.test_browser import MAP, SHOTS, Visit, browser, server  # noqa: F401 (fixtures)
from tests.dashboards.town_data import X0, X1, XM, XSS_NAME, Y0, Y1, YM, Town, build_town

OVERLAP = 0.001  # degrees the 'over' grid reaches into the 'empty' grid north of it
PHONE = "13912345678"
STAFF_TEMPLATE = "{{ 7*7 }}王"  # a staff name holding a Jinja expression (folium renders twice)
DRAW_JS = "/static/vendor/leaflet-draw@1.0.4/leaflet.draw.js"

ZH_OVERLAYS = ["辖区边界", "镇/街道", "村/社区", "基础网格", "建筑", "规则问题"]
EN_OVERLAYS = ["Jurisdiction boundary", "Town / sub-district", "Village / community", "Basic grid", "Buildings",
               "Rule violations"]


def _staff(s, jid: int, code: str, role: str, name: str, phone: str | None = None) -> None:
    sid = s.execute(text("INSERT INTO staff (jurisdiction_id, name, phone) VALUES (:j, :n, :p) RETURNING id"),
                    {"j": jid, "n": name, "p": phone}).scalar_one()
    s.execute(text("INSERT INTO grid_assignment (grid_id, staff_id, role) SELECT id, :s, :r FROM grid "
                   "WHERE jurisdiction_id = :j AND code = :c"), {"s": sid, "r": role, "j": jid, "c": code})


@pytest.fixture
def town(make_jurisdiction) -> Town:
    """The small town, fully staffed, with the overlap injected."""
    t = build_town(make_jurisdiction)
    with transaction(actor="test") as s:
        jid = s.execute(text("SELECT id FROM jurisdiction WHERE code = :c"), {"c": t.code}).scalar_one()
        for key, code in t.grids.items():
            basic = len(code) == 15
            for k in range(2):
                name = {("over", 0): STAFF_TEMPLATE}.get((key, k), f"{key}员工{k}")
                phone = PHONE if (key, k) == ("over", 1) else "0572-0000000"
                _staff(s, jid, code, "grid_manager" if basic else "responsible", name, phone)
            if basic:
                _staff(s, jid, code, "responsible", f"{key}责任人", None)
        grown = MultiPolygon([box(XM, Y0, X1, YM + OVERLAP)])
        s.execute(text("UPDATE grid SET geom = ST_GeomFromText(:g, 4326) WHERE jurisdiction_id = :j AND code = :c"),
                  {"g": grown.wkt, "j": jid, "c": t.grids["over"]})
    return t


def _page(client, town, role="planner", **params):
    r = client.get("/dashboards/grids", params={"jurisdiction": town.code, **params}, headers=auth(role))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r


def _config(html: str, element: str) -> dict:
    """The JSON config a page element hands to grids.js (``WanggeGrids.<element>(map, {...}, CONFIG)``)."""
    m = re.search(r"WanggeGrids\." + element + r"\(\w+, \{.*?\}, (\{.*?\})\);\n", html, re.S)
    assert m, f"no WanggeGrids.{element} call"
    return json.loads(m.group(1))


def _overlaps(config: dict) -> list[dict]:
    return [f["properties"] for f in config["features"]["features"] if f["properties"]["kind"] == "overlap"]


# ---- rendered pages --------------------------------------------------------------------------

def test_planner_page_has_layers_grids_violations_and_the_editor(client, town):
    r = _page(client, town)
    text_ = js_text(r.text)
    assert overlay_names(r.text) == ZH_OVERLAYS + ["预校验结果"]
    assert "<title>测试镇 网格规划</title>" in r.text
    assert all(town.grids[k] in text_ for k in ("ok", "near", "over", "empty"))
    assert "基础网格户数负荷（上限 200 户）" in text_ and "超过上限" in text_
    assert all(c in text_ for c in grids_page.SEVERITY_COLORS.values())
    overlap = _overlaps(_config(r.text, "violations"))
    assert len(overlap) == 1 and set(overlap[0]["grids"]) == {town.grids["over"], town.grids["empty"]}
    assert overlap[0]["severity"] == "error" and "重叠" in overlap[0]["message"]["zh-CN"]
    listing = _config(r.text, "violations")
    assert listing["lang"] == "zh-CN" and listing["labels"]["title"].startswith("规则问题")
    assert listing["summary"]["errors"] >= 2  # the overlap, and the grid over the cap
    editor = _config(r.text, "editor")
    assert editor["jurisdiction"] == town.code and editor["api"] == "/api/v1"
    assert editor["text"]["save"] == "保存" and editor["text"]["create"] == "绘制新网格"
    assert [p[0] for p in editor["parents"]] == [town.grids["west"], town.grids["east"]]
    assert editor["names"][town.grids["near"]] == XSS_NAME  # raw: grids.js shows it with textContent
    assert DRAW_JS in tag_urls(r.text) and "/static/wangge/grids.js" in tag_urls(r.text)


def test_staff_in_popups_with_phones_only_for_roles_that_may_see_them(client, town):
    planner = js_text(_page(client, town).text)
    assert "网格员 over员工1 " + PHONE in planner.replace("\\n", "\n")
    assert "网格责任人 over责任人" in planner and "网格人员" in planner
    analyst = js_text(_page(client, town, role="analyst").text)
    assert "over员工1" in analyst and PHONE not in analyst


def test_leader_sees_the_map_read_only(client, town):
    r = _page(client, town, role="leader")
    assert overlay_names(r.text) == ZH_OVERLAYS
    assert "WanggeGrids.editor" not in r.text and "WanggeGrids.violations" in r.text
    assert DRAW_JS not in tag_urls(r.text) and "leaflet.draw.css" not in r.text
    assert "只读：仅规划人员和管理员可以编辑网格" in js_text(r.text)
    assert len(_overlaps(_config(r.text, "violations"))) == 1


def test_english_with_lang_en(client, town):
    r = _page(client, town, lang="en")
    text_ = js_text(r.text)
    assert overlay_names(r.text) == EN_OVERLAYS + ["Dry-run result"]
    assert "<title>测试镇: grid planning</title>" in r.text
    assert _config(r.text, "violations")["lang"] == "en"
    assert _config(r.text, "editor")["text"]["save"] == "Save"
    assert "Sibling grids overlap" in text_ and "Over cap" in text_ and "Grid manager over员工1" in text_
    assert "规则问题" not in text_ and "保存" not in text_ and 'document.documentElement.lang = "en"' in r.text


def test_names_never_run_as_templates_and_stay_text(client, town):
    r = _page(client, town)
    text_ = js_text(r.text)
    assert "&#123;&#123; 7*7 &#125;&#125;王" in text_ and "49王" not in text_  # staff name, in a popup
    assert "&#123;&#123; 7*7 &#125;&#125;号楼" in text_ and "49号楼" not in text_  # building name
    assert "一村二格&lt;img src=x" in text_  # popups (innerHTML) get it escaped
    assert "<img src=x" not in r.text  # the editor's names are JSON with < escaped (shown as text)


def test_page_loads_nothing_from_outside_and_every_asset_is_served(client, town):
    r = _page(client, town)
    assert external_urls(r.text) == [] and re.findall(r"https?://", r.text) == []
    refs = [u for u in tag_urls(r.text) if not u.startswith("data:")]
    assert refs and all(u.startswith("/static/") for u in refs), refs
    for u in refs:
        assert client.get(u).status_code == 200, u
    assert "connect-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_unknown_token_is_refused(client, town):
    r = client.get("/dashboards/grids", params={"jurisdiction": town.code, "token": "nope"})
    assert r.status_code == 401


# ---- in a real browser -----------------------------------------------------------------------

def _url(town, role="planner", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"jurisdiction": town.code, "token": ROLE_TOKENS[role], **params}.items())
    return f"/dashboards/grids?{query}"


@pytest.fixture
def visit(browser, server):  # noqa: F811 (the fixtures imported above)
    v = Visit(browser, server)
    v.calls = []  # (method, url) of every request
    v.page.on("request", lambda req: v.calls.append((req.method, req.url)))
    yield v
    v.close()


def _xy(visit, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a place on the map."""
    return tuple(visit.page.evaluate(f"""() => {{ const m = {MAP}; const p = m.latLngToContainerPoint([{lat}, {lon}]);
        const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }}"""))


def _view(visit) -> list[float]:
    return visit.page.evaluate(f"""() => {{ const m = {MAP}, b = m.getBounds();
        return [m.getZoom(), b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }}""")


def _db_state(town) -> dict[str, tuple[int, object]]:
    """Version and geometry of every grid of the town, as stored."""
    with get_engine().connect() as c:
        rows = c.execute(text("SELECT g.code, g.version, ST_AsBinary(g.geom) FROM grid g JOIN jurisdiction j "
                              "ON j.id = g.jurisdiction_id WHERE j.code = :c ORDER BY g.code"), {"c": town.code}).all()
    return {code: (version, shapely.from_wkb(bytes(wkb))) for code, version, wkb in rows}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k][0] == b[k][0] and a[k][1].equals_exact(b[k][1], 0) for k in a)


def _api_calls(visit) -> list[tuple[str, str]]:
    return [(m, u.split("/api/v1", 1)[1]) for m, u in visit.calls if "/api/v1/" in u]


def _geojson(geom) -> dict:
    return json.loads(shapely.to_geojson(geom))


def _offline_and_clean(visit, allowed_errors: int = 0) -> None:
    """Every request went to the app on 127.0.0.1; no console error but ``allowed_errors``
    reports of refused (422) requests, which Chromium logs as console errors."""
    assert visit.requests and all(visit.local(u) for u in visit.requests), \
        [u for u in visit.requests if not visit.local(u)]
    assert all(u.startswith("http://127.0.0.1:") for u in visit.requests)
    refused = [e for e in visit.errors if "status of 422" in e]
    assert len(refused) == allowed_errors and len(visit.errors) == allowed_errors, visit.errors


def _listed_errors(visit) -> int:
    """The number of errors the violation list's heading gives."""
    heading = visit.page.locator(".wg-violations h2").last.inner_text()
    return int(re.search(r"(\d+) (?:个错误|errors)", heading).group(1))


def test_violation_list_zooms_and_a_drawn_grid_is_only_dry_run(visit, town):
    before = _db_state(town)
    over, empty = town.grids["over"], town.grids["empty"]
    visit.open(_url(town))
    item = visit.page.locator(".wg-baseline-list li[data-kind=overlap]")
    assert item.count() == 1 and item.get_attribute("data-grids") == f"{over},{empty}"
    assert "同级网格重叠" in item.inner_text() and "错误" in item.inner_text()
    errors = _listed_errors(visit)
    assert errors == visit.page.locator(".wg-baseline-list li.wg-error").count() >= 2  # overlap, over the cap

    zoom0 = _view(visit)[0]
    item.locator("button").click()
    zoom, west, south, east, north = _view(visit)
    assert zoom > zoom0 and west <= XM and east >= X1 and south <= YM and north >= YM + OVERLAP
    assert "重叠" in visit.page.locator(".wg-violation-popup").inner_text()

    # a planner draws a new grid across both grids of 二村 with Leaflet.draw (real clicks)
    visit.page.evaluate(f"{MAP}.fitBounds([[{Y0}, {XM - 0.002}], [{Y1}, {X1}]], {{animate: false}})")
    visit.page.locator(".wg-btn-create").click()
    visit.page.wait_for_selector(".leaflet-popup", state="detached")  # drawing closes the popup (fades)
    corners = [(30.524, 119.962), (30.524, 119.968), (30.533, 119.968), (30.533, 119.962)]
    for lat, lon in corners + corners[:1]:  # back on the first point closes the shape
        visit.page.mouse.click(*_xy(visit, lat, lon))
        visit.page.wait_for_timeout(150)  # at a person's pace: Leaflet.draw drops clicks within 50 ms
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=bad]")
    assert "预校验：将产生 2 个新错误" in visit.page.locator(".wg-status").inner_text()
    new = visit.page.locator(".wg-preview-list li.wg-new")
    assert new.count() == 2 and all(new.nth(k).get_attribute("data-kind") == "overlap" for k in range(2))
    assert {new.nth(k).get_attribute("data-grids") for k in range(2)} == {f"{over},{over[:-3]}003",
                                                                          f"{empty},{over[:-3]}003"}
    assert visit.page.locator("path.wg-new-error").count() == 2  # drawn on the map
    assert visit.page.evaluate("wanggeGridEditor.state().draft.parent") == town.grids["east"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SHOTS / "grids_dry_run_zh.png"))
    print(f"screenshot: {SHOTS / 'grids_dry_run_zh.png'}")
    assert _same(_db_state(town), before)  # the dry run wrote nothing
    assert _api_calls(visit) == [("POST", f"/grids?jurisdiction={town.code}&dry_run=true")]

    # saving anyway is refused (422): its violations come back, still nothing written
    visit.page.locator(".wg-btn-save").click()
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=refused]")
    assert "未保存：2 个新错误" in visit.page.locator(".wg-violations").inner_text()
    assert "修改未保存" in visit.page.locator(".wg-status").inner_text()
    assert visit.page.locator(".wg-preview-list li.wg-new[data-kind=overlap]").count() == 2
    assert _same(_db_state(town), before)
    assert _api_calls(visit)[-1] == ("POST", f"/grids?jurisdiction={town.code}")
    _offline_and_clean(visit, allowed_errors=1)


def test_reshape_by_dragging_a_vertex_then_a_valid_reshape_is_saved(visit, town):
    before = _db_state(town)
    over = town.grids["over"]
    visit.open(_url(town))
    errors = _listed_errors(visit)
    visit.page.mouse.click(*_xy(visit, 30.5225, 119.968))  # inside 二村一格, off its buildings
    assert over in visit.page.locator(".wg-selected").inner_text()
    visit.page.locator(".wg-btn-reshape").click()
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=editing]")
    visit.page.wait_for_selector(".leaflet-popup", state="detached")  # the grid's popup closes (fades)
    assert visit.page.locator(".leaflet-editing-icon").count() == 8  # 4 vertices, 4 midpoints

    # drag the north-east corner (on the town's east edge) up and inwards
    x, y = _xy(visit, YM + OVERLAP, X1)
    visit.page.mouse.move(x, y)
    visit.page.mouse.down()
    visit.page.mouse.move(x - 40, y - 50, steps=6)
    visit.page.mouse.up()
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=bad]")
    kinds = visit.page.eval_on_selector_all(".wg-preview-list li.wg-new", "ls => ls.map(l => l.dataset.kind)")
    assert "overlap" in kinds and "gap" in kinds  # deeper into the neighbour; a gap along the edge
    assert visit.page.locator("path.wg-new-error").count() == len(kinds)
    visit.page.screenshot(path=str(SHOTS / "grids_reshape_zh.png"))
    assert _same(_db_state(town), before)
    assert all(u.endswith("dry_run=true") for m, u in _api_calls(visit) if m != "GET")

    # a valid reshape: back to its own cell, which removes the injected overlap
    cell = box(XM, Y0, X1, YM)
    visit.page.evaluate("g => wanggeGridEditor.propose({operation: 'reshape', code: g.code, geometry: g.geometry})",
                        {"code": over, "geometry": _geojson(cell)})
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=ok]")
    assert "预校验通过" in visit.page.locator(".wg-status").inner_text()
    assert visit.page.locator(".wg-preview-list li.wg-new").count() == 0
    assert visit.page.locator(".wg-preview-list li[data-kind=overlap]").count() == 0
    assert _same(_db_state(town), before)
    with visit.page.expect_navigation(wait_until="networkidle"):
        visit.page.locator(".wg-btn-save").click()  # the real call; success reloads the page
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=saved]")
    assert f"已保存：{over}" in visit.page.locator(".wg-status").inner_text()

    after = _db_state(town)
    assert after[over][0] == before[over][0] + 1 and after[over][1].equals(MultiPolygon([cell]))
    assert _same({k: v for k, v in after.items() if k != over}, {k: v for k, v in before.items() if k != over})
    assert visit.page.locator(".wg-baseline-list li[data-kind=overlap]").count() == 0
    assert _listed_errors(visit) == errors - 1 == visit.page.locator(".wg-baseline-list li.wg-error").count()
    writes = [(m, u) for m, u in _api_calls(visit) if m == "PUT"]
    assert writes[-1] == ("PUT", f"/grids/{over}/geometry?jurisdiction={town.code}")
    assert sum(not u.endswith("dry_run=true") for _, u in writes) == 1
    visit.page.screenshot(path=str(SHOTS / "grids_saved_zh.png"))
    _offline_and_clean(visit)


def test_split_line_is_dry_run_with_the_cut_building(visit, town):
    before = _db_state(town)
    ok = town.grids["ok"]
    visit.open(_url(town))
    visit.page.evaluate("code => wanggeGridEditor.select(code)", ok)
    # Leaflet.draw's event, as when the planner finishes a line: straight through building B1
    visit.page.evaluate(f"""() => {MAP}.fire('draw:created', {{layerType: 'polyline',
        layer: L.polyline([[{Y0 - 0.001}, 119.952], [{YM + 0.001}, 119.952]])}})""")
    visit.page.wait_for_selector(".wg-editor .wg-status[data-state=bad]")
    cut = visit.page.locator(".wg-preview-list li.wg-new[data-kind=building_cut]")
    assert cut.count() == 1 and "建筑被网格边界切割" in cut.inner_text()
    assert _api_calls(visit) == [("POST", f"/grids/{ok}/split?jurisdiction={town.code}&dry_run=true")]
    assert _same(_db_state(town), before)
    visit.page.locator(".wg-btn-cancel").click()
    assert visit.page.locator(".wg-preview-list").count() == 0 and visit.page.locator("path.wg-new-error").count() == 0
    _offline_and_clean(visit)


def test_leader_sees_an_english_read_only_map(visit, town):
    visit.open(_url(town, role="leader", lang="en"))
    assert visit.page.locator(".wg-editor").count() == 0
    assert visit.page.evaluate("[typeof L.Draw, typeof wanggeGridEditor]") == ["undefined", "undefined"]
    listing = visit.page.locator(".wg-violations").inner_text()
    assert re.search(r"Rule violations \(\d+ errors, \d+ warnings\)", listing) and "Sibling grids overlap" in listing
    zoom0 = _view(visit)[0]
    visit.page.locator(".wg-baseline-list li[data-kind=overlap] button").click()
    assert _view(visit)[0] > zoom0
    assert "overlap by" in visit.page.locator(".wg-violation-popup").inner_text()
    visit.page.locator(".leaflet-popup-close-button").click()
    visit.page.evaluate(f"{MAP}.fitBounds([[{Y0}, {X0}], [{Y1}, {X1}]], {{animate: false}})")
    visit.page.mouse.click(*_xy(visit, 30.5225, 119.968))
    popup = visit.page.locator(".leaflet-popup-content", has_text="Staff").inner_text()
    assert "Grid manager over员工1 " + PHONE in popup and "Responsible person over责任人" in popup
    assert "Read-only" in visit.page.locator(".wg-info").inner_text()
    visit.page.wait_for_timeout(300)  # the popup's fade-in
    visit.page.screenshot(path=str(SHOTS / "grids_leader_en.png"))
    _offline_and_clean(visit)


