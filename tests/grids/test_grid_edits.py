"""Grid edits through the API: refused when they break a rule (nothing written), dry runs,
split / merge / move boundary / delete, versions and restore, and concurrent planners."""
from __future__ import annotations

import json
import threading
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box, mapping
from sqlalchemy import text

from api.db import bulk, repo
from api.db.session import get_engine, transaction
from api.layers import LAYERS
from tests.conftest import auth

X0, Y0, W = 119.95, 30.52, 0.004  # the town: 4 basic grids of W/2 x W/2 degrees (≈190 m)


def q(j):
    return {"jurisdiction": j.code}


XS = [X0, X0 + W / 2, X0 + W]
YS = [Y0, Y0 + W / 2, Y0 + W]


def cell(ix, iy, x1=None):
    return box(XS[ix], YS[iy], x1 if x1 is not None else XS[ix + 1], YS[iy + 1])


@pytest.fixture
def town(make_jurisdiction):
    """Town = village = 2x2 basic grids; 4 buildings of 40 households each; 2 managers each."""
    j = make_jurisdiction(x0=X0, y0=Y0, size_deg=W)
    t, v = j.code, j.code + "001"
    whole = Polygon([(XS[0], YS[0]), (XS[1], YS[0]), (XS[2], YS[0]), (XS[2], YS[1]), (XS[2], YS[2]),
                     (XS[1], YS[2]), (XS[0], YS[2]), (XS[0], YS[1])])  # shares the cells' vertices
    codes = [t, v] + [f"{v}00{k}" for k in range(1, 5)]
    geoms = [whole, whole, cell(0, 1), cell(1, 1), cell(0, 0), cell(1, 0)]
    grids = gpd.GeoDataFrame({"code": codes, "name": ["镇", "村", "一格", "二格", "三格", "四格"]},
                             geometry=[MultiPolygon([g]) for g in geoms], crs=4326)
    centres = [g.centroid for g in geoms[2:]]
    blds = gpd.GeoDataFrame({"code": [f"B{k}" for k in range(1, 5)], "households": [40] * 4,
                             "residential": [True] * 4},
                            geometry=[c.buffer(0.0001, cap_style=3) for c in centres], crs=4326)
    with transaction(actor="test") as s:
        bulk.copy_grids(s, LAYERS["grids"], grids, j.id, levels=np.array([0, 1, 2, 2, 2, 2]),
                        parent_codes=np.array([None, t, v, v, v, v], dtype=object))
        bulk.copy_layer(s, LAYERS["buildings"], blds, j.id)
        repo.assign_to_basic_grids(s, j.id, "building")
        for code in codes:
            for k, role in enumerate(["responsible", "responsible"] if len(code) < 15 else ["grid_manager"] * 2):
                sid = s.execute(text("INSERT INTO staff (jurisdiction_id, name, phone) VALUES (:j, :n, '19900000000') "
                                     "RETURNING id"), {"j": j.id, "n": f"员工{code[-3:]}{k}"}).scalar_one()
                s.execute(text("INSERT INTO grid_assignment (grid_id, staff_id, role) SELECT id, :s, :r FROM grid "
                               "WHERE jurisdiction_id = :j AND code = :c"), {"s": sid, "r": role, "j": j.id, "c": code})
    return j


def geom_of(j, code):
    with get_engine().connect() as c:
        return shapely.from_wkb(bytes(c.execute(text("SELECT ST_AsBinary(geom) FROM grid WHERE jurisdiction_id=:j "
                                                     "AND code=:c"), {"j": j.id, "c": code}).scalar_one()))


def households(j):
    with get_engine().connect() as c:
        return dict(c.execute(text("SELECT g.code, coalesce(sum(b.households),0) FROM grid g LEFT JOIN building b "
                                   "ON b.grid_id = g.id WHERE g.jurisdiction_id=:j AND g.level=2 GROUP BY g.code"),
                              {"j": j.id}).all())


def test_clean_town_validates_without_errors(client, town):
    r = client.get("/api/v1/grids/validate", params=q(town), headers=auth("leader"))
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["errors"] == 0


def test_reshape_into_neighbour_is_refused_with_overlap_and_nothing_written(client, town):
    a = town.code + "001001"
    before = geom_of(town, a)
    grown = cell(0, 1, x1=X0 + W / 2 + 0.0005)
    r = client.put(f"/api/v1/grids/{a}/geometry", params=q(town), headers=auth("planner"),
                   json={"geometry": mapping(grown)})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "grid_rule_violation" and "重叠" in err["messages"]["zh-CN"]
    kinds = {f["properties"]["kind"] for f in err["features"]["features"]}
    assert kinds == {"overlap"}
    ov = [f for f in err["features"]["features"] if f["properties"]["kind"] == "overlap"][0]
    assert set(ov["properties"]["grids"]) == {a, town.code + "001002"}
    assert ov["properties"]["value"] == pytest.approx(0.0005 * 111320 * np.cos(np.radians(30.523)) * 0.002 * 110900, rel=0.03)
    assert geom_of(town, a).equals(before)


def test_dry_run_reports_without_saving(client, town):
    a = town.code + "001001"
    r = client.post("/api/v1/grids/dry-run", params=q(town), headers=auth("planner"),
                    json={"operation": "delete", "code": a})
    assert r.status_code == 200
    body = r.json()
    assert body["applied"] is False
    assert {f["properties"]["kind"] for f in body["new_errors"]["features"]} >= {"gap", "building_unassigned"}
    assert geom_of(town, a) is not None


def test_split_by_line_assigns_new_code_staff_and_buildings(client, town):
    a = town.code + "001003"
    c = cell(0, 0)
    xm = (c.bounds[0] + c.bounds[2]) / 2 + 0.0003  # avoids the building in the middle
    line = LineString([(xm, c.bounds[1] - 0.001), (xm, c.bounds[3] + 0.001)])
    r = client.post(f"/api/v1/grids/{a}/split", params=q(town), headers=auth("planner"),
                    json={"line": mapping(line)})
    assert r.status_code == 200, r.text
    new = town.code + "001005"
    assert r.json()["changed"] == [a, new]
    assert shapely.union_all([geom_of(town, a), geom_of(town, new)]).symmetric_difference(c).area < 1e-14
    with get_engine().connect() as conn:
        n_staff = conn.execute(text("SELECT count(*) FROM grid_assignment ga JOIN grid g ON g.id = ga.grid_id "
                                    "WHERE g.jurisdiction_id=:j AND g.code=:c"), {"j": town.id, "c": new}).scalar()
    assert n_staff == 2
    assert households(town)[a] == 40 and households(town)[new] == 0


def test_split_cutting_a_building_is_refused(client, town):
    a = town.code + "001003"
    c = cell(0, 0).centroid
    line = LineString([(c.x, Y0 - 0.001), (c.x, Y0 + W / 2 + 0.001)])
    r = client.post(f"/api/v1/grids/{a}/split", params=q(town), headers=auth("planner"), json={"line": mapping(line)})
    assert r.status_code == 422
    f = [f for f in r.json()["error"]["features"]["features"] if f["properties"]["kind"] == "building_cut"]
    assert f and f[0]["properties"]["buildings"] == ["B3"]


def test_merge_moves_staff_and_households(client, town):
    a, b = town.code + "001001", town.code + "001002"
    r = client.post("/api/v1/grids/merge", params=q(town), headers=auth("planner"), json={"codes": [a, b]})
    assert r.status_code == 200, r.text
    assert households(town)[a] == 80 and b not in households(town)
    assert geom_of(town, a).area == pytest.approx((W * W / 2), rel=1e-9)


def test_merge_over_the_household_cap_is_refused(client, town):
    with transaction() as s:
        s.execute(text("UPDATE building SET households = 150 WHERE jurisdiction_id = :j"), {"j": town.id})
    r = client.post("/api/v1/grids/merge", params=q(town), headers=auth("planner"),
                    json={"codes": [town.code + "001001", town.code + "001002"]})
    assert r.status_code == 422
    cap = [f for f in r.json()["error"]["details"] if f["kind"] == "over_cap"]
    assert cap and cap[0]["value"] == 300 and cap[0]["limit"] == 200


def test_move_boundary_changes_both_neighbours(client, town):
    a, b = town.code + "001001", town.code + "001002"
    new_a = cell(0, 1, x1=X0 + W / 2 + 0.0004)
    r = client.post(f"/api/v1/grids/{a}/move-boundary", params=q(town), headers=auth("planner"),
                    json={"neighbour": b, "geometry": mapping(new_a)})
    assert r.status_code == 200, r.text
    assert geom_of(town, a).equals(MultiPolygon([new_a]))
    assert geom_of(town, a).intersection(geom_of(town, b)).area == 0
    r2 = client.get("/api/v1/grids/validate", params=q(town), headers=auth("planner"))
    assert r2.json()["summary"]["errors"] == 0


def test_roles_without_write_permission_are_refused(client, town):
    r = client.delete(f"/api/v1/grids/{town.code}001001", params=q(town), headers=auth("police"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_versions_and_restore(client, town):
    a, b = town.code + "001001", town.code + "001002"
    original = geom_of(town, a)
    t0 = client.get(f"/api/v1/grids/{a}/versions", params=q(town), headers=auth("planner")).json()["versions"][-1]["at"]
    time.sleep(0.05)
    client.post(f"/api/v1/grids/{a}/move-boundary", params=q(town), headers=auth("planner"),
                json={"neighbour": b, "geometry": mapping(cell(0, 1, x1=X0 + W / 2 + 0.0004))}).raise_for_status()
    vs = client.get(f"/api/v1/grids/{a}/versions", params=q(town), headers=auth("planner")).json()["versions"]
    assert [v["version"] for v in vs] == [1, 2] and vs[-1]["actor"].startswith("token:planner")
    # restoring only A to version 1 would overlap nothing but leave a gap: refused
    r = client.post(f"/api/v1/grids/{a}/restore", params=q(town), headers=auth("planner"), json={"version": 1})
    assert r.status_code == 422 and "gap" in {d["kind"] for d in r.json()["error"]["details"]}
    # restoring the whole village to t0 brings both back exactly
    r = client.post(f"/api/v1/grids/{town.code}001/restore", params=q(town), headers=auth("planner"), json={"at": t0})
    assert r.status_code == 200, r.text
    assert geom_of(town, a).equals_exact(original, 0) and r.json()["summary"]["errors"] == 0


def test_restore_tree_brings_back_merged_away_grid(client, town):
    a, b = town.code + "001001", town.code + "001002"
    t0 = client.get(f"/api/v1/grids/{b}/versions", params=q(town), headers=auth("planner")).json()["versions"][-1]["at"]
    time.sleep(0.05)
    client.post("/api/v1/grids/merge", params=q(town), headers=auth("planner"), json={"codes": [a, b]}).raise_for_status()
    r = client.post(f"/api/v1/grids/{town.code}001/restore", params=q(town), headers=auth("planner"), json={"at": t0})
    assert r.status_code == 200, r.text
    assert set(households(town)) == {f"{town.code}00100{k}" for k in range(1, 5)}
    assert households(town)[b] == 40


def test_renumber_west_east_north_south(client, town):
    v = town.code + "001"
    with transaction() as s:  # scramble: swap codes 001 and 004
        s.execute(text("UPDATE grid SET code = '9' || code WHERE jurisdiction_id=:j AND code IN (:a, :d)"),
                  {"j": town.id, "a": v + "001", "d": v + "004"})
        s.execute(text("UPDATE grid SET code = CASE code WHEN '9' || :a THEN :d ELSE :a END "
                       "WHERE jurisdiction_id=:j AND code IN ('9' || :a, '9' || :d)"),
                  {"j": town.id, "a": v + "001", "d": v + "004"})
    r = client.post(f"/api/v1/grids/{v}/renumber", params=q(town), headers=auth("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["renumbered"] == {v + "004": v + "001", v + "001": v + "004"}
    assert geom_of(town, v + "001").equals(MultiPolygon([cell(0, 1)]))


def test_concurrent_planners_cannot_together_create_an_overlap(town):
    """Start: a 20 m gap between grids 1 and 2. Planner P1 grows grid 1 into the gap while P2
    grows grid 2 into it: each is valid alone, together they overlap. P1 holds the family
    lock; P2 provably waits on it, then validates P1's committed change and is refused."""
    from api import grids as svc
    a, b = town.code + "001001", town.code + "001002"
    gap_x0, gap_x1 = X0 + W / 2 - 0.0002, X0 + W / 2
    with transaction() as s:
        s.execute(text("UPDATE grid SET geom = ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) "
                       "WHERE jurisdiction_id = :j AND code = :c"),
                  {"x0": X0, "y0": Y0 + W / 2, "x1": gap_x0, "y1": Y0 + W, "j": town.id, "c": a})
    results: dict[str, object] = {}
    p1_done = threading.Event()

    def planner(name, code, geom, hold):
        try:
            with transaction(actor=name) as s:
                j = repo.jurisdiction_by_code(s, town.code)
                s.execute(text("SELECT set_config('application_name', :n, true)"), {"n": name})
                results[name] = svc.op_reshape(s, j, code, geom, dry_run=False, actor=name).applied
                if hold:
                    p1_done.set()
                    _wait_until_blocked("p2")
        except Exception as e:  # noqa: BLE001 - the refusal is the result under test
            results[name] = e

    t1 = threading.Thread(target=planner, args=("p1", a, cell(0, 1), True))
    t1.start()
    assert p1_done.wait(20)
    t2 = threading.Thread(target=planner, args=("p2", b, box(gap_x0, Y0 + W / 2, X0 + W, Y0 + W), False))
    t2.start()
    t1.join(30)
    t2.join(30)
    assert results["p1"] is True, results
    assert getattr(results["p2"], "code", None) == "grid_rule_violation"
    assert "overlap" in {v.kind for v in results["p2"].result.new_errors}
    assert geom_of(town, a).intersection(geom_of(town, b)).area == 0


def _wait_until_blocked(app_name: str, timeout: float = 20) -> None:
    """Wait until the backend of ``app_name`` is waiting on a lock (held by us)."""
    deadline = time.time() + timeout
    with get_engine().connect() as c:
        while time.time() < deadline:
            n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND query ILIKE '%FOR UPDATE%'")).scalar()
            c.rollback()  # pg_stat_activity is a per-transaction snapshot: take a new one
            if n:
                return
            time.sleep(0.05)
    raise AssertionError(f"{app_name} never blocked on the family lock")


def test_fix_slivers_snaps_noise_but_keeps_real_gaps(client, town):
    a, b = town.code + "001001", town.code + "001002"
    d = 0.000002  # ≈ 0.2 m: a digitising sliver between grids 1 and 2
    with transaction() as s:
        s.execute(text("UPDATE grid SET geom = ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) "
                       "WHERE jurisdiction_id = :j AND code = :c"),
                  {"x0": X0, "y0": Y0 + W / 2, "x1": X0 + W / 2 - d, "y1": Y0 + W, "j": town.id, "c": a})
    v = client.get("/api/v1/grids/validate", params={**q(town), "parent": town.code + "001"},
                   headers=auth("planner")).json()
    assert v["summary"]["errors"] == 0 and v["summary"]["by_kind"]["sliver_gap"] == 1
    r = client.post(f"/api/v1/grids/{town.code}001/fix-slivers", params=q(town), headers=auth("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["after"]["by_kind"].get("sliver_gap") is None
    assert geom_of(town, a).union(geom_of(town, b)).area == pytest.approx(W * W / 2, rel=1e-9)
