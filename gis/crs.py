"""Metric coordinate reference systems for jurisdictions.

Examples
--------
>>> utm_epsg(119.97, 30.54)
32650
>>> cgcs2000_gk3_epsg(119.97)
4549
"""
from __future__ import annotations

import math

import geopandas as gpd
from pyproj import CRS

STORAGE_EPSG = 4326


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone containing (lon, lat)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"not a longitude/latitude: {lon}, {lat}")
    zone = min(60, int(math.floor((lon + 180) / 6)) + 1)
    return (32600 if lat >= 0 else 32700) + zone


def cgcs2000_gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger CM zone (no false-easting prefix)
    whose central meridian is nearest to ``lon`` (75°E–135°E: EPSG:4534–4554)."""
    cm = int(round(lon / 3.0) * 3)
    if not 75 <= cm <= 135:
        raise ValueError(f"longitude {lon} is outside China's CGCS2000 3° zones")
    return 4534 + (cm - 75) // 3


def metric_crs_for(geom_series: gpd.GeoSeries, override: int | None = None) -> int:
    """The metric CRS for data at this place: ``override`` if given, else its UTM zone."""
    if override:
        crs = CRS.from_epsg(override)
        if not crs.is_projected:
            raise ValueError(f"EPSG:{override} is not a projected (metric) CRS")
        return override
    if geom_series.crs is None or not CRS(geom_series.crs).is_geographic:
        geom_series = geom_series.to_crs(STORAGE_EPSG)
    c = geom_series.union_all().centroid
    return utm_epsg(c.x, c.y)
