"""Transactional writes: validation against the layer registry, derived fields, history."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from api.db.session import transaction
from tests.api.town import X0, X1, XM, Y0, Y1, build_town, collection, feature, items_url, point, polygon
from tests.conftest import auth

BOWTIE = {"type": "Polygon", "coordinates": [[[119.951, 30.521], [119.953, 30.523], [119.953, 30.521],
                                              [119.951, 30.523], [119.951, 30.521]]]}


def _count(table: str, jid: int) -> int:
    with transaction() as s:
        return s.execute(text(f"SELECT count(*) FROM {table} WHERE jurisdiction_id = :j"), {"j": jid}).scalar_one()


def test_camera_lifecycle_create_read_patch_history_delete(client, make_jurisdiction):
    j = make_jurisdiction()
    q = {"jurisdiction": j.code}
    gb = "33052100001320000001"
    body = feature(point(119.955, 30.525), gb_id=gb, name="镇政府东门", kind="球机（云台）", azimuth_deg=90)
    r = client.post(items_url("cameras"), json=body, params=q, headers=auth("police"))
    assert r.status_code == 201, r.text
    created = r.json()
    fid = created["id"]
    assert r.headers["location"].endswith(f"/collections/cameras/items/{fid}?jurisdiction={j.code}")
    assert created["properties"]["kind"] == "ptz"            # zh label stored as the key
    assert created["properties"]["hfov_deg"] == 60.0         # default from the registry
    assert created["properties"]["type_code"] == "132"       # derived from the GB/T 28181 ID

    got = client.get(r.headers["location"], headers=auth("police")).json()
    assert got["properties"]["name"] == "镇政府东门" and got["geometry"]["coordinates"] == [119.955, 30.525]

    r = client.patch(f"{items_url('cameras')}/{fid}", json={"properties": {"networked": True, "azimuth_deg": 180}},
                     headers=auth("police"))
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["networked"] is True and r.json()["properties"]["name"] == "镇政府东门"

    hist = client.get(f"{items_url('cameras')}/{fid}/history", headers=auth("police")).json()["entries"]
    assert [e["action"] for e in hist] == ["insert", "update"]
    upd = hist[1]
    assert upd["actor"].startswith("token:police:")
    assert upd["before"]["properties"]["azimuth_deg"] == 90 and upd["after"]["properties"]["azimuth_deg"] == 180
    assert upd["before"]["properties"]["networked"] is False and upd["after"]["properties"]["networked"] is True
    assert set(upd["changed"]) == {"azimuth_deg", "networked"}

    assert client.delete(f"{items_url('cameras')}/{fid}", headers=auth("police")).status_code == 204
    assert client.get(f"{items_url('cameras')}/{fid}", headers=auth("police")).status_code == 404
    hist = client.get(f"{items_url('cameras')}/{fid}/history", headers=auth("police")).json()["entries"]
    assert hist[-1]["action"] == "delete" and hist[-1]["after"] is None


def test_bowtie_is_refused_with_the_geos_reason_and_the_geometry(client, make_jurisdiction):
    j = make_jurisdiction()
    build_town(client, j)
    before = _count("building", j.id)
    r = client.post(items_url("buildings"), json=feature(BOWTIE, households=5), params={"jurisdiction": j.code},
                    headers=auth("planner"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input"
    d = err["details"][0]
    assert d["code"] == "invalid_geometry" and d["field"] == "geometry"
    assert "Self-intersection" in d["message"]["en"] and "Self-intersection" in d["message"]["zh-CN"]
    drawn = err["features"]["features"][0]["geometry"]
    assert drawn["type"] == "Polygon" and drawn["coordinates"][0][0] == [119.951, 30.521]
    assert _count("building", j.id) == before


def test_every_problem_is_listed_and_nothing_is_written(client, make_jurisdiction):
    j = make_jurisdiction()
    build_town(client, j)
    body = collection(
        feature(polygon(119.951, 30.521, 119.952, 30.522), households=3, code="B1"),      # fine
        feature(polygon(119.953, 30.521, 119.954, 30.522), households=-1, floors=2.5),   # range, int
        feature(point(119.955, 30.525), households=2),                                   # wrong type
        feature(polygon(119.99, 30.521, 119.991, 30.522), households=1),                 # outside
        feature(polygon(119.956, 30.521, 119.957, 30.522), households=1, code="B1"),     # duplicate
        feature(polygon(119.958, 30.521, 119.959, 30.522), grid_code="x", colour="red"),  # derived, unknown, required
    )
    r = client.post(items_url("buildings"), json=body, params={"jurisdiction": j.code}, headers=auth("planner"))
    assert r.status_code == 422
    got = {(d.get("row"), d["code"], d.get("field")) for d in r.json()["error"]["details"]}
    assert got == {
        (1, "out_of_range", "households"), (1, "invalid_value", "floors"),
        (2, "wrong_geometry_type", "geometry"), (3, "outside_jurisdiction", "geometry"),
        (4, "duplicate_code", "code"),
        (5, "derived_field", "grid_code"), (5, "unknown_field", "colour"), (5, "required", "households"),
    }
    assert _count("building", j.id) == 0


def test_buildings_get_their_basic_grid_and_grids_their_level_and_parent(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    grids = client.get(items_url("grids"), params=q, headers=auth("leader")).json()["features"]
    by_code = {f["properties"]["code"]: f["properties"] for f in grids}
    assert by_code[codes["west"]]["level"] == "basic" and by_code[codes["west"]]["parent_code"] == codes["village"]
    assert by_code[codes["village"]]["level"] == "village" and by_code[codes["town"]]["parent_code"] is None

    west = feature(polygon(119.951, 30.521, 119.9512, 30.5212), households=12)
    r = client.post(items_url("buildings"), json=west, params=q, headers=auth("planner"))
    assert r.json()["properties"]["grid_code"] == codes["west"]
    fid = r.json()["id"]
    moved = feature(polygon(119.965, 30.521, 119.9652, 30.5212), households=12)
    r = client.put(f"{items_url('buildings')}/{fid}", json=moved, headers=auth("planner"))
    assert r.status_code == 200 and r.json()["properties"]["grid_code"] == codes["east"]
    east = client.get(items_url("grids"), params={**q, "code": codes["east"]}, headers=auth("leader")).json()
    assert east["features"][0]["properties"]["households"] == 12


def test_grid_writes_bump_the_version_and_reassign_buildings(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    b = client.post(items_url("buildings"), json=feature(polygon(119.9595, 30.53, 119.9597, 30.5302), households=4),
                    params=q, headers=auth("planner")).json()
    assert b["properties"]["grid_code"] == codes["west"]
    ids = {c: client.get(items_url("grids"), params={**q, "code": codes[c]}, headers=auth("planner"))
           .json()["features"][0]["id"] for c in ("west", "east")}
    # a generic write of one grid cannot leave a gap: the grid rules refuse it, nothing written
    r = client.patch(f"{items_url('grids')}/{ids['west']}", json={"geometry": polygon(X0, Y0, 119.959, Y1)},
                     headers=auth("planner"))
    assert r.status_code == 422, r.text
    assert {d["kind"] for d in r.json()["error"]["details"]} == {"gap", "building_unassigned"}
    assert client.get(f"{items_url('grids')}/{ids['west']}", headers=auth("planner")).json()["properties"]["version"] == 1
    # moving the shared boundary changes both grids in one operation
    r = client.post(f"/api/v1/grids/{codes['west']}/move-boundary", params=q, headers=auth("planner"),
                    json={"neighbour": codes["east"], "geometry": polygon(X0, Y0, 119.959, Y1)})
    assert r.status_code == 200, r.text
    r = client.get(f"{items_url('grids')}/{ids['east']}", headers=auth("planner"))
    assert r.json()["properties"]["version"] == 2 and r.json()["geometry"]["type"] == "MultiPolygon"
    b = client.get(f"{items_url('buildings')}/{b['id']}", headers=auth("planner")).json()
    assert b["properties"]["grid_code"] == codes["east"]  # under the east grid's new outline
    east_id = ids["east"]
    hist = client.get(f"{items_url('grids')}/{east_id}/history", headers=auth("planner")).json()["entries"]
    assert hist[-1]["before"]["properties"]["version"] == 1 and hist[-1]["after"]["properties"]["version"] == 2
    assert "geometry" in hist[-1]["changed"]


def test_grid_rules_parent_prefix_children(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    orphan = feature(polygon(X0, Y0, XM, Y1), code=j.code + "009001", name="孤儿格")
    r = client.post(items_url("grids"), json=orphan, params=q, headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["code"] == "grid_parent_missing"
    foreign = feature(polygon(X0, Y0, XM, Y1), code="110101001", name="别处")
    r = client.post(items_url("grids"), json=foreign, params=q, headers=auth("planner"))
    assert r.json()["error"]["details"][0]["code"] == "grid_code_prefix"
    village = client.get(items_url("grids"), params={**q, "code": codes["village"]}, headers=auth("planner"))
    vid = village.json()["features"][0]["id"]
    r = client.delete(f"{items_url('grids')}/{vid}", headers=auth("planner"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "grid_has_children"
    r = client.patch(f"{items_url('grids')}/{vid}", json={"properties": {"level": "basic"}}, headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["code"] == "derived_field"
    r = client.patch(f"{items_url('grids')}/{vid}", json={"name": "新名"}, headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["code"] == "unknown_member"
    r = client.put(f"{items_url('grids')}/{vid}", json=feature(polygon(X0, Y0, X1, Y1), code=codes["village"], name="一村（新）"),
                   headers=auth("planner"))
    assert r.status_code == 200 and r.json()["properties"]["name"] == "一村（新）"
    assert r.json()["properties"]["version"] == 2 and r.json()["properties"]["parent_code"] == codes["town"]


def test_chinese_text_round_trips_and_errors_speak_english_when_asked(client, make_jurisdiction):
    j = make_jurisdiction()
    q = {"jurisdiction": j.code}
    name = "德清县·新市镇 “幸福里” 社区服务中心（二期）"
    body = feature(point(119.955, 30.525), name=name, level="村/社区级", address="新市镇幸福路 8 号")
    r = client.post(items_url("service_centres"), json=body, params=q, headers=auth("planner"))
    assert r.status_code == 201 and "幸福里" in r.content.decode("utf-8")
    got = client.get(f"{items_url('service_centres')}/{r.json()['id']}", headers=auth("analyst")).json()
    assert got["properties"]["name"] == name and got["properties"]["level"] == "village"

    bad = feature(point(119.955, 30.525), name="x", level="省级")
    zh = client.post(items_url("service_centres"), json=bad, params=q, headers=auth("planner")).json()["error"]
    assert zh["message"] == "输入数据有误，未写入任何内容"
    en = client.post(items_url("service_centres"), json=bad, params={**q, "lang": "en"},
                     headers=auth("planner")).json()["error"]
    assert en["message"] == "The input has errors; nothing was written"
    en2 = client.post(items_url("service_centres"), json=bad, params=q,
                      headers={**auth("planner"), "Accept-Language": "en-GB,en;q=0.9"}).json()["error"]
    assert en2["message"] == en["message"] and en2["details"][0]["field"] == "level"


def test_incident_status_needs_its_step_times(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    bad = feature(point(119.965, 30.53), type="矛盾纠纷", status="resolved", occurred_at="2024-05-01 08:00:00")
    r = client.post(items_url("incidents"), json=bad, params=q, headers=auth("grid_worker"))
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"accepted_at", "handled_at", "resolved_at"}
    ok = feature(point(119.965, 30.53), type="dispute", occurred_at="2024-05-01 08:00:00")
    r = client.post(items_url("incidents"), json=ok, params=q, headers=auth("grid_worker"))
    assert r.status_code == 201, r.text
    p = r.json()["properties"]
    assert datetime.fromisoformat(p["occurred_at"]) == datetime(2024, 5, 1, tzinfo=timezone.utc)  # 08:00 UTC+8
    assert p["grid_code"] == codes["east"] and p["status"] == "reported"
    r = client.post(items_url("incidents"), json=ok, params=q, headers=auth("analyst"))
    assert r.status_code == 403
