"""Printed grid maps (网格图上墙): A3 landscape PDF / PNG of a village with its grids, labels,
staff table, scale bar and north arrow, through the API and the CLI, on real PostGIS."""
from __future__ import annotations

import io
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import LineString, MultiPolygon, Point, box
from sqlalchemy import text

from api.db import bulk, repo
from api.db.session import transaction
from api.layers import LAYERS
from dashboards import printmap
from tests.conftest import auth

X0, Y0, D = 119.95, 30.52, 0.0015  # cells of D x D degrees (≈144 m x 166 m)
A3_MM = (420.0, 297.0)


def cells(nx: int, ny: int, ix0: int = 0):
    return [box(X0 + (ix0 + i) * D, Y0 + j * D, X0 + (ix0 + i + 1) * D, Y0 + (j + 1) * D)
            for j in reversed(range(ny)) for i in range(nx)]


@pytest.fixture
def village(make_jurisdiction):
    """Town = village A (3x3 basic grids, codes …001001…009) + village B east of it (1x3).
    30 households per grid of A; two staff per grid of A except the last one, which has none;
    a road across, a school and the village service centre."""
    j = make_jurisdiction(x0=X0, y0=Y0, size_deg=4 * D)
    t, a, b = j.code, j.code + "001", j.code + "002"
    ga, gb = cells(3, 3), cells(1, 3, ix0=3)
    va, vb = shapely.union_all(ga), shapely.union_all(gb)
    codes = [t, a, b] + [f"{a}{k:03d}" for k in range(1, 10)] + [f"{b}{k:03d}" for k in range(1, 4)]
    names = ["青山镇", "沈家村", "塘湾村"] + [f"沈家{k}组" for k in range(1, 10)] + [f"塘湾{k}组" for k in range(1, 4)]
    geoms = [shapely.union_all([va, vb]), va, vb] + ga + gb
    grids = gpd.GeoDataFrame({"code": codes, "name": names}, geometry=[MultiPolygon(
        [g] if g.geom_type == "Polygon" else list(g.geoms)) for g in geoms], crs=4326)
    levels = np.array([0, 1, 1] + [2] * 12)
    parents = np.array([None, t, t] + [a] * 9 + [b] * 3, dtype=object)
    blds = gpd.GeoDataFrame({"code": [f"B{k}" for k in range(9)], "households": [30] * 9, "residential": True},
                            geometry=[c.centroid.buffer(0.0001, cap_style=3) for c in ga], crs=4326)
    road = gpd.GeoDataFrame({"name": ["沈塘路"], "road_class": ["village_main"], "width_m": [6.0]},
                            geometry=[LineString([(X0, Y0 + 1.5 * D), (X0 + 4 * D, Y0 + 1.6 * D)])], crs=4326)
    school = gpd.GeoDataFrame({"category": ["school"], "name": ["沈家小学"]},
                              geometry=[MultiPolygon([box(X0 + 0.2 * D, Y0 + 0.2 * D, X0 + 0.5 * D, Y0 + 0.45 * D)])],
                              crs=4326)
    centre = gpd.GeoDataFrame({"name": ["沈家村便民服务中心"], "level": ["village"]},
                              geometry=[Point(X0 + 1.3 * D, Y0 + 1.3 * D)], crs=4326)
    with transaction(actor="test") as s:
        bulk.copy_grids(s, LAYERS["grids"], grids, j.id, levels=levels, parent_codes=parents)
        for layer, gdf in (("buildings", blds), ("roads", road), ("key_sites", school), ("service_centres", centre)):
            bulk.copy_layer(s, LAYERS[layer], gdf, j.id)
        repo.assign_to_basic_grids(s, j.id, "building")
        for k, code in enumerate(codes[3:11]):
            for n, (role, title) in enumerate((("responsible", "村支书" if k == 0 else None), ("grid_manager", None))):
                sid = s.execute(text("INSERT INTO staff (jurisdiction_id, name, phone, title) VALUES (:j, :n, :p, :t) "
                                     "RETURNING id"), {"j": j.id, "n": f"员工{k}{'甲乙'[n]}",
                                                       "p": f"1390000{k}{n:03d}", "t": title}).scalar_one()
                s.execute(text("INSERT INTO grid_assignment (grid_id, staff_id, role) SELECT id, :s, :r FROM grid "
                               "WHERE jurisdiction_id = :j AND code = :c"), {"s": sid, "r": role, "j": j.id, "c": code})
    j.village, j.basic = a, codes[3:12]
    return j


def q(j, **kw):
    return {"jurisdiction": j.code, **kw}


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def pdf_fonts(content: bytes) -> list[dict]:
    page = PdfReader(io.BytesIO(content)).pages[0]
    return [f.get_object() for f in page["/Resources"]["/Font"].values()]


# ---- colouring (pure) ------------------------------------------------------------------------

def test_neighbouring_cells_of_a_3x3_block_get_different_colours():
    block = [box(i, j, i + 1, j + 1) for j in range(3) for i in range(3)]
    colours = printmap.colour_indices(block)
    pairs = printmap.neighbour_pairs(block)
    assert len(pairs) == 20  # 12 sharing an edge + 8 meeting at a corner
    assert all(colours[a] != colours[b] for a, b in pairs)
    assert colours.max() + 1 == 4  # a 3x3 block with corners needs 4 and greedy by degree finds 4
    assert len({printmap.colour_of(int(c)) for c in colours}) == 4


def test_cells_apart_by_a_tolerated_sliver_are_neighbours_and_far_cells_may_share():
    a, b, far = box(0, 0, 100, 100), box(100.3, 0, 200, 100), box(400, 0, 500, 100)
    colours = printmap.colour_indices([a, b, far], tolerance=0.5)
    assert colours[0] != colours[1]
    assert colours[2] == 0  # not touching anything: the first colour again


def test_label_point_is_inside_a_u_shaped_grid_and_the_label_fits():
    u = shapely.difference(box(0, 0, 300, 300), box(100, 100, 200, 300))  # centroid falls in the notch
    assert not u.contains(u.centroid)
    lab = printmap.fit_label(u, printmap.label_candidates("330521101001001", "沈家1组", 30, "330521101001", "zh-CN"), 0.7)
    assert u.contains(Point(lab.x, lab.y))
    assert u.contains(printmap._label_box(Point(lab.x, lab.y), lab.lines, lab.size, 0.7))


def test_page_extent_has_a_round_scale_and_the_frame_shape():
    e = printmap.page_extent((500_000, 3_300_000, 501_200, 3_300_600))
    assert e.scale in printmap.NICE_SCALES
    w, h = printmap.MAP_MM[2:]
    assert (e.maxx - e.minx) == pytest.approx(w / 1000 * e.scale)
    assert (e.maxy - e.miny) == pytest.approx(h / 1000 * e.scale)
    assert e.minx < 500_000 and e.maxx > 501_200


def test_missing_font_names_the_debian_package(monkeypatch):
    from matplotlib import font_manager
    printmap.cjk_font.cache_clear()
    try:
        monkeypatch.setattr(font_manager, "findfont", lambda *a, **k: (_ for _ in ()).throw(ValueError("none")))
        monkeypatch.setattr(printmap.shutil, "which", lambda _name: None)
        with pytest.raises(printmap.FontMissing) as e:
            printmap.cjk_font()
        assert "fonts-noto-cjk" in e.value.zh and "fonts-noto-cjk" in e.value.en
    finally:
        monkeypatch.undo()
        printmap.cjk_font.cache_clear()


# ---- API --------------------------------------------------------------------------------------

def test_pdf_is_a3_landscape_with_embedded_cjk_font_codes_and_staff(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.pdf", params=q(village), headers=auth("planner"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    cd = r.headers["content-disposition"]
    assert f'filename="grid-map-{village.village}.pdf"' in cd and "filename*=UTF-8''" in cd
    box_pt = PdfReader(io.BytesIO(r.content)).pages[0].mediabox
    assert (float(box_pt.width) * 25.4 / 72, float(box_pt.height) * 25.4 / 72) == pytest.approx(A3_MM, abs=0.5)
    fonts = pdf_fonts(r.content)
    cjk = [f for f in fonts if "NotoSansCJK" in str(f.get("/BaseFont", f.get("/Name", "")))]
    assert cjk and all(f["/Subtype"] == "/Type3" and len(f["/CharProcs"]) > 0 for f in cjk)  # glyphs embedded
    txt = pdf_text(r.content)
    for code in village.basic:
        assert code in txt
    for k in range(8):
        assert f"员工{k}甲" in txt and f"员工{k}乙" in txt and f"1390000{k}000" in txt
    assert "员工0甲（村支书）" in txt and "未配备" in txt            # title; the grid with nobody
    assert "青山镇 沈家村网格图" in txt and "网格责任人" in txt and "网格员" in txt
    assert "沈家1组" in txt and "30户" in txt                         # labels inside the grids
    assert re.search(r"比例尺 1:[0-9,]+", txt) and "制图日期" in txt and "数据来源" in txt
    assert "塘湾村" in txt                                             # the neighbouring village, lightly


def test_png_has_the_a3_aspect_and_the_requested_dpi(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.png", params=q(village, dpi=100),
                   headers=auth("leader"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and ".png" in r.headers["content-disposition"]
    img = Image.open(io.BytesIO(r.content))
    assert img.size == pytest.approx((A3_MM[0] / 25.4 * 100, A3_MM[1] / 25.4 * 100), abs=1)  # whole pixels
    assert img.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    assert img.size[0] / img.size[1] == pytest.approx(A3_MM[0] / A3_MM[1], rel=2e-3)


def test_png_colours_the_grids_from_the_palette(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.png", params=q(village, dpi=72), headers=auth("planner"))
    rgb = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    big = {"#%02x%02x%02x" % tuple(c) for c, n in zip(colours, counts) if n > 500}
    assert len(big & set(printmap.PALETTE)) >= 4  # a 3x3 block needs 4 colours


def test_english_sheet(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.pdf", params=q(village, lang="en"), headers=auth("planner"))
    assert r.status_code == 200
    txt = pdf_text(r.content)
    assert "grid map" in txt and "Grid staff" in txt and "Responsible person" in txt and "Scale 1:" in txt
    assert "filename*=UTF-8''grid-map-" in r.headers["content-disposition"]


def test_phones_are_not_printed_for_a_role_that_may_not_see_them(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.pdf", params=q(village), headers=auth("analyst"))
    assert r.status_code == 200
    txt = pdf_text(r.content)
    assert "员工0甲" in txt and "13900000000" not in txt and "（不公开）" in txt


def test_unknown_village_is_a_bilingual_404(client, village):
    r = client.get(f"/api/v1/grids/{village.code}999/print.pdf", params=q(village), headers=auth("planner"))
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "unknown_grid"
    assert "未找到网格" in err["messages"]["zh-CN"] and "Grid not found" in err["messages"]["en"]


def test_a_basic_grid_is_not_a_village(client, village):
    r = client.get(f"/api/v1/grids/{village.basic[0]}/print.png", params=q(village), headers=auth("planner"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_village"


def test_without_a_role_printing_is_forbidden(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.pdf", params=q(village))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_dpi_above_300_is_refused(client, village):
    r = client.get(f"/api/v1/grids/{village.village}/print.png", params=q(village, dpi=600), headers=auth("planner"))
    assert r.status_code == 422


# ---- CLI --------------------------------------------------------------------------------------

def test_cli_prints_one_village_and_all_villages(village, tmp_path):
    from typer.testing import CliRunner
    from api.cli import _register_plugins, app
    _register_plugins()
    runner = CliRunner()
    out = tmp_path / "one.png"
    res = runner.invoke(app, ["grids", "print", "--village", village.village, "--jurisdiction", village.code,
                              "--out", str(out), "--dpi", "72"])
    assert res.exit_code == 0, res.output
    assert Image.open(out).size == pytest.approx((420 / 25.4 * 72, 297 / 25.4 * 72), abs=1)
    res = runner.invoke(app, ["grids", "print", "--all", "--jurisdiction", village.code, "--out", str(tmp_path / "all"),
                              "--lang", "en"])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert files == [f"grid-map-{village.code}001.pdf", f"grid-map-{village.code}002.pdf"]
    assert "塘湾1组" in pdf_text((tmp_path / "all" / files[1]).read_bytes())


def _sheet_data(n_grids: int, staff_per_grid: int) -> printmap.PrintData:
    g = gpd.GeoDataFrame({"code": [f"330521101001{k:03d}" for k in range(1, n_grids + 1)],
                          "name": [f"第{k}网格" for k in range(1, n_grids + 1)], "households": 100},
                         geometry=[box(k * 200, 0, (k + 1) * 200, 300) for k in range(n_grids)], crs=32650)
    staff = [{"grid_code": c, "staff_id": i * 10 + n, "role": "grid_manager", "name": f"员工{i}-{n}", "title": None,
              "phone": "13900000000", "phone_hidden": False}
             for i, c in enumerate(g["code"]) for n in range(staff_per_grid)]
    return printmap.PrintData("330521101001", "沈家村", ("村/社区", "Village / community"), "青山镇", "330521101",
                              "青山镇", 32650, shapely.union_all(g.geometry), g, pd.DataFrame(staff))


def test_a_long_staff_table_widens_the_panel_or_splits_but_a_short_one_does_not():
    short = _sheet_data(6, 2)
    lay = printmap.plan_layout(short, printmap.staff_rows(short, ["#fff"] * 6, "zh-CN"), "zh-CN")
    assert lay.blocks == 1 and lay.panel_mm[2] == printmap.PANEL_WIDTHS_MM[0] and lay.size >= 8
    long = _sheet_data(30, 4)
    rows = printmap.staff_rows(long, ["#fff"] * 30, "zh-CN")
    lay = printmap.plan_layout(long, rows, "zh-CN")
    assert len(rows) == 120 and lay.size >= printmap.TABLE_READABLE_PT
    assert lay.blocks * lay.per_block >= 120 and (lay.blocks > 1 or lay.panel_mm[2] > printmap.PANEL_WIDTHS_MM[0])
    assert lay.map_mm[2] + printmap.GAP_MM + lay.panel_mm[2] == pytest.approx(printmap.BODY_MM[2])
    assert sum(lay.widths.values()) + printmap.SWATCH_MM <= lay.block_w + 1e-6  # every column fits its block
