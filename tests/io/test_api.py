"""Upload and download through the HTTP API with role tokens."""
from __future__ import annotations

import json

import geopandas as gpd

from tests.conftest import auth
from tests.io import town
from tests.io.helpers import count, do_import


def _upload(client, layer, path, role, **form):
    with open(path, "rb") as fh:
        return client.post(f"/api/v1/import/{layer}", headers=auth(role),
                           files={"file": (path.name, fh, "application/octet-stream")}, data=form)


def test_planner_uploads_buildings_analyst_may_not(client, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    path = town.to_geojson(town.buildings(), tmp_path / "楼.geojson")
    denied = _upload(client, "buildings", path, "analyst", jurisdiction=j.code)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert count("building", j.code) == 0
    ok = _upload(client, "buildings", path, "planner", jurisdiction=j.code)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["rows_written"] == 4 and body["mapping"]["households"] == "households"
    assert body["jurisdiction"] == j.code and body["rows_per_second"] > 0
    assert count("building", j.code) == 4


def test_cameras_are_for_police_only(client, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    path = town.to_geojson(town.cameras(), tmp_path / "cams.geojson")
    assert _upload(client, "cameras", path, "planner", jurisdiction=j.code).status_code == 403
    assert _upload(client, "cameras", path, "police", jurisdiction=j.code).status_code == 200
    leader = client.get(f"/api/v1/export/cameras?jurisdiction={j.code}", headers=auth("leader"))
    assert leader.status_code == 403
    police = client.get(f"/api/v1/export/cameras?jurisdiction={j.code}&format=geojson", headers=auth("police"))
    assert police.status_code == 200 and police.headers["content-type"].startswith("application/geo+json")
    feats = json.loads(police.content)["features"]
    assert sorted(f["properties"]["name"] for f in feats) == sorted(town.cameras()["name"])


def test_bad_upload_lists_rows_in_the_requested_language(client, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    bad = town.buildings()
    bad.loc[1, "households"] = -3
    path = town.to_geojson(bad, tmp_path / "bad.geojson")
    r = _upload(client, "buildings", path, "planner", jurisdiction=j.code)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and err["message"] == err["messages"]["zh-CN"]
    assert [(d["row"], d["field"], d["code"]) for d in err["details"]] == [(2, "households", "out_of_range")]
    assert count("building", j.code) == 0
    en = client.post("/api/v1/import/buildings?lang=en", headers=auth("planner"), data={"jurisdiction": j.code},
                     files={"file": ("bad.geojson", path.read_bytes())})
    assert en.json()["error"]["message"] == "The input has errors; nothing was written"


def test_upload_options_map_coords_and_unknown_layer(client, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    csv = tmp_path / "sc.csv"
    csv.write_text(f"lon,lat,名称,LVL\n{town.X0 + .001},{town.Y0 + .001},幸福村便民服务站,village\n", encoding="utf-8")
    r = _upload(client, "service_centres", csv, "planner", jurisdiction=j.code, map=["level=LVL"], coords="wgs84")
    assert r.status_code == 200 and r.json()["mapping"]["level"] == "LVL"
    assert client.post("/api/v1/import/towers", headers=auth("admin"),
                       files={"file": ("x.csv", b"a\n1\n")}).status_code == 404
    bad_coords = _upload(client, "service_centres", csv, "planner", jurisdiction=j.code, coords="mars")
    assert bad_coords.status_code == 422 and bad_coords.json()["error"]["code"] == "unknown_coords"


def test_export_formats_media_types_and_filters(client, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("grids", town.to_geojson(town.grids(j.code), tmp_path / "g.geojson"), j.code)
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "b.geojson"), j.code)
    want = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "shp": "application/zip",
            "kml": "application/vnd.google-earth.kml+xml", "csv": "text/csv"}
    for fmt, media in want.items():
        r = client.get(f"/api/v1/export/buildings?jurisdiction={j.code}&format={fmt}", headers=auth("analyst"))
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), (fmt, r.text[:200])
        assert "attachment" in r.headers["content-disposition"]
    gpkg = client.get(f"/api/v1/export/buildings?jurisdiction={j.code}&format=gpkg&grid={j.code}001001",
                      headers=auth("grid_worker"))
    (tmp_path / "x.gpkg").write_bytes(gpkg.content)
    assert set(gpd.read_file(tmp_path / "x.gpkg")["name"]) == {"无名楼", "幸福里小区３号楼"}
    csv = client.get(f"/api/v1/export/buildings?jurisdiction={j.code}&format=csv&bbox={town.X0},{town.Y0},"
                     f"{town.X0 + .002},{town.Y0 + .002}", headers=auth("leader"))
    assert csv.content.decode("utf-8-sig").count("\n") == 2 and "幸福里小区３号楼" in csv.content.decode("utf-8-sig")
    bad = client.get(f"/api/v1/export/buildings?jurisdiction={j.code}&format=dwg", headers=auth("leader"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unsupported_format"
