"""The camera endpoints: police/admin only, thin over the service; the demo town end to end."""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import pytest

from api import cameras as svc
from api.db import cameras as store
from api.db import repo
from api.db.session import transaction
from api.settings import get_settings
from tests.cameras.test_coverage import SCHOOL, WALL
from tests.cameras.town import Town
from tests.conftest import auth

LAST_DEMO_INCIDENT = datetime(2026, 1, 1, tzinfo=timezone.utc)
ENDPOINTS = ["/api/v1/cameras/views", "/api/v1/cameras/coverage", "/api/v1/cameras/blindspots",
             "/api/v1/cameras/kpi", "/api/v1/cameras/33052101001325000001/decode"]


@pytest.mark.parametrize("role", ["planner", "leader", "grid_worker"])
def test_non_police_roles_get_403_with_a_bilingual_body(client, role):
    for url in ENDPOINTS:
        r = client.get(url, headers=auth(role))
        assert r.status_code == 403, url
        msgs = r.json()["error"]["messages"]
        assert r.json()["error"]["code"] == "forbidden" and "无权" in msgs["zh-CN"] and "may not" in msgs["en"]


def test_decode_endpoint(client, make_jurisdiction):
    t = Town(make_jurisdiction)
    t.camera(7, 0, 0, gb_id=t.gb_id(7, admin="330102"), owner=None, documented=True)
    r = client.get(f"/api/v1/cameras/{t.gb_id(7, admin='330102')}/decode", headers=auth("police"))
    assert r.status_code == 200
    body = r.json()
    assert body["decoded"]["type"]["code"] == "132" and body["decoded"]["industry"]["zh"] == "社会治安路面接入"
    assert body["registered"] and body["county_code"] == t.code[:6] and body["admin_mismatch"] is True
    assert body["documented"] == {"computed": False, "missing": ["owner"], "agrees": False}   # stored flag is wrong
    bad = client.get("/api/v1/cameras/33052101001115000001/decode", headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "not_a_camera"
    assert "DVR" in bad.json()["error"]["messages"]["en"]


def test_views_endpoint_returns_occluded_views_in_lonlat(client, make_jurisdiction):
    t = Town(make_jurisdiction)
    t.buildings([WALL])
    t.site(SCHOOL)
    t.camera(1, 0, 0, azimuth=0, hfov=90, range_m=100)
    q = {"jurisdiction": t.code}
    fc = client.get("/api/v1/cameras/views", params=q, headers=auth("police")).json()
    [f] = fc["features"]
    # sector π·100²/4 minus the wall's shadow: the wedge |x| <= 0.2 y (angle 2 atan 0.2) beyond the
    # wall's near face, i.e. atan(0.2)·100² minus the 4 m × 10 m triangle in front of it
    assert f["properties"]["gb_id"] == t.gb_id(1) and fc["dori"] is None
    expected = math.pi * 1e4 / 4 - (math.atan(0.2) * 1e4 - 20)
    assert f["properties"]["area_m2"] == pytest.approx(expected, abs=5)      # polygonal arc: −2 m²
    x, y = f["geometry"]["coordinates"][0][0]
    assert 119.9 < x < 120.0 and 30.5 < y < 30.6
    rays = client.get("/api/v1/cameras/views", params={**q, "method": "rays"}, headers=auth("police")).json()
    assert rays["features"][0]["properties"]["area_m2"] == pytest.approx(f["properties"]["area_m2"], rel=0.02)
    spots = client.get("/api/v1/cameras/blindspots", params={**q, "union": "exact"}, headers=auth("police")).json()
    assert spots["count"] == 1 and spots["features"][0]["properties"]["area_m2"] == pytest.approx(640, abs=2)
    assert spots["features"][0]["properties"]["category_zh"] == "中小学及幼儿园"
    # filters: the camera stands in the east basic grid, not the west one; a bbox away from it
    west = client.get("/api/v1/cameras/views", params={**q, "grid": t.code + "001001"}, headers=auth("police")).json()
    east = client.get("/api/v1/cameras/views", params={**q, "grid": t.east}, headers=auth("police")).json()
    assert len(west["features"]) == 0 and len(east["features"]) == 1
    away = client.get("/api/v1/cameras/views", params={**q, "bbox": "119.95,30.52,119.955,30.525"},
                      headers=auth("police")).json()
    assert away["features"] == []
    assert client.get("/api/v1/cameras/views", params={**q, "grid": "999"}, headers=auth("police")).status_code == 404
    # DORI rings at 1920 px over 90°: detection reaches 38.4 m, inside the 100 m range; the wall's
    # shadow takes its wedge out of them as out of the view
    dori = client.get("/api/v1/cameras/views", params={**q, "resolution": 1920}, headers=auth("police")).json()["dori"]
    names = [f["properties"]["dori"] for f in dori["features"]]
    assert names == ["identification", "recognition", "observation", "detection"]
    assert sum(f["properties"]["area_m2"] for f in dori["features"]) == pytest.approx(
        math.pi * 38.4 ** 2 / 4 - (math.atan(0.2) * 38.4 ** 2 - 20), abs=2)


def test_demo_town_kpis_for_every_village_and_blind_spots(client, demo_town):
    s0 = time.perf_counter()
    r = client.get("/api/v1/cameras/kpi", params={"jurisdiction": demo_town, "level": "village"},
                   headers=auth("police"))
    t_kpi = time.perf_counter() - s0
    assert r.status_code == 200
    with transaction() as s:
        j = repo.jurisdiction_by_code(s, demo_town)
        villages = store.grids(s, j, 1)
        s1 = time.perf_counter()
        m = svc.build_model(s, j, get_settings())
        spots = svc.blind_spot_frame(s, m, get_settings(), now=LAST_DEMO_INCIDENT)
        t_spots = time.perf_counter() - s1
        cov = svc.area_coverage(m, villages)
    areas = r.json()["areas"]
    assert [a["code"] for a in areas] == list(villages["code"]) and len(areas) >= 2
    for a in areas:
        assert set(a["kpis"]) == {"key_area_coverage", "networking_key", "networking_all", "online", "documented"}
        assert a["cameras"] > 0 and all(k["value"] is not None for k in a["kpis"].values())
    assert sum(a["cameras"] for a in areas) == len(m.cams)
    assert len(spots) > 0 and (spots["area_m2"] >= get_settings().blindspot_min_area_m2).all()
    assert spots["grid_code"].notna().all() and spots["rank"].tolist() == list(range(1, len(spots) + 1))
    # the demo's incidents end on 2025-12-31: counted back 90 days from then, some spots have
    # incidents around them, and those rank first
    assert spots.attrs["incidents"]["count"] > 0 and spots["priority"].iloc[0] == 1.0
    assert (spots["priority"].diff().dropna() <= 0).all()
    for c in cov:
        assert 0 < c["public_share_covered"] < 1 and 0 < c["road_share_covered"] < 1
    print(f"\ndemo town: kpi endpoint {t_kpi:.1f} s; model + blind spots {t_spots:.1f} s "
          f"({len(m.cams)} cameras, {len(m.buildings)} buildings, {len(spots)} blind spots)")
    assert t_kpi < 60 and t_spots < 60


def test_coverage_endpoint_by_hand(client, make_jurisdiction):
    t = Town(make_jurisdiction)
    t.buildings([WALL])                      # 10 households
    t.site(SCHOOL, entrances=[(15, 20)])
    t.camera(1, 0, 0, azimuth=0, hfov=90, range_m=100)
    r = client.get("/api/v1/cameras/coverage", params={"jurisdiction": t.code, "level": "grid", "union": "exact"},
                   headers=auth("admin"))
    assert r.status_code == 200
    rep = r.json()
    view = math.pi * 1e4 / 4 - (math.atan(0.2) * 1e4 - 20)
    assert rep["covered_km2"] == pytest.approx(view / 1e6, abs=1e-5)
    [site] = rep["key_sites"]
    assert (site["status"], site["cameras_seeing"], site["entrances"]) == ("partly", 1, [True])
    assert site["mean_multiplicity"] == pytest.approx(1.0, abs=0.01)       # one camera
    assert site["share_covered"] == pytest.approx(0.6, abs=0.002)
    east = {a["code"]: a for a in rep["areas"]}[t.east]
    public_m2 = east["area_km2"] * 1e6 - 4                    # the grid minus the wall's footprint
    assert east["public_share_covered"] == pytest.approx(view / public_m2, rel=0.01)
    assert (east["cameras"], east["households"], east["cameras_per_1000_households"]) == (1, 10, 100.0)
    assert east["road_share_covered"] is None                 # no roads
    assert rep["key_site_status"] == {"covered": 0, "partly": 1, "not": 0}
    bad = client.get("/api/v1/cameras/coverage", params={"jurisdiction": t.code, "level": "county"},
                     headers=auth("admin"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_level"
