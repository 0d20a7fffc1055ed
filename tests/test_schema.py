"""The schema: Alembic from an empty database to head equals the models; constraints hold."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from api.db.migrate import downgrade, upgrade
from api.db.models import Base
from tests.conftest import create_throwaway_db, drop_db


@pytest.fixture(scope="module")
def empty_db():
    url = create_throwaway_db("wangge_mig")
    yield url
    drop_db(url)


def test_migrations_reach_models_from_empty_db(empty_db):
    upgrade(empty_db)
    eng = create_engine(empty_db)
    with eng.connect() as c:
        mc = MigrationContext.configure(c, opts={"include_object": _include, "compare_type": True})
        diff = compare_metadata(mc, Base.metadata)
    eng.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def _include(obj, name, type_, reflected, compare_to):
    from geoalchemy2 import alembic_helpers
    if type_ == "table" and name in {"spatial_ref_sys", "alembic_version"}:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def test_every_geometry_has_a_spatial_index(engine):
    with engine.connect() as c:
        rows = c.execute(text("""
            SELECT f_table_name, f_geometry_column FROM geometry_columns g
            WHERE f_table_schema = 'public' AND NOT EXISTS (
              SELECT 1 FROM pg_indexes i WHERE i.tablename = g.f_table_name
              AND i.indexdef ILIKE '%gist%' AND i.indexdef ILIKE '%' || g.f_geometry_column || '%')
        """)).all()
        n = c.execute(text("SELECT count(*) FROM geometry_columns WHERE f_table_schema='public'")).scalar()
    assert n >= 9
    assert rows == []


def test_every_geometry_is_srid_4326(engine):
    with engine.connect() as c:
        srids = {r[0] for r in c.execute(text("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema='public'"))}
    assert srids == {4326}


def test_downgrade_then_upgrade_round_trip(empty_db):
    upgrade(empty_db)
    downgrade(empty_db, "base")
    eng = create_engine(empty_db)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version", "spatial_ref_sys"}
    eng.dispose()
    upgrade(empty_db)


@pytest.mark.parametrize("sql, constraint", [
    ("INSERT INTO camera (jurisdiction_id, gb_id, geom) VALUES (:j, '3305210000131000001', ST_SetSRID(ST_Point(120,30),4326))",
     "ck_camera_gb_id_format"),
    ("INSERT INTO camera (jurisdiction_id, gb_id, geom) VALUES (:j, '33052100001110000001', ST_SetSRID(ST_Point(120,30),4326))",
     "ck_camera_gb_type_camera"),
    ("INSERT INTO camera (jurisdiction_id, gb_id, geom, azimuth_deg) VALUES (:j, '33052100001320000001', ST_SetSRID(ST_Point(120,30),4326), 360)",
     "ck_camera_azimuth_range"),
    ("INSERT INTO building (jurisdiction_id, geom, households) VALUES (:j, ST_GeomFromText('POLYGON((120 30,120.001 30.001,120.001 30,120 30.001,120 30))',4326), 3)",
     "ck_building_geom_valid"),
    ("INSERT INTO building (jurisdiction_id, geom, households) VALUES (:j, ST_GeomFromText('POLYGON((120 30,120.001 30,120.001 30.001,120 30))',4326), -1)",
     "ck_building_households_nonneg"),
    ("INSERT INTO grid (jurisdiction_id, level, code, name, geom) VALUES (:j, 1, '330521100001', 'x', ST_Multi(ST_MakeEnvelope(120,30,120.01,30.01,4326)))",
     "ck_grid_parent_iff_not_top"),
    ("INSERT INTO incident (jurisdiction_id, type, occurred_at, reported_at, status, geom) VALUES (:j, 'dispute', now(), now(), 'resolved', ST_SetSRID(ST_Point(120,30),4326))",
     "ck_incident_status_steps"),
])
def test_database_enforces_constraints(engine, make_jurisdiction, sql, constraint):
    j = make_jurisdiction()
    with engine.connect() as c:
        with pytest.raises(IntegrityError) as ei:
            c.execute(text(sql), {"j": j.id})
        c.rollback()
    assert constraint in str(ei.value.orig)


def test_camera_id_is_decoded_by_the_database(engine, make_jurisdiction):
    j = make_jurisdiction()
    with engine.begin() as c:
        row = c.execute(text(
            "INSERT INTO camera (jurisdiction_id, gb_id, geom) VALUES (:j, '33052100011320000042', "
            "ST_SetSRID(ST_Point(119.96, 30.53), 4326)) "
            "RETURNING centre_code, admin_code, industry_code, type_code, network_code"), {"j": j.id}).one()
    assert tuple(row) == ("33052100", "330521", "01", "132", "0")


def test_audit_trail_records_actor_before_and_after(engine, make_jurisdiction):
    from api.db.session import transaction
    j = make_jurisdiction()
    with transaction(actor="planner-li") as s:
        gid = s.execute(text("INSERT INTO grid (jurisdiction_id, level, code, name, geom) VALUES "
                             "(:j, 0, :c, '测试镇', ST_Multi(ST_MakeEnvelope(119.95,30.52,119.97,30.54,4326))) RETURNING id"),
                        {"j": j.id, "c": j.code}).scalar_one()
    with transaction(actor="planner-wang") as s:
        s.execute(text("UPDATE grid SET name = '新名字' WHERE id = :g"), {"g": gid})
    with engine.connect() as c:
        rows = c.execute(text("SELECT action, actor, before->>'name', after->>'name' FROM change_log "
                              "WHERE table_name='grid' AND row_id=:g ORDER BY id"), {"g": gid}).all()
    assert [tuple(r) for r in rows] == [("insert", "planner-li", None, "测试镇"),
                                        ("update", "planner-wang", "测试镇", "新名字")]


def test_audit_keeps_exact_geometry_for_restore(engine, make_jurisdiction):
    from api.db.session import transaction
    j = make_jurisdiction()
    wkt = "MULTIPOLYGON(((119.95 30.52,119.9700000000001 30.52,119.97 30.5400000000003,119.95 30.54,119.95 30.52)))"
    with transaction(actor="t") as s:
        gid = s.execute(text("INSERT INTO grid (jurisdiction_id, level, code, name, geom) VALUES "
                             "(:j, 0, :c, 'x', ST_GeomFromText(:w, 4326)) RETURNING id"),
                        {"j": j.id, "c": j.code, "w": wkt}).scalar_one()
    with engine.connect() as c:
        same, gtype = c.execute(text(
            "SELECT ST_Equals(ST_GeomFromEWKB(decode(l.after->>'geom_ewkb', 'hex')), g.geom) "
            "AND ST_AsEWKB(g.geom) = decode(l.after->>'geom_ewkb', 'hex'), l.after->'geom'->>'type' "
            "FROM change_log l JOIN grid g ON g.id = l.row_id WHERE l.table_name = 'grid' AND l.row_id = :g"),
            {"g": gid}).one()
    assert same and gtype == "MultiPolygon"
