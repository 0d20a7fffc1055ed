"""``wangge demo`` on the command line: load (idempotent) and generate (files per layer)."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import typer
from typer.testing import CliRunner

from api import cli_demo
from api.errors import WanggeError
from data.demo import TOWN_CODE

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_demo.register(app)
    return app


def test_load_if_missing_skips_a_loaded_town(demo_town):
    res = runner.invoke(_app(), ["demo", "load", "--if-missing"])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output and demo_town in res.output


def test_load_refuses_to_load_twice(demo_town):
    res = runner.invoke(_app(), ["demo", "load"])
    assert isinstance(res.exception, WanggeError) and res.exception.code == "demo_exists"


def test_generate_writes_one_file_per_layer(tmp_path):
    res = runner.invoke(_app(), ["demo", "generate", "--out", str(tmp_path), "--format", "gpkg"])
    assert res.exit_code == 0, res.output
    for layer in ("grids", "buildings", "roads", "key_sites", "service_centres", "cameras", "incidents"):
        assert (tmp_path / f"{layer}.gpkg").exists(), layer
    grids = gpd.read_file(tmp_path / "grids.gpkg")
    assert grids.crs.to_epsg() == 4326 and TOWN_CODE in set(grids["code"])
    inc = gpd.read_file(tmp_path / "incidents.gpkg")
    assert len(inc) == 20_000 and inc["occurred_at"].str.endswith("+08:00").all()
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["code"] == TOWN_CODE and "虚构" in manifest["note"] and manifest["defects"] == []
    staff = pd.read_csv(tmp_path / "staff.csv", encoding="utf-8-sig", dtype=str)
    assert staff["phone"].str.startswith("1990000").all()


def test_generate_rejects_an_unknown_format(tmp_path):
    res = runner.invoke(_app(), ["demo", "generate", "--out", str(tmp_path), "--format", "shp"])
    assert res.exit_code != 0 and not any(tmp_path.iterdir())
