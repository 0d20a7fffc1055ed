"""Measure the importer on N synthetic building footprints, beside GDAL's ogr2ogr.

    python -m api.io.bench --rows 200000          # DATABASE_URL from the environment

Works in a throwaway database (created, migrated, dropped). Prints rows/s of
``api.io.import_file`` (validation + COPY + GiST + grid_id derivation) and of ``ogr2ogr``
loading the same GeoPackage into a plain table, with and without its spatial index.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

X0, Y0, SIZE = 119.95, 30.52, 0.05


def synthetic_buildings(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` small rectangles on a grid inside a 5 km square, with codes and households."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = X0 + (i % side) * (SIZE / side), Y0 + (i // side) * (SIZE / side)
    w = 0.6 * SIZE / side
    return gpd.GeoDataFrame({"code": np.char.add("B", i.astype(str)), "name": np.where(i % 2, "幸福里小区３号楼", "长乐路100弄"),
                             "households": rng.integers(0, 60, n), "floors": rng.integers(1, 30, n)},
                            geometry=shapely.box(x, y, x + w, y + w), crs=4326)


def _admin(url: str, sql: str) -> None:
    eng = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(sql))
    eng.dispose()


def _drop(url: str, name: str) -> None:
    """DROP DATABASE, waiting out autovacuum (FORCE may not end it without privileges)."""
    for _ in range(30):
        try:
            return _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
        except Exception:  # still in use by autovacuum after the load
            time.sleep(2)
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _timed(label: str, rows: int, fn) -> float:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label:<44} {dt:7.2f} s  {rows / dt:>10,.0f} rows/s")
    return dt


def _ogr2ogr(url: str, src: Path, index: bool) -> None:
    u = make_url(url)
    pg = f"PG:host={u.host} port={u.port or 5432} dbname={u.database} user={u.username}"
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    cmd = ["ogr2ogr", "-f", "PostgreSQL", pg, str(src), "-nln", f"ogr_{'idx' if index else 'noidx'}",
           "-overwrite", "-lco", f"SPATIAL_INDEX={'GIST' if index else 'NONE'}", "--config", "PG_USE_COPY", "YES"]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def _import(rows: int, src: Path) -> None:
    from api.db import repo
    from api.db.session import transaction
    from api.io import ImportOptions, import_file
    with transaction(actor="bench") as s:
        repo.create_jurisdiction(s, "330521990", "基准镇", gpd.GeoSeries(
            [shapely.box(X0 - .01, Y0 - .01, X0 + SIZE + .01, Y0 + SIZE + .01)], crs=4326))
    with transaction(actor="bench") as s:
        r = import_file(s, "buildings", src, ImportOptions(jurisdiction="330521990"))
    assert r.rows_written == rows
    print("  stages:", ", ".join(f"{k} {v:.2f} s" for k, v in r.timings.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000)
    args = p.parse_args()
    base = os.environ["DATABASE_URL"]
    name = f"wangge_iobench_{uuid.uuid4().hex[:8]}"
    _admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        os.environ["DATABASE_URL"] = url
        from api.db.migrate import upgrade
        from api.settings import get_settings
        get_settings.cache_clear()
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "buildings.gpkg"
            synthetic_buildings(args.rows).to_file(src, layer="buildings", engine="pyogrio")
            _timed("wangge import (validate, COPY, GiST, grids)", args.rows, lambda: _import(args.rows, src))
            _timed("ogr2ogr → PostGIS, no spatial index", args.rows, lambda: _ogr2ogr(url, src, False))
            _timed("ogr2ogr → PostGIS, GiST index", args.rows, lambda: _ogr2ogr(url, src, True))
    finally:
        from api.db.session import reset_engines
        reset_engines()
        _drop(base, name)


if __name__ == "__main__":
    main()
