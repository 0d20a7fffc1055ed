"""Staff and their roles in grids; phone numbers only for the roles allowed to see them."""
from __future__ import annotations

from tests.api.town import build_town
from tests.conftest import auth


def test_staff_assignment_round_trip_and_phone_privacy(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    r = client.post("/api/v1/staff", json={"name": "王小明", "phone": "138 0000 1234", "title": "网格长"},
                    params=q, headers=auth("planner"))
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = client.post(f"/api/v1/grids/{codes['west']}/staff", json={"staff_id": sid, "role": "网格员"},
                    params=q, headers=auth("planner"))
    assert r.status_code == 201, r.text
    aid = r.json()["assignment_id"]
    assert r.json()["role"] == "grid_manager" and r.json()["role_name"] == {"zh-CN": "网格员", "en": "Grid manager"}
    r = client.post(f"/api/v1/grids/{codes['west']}/staff", json={"staff_id": sid, "role": "grid_manager"},
                    params=q, headers=auth("planner"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_assignment"

    worker = client.get(f"/api/v1/grids/{codes['west']}/staff", headers=auth("grid_worker")).json()["staff"]
    assert [(s["name"], s["phone"], s["role"]) for s in worker] == [("王小明", "138 0000 1234", "grid_manager")]
    analyst = client.get(f"/api/v1/grids/{codes['west']}/staff", headers=auth("analyst")).json()["staff"]
    assert analyst[0]["name"] == "王小明" and analyst[0]["phone"] is None and analyst[0]["phone_hidden"] is True
    listed = client.get("/api/v1/staff", params=q, headers=auth("analyst")).json()
    assert listed["numberMatched"] == 1 and listed["staff"][0]["phone"] is None
    assert listed["staff"][0]["assignments"][0]["grid_code"] == codes["west"]

    r = client.patch(f"/api/v1/staff/{sid}", json={"phone": None, "title": "专职网格员"}, headers=auth("planner"))
    assert r.status_code == 200 and r.json()["phone"] is None and r.json()["title"] == "专职网格员"
    assert r.json()["name"] == "王小明"
    assert client.delete(f"/api/v1/grids/{codes['west']}/staff/{aid}", params=q,
                         headers=auth("planner")).status_code == 204
    assert client.get(f"/api/v1/grids/{codes['west']}/staff", params=q, headers=auth("planner")).json()["staff"] == []
    assert client.delete(f"/api/v1/staff/{sid}", headers=auth("planner")).status_code == 204
    assert client.get(f"/api/v1/staff/{sid}", headers=auth("planner")).status_code == 404


def test_staff_input_is_checked_and_writes_need_a_planning_role(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    r = client.post("/api/v1/staff", json={"name": "李四", "phone": "call me"}, params={**q, "lang": "en"},
                    headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "phone"
    assert client.post("/api/v1/staff", json={"name": "李四"}, params=q, headers=auth("police")).status_code == 403
    sid = client.post("/api/v1/staff", json={"name": "李四"}, params=q, headers=auth("admin")).json()["id"]
    r = client.post(f"/api/v1/grids/{codes['east']}/staff", json={"staff_id": sid, "role": "boss"}, params=q,
                    headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "role"
    r = client.post(f"/api/v1/grids/{j.code}999/staff", json={"staff_id": sid, "role": "police"}, params=q,
                    headers=auth("planner"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_grid"
    other = make_jurisdiction(x0=120.5)
    r = client.post(f"/api/v1/grids/{codes['east']}/staff", json={"staff_id": sid, "role": "police"},
                    params={"jurisdiction": other.code}, headers=auth("planner"))
    assert r.status_code == 404  # the grid is not in the other jurisdiction
