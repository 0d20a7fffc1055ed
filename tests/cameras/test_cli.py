"""``wangge cameras …``: the same analyses as the API, refused to roles that may not see cameras."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import _register_plugins, app
from tests.cameras.test_coverage import SCHOOL, WALL
from tests.cameras.town import Town


@pytest.fixture(scope="module")
def cli():
    _register_plugins()
    return CliRunner()


def test_cli_kpi_blindspots_coverage(cli, make_jurisdiction):
    t = Town(make_jurisdiction)
    t.buildings([WALL])
    t.site(SCHOOL)
    t.camera(1, 0, 0, networked=False)
    r = cli.invoke(app, ["cameras", "kpi", "--jurisdiction", t.code, "--level", "grid", "--format", "json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    east = {a["code"]: a for a in rep["areas"]}[t.east]
    assert east["kpis"]["networking_all"]["value"] == 0 and east["status"] == "red"
    r = cli.invoke(app, ["cameras", "blindspots", "--jurisdiction", t.code, "--format", "geojson"])
    fc = json.loads(r.stdout.strip().splitlines()[-1])
    assert fc["count"] == 1 and fc["features"][0]["properties"]["area_m2"] == pytest.approx(640, abs=2)
    r = cli.invoke(app, ["cameras", "coverage", "--jurisdiction", t.code, "--level", "village"])
    assert r.exit_code == 0 and t.code + "001" in r.stdout
    r = cli.invoke(app, ["cameras", "kpi", "--jurisdiction", t.code, "--level", "grid", "--format", "geojson"])
    fc = json.loads(r.stdout.strip().splitlines()[-1])
    east = {f["properties"]["code"]: f for f in fc["features"]}[t.east]
    assert east["geometry"]["type"] == "MultiPolygon" and east["properties"]["networking_all_status"] == "red"


def test_cli_refuses_a_planner(cli, make_jurisdiction):
    t = Town(make_jurisdiction)
    r = cli.invoke(app, ["cameras", "kpi", "--jurisdiction", t.code, "--role", "planner"])
    assert r.exit_code != 0 and getattr(r.exception, "code", None) == "forbidden"   # main() prints it, exit 2
    assert "无权" in r.exception.zh and "may not" in r.exception.en
