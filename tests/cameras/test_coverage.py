"""Views from the database, coverage, blind spots and KPIs on a hand-built small town.

The school: a 40 m × 40 m site 20–60 m north of a camera looking north (90° field of view,
100 m range). A 4 m × 1 m wall 10 m in front of the camera hides the wedge |x| ≤ 0.2 y behind
it: within the site that is ∫₂₀⁶⁰ 0.4 y dy = 640 m², so 960 of 1,600 m² are covered (0.6).
"""
from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from api import cameras as svc
from api.settings import get_settings
from api.db.session import transaction
from tests.cameras.town import Town

SCHOOL = box(-20, 20, 20, 60)
WALL = box(-2, 10, 2, 11)
FAR_SITE = box(300, 0, 340, 40)        # no camera sees it


@pytest.fixture
def school(make_jurisdiction):
    t = Town(make_jurisdiction)
    t.buildings([WALL])
    t.site(SCHOOL, entrances=[(15, 20), (0, 60)])          # the first is seen, the second is behind the wall
    t.site(FAR_SITE, name="幼儿园")
    t.camera(1, 0, 0, azimuth=0, hfov=90, range_m=100)
    return t


def test_school_share_and_entrances(school):
    with transaction() as s:
        m = svc.build_model(s, school.j, get_settings(), union="exact")
        sites = {x["name"]: x for x in svc.site_results(m)}
        raster = svc.site_results(svc.build_model(s, school.j, get_settings(), union="raster"))
    sch = sites["实验小学"]
    assert sch["share_covered"] == pytest.approx(0.6, abs=0.002)
    assert sch["entrances"] == [True, False] and sch["status"] == "partly"
    assert sites["幼儿园"]["share_covered"] == 0 and sites["幼儿园"]["status"] == "not"
    assert raster[0]["share_covered"] == pytest.approx(0.6, abs=0.03)      # 2 m cells


def test_blind_spots_area_grid_and_priority(school):
    school.incidents([(0, 70), (5, 75), (-5, 68), (3, 80), (0, 90)], days_ago=10)   # around the school's shadow
    school.incidents([(320, 50), (330, 45), (310, 60)], days_ago=200)              # old: do not count
    with transaction() as s:
        m = svc.build_model(s, school.j, get_settings(), union="exact")
        spots = svc.blind_spot_frame(s, m, get_settings())
    assert list(spots["site_name"]) == ["实验小学", "幼儿园"]        # ranked by incidents, not by area
    assert spots["area_m2"].tolist() == pytest.approx([640.0, 1600.0], abs=2.0)
    assert set(spots["grid_code"]) == {school.east}
    assert spots["priority"].tolist() == pytest.approx([1.0, 0.0])
    assert spots["rank"].tolist() == [1, 2] and set(spots["category"]) == {"school"}
    # the blind spot is the wall's shadow inside the school: the wedge |x| <= 0.2 y, 20 <= y <= 60
    wedge = shapely.Polygon([(-4, 20), (4, 20), (12, 60), (-12, 60)])
    got = spots.to_crs(4326).geometry.iloc[0]
    assert got.symmetric_difference(school.lonlat(wedge)).area / school.lonlat(wedge).area < 0.01


def test_min_area_drops_small_spots(school):
    with transaction() as s:
        m = svc.build_model(s, school.j, get_settings(), union="exact")
        spots = svc.blind_spot_frame(s, m, get_settings(), min_area=1000)
    assert list(spots["site_name"]) == ["幼儿园"]


def test_kpis_of_ten_cameras(make_jurisdiction):
    t = Town(make_jurisdiction)
    t.site(SCHOOL)
    # cameras 1–2 look at the school; 3–10 stand 150–500 m east, looking east, away from it
    t.camera(1, 0, 0, networked=True)
    t.camera(2, 10, 0, networked=False)
    for k in range(3, 11):
        t.camera(k, 100 + 50 * k, -200, azimuth=90, networked=k != 3, online=k != 4,
                 owner=None if k == 5 else "派出所", documented=True)
    t.camera(11, 0, -300, azimuth=180, networked=True,
             gb_id=t.gb_id(11, admin="330102"))      # registered here, ID of another county
    with transaction() as s:
        rep = svc.kpi_report(s, t.j, get_settings(), "grid", union="exact")
    east = {a["code"]: a for a in rep["areas"]}[t.east]
    k = east["kpis"]
    assert east["cameras"] == 11
    assert (k["networking_all"]["numerator"], k["networking_all"]["denominator"]) == (9, 11)
    assert k["networking_all"]["met"] is True                        # 9/11 = 81.8% ≥ 80%
    assert (k["networking_key"]["numerator"], k["networking_key"]["denominator"]) == (1, 2)
    assert k["networking_key"]["met"] is False and k["networking_key"]["status"] == "red"
    assert k["online"]["value"] == pytest.approx(10 / 11) and k["online"]["met"] is False
    assert (k["documented"]["numerator"], k["documented"]["met"]) == (10, False)
    assert k["key_area_coverage"]["value"] == pytest.approx(1.0, abs=1e-3)   # no wall here: all seen
    assert k["key_area_coverage"]["met"] is True and k["key_area_coverage"]["denominator"] == pytest.approx(1600, abs=1)
    assert east["status"] == "red"
    reg = rep["registry"]
    assert reg["admin_mismatch"] == [t.gb_id(11, admin="330102")]
    assert [d["gb_id"] for d in reg["documented_disagree"]] == [t.gb_id(5)]    # flag says 建档, owner missing


def test_exactly_ten_cameras_eight_networked_one_offline(make_jurisdiction):
    t = Town(make_jurisdiction)
    for k in range(1, 11):
        t.camera(k, 50 * k, 0, networked=k <= 8, online=k != 10)
    with transaction() as s:
        rep = svc.kpi_report(s, t.j, get_settings(), "town", union="exact")
    [town] = rep["areas"]
    k = town["kpis"]
    assert (k["networking_all"]["value"], k["networking_all"]["met"], k["networking_all"]["status"]) == (0.8, True, "green")
    assert (k["online"]["value"], k["online"]["met"], k["online"]["status"]) == (0.9, False, "amber")
    assert k["documented"]["value"] == 1.0 and k["key_area_coverage"]["status"] == "none"


def test_a_town_without_cameras_is_all_blind(make_jurisdiction):
    t = Town(make_jurisdiction)
    t.site(SCHOOL)
    with transaction() as s:
        rep = svc.kpi_report(s, t.j, get_settings(), "town")
        cov = svc.coverage_report(s, t.j, get_settings(), "village")
        spots = svc.blind_spots_report(s, t.j, get_settings())
    k = rep["areas"][0]["kpis"]
    assert k["key_area_coverage"]["value"] == 0 and k["key_area_coverage"]["status"] == "red"
    assert k["online"]["status"] == "none" and rep["areas"][0]["status"] == "red"
    assert cov["covered_km2"] == 0 and cov["key_sites"][0]["status"] == "not"
    assert spots["count"] == 1 and spots["features"][0]["properties"]["area_m2"] == pytest.approx(1600, abs=1)


def test_two_cameras_on_one_site_double_the_multiplicity(make_jurisdiction):
    t = Town(make_jurisdiction)
    t.site(SCHOOL)
    t.camera(1, -5, -10)
    t.camera(2, 5, -10)           # both see the whole school (no wall): |x ± 5| <= y + 10 over it
    with transaction() as s:
        [site] = svc.site_results(svc.build_model(s, t.j, get_settings()))
    assert (site["cameras_seeing"], site["status"]) == (2, "covered")
    assert site["mean_multiplicity"] == pytest.approx(2.0, abs=0.01)
