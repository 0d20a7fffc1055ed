"""Bad input: every bad row listed (row, field, reason in zh-CN and en, geometry) and nothing
written — the count before equals the count after."""
from __future__ import annotations

import json

import pytest

from api.errors import WanggeError
from tests.io import town
from tests.io.helpers import count, do_import, read_back

X0, Y0 = town.X0, town.Y0


def _box(x, y, d=0.0002):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def _fc(rows, path, crs=None):
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in rows]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _refused(layer, path, code, **opts) -> dict:
    with pytest.raises(WanggeError) as e:
        do_import(layer, path, code, **opts)
    assert e.value.status == 422 and e.value.code == "invalid_input"
    return e.value.body()["error"]


def _by_row(err) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for d in err["details"]:
        out.setdefault(d.get("row"), []).append(d)
    return out


def test_every_bad_row_is_listed_and_nothing_is_written(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "ok.geojson"), j.code)
    before = count("building", j.code)
    bowtie = {"type": "Polygon", "coordinates": [[[X0 + .002, Y0 + .002], [X0 + .003, Y0 + .003],
                                                  [X0 + .003, Y0 + .002], [X0 + .002, Y0 + .003],
                                                  [X0 + .002, Y0 + .002]]]}
    rows = [
        ({"code": "N1", "name": "好楼", "households": 10, "floors": "5", "residential": "是"}, _box(X0 + .001, Y0 + .005)),
        ({"code": "N2", "name": "缺户数", "floors": "2", "residential": "否"}, _box(X0 + .002, Y0 + .005)),
        ({"code": "N3", "name": "负户数", "households": -5, "floors": "abc"}, _box(X0 + .003, Y0 + .005)),
        ({"code": "N4", "name": "自相交", "households": 1}, bowtie),
        ({"code": "N5", "name": "是个点", "households": 1}, {"type": "Point", "coordinates": [X0 + .004, Y0 + .004]}),
        ({"code": "N1", "name": "重复编码", "households": 1}, _box(X0 + .005, Y0 + .005)),
        ({"code": "N7", "name": "辖区外", "households": 1}, _box(X0 + 0.5, Y0 + 0.5)),
        ({"code": "N8", "name": "无几何", "households": 1}, None),
        ({"code": "N9", "name": "住宅？", "households": 1, "residential": "也许"}, _box(X0 + .006, Y0 + .005)),
    ]
    err = _refused("buildings", _fc(rows, tmp_path / "bad.geojson"), j.code)
    rows_found = _by_row(err)
    assert 1 not in rows_found
    assert {(d["field"], d["code"]) for d in rows_found[2]} == {("households", "missing_value")}
    assert {(d["field"], d["code"]) for d in rows_found[3]} == {("households", "out_of_range"), ("floors", "not_a_number")}
    assert rows_found[4][0]["code"] == "invalid_geometry" and "Self-intersection" in rows_found[4][0]["message"]["en"]
    assert "几何无效" in rows_found[4][0]["message"]["zh-CN"]
    assert rows_found[5][0]["code"] == "wrong_geometry_type" and "Point" in rows_found[5][0]["message"]["en"]
    assert {(d["field"], d["code"]) for d in rows_found[6]} == {("code", "duplicate_code")}
    assert "first at row 1" in rows_found[6][0]["message"]["en"] and "首次出现于第 1 行" in rows_found[6][0]["message"]["zh-CN"]
    assert rows_found[7][0]["code"] == "outside_jurisdiction" and "辖区" in rows_found[7][0]["message"]["zh-CN"]
    assert rows_found[8][0]["code"] == "missing_geometry"
    assert rows_found[9][0]["field"] == "residential" and rows_found[9][0]["value"] == "也许"
    for d in err["details"]:
        assert d["message"]["zh-CN"] and d["message"]["en"] and d["message"]["zh-CN"] != d["message"]["en"]
    drawn = {f["properties"]["row"]: f["geometry"]["type"] for f in err["features"]["features"]}
    assert drawn == {4: "Polygon", 5: "Point", 7: "Polygon"}
    assert count("building", j.code) == before


def test_projected_metres_declared_as_lonlat_are_refused_per_row(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    utm = [({"name": f"楼{i}", "households": 1}, _box(403000 + 30 * i, 3377000, 20)) for i in range(3)]
    err = _refused("buildings", _fc(utm, tmp_path / "utm.geojson"), j.code)
    assert [(d["row"], d["code"]) for d in err["details"]] == [(1, "wrong_crs"), (2, "wrong_crs"), (3, "wrong_crs")]
    assert "wrong CRS?" in err["details"][0]["message"]["en"] and "坐标系是否有误" in err["details"][0]["message"]["zh-CN"]
    assert count("building", j.code) == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_declared_projected_crs_is_transformed(make_jurisdiction, tmp_path):
    import geopandas as gpd
    j = make_jurisdiction()
    b = town.buildings()
    utm = b.to_crs(32650)
    r = do_import("buildings", town.to_geojson(utm.set_crs(None, allow_override=True), tmp_path / "m.geojson"),
                  j.code, crs="32650")
    assert r.rows_written == 4 and r.crs == "EPSG:32650"
    got = read_back("buildings", j.code).sort_values("name")
    want = gpd.GeoSeries(b.sort_values("name").geometry.to_numpy(), crs=4326)
    assert (got.geometry.to_numpy()[0].distance(want.iloc[0])) < 1e-8


def test_gpkg_in_a_projected_crs_is_transformed(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    path = tmp_path / "cgcs.gpkg"
    town.buildings().to_crs(4549).to_file(path, engine="pyogrio")  # CGCS2000 3° GK zone 120E
    r = do_import("buildings", path, j.code)
    assert r.crs == "EPSG:4549" and r.rows_written == 4
    got = read_back("buildings", j.code).set_index("code")
    assert got.loc["B001"].geometry.equals_exact(town.buildings().geometry[0], 1e-8)


def test_duplicate_code_against_stored_rows(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "a.geojson"), j.code)
    before = count("building", j.code)
    rows = [({"code": "NEW1", "households": 1}, _box(X0 + .007, Y0 + .007)),
            ({"code": "B002", "households": 2}, _box(X0 + .008, Y0 + .007))]
    err = _refused("buildings", _fc(rows, tmp_path / "b.geojson"), j.code)
    assert [(d["row"], d["field"], d["code"], d["value"]) for d in err["details"]] == [(2, "code", "code_exists", "B002")]
    assert "already exists" in err["details"][0]["message"]["en"] and "已存在" in err["details"][0]["message"]["zh-CN"]
    assert count("building", j.code) == before


def test_grid_code_profile_prefix_and_parents(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    c = j.code
    sq = _box(X0, Y0, 0.02)
    rows = [({"code": c, "name": "镇"}, sq),
            ({"code": c + "001", "name": "村"}, sq),
            ({"code": c + "0011", "name": "长度不对"}, sq),
            ({"code": "330522999001", "name": "别的镇"}, sq),
            ({"code": c + "002003", "name": "无上级"}, sq)]
    err = _refused("grids", _fc(rows, tmp_path / "g.geojson"), j.code)
    got = {(d["row"], d["code"]) for d in err["details"]}
    assert got == {(3, "bad_code_length"), (4, "wrong_code_prefix"), (4, "missing_parent"), (5, "missing_parent")}
    msg = next(d for d in err["details"] if d["row"] == 5)["message"]
    assert c + "002" in msg["en"] and c + "002" in msg["zh-CN"]
    assert count("grid", j.code) == 0
    do_import("grids", _fc(rows[:2], tmp_path / "top.geojson"), j.code)
    half = _box(X0, Y0, 0.01)
    # one grid covering part of its village leaves a gap: the grid rules refuse the import
    with pytest.raises(WanggeError) as e:
        do_import("grids", _fc([({"code": c + "001001", "name": "一格"}, half)], tmp_path / "leaf.geojson"), j.code)
    assert e.value.status == 422 and e.value.code == "grid_rule_violation"
    assert [d["kind"] for d in e.value.body()["error"]["details"]] == ["gap"]
    assert count("grid", j.code) == 2
    rest = {"type": "Polygon", "coordinates": [[[X0 + .01, Y0], [X0 + .02, Y0], [X0 + .02, Y0 + .02], [X0, Y0 + .02],
                                                [X0, Y0 + .01], [X0 + .01, Y0 + .01], [X0 + .01, Y0]]]}
    r = do_import("grids", _fc([({"code": c + "001001", "name": "一格"}, half),
                                ({"code": c + "001002", "name": "二格"}, rest)], tmp_path / "leaves.geojson"), j.code)
    assert r.rows_written == 2  # parent found in the database; together they tile it
    g = read_back("grids", j.code).set_index("code")
    assert g.loc[c + "001001", "parent_code"] == c + "001" and g.loc[c + "001001", "level"] == "basic"
    assert g.geometry.geom_type.eq("MultiPolygon").all()  # Polygon promoted


def test_camera_ids_vocabulary_and_bools(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    ok_id = town.camera_ids(1)[0]
    pt = {"type": "Point", "coordinates": [X0 + .001, Y0 + .001]}
    rows = [({"国标编码": ok_id, "点位名称": "路口", "类型": "球机（云台）", "是否联网": "是", "朝向": 360}, pt),
            ({"国标编码": ok_id[:10] + "111" + ok_id[13:], "类型": "fixed"}, pt),
            ({"国标编码": ok_id[:19], "类型": "Fixed"}, pt),
            ({"国标编码": town.camera_ids(1)[0], "类型": "枪机"}, {"type": "MultiPoint", "coordinates": [[X0, Y0], [X0 + .001, Y0]]})]
    err = _refused("cameras", _fc(rows, tmp_path / "c.geojson"), j.code)
    got = {(d["row"], d["field"], d["code"]) for d in err["details"]}
    assert got == {(2, "gb_id", "not_a_camera_id"), (3, "gb_id", "pattern_mismatch"),
                   (4, "kind", "unknown_value"), (4, "geometry", "wrong_geometry_type")}
    r = do_import("cameras", _fc(rows[:1], tmp_path / "c1.geojson"), j.code)
    assert r.mapping["gb_id"] == "国标编码" and r.mapping["kind"] == "类型"
    cam = read_back("cameras", j.code).iloc[0]
    assert cam.kind == "ptz" and bool(cam.networked) and cam.azimuth_deg == 0.0 and cam.type_code == "132"


def test_incident_steps_need_their_times_in_order(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    pt = {"type": "Point", "coordinates": [X0 + .001, Y0 + .001]}
    rows = [({"type": "矛盾纠纷", "status": "已办结", "occurred_at": "2024-05-01 08:00",
              "accepted_at": "2024-05-01 09:00", "resolved_at": "2024-05-02 09:00"}, pt),
            ({"type": "dispute", "occurred_at": "2024-05-01 08:00", "reported_at": "2024-04-30 08:00"}, pt),
            ({"type": "dispute", "occurred_at": "不是时间"}, pt)]
    err = _refused("incidents", _fc(rows, tmp_path / "i.geojson"), j.code)
    got = {(d["row"], d["field"], d["code"]) for d in err["details"]}
    assert got == {(1, "handled_at", "missing_step_time"), (2, "reported_at", "steps_out_of_order"),
                   (3, "occurred_at", "not_a_datetime")}


def test_naive_times_are_local_and_reported_defaults_to_occurred(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    pt = {"type": "Point", "coordinates": [X0 + .001, Y0 + .001]}
    do_import("incidents", _fc([({"事件类型": "安全隐患", "发生时间": "2024年5月1日 08:30"}, pt)], tmp_path / "i.geojson"), j.code)
    row = read_back("incidents", j.code).iloc[0]
    assert row.type == "safety_hazard" and row.status == "reported" and row.source == "grid_worker"
    assert row.occurred_at.isoformat() == "2024-05-01T00:30:00+00:00" and row.reported_at == row.occurred_at


def test_problems_are_capped_with_a_count(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    rows = [({"name": f"楼{i}"}, _box(X0 + .00001 * i, Y0 + .001)) for i in range(1500)]
    err = _refused("buildings", _fc(rows, tmp_path / "many.geojson"), j.code)
    assert len(err["details"]) == 1001
    assert err["details"][-1]["code"] == "more_problems" and "500" in err["details"][-1]["message"]["en"]
    assert err["details"][999]["row"] == 1000


def test_single_part_multipolygon_is_accepted_two_parts_are_not(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    one = {"type": "MultiPolygon", "coordinates": [_box(X0 + .001, Y0 + .001)["coordinates"]]}
    two = {"type": "MultiPolygon", "coordinates": [_box(X0 + .003, Y0 + .001)["coordinates"],
                                                  _box(X0 + .005, Y0 + .001)["coordinates"]]}
    err = _refused("buildings", _fc([({"households": 1}, one), ({"households": 1}, two)], tmp_path / "m.geojson"), j.code)
    assert [(d["row"], d["code"]) for d in err["details"]] == [(2, "wrong_geometry_type")]
    do_import("buildings", _fc([({"households": 1}, one)], tmp_path / "one.geojson"), j.code)
    assert read_back("buildings", j.code).geom_type.tolist() == ["Polygon"]


def test_chunked_pipeline_lists_problems_in_late_chunks_and_writes_nothing(make_jurisdiction, tmp_path, monkeypatch):
    from api.io import write
    monkeypatch.setattr(write, "CHUNK", 3)
    j = make_jurisdiction()
    rows = [({"code": f"C{i}", "households": i}, _box(X0 + .0003 * i, Y0 + .001)) for i in range(10)]
    rows[8] = ({"code": "C8", "households": 1}, _box(X0 + 0.5, Y0 + 0.5))
    err = _refused("buildings", _fc(rows, tmp_path / "late.geojson"), j.code)
    assert [(d["row"], d["code"]) for d in err["details"]] == [(9, "outside_jurisdiction")]
    assert count("building", j.code) == 0
    rows[8] = ({"code": "C8", "households": 8}, _box(X0 + .0003 * 8, Y0 + .001))
    assert do_import("buildings", _fc(rows, tmp_path / "ok.geojson"), j.code).rows_written == 10
    got = read_back("buildings", j.code)
    assert list(got["code"]) == [f"C{i}" for i in range(10)] and list(got["households"]) == list(range(10))


def test_big_load_rebuilds_indexes_and_keys(make_jurisdiction, tmp_path, monkeypatch):
    from sqlalchemy import text

    from api.db.session import transaction
    from api.io import pgcopy
    monkeypatch.setattr(pgcopy, "BULK_ROWS", 2)
    monkeypatch.setattr(pgcopy, "_stored_rows", lambda session, table: 0)
    dropped = []
    real_execute = pgcopy.Session.execute

    def spy(self, stmt, *a, **kw):
        if str(stmt).startswith(("DROP INDEX", "ALTER TABLE")):
            dropped.append(str(stmt))
        return real_execute(self, stmt, *a, **kw)
    monkeypatch.setattr(pgcopy.Session, "execute", spy)
    schema = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'building' UNION ALL "
                  "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'building'::regclass "
                  "ORDER BY 1, 2")  # an index and its constraint share a name: order by both
    with transaction() as s:
        before = s.execute(schema).all()
    j = make_jurisdiction()
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "b.geojson"), j.code)
    assert any("DROP INDEX" in d and "gist" not in d for d in dropped) and len(dropped) >= 8  # 4 dropped, 4 rebuilt
    with transaction() as s:
        assert s.execute(schema).all() == before
    rows = [({"code": "B001", "households": 1}, _box(X0 + .007, Y0 + .007)),
            ({"code": "B009", "households": 1}, _box(X0 + .008, Y0 + .007))]
    err = _refused("buildings", _fc(rows, tmp_path / "dup.geojson"), j.code)
    assert [(d["row"], d["code"]) for d in err["details"]] == [(1, "code_exists")]
    assert count("building", j.code) == 4
