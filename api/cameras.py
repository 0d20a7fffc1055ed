"""Camera views, coverage, blind spots and KPIs of a jurisdiction (视频监控覆盖分析).

The repository (:mod:`api.db.cameras`) reads cameras, footprints, key sites, roads, grids and
incidents in the jurisdiction's metric CRS; :mod:`gis.views`, :mod:`gis.coverage` and
:mod:`gis.kpi` compute; this module joins them and shapes the answers (GeoJSON in EPSG:4326).
Access (police / admin only) is decided by the routers and the CLI through :mod:`api.auth`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from api.db import cameras as store
from api.db.models import Jurisdiction
from api.errors import WanggeError
from api.settings import Settings
from gis import kpi
from gis.vocab import KEY_SITE_CATEGORIES
from gis.coverage import blind_spots, coverage_raster, coverage_union, raster_to_polygons, share_covered
from gis.views import dori_rings, visible_views

Step = Callable[[str], None]
MUST_COVER_ROADS = ("provincial", "main_street", "village_main")   # lanes (巷道) are not must-cover
SITE_STATUS = {"covered": ("已覆盖", "Covered"), "partly": ("部分覆盖", "Partly covered"),
               "not": ("未覆盖", "Not covered")}


def _noop(_: str) -> None:
    pass


def _method(method: str | None, settings: Settings) -> str:
    m = method or settings.camera_view_method
    if m not in ("exact", "rays"):
        raise WanggeError("unknown_method", f"未知的可视域算法：{m}（exact 或 rays）",
                          f"Unknown view method: {m} (exact or rays)", 400)
    return m


def _lonlat_fc(frame: gpd.GeoDataFrame) -> dict:
    """GeoJSON in EPSG:4326 with coordinates rounded to 1e-7° (about 1 cm): a town's views are
    several MB with full doubles."""
    out = frame.to_crs(4326)
    out = out.set_geometry(shapely.set_precision(np.asarray(out.geometry, dtype=object), 1e-7, mode="pointwise"))
    return out.to_geo_dict(drop_id=True)


# ---- views ----------------------------------------------------------------------------------

def compute_views(session: Session, j: Jurisdiction, settings: Settings, *, method: str | None = None,
                  grid_code: str | None = None, bbox=None, step: Step = _noop):
    """(cameras, views): the cameras (metric CRS) and what each sees, occluded by the
    footprints within reach of them."""
    step("cameras")
    cams = store.cameras(session, j, grid_code=grid_code, bbox=bbox)
    if not len(cams):
        return cams, np.empty(0, dtype=object)
    reach = float(cams["range_m"].max())
    x0, y0, x1, y1 = cams.total_bounds
    step("buildings")
    blds = store.buildings(session, j, (x0 - reach, y0 - reach, x1 + reach, y1 + reach))
    step("views")
    views = visible_views(cams, blds.geometry, _method(method, settings))
    return cams, views


def views_geojson(cams: gpd.GeoDataFrame, views: np.ndarray, method: str,
                  resolution_px: float | None = None) -> dict:
    """The views as GeoJSON (EPSG:4326). DORI rings only when a horizontal resolution is given:
    the camera table has no resolution column yet, so by default there are none."""
    cols = ["gb_id", "name", "kind", "azimuth_deg", "hfov_deg", "range_m", "networked", "online"]
    out = gpd.GeoDataFrame(cams[cols].copy(), geometry=gpd.GeoSeries(views, crs=cams.crs), crs=cams.crs)
    out["area_m2"] = np.round(shapely.area(views), 1) if len(views) else []
    fc = _lonlat_fc(out)
    fc["method"] = method
    fc["dori"] = None if not resolution_px or not len(views) else _dori_geojson(cams, views, resolution_px)
    return fc


def _dori_geojson(cams: gpd.GeoDataFrame, views: np.ndarray, resolution_px: float) -> dict:
    """DORI rings (identification … detection) of every camera at one nominal resolution; PTZ
    domes (field of view ≥ 180°) have no single image width and get none."""
    rings = dori_rings(cams, views, resolution_px)
    frames = [gpd.GeoDataFrame({"gb_id": cams["gb_id"].to_numpy(), "dori": name,
                                "area_m2": np.round(shapely.area(g), 1)},
                               geometry=gpd.GeoSeries(g, crs=cams.crs), crs=cams.crs) for name, g in rings.items()]
    allr = pd.concat(frames, ignore_index=True)
    allr = allr[~shapely.is_empty(np.asarray(allr.geometry, dtype=object))]
    fc = _lonlat_fc(gpd.GeoDataFrame(allr, crs=cams.crs))
    fc["resolution_px"] = resolution_px
    return fc


# ---- the coverage model of a jurisdiction ---------------------------------------------------

@dataclass
class Model:
    """Everything coverage, blind spots and KPIs of one jurisdiction are computed from."""
    j: Jurisdiction
    cams: gpd.GeoDataFrame
    views: np.ndarray
    buildings: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    coverage: shapely.Geometry        # seen by at least one camera
    counts: np.ndarray | None         # multiplicity raster (None with an exact union)
    transform: tuple | None


def build_model(session: Session, j: Jurisdiction, settings: Settings, *, method: str | None = None,
                union: str = "auto", cell: float | None = None, step: Step = _noop) -> Model:
    """Load and compute the views of every camera of ``j`` and their union.

    The multiplicity raster (cells of ``cell`` metres, setting ``camera_raster_cell_m``) is
    always made (how many cameras see each cell). What is seen at all: ``union="exact"`` the
    vector union of the views; ``"raster"`` the raster's cells turned back into polygons;
    ``"auto"`` (default) exact up to ``camera_exact_union_max`` cameras (measured on the demo
    town, 693 cameras: exact union 0.46 s, raster to polygons 3.0 s), raster beyond."""
    cams, views = compute_views(session, j, settings, method=method, step=step)
    step("buildings")
    blds = store.buildings(session, j)
    sites, roads = store.key_sites(session, j), store.roads(session, j)
    step("union")
    if union not in ("auto", "exact", "raster"):
        raise WanggeError("unknown_union", f"未知的合并方式：{union}", f"Unknown union: {union}", 400)
    counts = transform = None
    if len(views):
        counts, transform = coverage_raster(views, shapely.total_bounds(views), cell or settings.camera_raster_cell_m)
    if union == "raster" or (union == "auto" and len(views) > settings.camera_exact_union_max):
        cov = raster_to_polygons(counts >= 1, transform) if counts is not None else shapely.Polygon()
    else:
        cov = coverage_union(views)
    shapely.prepare(cov)
    return Model(j, cams, views, blds, sites, roads, cov, counts, transform)


def _road_areas(roads: gpd.GeoDataFrame, classes=None) -> np.ndarray:
    r = roads if classes is None else roads[roads["road_class"].isin(classes)]
    return shapely.buffer(np.asarray(r.geometry, dtype=object), r["width_m"].to_numpy(float) / 2.0)


def site_results(m: Model) -> list[dict]:
    """Per key site: covered share, each entrance covered or not, status."""
    share = share_covered(m.sites.geometry, m.coverage) if len(m.sites) else np.zeros(0)
    sg = np.asarray(m.sites.geometry, dtype=object)
    seeing, overlap = np.zeros(len(sg), int), np.zeros(len(sg))
    if len(sg) and len(m.views):
        s_i, v_i = shapely.STRtree(m.views).query(sg, predicate="intersects")
        seeing = np.bincount(s_i, minlength=len(sg))
        overlap = np.bincount(s_i, weights=shapely.area(shapely.intersection(m.views[v_i], sg[s_i])), minlength=len(sg))
    seen_m2 = share * shapely.area(sg) if len(sg) else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplicity = np.where(seen_m2 > 0, overlap / seen_m2, np.nan)   # cameras per seen m², on average
    out = []
    for i, row in enumerate(m.sites.itertuples(index=False)):
        ents = shapely.get_parts(row.entrances) if row.entrances is not None else np.empty(0, dtype=object)
        seen = shapely.intersects(m.coverage, ents) if len(ents) else np.zeros(0, bool)
        status = kpi.site_status(float(share[i]))
        out.append({"id": int(row.id), "name": row.name, "category": row.category,
                    "area_m2": round(float(shapely.area(row.geom)), 1), "share_covered": _r(share[i]),
                    "cameras_seeing": int(seeing[i]), "mean_multiplicity": _r(multiplicity[i], 3),
                    "entrances": [bool(x) for x in seen], "entrances_covered": int(seen.sum()),
                    "status": status, "status_label": dict(zip(("zh-CN", "en"), SITE_STATUS[status]))})
    return out


def _r(v, nd: int = 6):
    v = float(v)
    return None if np.isnan(v) else round(v, nd)


# ---- areas: grids of a level ------------------------------------------------------------------

def level_index(j: Jurisdiction, level: str) -> int:
    """Stored level index of ``level`` (a key of the jurisdiction's levels; "grid" = basic)."""
    keys = [lv["key"] for lv in j.levels]
    if level == "grid":
        return len(keys) - 1
    if level not in keys:
        raise WanggeError("unknown_level", f"未知的网格层级：{level}（可选：grid、{'、'.join(keys)}）",
                          f"Unknown grid level: {level} (grid, {', '.join(keys)})", 400)
    return keys.index(level)


def _in_area(points, areas: np.ndarray) -> np.ndarray:
    """Index of the area each point lies in (-1: none); areas tile, so at most one."""
    pts = np.asarray(points, dtype=object)
    out = np.full(len(pts), -1)
    if len(pts) and len(areas):
        a_i, p_i = shapely.STRtree(pts).query(areas, predicate="contains_properly")
        out[p_i] = a_i
        left = np.flatnonzero(out < 0)      # on a boundary: the first area that covers it
        if len(left):
            p2, a2 = shapely.STRtree(areas).query(pts[left], predicate="intersects")
            first = np.unique(p2, return_index=True)
            out[left[first[0]]] = a2[first[1]]
    return out


def _footprint_union(bld: np.ndarray):
    """Union of footprints: the fast coverage union when they do not overlap (the usual case;
    checked by area), the ordinary union otherwise."""
    if not len(bld):
        return shapely.Polygon()
    fast = shapely.coverage_union_all(bld)
    if shapely.is_valid(fast) and abs(fast.area - shapely.area(bld).sum()) < 1e-6 * max(fast.area, 1.0):
        return fast
    return shapely.union_all(bld)


def _area_in(big, geoms: np.ndarray) -> np.ndarray:
    """Area of ``big ∩ g`` for every g: ``big``'s parts (which do not overlap) are paired with
    the areas they meet through a tree, so no area walks the whole of a town-wide union."""
    parts = shapely.get_parts(big)
    parts = parts[shapely.get_type_id(parts) == 3]
    if not len(geoms) or not len(parts):
        return np.zeros(len(geoms))
    g_i, p_i = shapely.STRtree(parts).query(geoms, predicate="intersects")
    pieces = shapely.area(shapely.intersection(parts[p_i], geoms[g_i]))
    return np.bincount(g_i, weights=pieces, minlength=len(geoms))


def area_coverage(m: Model, areas: gpd.GeoDataFrame) -> list[dict]:
    """Per area: covered share of public space (area minus footprints) and of roads (centre
    lines buffered by half their width); cameras per km² and per 1,000 households.

    Array calls against three unions (coverage C, footprints B, road surface R), footprints
    taken as not overlapping: public = g − g∩B, seen public = g∩C − g∩(C∩B)."""
    geoms = np.asarray(areas.geometry, dtype=object)
    bld = np.asarray(m.buildings.geometry, dtype=object)
    hh = m.buildings["households"].to_numpy(float)
    b_union = _footprint_union(bld)
    road_all = shapely.union_all(_road_areas(m.roads)) if len(m.roads) else shapely.Polygon()
    area = shapely.area(geoms)
    public = area - _area_in(b_union, geoms)
    seen = _area_in(m.coverage, geoms) - _area_in(shapely.intersection(m.coverage, b_union), geoms)
    road = _area_in(road_all, geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        road_seen = np.where(road > 0, _area_in(shapely.intersection(m.coverage, road_all), geoms) / road, np.nan)
    n_cam = np.bincount(_in_area(m.cams.geometry, geoms) + 1, minlength=len(geoms) + 1)[1:]
    households = np.bincount(_in_area(shapely.point_on_surface(bld), geoms) + 1, weights=hh,
                             minlength=len(geoms) + 1)[1:]
    out = []
    for i, (code, name) in enumerate(zip(areas["code"], areas["name"])):
        km2, n, h = float(area[i]) / 1e6, int(n_cam[i]), float(households[i])
        out.append({"code": code, "name": name, "area_km2": round(km2, 4),
                    "public_share_covered": _r(seen[i] / public[i]) if public[i] > 0 else None,
                    "road_share_covered": _r(road_seen[i]), "cameras": n, "households": int(h),
                    "cameras_per_km2": round(n / km2, 2) if km2 > 0 else None,
                    "cameras_per_1000_households": round(n / h * 1000, 2) if h else None})
    return out


def coverage_report(session: Session, j: Jurisdiction, settings: Settings, level: str = "grid", *,
                    method: str | None = None, union: str = "auto", step: Step = _noop) -> dict:
    lv = level_index(j, level)
    m = build_model(session, j, settings, method=method, union=union, step=step)
    step("areas")
    areas = store.grids(session, j, lv)
    sites = site_results(m)
    return {"jurisdiction": j.code, "level": level, "cameras": len(m.cams),
            "covered_km2": round(m.coverage.area / 1e6, 4), "multi_covered_km2": _multi_km2(m),
            "areas": area_coverage(m, areas), "key_sites": sites,
            "key_site_status": {s: sum(x["status"] == s for x in sites) for s in SITE_STATUS}}


def _multi_km2(m: Model) -> float | None:
    if m.counts is None:
        return None
    cell = m.transform[0]
    return round(float((m.counts >= 2).sum()) * cell * cell / 1e6, 4)


# ---- blind spots ------------------------------------------------------------------------------

def must_cover(m: Model) -> gpd.GeoDataFrame:
    """The places that must be covered: key sites, then must-cover road surfaces outside them."""
    sites = np.asarray(m.sites.geometry, dtype=object)
    cats = list(m.sites["category"])
    names = list(m.sites["name"])
    roads = _road_areas(m.roads, MUST_COVER_ROADS)
    if len(roads):
        surface = shapely.union_all(roads)
        if len(sites):
            surface = shapely.difference(surface, shapely.union_all(sites))
        parts = shapely.get_parts(surface)
        parts = parts[shapely.get_type_id(parts) == 3]
        sites = np.concatenate([sites, parts])
        cats += ["road"] * len(parts)
        names += [None] * len(parts)
    return gpd.GeoDataFrame({"category": cats, "name": names},
                            geometry=gpd.GeoSeries(sites, crs=m.cams.crs), crs=m.cams.crs)


def blind_spot_frame(session: Session, m: Model, settings: Settings, min_area: float | None = None,
                     now: datetime | None = None) -> gpd.GeoDataFrame:
    """Blind spots above ``min_area`` m² (setting), with category, basic grid and priority, ranked."""
    places = must_cover(m)
    spots = blind_spots(places, m.coverage, settings.blindspot_min_area_m2 if min_area is None else min_area)
    spots["category"] = places["category"].to_numpy()[spots["place"].to_numpy()] if len(spots) else []
    spots["site_name"] = places["name"].to_numpy()[spots["place"].to_numpy()] if len(spots) else []
    basic = store.grids(session, m.j, len(m.j.levels) - 1)
    where = _in_area(shapely.point_on_surface(np.asarray(spots.geometry, dtype=object)),
                     np.asarray(basic.geometry, dtype=object))
    spots["grid_code"] = [basic["code"].iloc[k] if k >= 0 else None for k in where]
    since = (now or datetime.now(timezone.utc)) - timedelta(days=settings.blindspot_incident_days)
    inc = store.incidents_since(session, m.j, since)
    density, prio = kpi.incident_priority(spots.geometry, inc.geometry, settings.blindspot_incident_radius_m)
    spots["incidents_per_100m2"], spots["priority"] = density, prio
    spots.attrs["incidents"] = {"from": since.isoformat(), "to": (since + timedelta(days=settings.blindspot_incident_days))
                                .isoformat(), "count": len(inc), "radius_m": settings.blindspot_incident_radius_m}
    spots = spots.sort_values(["priority", "area_m2"], ascending=False, kind="stable").reset_index(drop=True)
    spots["rank"] = np.arange(1, len(spots) + 1)
    labels = {**KEY_SITE_CATEGORIES, "road": ("必须覆盖的道路", "Must-cover road")}
    spots["category_zh"] = [labels[c][0] for c in spots["category"]]
    spots["category_en"] = [labels[c][1] for c in spots["category"]]
    return spots.drop(columns=["place"])


def blind_spots_geojson(spots: gpd.GeoDataFrame) -> dict:
    out = spots.copy()
    out["area_m2"] = out["area_m2"].round(1)
    out["priority"] = out["priority"].round(4)
    out["incidents_per_100m2"] = out["incidents_per_100m2"].round(6)
    return _lonlat_fc(out)


# ---- KPIs --------------------------------------------------------------------------------------

def _key_cameras(m: Model) -> np.ndarray:
    """Cameras whose view touches a key site."""
    if not len(m.sites) or not len(m.views):
        return np.zeros(len(m.cams), bool)
    v_i, _ = shapely.STRtree(np.asarray(m.sites.geometry, dtype=object)).query(m.views, predicate="intersects")
    out = np.zeros(len(m.cams), bool)
    out[v_i] = True
    return out


def area_kpis(m: Model, areas: gpd.GeoDataFrame, settings: Settings) -> list[dict]:
    """The KPIs of each area against the targets: key-area coverage (share of key-site area
    seen), networking of the cameras seeing key sites and of all, online, documented (computed)."""
    geoms = np.asarray(areas.geometry, dtype=object)
    where = _in_area(m.cams.geometry, geoms)
    flags = {"key": _key_cameras(m), "doc": kpi.documented_mask(m.cams)[0],
             "net": m.cams["networked"].to_numpy(bool), "onl": m.cams["online"].to_numpy(bool)}
    site_union = shapely.union_all(np.asarray(m.sites.geometry, dtype=object)) if len(m.sites) else shapely.Polygon()
    sites_here = shapely.intersection(site_union, geoms)
    seen = shapely.area(shapely.intersection(sites_here, m.coverage))
    out = []
    for i, (code, name) in enumerate(zip(areas["code"], areas["name"])):
        ks = _rates(settings.camera_kpi_targets, where == i, flags, float(seen[i]), float(sites_here[i].area))
        out.append({"code": code, "name": name, "cameras": int((where == i).sum()),
                    "status": kpi.worst(k.status for k in ks), "kpis": {k.key: k.as_dict() for k in ks}})
    return out


def _rates(t, inside: np.ndarray, f: dict, seen_m2: float, sites_m2: float) -> list[kpi.Kpi]:
    k_in, n = inside & f["key"], int(inside.sum())
    a = t.amber_margin
    return [kpi.kpi_rate("key_area_coverage", seen_m2, sites_m2, t.key_area_coverage, a, eps=1e-3),  # arc/raster
            kpi.kpi_rate("networking_key", int((f["net"] & k_in).sum()), int(k_in.sum()), t.networking_key, a),
            kpi.kpi_rate("networking_all", int((f["net"] & inside).sum()), n, t.networking_all, a),
            kpi.kpi_rate("online", int((f["onl"] & inside).sum()), n, t.online, a),
            kpi.kpi_rate("documented", int((f["doc"] & inside).sum()), n, t.documented, a)]


def registry_checks(m: Model) -> dict:
    """Cameras whose ID names another county, and where the stored 建档 flag disagrees."""
    cams = m.cams
    mismatch = [g for g in cams["gb_id"] if kpi.admin_mismatch(g, m.j.code)]
    doc, missing = kpi.documented_mask(cams)
    stored = cams["documented"].to_numpy(bool)
    disagree = [{"gb_id": g, "stored": bool(s), "computed": bool(c), "missing": mi}
                for g, s, c, mi in zip(cams["gb_id"], stored, doc, missing) if s != c]
    return {"admin_code": m.j.code[:6], "admin_mismatch": mismatch, "documented_disagree": disagree}


def kpi_report(session: Session, j: Jurisdiction, settings: Settings, level: str = "grid", *,
               method: str | None = None, union: str = "auto", step: Step = _noop) -> dict:
    lv = level_index(j, level)
    m = build_model(session, j, settings, method=method, union=union, step=step)
    step("kpi")
    areas = store.grids(session, j, lv)
    return {"jurisdiction": j.code, "level": level,
            "targets": settings.camera_kpi_targets.model_dump(),
            "areas": area_kpis(m, areas, settings), "registry": registry_checks(m)}


# ---- decoding -----------------------------------------------------------------------------------

def decode_report(session: Session, gb_id: str, j: Jurisdiction | None) -> dict:
    """The parts of ``gb_id`` (refused with 422 if not a camera), and, when it is registered,
    whether its ID names the county it stands in and whether its 建档 flag is right."""
    try:
        d = kpi.decode(gb_id)
    except kpi.NotACamera as e:
        raise WanggeError(e.code, e.zh, e.en, 422) from None
    out = {"decoded": d.as_dict(), "registered": False}
    row = store.camera_by_gb_id(session, j, gb_id)
    county = row["jurisdiction"] if row else (j.code if j else None)
    if county:
        out["county_code"] = county[:6]
        out["admin_mismatch"] = kpi.admin_mismatch(gb_id, county)
    if row:
        ok, missing = kpi.documented({**row, "position": True if row["has_position"] else None})
        out["registered"] = True
        out["stored"] = {k: row[k] for k in ("networked", "online", "documented")}
        out["documented"] = {"computed": ok, "missing": missing, "agrees": ok == row["documented"]}
    return out


def blind_spots_report(session: Session, j: Jurisdiction, settings: Settings, min_area: float | None = None, *,
                       method: str | None = None, union: str = "auto", as_of: datetime | None = None,
                       step: Step = _noop) -> dict:
    """Ranked blind spots as GeoJSON; incidents count from ``as_of`` (default now) back
    ``blindspot_incident_days`` days."""
    m = build_model(session, j, settings, method=method, union=union, step=step)
    step("blind spots")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    spots = blind_spot_frame(session, m, settings, min_area, now=as_of)
    fc = blind_spots_geojson(spots)
    fc.update(jurisdiction=j.code, count=len(spots), total_m2=round(float(spots["area_m2"].sum()), 1),
              incidents=spots.attrs["incidents"],
              min_area_m2=settings.blindspot_min_area_m2 if min_area is None else min_area)
    return fc


def areas_geojson(session: Session, j: Jurisdiction, level: str, rows: list[dict]) -> dict:
    """Per-area rows (coverage or KPIs) on the areas' shapes, as GeoJSON (EPSG:4326), for a map."""
    areas = store.grids(session, j, level_index(j, level)).set_index("code")
    props = [{k: v for k, v in r.items() if k != "kpis"} | _flat_kpis(r.get("kpis", {})) for r in rows]
    out = gpd.GeoDataFrame(props, geometry=[areas.geometry[r["code"]] for r in rows], crs=areas.crs)
    return _lonlat_fc(out)


def _flat_kpis(ks: dict) -> dict:
    """``{key}_value``, ``{key}_met``, ``{key}_status`` columns (a GIS table has no nesting)."""
    return {f"{k}_{f}": v[f] for k, v in ks.items() for f in ("value", "met", "status")}
