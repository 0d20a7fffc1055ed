"""Grid rules on hand-built cases and random tilings (hypothesis)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from gis.rules import RuleConfig, validate

T = "330521100"
CFG = RuleConfig(level_keys=("town", "basic"), code_digits=(3, 3), household_cap=200)


def frame(cells, parent=box(0, 0, 100, 100), extra=None):
    codes = [T] + [f"{T}{i + 1:03d}" for i in range(len(cells))]
    gdf = gpd.GeoDataFrame({"code": codes, "level": [0] + [1] * len(cells),
                            "parent_code": [None] + [T] * len(cells)},
                           geometry=[parent] + list(cells), crs=32650)
    if extra:
        for k, v in extra.items():
            gdf[k] = v
    return gdf


def kinds(vs, severity=None):
    return sorted(v.kind for v in vs if severity is None or v.severity == severity)


def test_valid_tiling_has_no_violation():
    cells = [box(0, 0, 50, 100), box(50, 0, 100, 60), box(50, 60, 100, 100)]
    assert validate(frame(cells), CFG) == []


def test_cell_inside_another_is_an_overlap_not_missed():
    cells = [box(0, 0, 100, 100), box(10, 10, 20, 20)]
    vs = validate(frame(cells), CFG)
    assert kinds(vs) == ["overlap"] and vs[0].value == 100.0
    assert set(vs[0].grids) == {f"{T}001", f"{T}002"}
    assert vs[0].geometry.equals(box(10, 10, 20, 20))


def test_hole_in_a_child_not_covered_is_a_gap():
    holed = Polygon(box(0, 0, 50, 100).exterior.coords, [box(10, 10, 20, 20).exterior.coords])
    vs = validate(frame([holed, box(50, 0, 100, 100)]), CFG)
    assert kinds(vs) == ["gap"] and vs[0].value == 100.0


def test_child_sticking_out_of_parent():
    vs = validate(frame([box(0, 0, 50, 100), box(50, 0, 103, 100)]), CFG)
    assert kinds(vs) == ["outside_parent"] and vs[0].value == 300.0
    assert vs[0].grids == (f"{T}002", T)


def test_slivers_are_their_own_warning_kind():
    vs = validate(frame([box(0, 0, 50, 100), box(50.2, 0, 100, 100)]), CFG)
    assert kinds(vs) == ["sliver_gap"] and kinds(vs, "error") == []


def test_top_level_tiles_the_jurisdiction_boundary():
    g = frame([box(0, 0, 50, 100), box(50, 0, 100, 100)])
    vs = validate(g, CFG, boundary=box(0, 0, 100, 120))
    assert [(v.kind, v.value) for v in vs] == [("gap", 2000.0)]


def test_multipart_grid_and_wrong_codes():
    two = MultiPolygon([box(0, 0, 40, 100), box(60, 0, 100, 100)])
    g = frame([two, box(40, 0, 60, 100)])
    g.loc[2, "code"] = "330521999002"
    vs = validate(g, CFG)
    assert "multipart" in kinds(vs) and "code_prefix" in kinds(vs)


def test_invalid_geometry_is_reported_with_reason_and_location():
    bowtie = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    vs = validate(frame([bowtie]), CFG)
    assert vs[0].kind == "invalid_geometry" and "Self-intersection" in vs[0].en
    assert vs[0].geometry.equals_exact(gpd.points_from_xy([50], [50])[0], 1e-9)


def test_buildings_cap_cut_and_unassigned():
    cells = [box(0, 0, 50, 100), box(50, 0, 100, 100)]
    b = gpd.GeoDataFrame({"code": ["in1", "in2", "cut", "out"], "households": [150, 60, 5, 3],
                          "residential": [True, True, True, True]},
                         geometry=[box(1, 1, 10, 10), box(20, 20, 30, 30), box(45, 50, 55, 60),
                                   box(101, 1, 110, 10)], crs=32650)
    vs = validate(frame(cells), CFG, buildings=b)
    by = {v.kind: v for v in vs}
    assert by["over_cap"].value == 210 and by["over_cap"].grids == (f"{T}001",)
    assert by["building_cut"].buildings == ("cut",) and set(by["building_cut"].grids) == {f"{T}001", f"{T}002"}
    assert by["building_unassigned"].buildings == ("out",)


def test_staffing_rules():
    cells = [box(0, 0, 50, 100), box(50, 0, 100, 100)]
    a = pd.DataFrame({"grid_code": [T, T, f"{T}001", f"{T}001", f"{T}002"],
                      "role": ["responsible", "responsible", "grid_manager", "grid_manager", "grid_manager"]})
    vs = validate(frame(cells), CFG, assignments=a)
    assert [(v.kind, v.grids, v.value) for v in vs] == [("understaffed", (f"{T}002",), 1.0)]


def test_household_spread_and_merge_candidate():
    cells = [box(0, 0, 30, 100), box(30, 0, 60, 100), box(60, 0, 100, 100)]
    vs = validate(frame(cells, extra={"households": [0, 180, 170, 10]}), CFG)
    assert kinds(vs) == ["size_spread", "undersized"]


def test_crs_must_be_metric():
    g = frame([box(0, 0, 100, 100)]).set_crs(4326, allow_override=True)
    with pytest.raises(ValueError, match="projected"):
        validate(g, CFG)


# --------------------------------------------------------------------------- property tests

@st.composite
def guillotine(draw, depth=4):
    """A random partition of the 1000 m square into rectangles by recursive cuts."""
    cells = [(0.0, 0.0, 1000.0, 1000.0)]
    for _ in range(draw(st.integers(2, 12))):
        i = draw(st.integers(0, len(cells) - 1))
        x0, y0, x1, y1 = cells[i]
        vertical = draw(st.booleans())
        lo, hi = (x0, x1) if vertical else (y0, y1)
        if hi - lo < 60:
            continue
        cut = round(draw(st.floats(lo + 25, hi - 25)), 3)
        a, b = ((x0, y0, cut, y1), (cut, y0, x1, y1)) if vertical else ((x0, y0, x1, cut), (x0, cut, x1, y1))
        cells[i:i + 1] = [a, b]
    return cells


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(guillotine())
def test_random_tilings_are_valid(cells):
    assert validate(frame([box(*c) for c in cells], parent=box(0, 0, 1000, 1000)), CFG) == []


@settings(max_examples=60, deadline=None)
@given(guillotine(), st.data())
def test_injected_defects_found_with_their_area(cells, data):
    i = data.draw(st.integers(0, len(cells) - 1))
    x0, y0, x1, y1 = cells[i]
    d = data.draw(st.floats(2.0, 10.0))
    mode = data.draw(st.sampled_from(["shrink", "grow"]))
    on_border = x1 >= 1000.0
    polys = [box(*c) for c in cells]
    polys[i] = box(x0, y0, x1 - d, y1) if mode == "shrink" else box(x0, y0, x1 + d, y1)
    vs = validate(frame(polys, parent=box(0, 0, 1000, 1000)), CFG)
    expected_kind = "gap" if mode == "shrink" else ("outside_parent" if on_border else "overlap")
    assert {v.kind for v in vs} == {expected_kind}
    assert sum(v.value for v in vs) == pytest.approx(d * (y1 - y0), rel=1e-6, abs=0.02)
