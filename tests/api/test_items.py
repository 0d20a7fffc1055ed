"""Listing items: paging links, bbox, grid, datetime and property filters, sorting."""
from __future__ import annotations

import random

from tests.api.town import build_town, collection, feature, items_url, point, polygon
from tests.conftest import auth

LEVELS = ("district", "town", "village")


def _centres(client, j, n: int = 23, seed: int = 7) -> dict[int, tuple[float, float, str]]:
    """``n`` service centres at random places; returns id -> (x, y, level)."""
    rnd = random.Random(seed)
    pts = [(round(119.95 + rnd.random() * 0.02, 6), round(30.52 + rnd.random() * 0.02, 6), LEVELS[i % 3])
           for i in range(n)]
    body = collection(*[feature(point(x, y), name=f"中心{i:02d}", level=lv) for i, (x, y, lv) in enumerate(pts)])
    r = client.post(items_url("service_centres"), json=body, params={"jurisdiction": j.code},
                    headers=auth("planner"))
    assert r.status_code == 201, r.text
    return {f["id"]: p for f, p in zip(r.json()["features"], pts)}


def _next(page: dict) -> str | None:
    return next((link["href"] for link in page["links"] if link["rel"] == "next"), None)


def test_next_links_walk_every_feature_once(client, make_jurisdiction):
    j = make_jurisdiction()
    made = _centres(client, j)
    url, seen, pages = items_url("service_centres") + f"?jurisdiction={j.code}&limit=5", [], 0
    while url:
        r = client.get(url, headers=auth("leader"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        page = r.json()
        assert page["numberMatched"] == 23 and page["numberReturned"] == len(page["features"]) <= 5
        assert {link["rel"] for link in page["links"]} >= {"self", "collection"}
        seen += [f["id"] for f in page["features"]]
        url, pages = _next(page), pages + 1
    assert pages == 5 and len(seen) == len(set(seen)) == 23 and set(seen) == set(made)
    last = client.get(items_url("service_centres"), params={"jurisdiction": j.code, "limit": 5, "offset": 20},
                      headers=auth("leader")).json()
    prev = next(link["href"] for link in last["links"] if link["rel"] == "prev")
    assert "offset=15" in prev and _next(last) is None


def test_bbox_returns_exactly_the_features_inside(client, make_jurisdiction):
    j = make_jurisdiction()
    made = _centres(client, j, n=40)
    box = (119.953, 30.524, 119.962, 30.531)
    inside = {i for i, (x, y, _) in made.items() if box[0] <= x <= box[2] and box[1] <= y <= box[3]}
    assert 0 < len(inside) < 40
    page = client.get(items_url("service_centres"), params={"jurisdiction": j.code, "bbox": ",".join(map(str, box))},
                      headers=auth("leader")).json()
    assert {f["id"] for f in page["features"]} == inside and page["numberMatched"] == len(inside)


def test_bbox_on_polygons_is_a_true_intersection(client, make_jurisdiction):
    j = make_jurisdiction()
    build_town(client, j)
    # an L-shaped key site whose bounding box covers the query box but whose shape does not
    l_shape = {"type": "Polygon", "coordinates": [[[119.951, 30.521], [119.959, 30.521], [119.959, 30.523],
                                                   [119.953, 30.523], [119.953, 30.529], [119.951, 30.529],
                                                   [119.951, 30.521]]]}
    r = client.post(items_url("key_sites"), json=feature(l_shape, name="L 形小区", category="住宅小区"),
                    params={"jurisdiction": j.code}, headers=auth("planner"))
    assert r.status_code == 201, r.text
    hits = lambda b: client.get(items_url("key_sites"), params={"jurisdiction": j.code, "bbox": b},  # noqa: E731
                                headers=auth("leader")).json()["numberMatched"]
    assert hits("119.956,30.526,119.958,30.528") == 0  # in the notch of the L
    assert hits("119.952,30.526,119.958,30.528") == 1  # touches the upright


def test_invalid_bbox_is_a_400(client, make_jurisdiction):
    j = make_jurisdiction()
    for bad in ("1,2,3", "a,b,c,d", "119.97,30.52,119.95,30.54", "500000,3300000,500100,3300100"):
        r = client.get(items_url("roads"), params={"jurisdiction": j.code, "bbox": bad}, headers=auth("leader"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_bbox", bad


def test_property_filter_and_sortby(client, make_jurisdiction):
    j = make_jurisdiction()
    made = _centres(client, j)
    q = {"jurisdiction": j.code, "level": "town", "sortby": "-name"}
    page = client.get(items_url("service_centres"), params=q, headers=auth("leader")).json()
    want = {i for i, (_, _, lv) in made.items() if lv == "town"}
    assert {f["id"] for f in page["features"]} == want and page["numberMatched"] == len(want)
    names = [f["properties"]["name"] for f in page["features"]]
    assert names == sorted(names, reverse=True)
    by_zh = client.get(items_url("service_centres"), params={**q, "level": "镇/街道级"}, headers=auth("leader")).json()
    assert by_zh["numberMatched"] == len(want)


def test_unknown_or_derived_property_is_a_clear_400(client, make_jurisdiction):
    j = make_jurisdiction()
    r = client.get(items_url("buildings"), params={"jurisdiction": j.code, "colour": "red"}, headers=auth("leader"))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "unknown_property" and "colour" in err["messages"]["en"] and "colour" in err["messages"]["zh-CN"]
    assert "households" in err["messages"]["en"]  # lists what can be used
    r = client.get(items_url("buildings"), params={"jurisdiction": j.code, "grid_code": "1"}, headers=auth("leader"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "property_not_filterable"
    r = client.get(items_url("buildings"), params={"jurisdiction": j.code, "sortby": "geom; drop table x"},
                   headers=auth("leader"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_sort_property"
    r = client.get(items_url("buildings"), params={"jurisdiction": j.code, "households": "many"},
                   headers=auth("leader"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_property_value"


def test_grid_level_and_datetime_filters(client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    q = {"jurisdiction": j.code}
    basic = client.get(items_url("grids"), params={**q, "level": "basic"}, headers=auth("leader")).json()
    assert sorted(f["properties"]["code"] for f in basic["features"]) == [codes["west"], codes["east"]]
    body = collection(*[feature(point(119.955 + i * 0.001, 30.53), type="safety_hazard",
                                occurred_at=f"2024-0{m}-15T10:00:00+08:00") for i, m in enumerate((1, 2, 3, 4))])
    assert client.post(items_url("incidents"), json=body, params=q, headers=auth("grid_worker")).status_code == 201
    spring = client.get(items_url("incidents"), params={**q, "datetime": "2024-02-01/2024-03-31"},
                        headers=auth("leader")).json()
    assert sorted(f["properties"]["occurred_at"][:7] for f in spring["features"]) == ["2024-02", "2024-03"]
    since = client.get(items_url("incidents"), params={**q, "datetime": "2024-03-15/.."}, headers=auth("leader"))
    assert since.json()["numberMatched"] == 2
    in_west = client.get(items_url("incidents"), params={**q, "grid": codes["west"]}, headers=auth("leader")).json()
    assert in_west["numberMatched"] == 4 and {f["properties"]["grid_code"] for f in in_west["features"]} == {codes["west"]}
    r = client.get(items_url("incidents"), params={**q, "datetime": "last tuesday"}, headers=auth("leader"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_datetime"
    r = client.get(items_url("incidents"), params={**q, "grid": j.code + "999999"}, headers=auth("leader"))
    assert r.status_code == 404


def test_polygons_come_back_multi_where_stored_multi(client, make_jurisdiction):
    j = make_jurisdiction()
    r = client.post(items_url("key_sites"), json=feature(polygon(119.951, 30.521, 119.952, 30.522),
                                                          name="学校", category="school"),
                    params={"jurisdiction": j.code}, headers=auth("police"))
    assert r.status_code == 201 and r.json()["geometry"]["type"] == "MultiPolygon"
