"""Staff CSV (三定) through the service, and the ``wangge import`` / ``wangge export`` commands."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.errors import WanggeError
from tests.io import town
from tests.io.helpers import count, do_export, do_import, read_back


def _staff_csv(path, code, extra=""):
    path.write_text("网格编码,姓名,手机,职责,职务\n"
                    f"{code}001001,张晓红,13800000001,网格员,专职网格员\n"
                    f"{code}001002,张晓红,13800000001,grid_manager,专职网格员\n"
                    f"{code}001001,李建国,13900000002,网格责任人,村支书\n" + extra, encoding="utf-8")
    return path


def test_staff_import_one_person_two_grids_and_export(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("grids", town.to_geojson(town.grids(j.code), tmp_path / "g.geojson"), j.code)
    r = do_import("staff", _staff_csv(tmp_path / "staff.csv", j.code), j.code)
    assert r.rows_written == 3 and r.mapping["role"] == "职责"
    assert count("staff", j.code) == 2  # 张晓红 once, in two grids
    out = do_export("staff", j.code, tmp_path / "out.csv")
    text = out.path.read_text(encoding="utf-8-sig")
    assert out.rows == 3 and text.splitlines()[0] == "grid_code,name,phone,role,title"
    assert f"{j.code}001002,张晓红,13800000001,grid_manager,专职网格员" in text
    with pytest.raises(WanggeError) as e:  # the same assignments again
        do_import("staff", out.path, j.code)
    assert {d.reason_code for d in e.value.problems} == {"assignment_exists"}
    assert count("staff", j.code) == 2


def test_staff_unknown_grid_and_bad_role(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("grids", town.to_geojson(town.grids(j.code), tmp_path / "g.geojson"), j.code)
    bad = _staff_csv(tmp_path / "bad.csv", j.code, f"{j.code}009009,王五,,网格员,\n{j.code}001001,赵六,123,厨师,\n")
    with pytest.raises(WanggeError) as e:
        do_import("staff", bad, j.code)
    got = {(p.row, p.field, p.reason_code) for p in e.value.problems}
    assert got == {(4, "grid_code", "unknown_grid"), (5, "role", "unknown_value")}
    assert count("staff", j.code) == 0


@pytest.fixture
def cli():
    from api import cli
    cli._register_plugins()
    return cli.app


def test_cli_import_with_map_and_export(cli, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    src = town.buildings().rename(columns={"households": "HH_COUNT"})
    path = town.to_geojson(src, tmp_path / "b.geojson")
    runner = CliRunner()
    res = runner.invoke(cli, ["import", "buildings", str(path), "--jurisdiction", j.code,
                              "--map", "households=HH_COUNT", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows_written"] == 4 and out["mapping"]["households"] == "HH_COUNT"
    assert sorted(read_back("buildings", j.code)["households"]) == [0, 3, 6, 24]
    res = runner.invoke(cli, ["export", "buildings", str(tmp_path / "b.zip"), "-j", j.code])
    assert res.exit_code == 0 and (tmp_path / "b.zip").exists() and "4" in res.output


def test_cli_refuses_a_bad_file_and_writes_nothing(cli, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    bad = town.buildings().drop(columns=["households"])
    res = CliRunner().invoke(cli, ["import", "buildings", str(town.to_geojson(bad, tmp_path / "b.geojson")),
                                   "-j", j.code])
    assert res.exit_code != 0 and isinstance(res.exception, WanggeError)
    assert "row 4, field households" in str(res.exception)
    assert count("building", j.code) == 0
