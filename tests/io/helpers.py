"""Import / export through the services, inside their own transactions, as the CLI does."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from api.db import read, repo
from api.db.session import transaction
from api.io import ImportOptions, import_file, importable_spec
from api.io.export import export_layer
from api.layers import LAYERS


def do_import(layer: str, path: Path, code: str, **opts):
    with transaction(actor="test") as s:
        return import_file(s, layer, path, ImportOptions(jurisdiction=code, **opts))


def read_back(layer: str, code: str):
    with transaction() as s:
        return read.read_layer(s, LAYERS[layer], repo.jurisdiction_by_code(s, code))


def do_export(layer: str, code: str, dest: Path, fmt: str | None = None, **kw):
    with transaction() as s:
        return export_layer(s, importable_spec(layer), dest, fmt, code, **kw)


def count(table: str, code: str) -> int:
    with transaction() as s:
        return s.execute(text(f"SELECT count(*) FROM {table} t JOIN jurisdiction j ON j.id = t.jurisdiction_id "
                              "WHERE j.code = :c"), {"c": code}).scalar_one()


def drop_jurisdiction(code: str) -> None:
    with transaction(actor="test") as s:
        s.execute(text("DELETE FROM jurisdiction WHERE code = :c"), {"c": code})


SORT_KEYS = {"grids": ["code"], "buildings": ["name"], "cameras": ["gb_id"], "key_sites": ["name"],
             "roads": ["name"], "service_centres": ["name"], "incidents": ["occurred_at"]}


def assert_same_rows(layer: str, a, b, tol: float = 1e-9) -> None:
    """Same rows, same input values, same geometries (to ``tol`` degrees)."""
    assert len(a) == len(b)
    keys = SORT_KEYS[layer]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    for f in LAYERS[layer].input_fields:
        x, y = a[f.name].tolist(), b[f.name].tolist()
        for u, v in zip(x, y):
            if f.kind == "float" and u is not None and v is not None:
                assert np.isclose(u, v), (f.name, u, v)
            elif pd.isna(u) if not isinstance(u, (list, dict)) else False:
                assert pd.isna(v), (f.name, u, v)
            else:
                assert u == v, (f.name, u, v)
    ga, gb = shapely.normalize(a.geometry.to_numpy()), shapely.normalize(b.geometry.to_numpy())
    same = shapely.equals_exact(ga, gb, tolerance=tol)  # Shapefile rewinds rings: normalise first
    assert same.all(), list(zip(a.geometry[~same][:2], b.geometry[~same][:2]))
