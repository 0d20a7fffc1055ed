"""GCJ-02 and BD-09 data (phones, Amap, Baidu) land where they belong after import."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from gis import coords
from tests.io import town
from tests.io.helpers import do_import, read_back


@pytest.mark.parametrize("system,forward", [("gcj02", coords.wgs84_to_gcj02), ("bd09", coords.wgs84_to_bd09)])
def test_camera_csv_in_web_map_coordinates(system, forward, make_jurisdiction, tmp_path):
    j = make_jurisdiction()
    wgs = np.array([[town.X0 + 0.003, town.Y0 + 0.004], [town.X0 + 0.0151, town.Y0 + 0.0122]])
    lon, lat = forward(wgs[:, 0], wgs[:, 1])
    ids = town.camera_ids(2)
    csv = tmp_path / "cams.csv"
    csv.write_text("设备编码,点位名称,lng,lat\n" + "".join(
        f"{i},路口{k},{float(x)!r},{float(y)!r}\n" for k, (i, x, y) in enumerate(zip(ids, lon, lat))), encoding="utf-8")
    r = do_import("cameras", csv, j.code, coords=system)
    assert r.coords == system and r.rows_written == 2
    got = read_back("cameras", j.code).set_index("gb_id").loc[ids]
    d = Geod(ellps="WGS84").inv(got.geometry.x.to_numpy(), got.geometry.y.to_numpy(), wgs[:, 0], wgs[:, 1])[2]
    assert np.max(d) < 0.01
    shift = Geod(ellps="WGS84").inv(lon, lat, wgs[:, 0], wgs[:, 1])[2]
    assert np.min(shift) > 300  # what would have gone wrong without --coords
