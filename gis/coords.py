"""Chinese web-map coordinate systems: GCJ-02 ("Mars", 国测局) and BD-09 (Baidu) ↔ WGS-84.

Phones and web maps from Chinese vendors give GCJ-02 (Amap/Gaode, Tencent) or BD-09 (Baidu)
coordinates, offset from WGS-84 / CGCS2000 by hundreds of metres. The forward formulas are the
public ones (eviltransform, coordtransform); the inverses here are *exact*: a fixed-point
iteration on the forward formula, so that ``forward(inverse(p)) == p`` to ~1e-11 degrees
(well under 1 cm) instead of the 1–2 m of the usual one-step approximation.

All functions are vectorised over numpy arrays of longitudes and latitudes (degrees) and leave
points outside China's rectangle (lon 72.004–137.8347, lat 0.8293–55.8271) unchanged.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
>>> round(float(lon), 9), round(float(lat), 9)
(121.531541859, 31.175303984)
>>> w = gcj02_to_wgs84(lon, lat)
>>> round(float(w[0]), 7), round(float(w[1]), 7)
(121.5272106, 31.1774276)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import shapely

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-12
_MAX_ITER = 30

System = Literal["wgs84", "gcj02", "bd09"]
Array = np.ndarray


def out_of_china(lon, lat) -> Array:
    """True where (lon, lat) is outside the rectangle in which GCJ-02 applies an offset.

    Examples
    --------
    >>> out_of_china([139.77, 120.15], [35.68, 30.28]).tolist()
    [True, False]
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _d_lat(x: Array, y: Array) -> Array:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _d_lon(x: Array, y: Array) -> Array:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon, lat) -> tuple[Array, Array]:
    """WGS-84 → GCJ-02 (the public forward formula).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.410244499, 39.916404282)
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat, dlon = _d_lat(lon - 105.0, lat - 35.0), _d_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_bd09(lon, lat) -> tuple[Array, Array]:
    """GCJ-02 → BD-09 (Baidu's published forward formula).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.410369494, 39.921336994)
    """
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    outside = out_of_china(x, y)
    return (np.where(outside, x, z * np.cos(theta) + 0.0065),
            np.where(outside, y, z * np.sin(theta) + 0.006))


def _bd09_to_gcj02_approx(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def invert(forward: Callable[[Array, Array], tuple[Array, Array]], lon, lat,
           start: tuple[Array, Array] | None = None) -> tuple[Array, Array]:
    """Exact inverse of a small-offset ``forward`` by fixed-point iteration.

    Solves ``forward(p) == (lon, lat)`` for p: ``p ← p - (forward(p) - target)``, which
    converges because the offset changes slowly with position.

    Examples
    --------
    >>> x, y = invert(wgs84_to_gcj02, 120.15, 30.28)
    >>> fx, fy = wgs84_to_gcj02(x, y)
    >>> bool(abs(fx - 120.15) < 1e-11 and abs(fy - 30.28) < 1e-11)
    True
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = (lon.copy(), lat.copy()) if start is None else start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if not (np.nanmax(np.abs(ex), initial=0.0) > _TOL_DEG
                or np.nanmax(np.abs(ey), initial=0.0) > _TOL_DEG):
            break
    return x, y


def gcj02_to_wgs84(lon, lat) -> tuple[Array, Array]:
    """GCJ-02 → WGS-84, exact inverse (round trip error ≪ 1 cm).

    Examples
    --------
    >>> x, y = gcj02_to_wgs84(121.531541859215, 31.17530398364597)
    >>> round(float(x), 7), round(float(y), 7)
    (121.5272106, 31.1774276)
    """
    return invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon, lat) -> tuple[Array, Array]:
    """BD-09 → GCJ-02, exact inverse of :func:`gcj02_to_bd09`.

    Examples
    --------
    >>> x, y = bd09_to_gcj02(116.41036949371029, 39.92133699351021)
    >>> round(float(x), 9), round(float(y), 9)
    (116.404, 39.915)
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x0, y0 = _bd09_to_gcj02_approx(lon, lat)
    outside = out_of_china(lon, lat)
    x0, y0 = np.where(outside, lon, x0), np.where(outside, lat, y0)
    return invert(gcj02_to_bd09, lon, lat, start=(x0, y0))


def wgs84_to_bd09(lon, lat) -> tuple[Array, Array]:
    """WGS-84 → BD-09 (through GCJ-02).

    Examples
    --------
    >>> x, y = wgs84_to_bd09(116.404, 39.915)
    >>> round(float(x), 6), round(float(y), 6)
    (116.416627, 39.9227)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[Array, Array]:
    """BD-09 → WGS-84, exact (through GCJ-02).

    Examples
    --------
    >>> x, y = bd09_to_wgs84(*wgs84_to_bd09(120.15, 30.28))
    >>> round(float(x), 10), round(float(y), 10)
    (120.15, 30.28)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"wgs84": None, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"wgs84": None, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _xy_function(src: System, dst: System):
    if src not in _TO_WGS84 or dst not in _FROM_WGS84:
        raise ValueError(f"unknown coordinate system: {src!r} → {dst!r} (wgs84, gcj02, bd09)")
    steps = [f for f in (_TO_WGS84[src], _FROM_WGS84[dst]) if f is not None]

    def apply(xy: Array) -> Array:
        x, y = xy[:, 0], xy[:, 1]
        for f in steps:
            x, y = f(x, y)
        return np.column_stack([x, y])
    return apply


def convert_geometries(geoms, src: System, dst: System = "wgs84") -> Array:
    """Convert every vertex of shapely geometries (lon/lat) from ``src`` to ``dst``.

    Parameters
    ----------
    geoms : array_like of shapely geometries (None allowed), in lon/lat degrees
    src, dst : "wgs84", "gcj02" or "bd09"

    Returns
    -------
    numpy array of geometries (Z values are kept, unchanged)

    Examples
    --------
    >>> from shapely import Point
    >>> p = convert_geometries([Point(120.15, 30.28)], "wgs84", "gcj02")[0]
    >>> round(p.x, 6), round(p.y, 6)
    (120.154709, 30.277681)
    """
    geoms = np.asarray(geoms, dtype=object)
    if src == dst:
        return geoms
    return shapely.transform(geoms, _xy_function(src, dst))
