"""Formats in detail: Shapefile encodings (.cpg GBK / UTF-8 / none), missing .prj, CSV with
lon/lat, WKT and Chinese headers, Shapefile field names, KML names, GeoPackage layer names."""
from __future__ import annotations

import subprocess
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from api.errors import WanggeError
from api.layers import LAYERS
from tests.io import town
from tests.io.helpers import count, do_export, do_import, read_back


pytestmark = [pytest.mark.filterwarnings("ignore:Column names longer than 10"),
              pytest.mark.filterwarnings("ignore:Normalized/laundered field name")]


def _shapefile_zip(gdf, tmp_path, name="b", encoding="UTF-8", drop=()):
    folder = tmp_path / f"{name}_shp"
    folder.mkdir()
    gdf.to_file(folder / f"{name}.shp", engine="pyogrio", encoding=encoding)
    zpath = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in folder.iterdir():
            if f.suffix not in drop:
                zf.write(f, f.name)
    return zpath


def _names(code):
    return dict(zip(read_back("buildings", code)["code"], read_back("buildings", code)["name"]))


def test_gbk_shapefile_with_cpg(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    z = _shapefile_zip(town.buildings(), tmp_path, encoding="GBK")
    assert zipfile.ZipFile(z).read("b.cpg").decode().strip().upper() == "GBK"
    do_import("buildings", z, j.code)
    got = read_back("buildings", j.code).set_index("code")
    assert got.loc["B001", "name"] == "幸福里小区３号楼" and got.loc["B002", "address"] == "长乐路100弄"


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_without_cpg_is_sniffed(encoding, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("buildings", _shapefile_zip(town.buildings(), tmp_path, encoding=encoding, drop=(".cpg",)), j.code)
    assert _names(j.code)["B001"] == "幸福里小区３号楼"


def test_encoding_option_wins_and_a_wrong_one_is_refused(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    z = _shapefile_zip(town.buildings(), tmp_path, encoding="GBK", drop=(".cpg",))
    with pytest.raises(WanggeError) as e:
        do_import("buildings", z, j.code, encoding="utf-8")
    assert e.value.code == "bad_encoding" and "--encoding" in e.value.en
    do_import("buildings", z, j.code, encoding="gbk")
    assert _names(j.code)["B002"] == "长乐路100弄5号"


def test_shapefile_without_prj_is_refused_unless_crs_given(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    z = _shapefile_zip(town.buildings(), tmp_path, drop=(".prj",))
    with pytest.raises(WanggeError) as e:
        do_import("buildings", z, j.code)
    assert e.value.code == "missing_crs" and e.value.status == 422 and ".prj" in e.value.zh
    assert count("building", j.code) == 0
    assert do_import("buildings", z, j.code, crs="EPSG:4326").rows_written == 4


def test_csv_with_chinese_headers_gbk_and_explicit_map(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    csv = tmp_path / "服务中心.csv"
    csv.write_bytes(("经度,纬度,名称,LVL,地址,联系电话,备注\n"
                     f"{town.X0 + .001},{town.Y0 + .001},武康街道社区服务中心,镇/街道级,长乐路100弄,0572-8888888,东门\n"
                     f"{town.X0 + .002},{town.Y0 + .001},幸福村便民服务站,Village / community,,,\n").encode("gbk"))
    r = do_import("service_centres", csv, j.code, mapping={"level": "LVL"})
    assert r.encoding == "GB18030" and r.rows_written == 2
    assert r.mapping == {"level": "LVL", "name": "名称", "address": "地址", "phone": "联系电话"}
    assert r.ignored_columns == ["备注"] and "备注" in r.messages[0]["zh-CN"]
    got = read_back("service_centres", j.code).set_index("name")
    assert got.loc["武康街道社区服务中心", "level"] == "town" and got.loc["幸福村便民服务站", "level"] == "village"
    assert got.loc["武康街道社区服务中心", "address"] == "长乐路100弄"
    assert got.loc["幸福村便民服务站"].geometry.equals_exact(Point(town.X0 + .002, town.Y0 + .001), 1e-12)


def test_truncated_shapefile_names_are_recognised(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("buildings", _shapefile_zip(town.buildings(), tmp_path), j.code)  # GDAL cuts residential → residentia
    assert not read_back("buildings", j.code).set_index("code").loc["B003", "residential"]


def test_csv_wkt_column(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    csv = tmp_path / "roads.csv"
    x, y = town.X0, town.Y0
    csv.write_text(f'路名,等级,WKT\n幸福路,主要街道,"LINESTRING ({x} {y + .001}, {x + .01} {y + .001})"\n'
                   f'坏路,lane,"LINESTRING ({x} oops)"\n', encoding="utf-8")
    with pytest.raises(WanggeError) as e:
        do_import("roads", csv, j.code)
    d = e.value.body()["error"]["details"]
    assert [(p["row"], p["code"]) for p in d] == [(2, "unreadable_geometry")] and "oops" in d[0]["message"]["en"]
    csv.write_text(csv.read_text(encoding="utf-8").splitlines()[0] + "\n" + csv.read_text(encoding="utf-8").splitlines()[1] + "\n",
                   encoding="utf-8")
    do_import("roads", csv, j.code)
    road = read_back("roads", j.code).iloc[0]
    assert road.road_class == "main_street" and road.width_m == 6.0 and road.geometry.geom_type == "LineString"


def test_csv_without_coordinates_is_refused(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    csv = tmp_path / "x.csv"
    csv.write_text("name,households\n楼,1\n", encoding="utf-8")
    with pytest.raises(WanggeError) as e:
        do_import("buildings", csv, j.code)
    assert e.value.code == "no_geometry_columns" and "经度" in e.value.zh


@pytest.mark.parametrize("layer", list(LAYERS))
def test_shapefile_export_field_names_cpg_and_prj(layer, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import(layer, town.to_geojson(town.sample(layer, j.code), tmp_path / "in.geojson"), j.code)
    out = do_export(layer, j.code, tmp_path / f"{layer}.zip")
    names = zipfile.ZipFile(out.path).namelist()
    assert {f"{layer}.{e}" for e in ("shp", "shx", "dbf", "prj", "cpg")} <= set(names)
    assert zipfile.ZipFile(out.path).read(f"{layer}.cpg").decode().strip() == "UTF-8"
    fields = list(pyogrio.read_info(f"/vsizip/{out.path}/{layer}.shp")["fields"])
    assert all(len(f.encode()) <= 10 for f in fields), fields
    assert {LAYERS[layer].field(f.name).shp_name for f in LAYERS[layer].input_fields} <= set(fields)
    info = subprocess.run(["ogrinfo", "-so", "-al", f"/vsizip/{out.path}"], capture_output=True, text=True, check=True)
    assert "WGS 84" in info.stdout and f"Feature Count: {out.rows}" in info.stdout


def test_kml_export_has_names_and_geometries(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "b.geojson"), j.code)
    do_import("incidents", town.to_geojson(town.incidents(), tmp_path / "i.geojson"), j.code)
    kml = do_export("buildings", j.code, tmp_path / "b.kml").path
    assert "<name>幸福里小区３号楼</name>" in kml.read_text(encoding="utf-8")
    back = pyogrio.read_dataframe(kml)
    assert len(back) == 4 and set(back.geom_type) == {"Polygon"}
    text = do_export("incidents", j.code, tmp_path / "i.kml").path.read_text(encoding="utf-8")
    assert "<name>矛盾纠纷 2024-05-01 08:30</name>" in text


def test_geopackage_layer_is_named_after_the_layer_and_filters_apply(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    do_import("grids", town.to_geojson(town.grids(j.code), tmp_path / "g.geojson"), j.code)
    do_import("buildings", town.to_geojson(town.buildings(), tmp_path / "b.geojson"), j.code)
    out = do_export("buildings", j.code, tmp_path / "b.gpkg", grid=j.code + "001002")
    assert [str(x[0]) for x in pyogrio.list_layers(out.path)] == ["buildings"]
    got = gpd.read_file(out.path)
    assert sorted(got["code"]) == ["B002", "B003"] and set(got["grid_code"]) == {j.code + "001002"}
    box_only = do_export("buildings", j.code, tmp_path / "bb.geojson", bbox=(town.X0, town.Y0, town.X0 + .002, town.Y0 + .002))
    assert box_only.rows == 1


def test_multi_layer_geopackage_needs_a_layer_name(make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    path = tmp_path / "town.gpkg"
    town.roads().to_file(path, layer="道路", engine="pyogrio")
    town.service_centres().to_file(path, layer="centres", engine="pyogrio")
    with pytest.raises(WanggeError) as e:
        do_import("roads", path, j.code)
    assert e.value.code == "ambiguous_source_layer" and "道路" in e.value.zh and "--source-layer" in e.value.en
    assert do_import("roads", path, j.code, source_layer="道路").rows_written == 2
    town.buildings().to_file(path, layer="buildings", engine="pyogrio")
    assert do_import("buildings", path, j.code).rows_written == 4  # the layer named like ours is chosen
