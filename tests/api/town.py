"""A tiny town built through the API itself (the demo town is loaded elsewhere).

The jurisdiction is the 0.02° square at (119.95, 30.52) from ``make_jurisdiction``:
one town grid, one village, two basic grids (west and east halves).
"""
from __future__ import annotations

from tests.conftest import auth

X0, Y0, X1, Y1 = 119.95, 30.52, 119.97, 30.54
XM = 119.96


def ring(x0: float, y0: float, x1: float, y1: float) -> list:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def polygon(x0, y0, x1, y1) -> dict:
    return {"type": "Polygon", "coordinates": ring(x0, y0, x1, y1)}


def point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


def feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def items_url(layer: str) -> str:
    return f"/api/v1/collections/{layer}/items"


def build_town(client, j) -> dict[str, str]:
    """Create the grids in one FeatureCollection; returns their codes by name."""
    c = j.code
    codes = {"town": c, "village": c + "001", "west": c + "001001", "east": c + "001002"}
    body = collection(  # children listed before parents: the service orders them by level
        feature(polygon(X0, Y0, XM, Y1), code=codes["west"], name="一村一格"),
        feature(polygon(XM, Y0, X1, Y1), code=codes["east"], name="一村二格"),
        feature(polygon(X0, Y0, X1, Y1), code=codes["village"], name="一村"),
        feature(polygon(X0, Y0, X1, Y1), code=codes["town"], name="测试镇"),
    )
    r = client.post(items_url("grids"), json=body, params={"jurisdiction": c}, headers=auth("planner"))
    assert r.status_code == 201, r.text
    return codes
