"""A hand-built small jurisdiction for the camera tests, drawn in metres around a point O.

Town = village; two basic grids split at longitude 119.955 (O and everything near it lies in
the east one, ``…001002``). Geometries are given in the jurisdiction's metric CRS relative to O
and stored in EPSG:4326, as the service reads them back in metres.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from api.db import bulk, repo
from api.db.session import transaction
from api.layers import LAYERS

X0, Y0, W = 119.95, 30.52, 0.02
O_LONLAT = (119.962, 30.53)


class Town:
    def __init__(self, make_jurisdiction):
        self.j = make_jurisdiction(x0=X0, y0=Y0, size_deg=W)
        self.epsg = self.j.metric_epsg
        o = gpd.GeoSeries([shapely.Point(*O_LONLAT)], crs=4326).to_crs(self.epsg)[0]
        self.ox, self.oy = o.x, o.y
        self.code = self.j.code
        self.east = self.code + "001002"
        t, v = self.code, self.code + "001"
        whole, west, east = box(X0, Y0, X0 + W, Y0 + W), box(X0, Y0, 119.955, Y0 + W), box(119.955, Y0, X0 + W, Y0 + W)
        grids = gpd.GeoDataFrame({"code": [t, v, v + "001", v + "002"], "name": ["镇", "村", "西格", "东格"]},
                                 geometry=[MultiPolygon([g]) for g in (whole, whole, west, east)], crs=4326)
        with transaction(actor="test") as s:
            bulk.copy_grids(s, LAYERS["grids"], grids, self.j.id, levels=np.array([0, 1, 2, 2]),
                            parent_codes=np.array([None, t, v, v], dtype=object))

    def lonlat(self, g):
        """A geometry in metres relative to O → EPSG:4326."""
        moved = affinity.translate(g, self.ox, self.oy)
        return gpd.GeoSeries([moved], crs=self.epsg).to_crs(4326)[0]

    def gb_id(self, k: int, type_code: str = "132", network: str = "5", admin: str | None = None) -> str:
        return f"{admin or self.code[:6]}01" + "00" + type_code + network + self.code[6:9] + f"{k:03d}"

    def buildings(self, geoms, households=10):
        gdf = gpd.GeoDataFrame({"households": [households] * len(geoms), "residential": [True] * len(geoms)},
                               geometry=[self.lonlat(g) for g in geoms], crs=4326)
        with transaction(actor="test") as s:
            bulk.copy_layer(s, LAYERS["buildings"], gdf, self.j.id)
            repo.assign_to_basic_grids(s, self.j.id, "building")

    def site(self, geom, name="实验小学", category="school", entrances=()):
        ent = shapely.MultiPoint([self.lonlat(shapely.Point(p)) for p in entrances]).wkt if entrances else None
        with transaction(actor="test") as s:
            s.execute(text("INSERT INTO key_site (jurisdiction_id, category, name, geom, entrances) VALUES "
                           "(:j, :c, :n, ST_Multi(ST_GeomFromText(:g, 4326)), ST_GeomFromText(:e, 4326))"),
                      {"j": self.j.id, "c": category, "n": name, "g": self.lonlat(geom).wkt, "e": ent})

    def camera(self, k, x, y, azimuth=0.0, hfov=90.0, range_m=100.0, networked=True, online=True,
               owner="派出所", documented=True, gb_id=None):
        with transaction(actor="test") as s:
            s.execute(text(
                "INSERT INTO camera (jurisdiction_id, gb_id, name, geom, azimuth_deg, hfov_deg, range_m, kind, "
                "networked, online, documented, owner) VALUES (:j, :g, :n, ST_GeomFromText(:p, 4326), :a, :h, :r, "
                "'fixed', :net, :on, :doc, :o)"),
                {"j": self.j.id, "g": gb_id or self.gb_id(k), "n": f"点位{k}", "p": self.lonlat(shapely.Point(x, y)).wkt,
                 "a": azimuth, "h": hfov, "r": range_m, "net": networked, "on": online, "doc": documented, "o": owner})

    def incidents(self, points, days_ago: float):
        at = datetime.now(timezone.utc) - timedelta(days=days_ago)
        with transaction(actor="test") as s:
            for p in points:
                s.execute(text("INSERT INTO incident (jurisdiction_id, type, occurred_at, reported_at, geom) "
                               "VALUES (:j, 'public_order', :t, :t, ST_GeomFromText(:p, 4326))"),
                          {"j": self.j.id, "t": at, "p": self.lonlat(shapely.Point(p)).wkt})
