"""GCJ-02 / BD-09 ↔ WGS-84: published reference points, exact inverses (< 1 cm), Hangzhou's
offset of several hundred metres, and nothing done outside China."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon

from gis import coords

GEOD = Geod(ellps="WGS84")
# eviltransform's test vectors: (wgs lon, wgs lat) → (gcj lon, gcj lat)
EVIL = [((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),   # Shanghai
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),   # Shenzhen
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069))]   # Beijing


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize("wgs,gcj", EVIL)
def test_wgs84_to_gcj02_matches_published_vectors(wgs, gcj):
    lon, lat = coords.wgs84_to_gcj02(*wgs)
    assert abs(lon - gcj[0]) < 1e-9 and abs(lat - gcj[1]) < 1e-9


@pytest.mark.parametrize("wgs,gcj", EVIL)
def test_gcj02_to_wgs84_is_exact(wgs, gcj):
    lon, lat = coords.gcj02_to_wgs84(*gcj)
    assert metres(lon, lat, *wgs) < 0.01


def test_bd09_reference_points():
    # coordtransform's published pair: GCJ-02 (116.404, 39.915) → BD-09
    lon, lat = coords.gcj02_to_bd09(116.404, 39.915)
    assert abs(lon - 116.41036949371029) < 1e-9 and abs(lat - 39.92133699351021) < 1e-9
    back = coords.bd09_to_gcj02(116.41036949371029, 39.92133699351021)
    assert metres(*back, 116.404, 39.915) < 0.01
    # the usual one-step inverse is off by up to a metre or so; ours agrees with it to that
    approx = (116.39762729119315, 39.90865673957631)  # coordtransform bd09togcj02(116.404, 39.915)
    assert metres(*coords.bd09_to_gcj02(116.404, 39.915), *approx) < 2.0


def test_round_trips_under_a_centimetre_across_china():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(74, 135, 20_000), rng.uniform(18, 53, 20_000)
    for fwd, inv in ((coords.wgs84_to_gcj02, coords.gcj02_to_wgs84), (coords.wgs84_to_bd09, coords.bd09_to_wgs84),
                     (coords.gcj02_to_bd09, coords.bd09_to_gcj02)):
        x, y = inv(*fwd(lon, lat))
        assert metres(x, y, lon, lat).max() < 0.01


def test_hangzhou_offset_is_several_hundred_metres():
    west_lake = (120.1485, 30.2425)
    gcj_off = metres(*coords.wgs84_to_gcj02(*west_lake), *west_lake)
    bd_off = metres(*coords.wgs84_to_bd09(*west_lake), *west_lake)
    assert 300 < gcj_off < 800 and 800 < bd_off < 1500


def test_outside_china_is_unchanged():
    tokyo, paris = (139.767125, 35.681236), (2.35, 48.85)
    for p in (tokyo, paris):
        for f in (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84, coords.bd09_to_wgs84, coords.wgs84_to_bd09):
            assert tuple(map(float, f(*p))) == p


def test_convert_geometries_moves_every_vertex_and_back():
    poly = Polygon([(120.15, 30.28), (120.16, 30.28), (120.16, 30.29), (120.15, 30.28)])
    geoms = np.array([poly, Point(120.15, 30.28), None], dtype=object)
    gcj = coords.convert_geometries(geoms, "wgs84", "gcj02")
    assert gcj[2] is None
    assert tuple(shapely.get_coordinates(gcj[0])[0]) == pytest.approx(tuple(map(float, coords.wgs84_to_gcj02(120.15, 30.28))))
    back = coords.convert_geometries(gcj, "gcj02", "wgs84")
    assert shapely.equals_exact(back[:2], geoms[:2], tolerance=1e-9).all()
    with pytest.raises(ValueError):
        coords.convert_geometries(geoms, "mars", "wgs84")
