"""The binary COPY loader: every kind of value arrives as sent (NULLs included), invalid
geometry is still refused row by row, and a large load's index rebuild leaves the table
exactly as it was defined (unique constraint included) — or rolls back entirely."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box
from sqlalchemy import text
from psycopg2 import Error as PgError
from sqlalchemy.exc import DBAPIError

from api.db import bulk
from api.db.session import transaction
from api.layers import LAYERS

X0, Y0 = 119.95, 30.52


def _index_defs(s) -> list[tuple[str, str]]:
    return s.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'building' "
                          "ORDER BY indexname")).all()


def _constraints(s) -> list[tuple[str, str, bool]]:
    return s.execute(text("SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                          "WHERE conrelid = 'building'::regclass ORDER BY conname")).all()


def _buildings(n: int, start: int = 0) -> gpd.GeoDataFrame:
    i = np.arange(start, start + n)
    x, y = X0 + 0.0005 + (i % 30) * 0.0006, Y0 + 0.0005 + (i // 30) * 0.0006
    return gpd.GeoDataFrame({
        "code": [f"B{k:05d}" for k in i],
        "name": [None if k % 3 else f"楼 {k}，\"引号\"\t制表" for k in i],
        "address": pd.array([None if k % 4 == 0 else f"文三路{k}号" for k in i], dtype="str"),
        "households": i % 7,
        "residential": i % 2 == 0,
        "floors": pd.array([None if k % 5 == 0 else int(k % 30 + 1) for k in i], dtype="Int64"),
    }, geometry=shapely.box(x, y, x + 0.0002, y + 0.0003), crs=4326)


def test_values_round_trip_with_nulls_and_unicode(make_jurisdiction):
    j = make_jurisdiction(x0=X0, y0=Y0)
    bld = _buildings(60)
    with transaction() as s:
        assert bulk.copy_layer(s, LAYERS["buildings"], bld, j.id) == 60
    with transaction() as s:
        got = pd.read_sql(text("SELECT code, name, address, households, residential, floors, "
                               "ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid FROM building "
                               "WHERE jurisdiction_id = :j ORDER BY code"), s.connection(), params={"j": j.id})
    assert got["code"].tolist() == bld["code"].tolist()
    assert got["name"].tolist() == bld["name"].tolist()
    assert [None if pd.isna(v) else v for v in got["address"]] == [None if pd.isna(v) else v for v in bld["address"]]
    assert got["households"].tolist() == bld["households"].tolist()
    assert got["residential"].tolist() == bld["residential"].tolist()
    assert [None if pd.isna(v) else int(v) for v in got["floors"]] == [None if pd.isna(v) else int(v) for v in bld["floors"]]
    assert set(got["srid"]) == {4326}
    assert shapely.equals_exact(shapely.from_wkb(got["wkb"].map(bytes).to_numpy()), bld.geometry.to_numpy(), 0).all()


def test_incident_times_floats_and_enums(make_jurisdiction):
    j = make_jurisdiction(x0=X0, y0=Y0)
    t0 = pd.Timestamp("2025-03-01 08:30:15.25", tz="Asia/Shanghai")
    inc = gpd.GeoDataFrame({
        "type": ["dispute", "public_order"], "source": ["hotline", "camera"],
        "status": ["reported", "accepted"],
        "occurred_at": [t0, t0 + pd.Timedelta(hours=1)],
        "reported_at": [t0 + pd.Timedelta(minutes=5), t0 + pd.Timedelta(hours=2)],
        "accepted_at": pd.array([pd.NaT, t0 + pd.Timedelta(hours=3)], dtype="datetime64[ns, Asia/Shanghai]"),
    }, geometry=[Point(X0 + 0.001, Y0 + 0.001), Point(X0 + 0.002, Y0 + 0.002)], crs=4326)
    cams = gpd.GeoDataFrame({"gb_id": ["33010601001320000001"], "azimuth_deg": [359.5], "hfov_deg": [62.5],
                             "range_m": [48.25], "networked": [True], "online": [False], "kind": ["ptz"]},
                            geometry=[Point(X0 + 0.003, Y0 + 0.003)], crs=4326)
    with transaction() as s:
        bulk.copy_layer(s, LAYERS["incidents"], inc, j.id)
        bulk.copy_layer(s, LAYERS["cameras"], cams, j.id)
    with transaction() as s:
        rows = s.execute(text("SELECT occurred_at, accepted_at FROM incident WHERE jurisdiction_id = :j "
                              "ORDER BY occurred_at"), {"j": j.id}).all()
        cam = s.execute(text("SELECT azimuth_deg, hfov_deg, range_m, networked, online, kind, type_code "
                             "FROM camera WHERE jurisdiction_id = :j"), {"j": j.id}).one()
    assert pd.Timestamp(rows[0][0]) == t0 and rows[0][1] is None
    assert pd.Timestamp(rows[1][1]) == t0 + pd.Timedelta(hours=3)
    assert tuple(cam) == (359.5, 62.5, 48.25, True, False, "ptz", "132")


def test_invalid_geometry_is_refused_and_nothing_is_written(make_jurisdiction):
    j = make_jurisdiction(x0=X0, y0=Y0)
    bld = _buildings(3)
    bowtie = Polygon([(X0, Y0), (X0 + 0.001, Y0 + 0.001), (X0 + 0.001, Y0), (X0, Y0 + 0.001)])
    bld.loc[1, "geometry"] = bowtie
    with pytest.raises((DBAPIError, PgError), match="ck_building_geom_valid"):
        with transaction() as s:
            bulk.copy_layer(s, LAYERS["buildings"], bld, j.id)
    with transaction() as s:
        assert s.execute(text("SELECT count(*) FROM building WHERE jurisdiction_id = :j"), {"j": j.id}).scalar() == 0


def test_large_load_rebuilds_every_index_as_defined(make_jurisdiction, monkeypatch):
    j = make_jurisdiction(x0=X0, y0=Y0)
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
    with transaction() as s:
        before, cons = _index_defs(s), _constraints(s)
        stored = s.execute(text("SELECT count(*) FROM building")).scalar()
    n = stored + 50
    with transaction() as s:
        with bulk.deferred_indexes(s, "building", n) as deferred:
            assert deferred
            inside, cons_inside = _index_defs(s), _constraints(s)
            bulk.copy_frame(s, "building", bulk._frame_for_copy(
                LAYERS["buildings"], _buildings(n), j.id, ["code", "households"]))
        assert _index_defs(s) == before and _constraints(s) == cons
    assert [name for name, _ in inside] == ["pk_building"]
    assert {name for name, _, _ in cons_inside} == {"pk_building", "ck_building_geom_valid",
                                                    "ck_building_households_nonneg", "ck_building_floors_range"}
    with transaction() as s:
        assert s.execute(text("SELECT count(*) FROM building WHERE jurisdiction_id = :j"), {"j": j.id}).scalar() == n


def test_duplicate_codes_in_a_large_load_fail_the_rebuilt_unique_constraint(make_jurisdiction, monkeypatch):
    j = make_jurisdiction(x0=X0, y0=Y0)
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
    with transaction() as s:
        before = _index_defs(s)
        stored = s.execute(text("SELECT count(*) FROM building")).scalar()
    bld = _buildings(stored + 40)
    bld.loc[7, "code"] = bld.loc[3, "code"]
    with pytest.raises((DBAPIError, PgError), match="uq_building_jurisdiction_code"):
        with transaction() as s:
            bulk.copy_layer(s, LAYERS["buildings"], bld, j.id)
    with transaction() as s:
        assert _index_defs(s) == before
        assert s.execute(text("SELECT count(*) FROM building WHERE jurisdiction_id = :j"), {"j": j.id}).scalar() == 0


def test_grids_go_over_binary_with_levels_and_parents(make_jurisdiction):
    j = make_jurisdiction(x0=X0, y0=Y0)
    c = j.code
    grids = gpd.GeoDataFrame({"code": [c, c + "001"], "name": ["镇", "村"]},
                             geometry=[shapely.MultiPolygon([box(X0, Y0, X0 + 0.02, Y0 + 0.02)])] * 2, crs=4326)
    with transaction() as s:
        assert bulk.copy_grids(s, LAYERS["grids"], grids, j.id, np.array([0, 1]),
                               np.array([None, c], dtype=object)) == 2
        rows = s.execute(text("SELECT g.code, p.code, ST_SRID(g.geom) FROM grid g LEFT JOIN grid p "
                              "ON p.id = g.parent_id WHERE g.jurisdiction_id = :j ORDER BY g.code"),
                         {"j": j.id}).all()
    assert [tuple(r) for r in rows] == [(c, None, 4326), (c + "001", c, 4326)]


def test_a_large_load_with_an_unknown_jurisdiction_fails_the_rebuilt_foreign_key(make_jurisdiction, monkeypatch):
    make_jurisdiction(x0=X0, y0=Y0)
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
    with transaction() as s:
        cons = _constraints(s)
        stored = s.execute(text("SELECT count(*) FROM building")).scalar()
        missing = s.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM jurisdiction")).scalar()
    with pytest.raises((DBAPIError, PgError), match="fk_building_jurisdiction_id_jurisdiction"):
        with transaction() as s:
            bulk.copy_layer(s, LAYERS["buildings"], _buildings(stored + 30), missing)
    with transaction() as s:
        assert _constraints(s) == cons


def test_foreign_keys_stay_when_their_tables_are_busy(make_jurisdiction, monkeypatch, engine):
    """A reader holding jurisdiction: the keys are kept (checked row by row) instead of waiting."""
    j = make_jurisdiction(x0=X0, y0=Y0)
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
    monkeypatch.setattr(bulk, "FK_LOCK_TIMEOUT", "200ms")
    with transaction() as s:
        stored = s.execute(text("SELECT count(*) FROM building")).scalar()
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM jurisdiction"))   # AccessShareLock until rollback
        with transaction() as s:
            with bulk.deferred_indexes(s, "building", stored + 30) as deferred:
                names = {n for n, _, _ in _constraints(s)}
                bulk.copy_frame(s, "building", bulk._frame_for_copy(
                    LAYERS["buildings"], _buildings(stored + 30), j.id, ["code", "households"]))
        reader.rollback()
    assert deferred and "fk_building_jurisdiction_id_jurisdiction" in names
    assert "uq_building_jurisdiction_code" not in names


def test_an_encoding_error_aborts_the_copy_and_surfaces(make_jurisdiction):
    j = make_jurisdiction(x0=X0, y0=Y0)
    frame = bulk._frame_for_copy(LAYERS["buildings"], _buildings(5), j.id, ["code", "households"])
    frame["geom"] = frame["geom"].astype(object)
    frame.loc[3, "geom"] = 42                      # not a geometry: the encoder thread fails
    with pytest.raises(Exception, match="42|geometr|Geometry"):
        with transaction() as s:
            bulk.copy_frame(s, "building", frame)
    with transaction() as s:
        assert s.execute(text("SELECT count(*) FROM building WHERE jurisdiction_id = :j"), {"j": j.id}).scalar() == 0
