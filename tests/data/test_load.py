"""Loading the demo town into PostGIS (real database): counts read back, grids derived for
buildings and incidents, the rules hold in SQL, reloading is idempotent, and the defects
variant shows each of its mistakes exactly once to plain SQL."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from api.db import repo
from api.db.session import transaction
from api.errors import WanggeError
from data.demo import DEFECT_TOWN_CODE, TOWN_CODE
from data.load import delete_town, load_demo, load_town
from tests.data.towns import cached_town, settle

CAP = 200


def _q(sql: str, **params):
    with transaction() as s:
        return s.execute(text(sql), params).all()


def _jid(code: str) -> int:
    return _q("SELECT id FROM jurisdiction WHERE code = :c", c=code)[0][0]


def test_demo_town_reads_back_complete(demo_town):
    town = cached_town()
    assert demo_town == TOWN_CODE
    with transaction() as s:
        j = repo.jurisdiction_by_code(s, demo_town)
        d = repo.jurisdiction_summary(s, j)
        assert j.metric_epsg == 32650 and [lv["key"] for lv in j.levels] == ["town", "village", "basic"]
    L = town.layers
    assert d["counts"] == {"grid": len(L["grids"]), "building": len(L["buildings"]), "camera": len(L["cameras"]),
                           "key_site": len(L["key_sites"]), "road": len(L["roads"]),
                           "service_centre": len(L["service_centres"]), "incident": len(L["incidents"]),
                           "staff": len(town.staff)}
    assert d["households"] == int(L["buildings"]["households"].sum())
    levels = dict(_q("SELECT level, count(*) FROM grid WHERE jurisdiction_id = :j GROUP BY level", j=j.id))
    assert levels == {lv: int((L["grids"]["level"] == lv).sum()) for lv in (0, 1, 2)}
    assert _q("SELECT count(*) FROM grid_assignment a JOIN grid g ON g.id = a.grid_id "
              "WHERE g.jurisdiction_id = :j", j=j.id)[0][0] == len(town.assignments)


def test_codes_parents_and_boundary_in_the_database(demo_town):
    j = _jid(demo_town)
    bad_prefix = _q("SELECT count(*) FROM grid g JOIN grid p ON p.id = g.parent_id "
                    "WHERE g.jurisdiction_id = :j AND left(g.code, length(p.code)) <> p.code", j=j)[0][0]
    assert bad_prefix == 0
    diff = _q("SELECT ST_Area(ST_SymDifference(ST_Transform(j.geom, 32650), ST_Transform(g.geom, 32650))) "
              "FROM jurisdiction j JOIN grid g ON g.jurisdiction_id = j.id AND g.level = 0 WHERE j.id = :j", j=j)
    assert diff[0][0] < 1e-6


def test_assign_gives_every_home_and_incident_a_basic_grid(demo_town):
    j = _jid(demo_town)
    (homes, no_grid), = _q("SELECT count(*), count(*) FILTER (WHERE grid_id IS NULL) FROM building "
                           "WHERE jurisdiction_id = :j AND residential", j=j)
    assert homes > 3000 and no_grid == 0
    assert _q("SELECT count(*) FROM incident WHERE jurisdiction_id = :j AND grid_id IS NULL", j=j)[0][0] == 0
    wrong_level = _q("SELECT count(*) FROM building b JOIN grid g ON g.id = b.grid_id "
                     "WHERE b.jurisdiction_id = :j AND g.level <> 2", j=j)[0][0]
    assert wrong_level == 0


def test_rules_hold_in_sql(demo_town):
    j = _jid(demo_town)
    most = _q("SELECT max(hh) FROM (SELECT sum(households) hh FROM building WHERE jurisdiction_id = :j "
              "GROUP BY grid_id) s", j=j)[0][0]
    assert most <= CAP
    staff = _q("""SELECT g.level,
                         count(DISTINCT a.staff_id) FILTER (WHERE a.role = 'responsible') AS resp,
                         count(DISTINCT a.staff_id) FILTER (WHERE a.role = 'grid_manager') AS mgr
                  FROM grid g LEFT JOIN grid_assignment a ON a.grid_id = g.id
                  WHERE g.jurisdiction_id = :j GROUP BY g.id, g.level""", j=j)
    assert all(resp >= 2 for _, resp, _ in staff)
    assert all(2 <= mgr <= 3 for lv, _, mgr in staff if lv == 2)


def test_cameras_and_key_sites_in_the_database(demo_town):
    town = cached_town()
    j = _jid(demo_town)
    centres = _q("SELECT DISTINCT centre_code, admin_code FROM camera WHERE jurisdiction_id = :j", j=j)
    assert centres == [("33052199", "330521")]
    industries = dict(_q("SELECT industry_code, count(*) FROM camera WHERE jurisdiction_id = :j GROUP BY 1", j=j))
    assert industries == town.layers["cameras"]["industry_code"].value_counts().to_dict()
    gated = _q("SELECT count(*) FROM key_site WHERE jurisdiction_id = :j AND entrances IS NOT NULL", j=j)[0][0]
    assert gated == town.layers["key_site_entrances"]["site_name"].nunique()
    on_edge = _q("SELECT bool_and(ST_DWithin(ST_Boundary(geom), entrances, 1e-6)) FROM key_site "
                 "WHERE jurisdiction_id = :j AND entrances IS NOT NULL", j=j)[0][0]
    assert on_edge


def test_loading_again_is_idempotent_or_refused(demo_town):
    before = _q("SELECT count(*) FROM building WHERE jurisdiction_id = :j", j=_jid(demo_town))[0][0]
    assert load_demo(if_missing=True) is None
    with pytest.raises(WanggeError) as e:
        load_demo()
    assert e.value.code == "demo_exists" and e.value.status == 409
    assert _q("SELECT count(*) FROM building WHERE jurisdiction_id = :j", j=_jid(demo_town))[0][0] == before


# ---------------------------------------------------------------------------------------------
# the defects variant

@pytest.fixture(scope="module")
def defects_loaded(db_url):
    """The defects variant loaded from the cached town, then reloaded with --replace."""
    bad = cached_town(True)
    with transaction(actor="test") as s:
        delete_town(s, DEFECT_TOWN_CODE)
        first = load_town(s, bad)
    again = load_demo(defects=True, replace=True)
    yield bad, first, again
    with transaction(actor="test") as s:
        delete_town(s, DEFECT_TOWN_CODE)
    settle()


def test_replace_reloads_instead_of_adding(defects_loaded):
    bad, first, again = defects_loaded
    assert again is not None and again["counts"] == first["counts"]
    assert again["counts"]["building"] == len(bad.layers["buildings"])
    assert _q("SELECT count(*) FROM jurisdiction WHERE code = :c", c=DEFECT_TOWN_CODE)[0][0] == 1


def test_each_defect_shows_once_in_sql(defects_loaded):
    bad, _, _ = defects_loaded
    d = {x["kind"]: x for x in bad.defects}
    j = _jid(DEFECT_TOWN_CODE)
    overlaps = _q("""SELECT a.code, b.code FROM grid a JOIN grid b
                     ON a.parent_id = b.parent_id AND a.code < b.code AND a.geom && b.geom
                     WHERE a.jurisdiction_id = :j AND a.level = 2 AND ST_Relate(a.geom, b.geom, 'T********')""", j=j)
    assert [sorted(r) for r in overlaps] == [sorted(d["overlap"]["grids"])]
    gaps = _q("""SELECT p.code FROM grid p JOIN grid c ON c.parent_id = p.id
                 WHERE p.jurisdiction_id = :j AND p.level = 1 GROUP BY p.id, p.code, p.geom
                 HAVING ST_Area(ST_Transform(ST_Difference(p.geom, ST_Union(c.geom)), 32650)) > 1""", j=j)
    assert [r[0] for r in gaps] == [d["gap"]["parent"]]
    outside = _q("SELECT code FROM building WHERE jurisdiction_id = :j AND residential AND grid_id IS NULL", j=j)
    assert [r[0] for r in outside] == [d["building_outside"]["building"]]
    cut = _q("""SELECT b.code FROM building b JOIN grid g ON g.jurisdiction_id = b.jurisdiction_id
                AND g.level = 2 AND ST_Intersects(g.geom, b.geom)
                WHERE b.jurisdiction_id = :j AND b.residential GROUP BY b.id, b.code
                HAVING count(*) FILTER (WHERE ST_Area(ST_Transform(ST_Intersection(g.geom, b.geom), 32650)) > 0.5) > 1""",
             j=j)
    assert [r[0] for r in cut] == [d["building_cut"]["building"]]
    over = _q("""SELECT g.code FROM building b JOIN grid g ON g.id = b.grid_id WHERE b.jurisdiction_id = :j
                 GROUP BY g.code HAVING sum(b.households) > :cap""", j=j, cap=CAP)
    assert [r[0] for r in over] == [d["over_cap"]["grid"]]
    lonely = _q("""SELECT g.code FROM grid g LEFT JOIN grid_assignment a ON a.grid_id = g.id
                   WHERE g.jurisdiction_id = :j GROUP BY g.code HAVING count(DISTINCT a.staff_id) < 2""", j=j)
    assert [r[0] for r in lonely] == [d["understaffed"]["grid"]]
