"""OGC API – Features documents, roles, the OpenAPI document, and a real OGC client (GDAL)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pyogrio
import pytest

from tests.api.town import build_town, feature, items_url, point
from tests.conftest import ROLE_TOKENS, ROOT, auth

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"


def test_landing_page_links_and_conformance(client):
    page = client.get("/api/v1/").json()
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["conformance"].endswith("/api/v1/conformance") and rels["data"].endswith("/api/v1/collections")
    assert rels["service-desc"].endswith("/api/v1/openapi.json")
    assert {CORE, GEOJSON} <= set(client.get(rels["conformance"]).json()["conformsTo"])
    assert client.get("/api/v1/", params={"lang": "en"}).json()["title"].startswith("Wangge")


def test_collections_per_role_cameras_hidden_from_planners(client, make_jurisdiction):
    j = make_jurisdiction()
    q = {"jurisdiction": j.code}
    planner = client.get("/api/v1/collections", params=q, headers=auth("planner")).json()
    ids = [c["id"] for c in planner["collections"]]
    assert "cameras" not in ids and {"grids", "buildings", "incidents"} <= set(ids)
    police = [c["id"] for c in client.get("/api/v1/collections", params=q, headers=auth("police")).json()["collections"]]
    assert "cameras" in police
    r = client.get(items_url("cameras"), params=q, headers=auth("planner"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/collections/cameras", params=q, headers=auth("leader")).status_code == 403
    r = client.post(items_url("cameras"), json=feature(point(119.955, 30.525), gb_id="33052100001320000009"),
                    params=q, headers=auth("planner"))
    assert r.status_code == 403


def test_bad_token_is_401_and_no_token_403_with_bilingual_body(client, make_jurisdiction):
    j = make_jurisdiction()
    r = client.get(items_url("grids"), params={"jurisdiction": j.code}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "bad_token" and err["messages"] == {"zh-CN": "访问令牌无效", "en": "Invalid access token"}
    r = client.get(items_url("grids"), params={"jurisdiction": j.code, "lang": "en"})
    assert r.status_code == 403 and r.json()["error"]["message"].startswith("Your role (anonymous)")


def test_collection_extent_is_the_data_and_titles_follow_the_language(client, make_jurisdiction):
    j = make_jurisdiction()
    build_town(client, j)
    q = {"jurisdiction": j.code}
    for x, y in ((119.952, 30.523), (119.968, 30.537)):
        r = client.post(items_url("service_centres"), json=feature(point(x, y), name="中心", level="village"),
                        params=q, headers=auth("planner"))
        assert r.status_code == 201
    doc = client.get("/api/v1/collections/service_centres", params=q, headers=auth("analyst")).json()
    assert doc["extent"]["spatial"]["bbox"] == [[119.952, 30.523, 119.968, 30.537]]
    assert doc["title"] == "服务中心" and doc["itemType"] == "feature" and doc["crs"][0].endswith("CRS84")
    items = next(link for link in doc["links"] if link["rel"] == "items")
    assert items["type"] == "application/geo+json" and f"jurisdiction={j.code}" in items["href"]
    en = client.get("/api/v1/collections/service_centres", params={**q, "lang": "en"}, headers=auth("analyst")).json()
    assert en["title"] == "Service centres" and en["titles"]["zh-CN"] == "服务中心"
    qa = client.get("/api/v1/collections/service_centres/queryables", params=q, headers=auth("analyst"))
    assert qa.headers["content-type"].startswith("application/schema+json")
    assert qa.json()["properties"]["level"]["enum"] == ["district", "town", "village"]
    assert client.get("/api/v1/collections/nothing", headers=auth("analyst")).status_code == 404


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, methods in {
        "/api/v1/": {"get"}, "/api/v1/conformance": {"get"}, "/api/v1/collections": {"get"},
        "/api/v1/collections/{layer}": {"get"}, "/api/v1/collections/{layer}/queryables": {"get"},
        "/api/v1/collections/{layer}/items": {"get", "post"},
        "/api/v1/collections/{layer}/items/{fid}": {"get", "put", "patch", "delete"},
        "/api/v1/collections/{layer}/items/{fid}/history": {"get"},
        "/api/v1/staff": {"get", "post"}, "/api/v1/staff/{staff_id}": {"get", "patch", "delete"},
        "/api/v1/grids/{code}/staff": {"get", "post"}, "/api/v1/grids/{code}/staff/{assignment_id}": {"delete"},
    }.items():
        assert methods <= set(paths[path]), path
    params = {p["name"] for p in paths["/api/v1/collections/{layer}/items"]["get"]["parameters"]}
    assert {"limit", "offset", "bbox", "datetime", "jurisdiction", "grid", "sortby"} <= params


# ---- a real OGC API client: GDAL's OAPIF driver (what QGIS uses) over real HTTP ---------------

@pytest.fixture(scope="module")
def server():
    """The app served by uvicorn in its own process (GDAL holds the GIL while it waits for HTTP,
    so the server cannot share this interpreter); same test database and tokens via the env."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/api/v1/conformance", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("uvicorn did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_gdal_ogc_api_client_reads_the_layers(server, client, make_jurisdiction):
    j = make_jurisdiction()
    codes = build_town(client, j)
    bearer = {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": ROLE_TOKENS["analyst"]}
    pyogrio.set_gdal_config_options(bearer)
    try:
        url = f"OAPIF:{server}/api/v1/collections/grids?jurisdiction={j.code}"
        gdf = pyogrio.read_dataframe(url)
        layers = pyogrio.list_layers(f"OAPIF:{server}/api/v1/?jurisdiction={j.code}")
    finally:
        pyogrio.set_gdal_config_options({k: None for k in bearer})
    assert sorted(gdf["code"]) == sorted(codes.values())
    assert set(gdf.geom_type) == {"MultiPolygon"} and gdf.crs.equals("OGC:CRS84")
    assert "cameras" not in {name for name, _ in layers} and "grids" in {name for name, _ in layers}
