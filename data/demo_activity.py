"""Cameras, incidents and staff of the demo town (local metric frame, see data.demo_layout).

Cameras hang on building walls (their point just inside the footprint, looking out) or on
poles at road sides and site gates; intersections get PTZ domes. Incidents follow homes,
roads and a few real hot spots, with a weekly and seasonal rhythm and a closed-loop status.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely import Point
from shapely.ops import nearest_points

from data.demo_fill import Buildings, Filled, Road, Site
from data.demo_layout import Layout

DIRS = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"]

# GB/T 28181 industry code (2 digits) -> zh, en (the codes this generator uses)
INDUSTRY = {
    "00": ("社会治安路面接入", "Public security, roads"),
    "01": ("社会治安社区接入", "Public security, communities"),
    "02": ("社会治安内部接入", "Public security, internal"),
    "03": ("社会治安其他接入", "Public security, other"),
    "04": ("交通路面接入", "Traffic, roads"),
    "07": ("交通其他接入", "Traffic, other"),
    "08": ("城市管理接入", "City management"),
    "09": ("卫生环保接入", "Health and environment"),
    "11": ("教育部门接入", "Education"),
    "42": ("制造企业接入", "Manufacturing"),
    "44": ("电力企业接入", "Power"),
    "45": ("燃气企业接入", "Gas"),
    "49": ("信息企业接入", "Information and telecom"),
    "50": ("住宿和餐饮业接入", "Hotels and catering"),
    "51": ("金融企业接入", "Finance"),
    "53": ("商务服务业接入", "Business services"),
    "54": ("水利企业接入", "Water"),
    "55": ("娱乐企业接入", "Entertainment"),
    "80": ("居民自建", "Built by residents"),
}
# network code (14th digit): 5 public-security network, 6 e-government network, 7 internet,
# 8 social-resource access network
NETWORK_OF = {"police": "5", "government": "6", "community": "6", "enterprise": "8", "shop": "8",
              "resident": "8"}
# weights for being one of the cameras not networked / not documented (residents most often)
NOT_NETWORKED_W = {"police": 0.05, "government": 0.4, "community": 0.6, "enterprise": 1.0,
                   "shop": 2.5, "resident": 3.5}
SITE_GROUP = {"party_government": "government", "utility": "enterprise", "broadcast_telecom": "enterprise",
              "key_enterprise": "enterprise", "school": "government", "bank": "enterprise",
              "hospital": "government", "mall": "enterprise", "internet_cafe": "enterprise",
              "car_park": "government", "hotel": "enterprise", "residential_estate": "community",
              "square": "government", "high_crime_area": "police"}
SITE_WALLS = {"party_government": 2, "utility": 2, "broadcast_telecom": 1, "key_enterprise": 3,
              "school": 3, "bank": 2, "hospital": 3, "mall": 2, "internet_cafe": 1, "car_park": 0,
              "hotel": 2, "residential_estate": 4, "square": 1, "high_crime_area": 0}


def bearing(dx, dy):
    """Azimuth in degrees, 0 = north, clockwise, in [0, 360)."""
    return np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)


def direction_name(az: float) -> str:
    return DIRS[int(((az + 22.5) % 360) // 45)]


@dataclass
class Cam:
    x: float
    y: float
    azimuth: float
    hfov: float
    range_m: float
    height: float
    kind: str
    industry: str
    group: str
    owner: str
    name: str


class CameraPlan:
    """Collects cameras; the plan is turned into a frame (with GB/T 28181 IDs) at the end."""

    def __init__(self, rng, town, buildings: list):
        self.rng = rng
        self.town = town
        self.footprints = np.asarray(buildings, dtype=object)
        self.tree = shapely.STRtree(self.footprints)
        self.cams: list[Cam] = []

    def off_roofs(self, x: float, y: float) -> tuple[float, float]:
        """A pole never stands inside a building: move it 1 m out of the wall nearest to it."""
        hit = self.tree.query(Point(x, y), predicate="within")
        if len(hit) == 0:
            return x, y
        b = self.footprints[hit[0]]
        p = b.exterior.interpolate(b.exterior.project(Point(x, y)))
        c = b.centroid
        dx, dy = p.x - c.x, p.y - c.y
        n = max(np.hypot(dx, dy), 1e-9)
        return p.x + dx / n, p.y + dy / n

    def add(self, x, y, az, kind="fixed", industry="00", group="police", owner="", name="",
            mount="pole", hfov=None, rng_m=None):
        r = self.rng
        if mount != "wall":
            x, y = self.off_roofs(x, y)
        if not self.town.contains(Point(x, y)):
            return
        if kind == "ptz":
            hfov, rng_m, height = 360.0, float(r.uniform(60, 80)), float(r.uniform(7, 8.5))
        else:
            hfov = hfov or float(r.choice([42.0, 55.0, 68.0, 85.0, 95.0]))
            rng_m = rng_m or float(np.clip(r.normal(2600.0 / hfov, 4), 20, 80))  # narrow lens, far
            height = float(r.uniform(3, 4.5)) if mount == "wall" else float(r.uniform(5, 7))
        az = float(np.mod(az + r.normal(0, 6), 360.0)) % 360.0
        self.cams.append(Cam(float(x), float(y), az, hfov, rng_m, height, kind, industry, group, owner, name))

    def wall(self, building, toward: Point, **kw):
        """A camera on the wall of ``building`` nearest to ``toward``, just inside the
        footprint, looking out towards ``toward``."""
        p = nearest_points(building.exterior, toward)[0]
        dx, dy = toward.x - p.x, toward.y - p.y
        n = max(np.hypot(dx, dy), 1e-9)
        x, y = p.x - 0.3 * dx / n, p.y - 0.3 * dy / n
        if not building.contains(Point(x, y)):
            x, y = p.x, p.y
        self.add(x, y, float(bearing(dx, dy)), mount="wall", **kw)

    def along(self, road: Road, step: float, name: str, **kw):
        """Poles at one side of ``road`` every ``step`` metres, looking along it."""
        line = road.line
        n = int(line.length // step)
        for k in range(n):
            s = (k + 0.5) * line.length / max(n, 1)
            p, q = line.interpolate(max(s - 2, 0)), line.interpolate(min(s + 2, line.length))
            tx, ty = q.x - p.x, q.y - p.y
            t = max(np.hypot(tx, ty), 1e-9)
            side = 1 if k % 2 == 0 else -1
            off = road.width_m / 2 + 1.5
            c = line.interpolate(s)
            x, y = c.x - side * off * ty / t, c.y + side * off * tx / t
            az = bearing(tx, ty) if side > 0 else bearing(-tx, -ty)
            self.add(x, y, float(az), name=f"{name}{k + 1}号杆{direction_name(float(az))}向", **kw)


def plan_cameras(L: Layout, F: Filled, addresses: list[str], rng) -> CameraPlan:
    plan = CameraPlan(rng, L.town, F.buildings.geom)
    road_cameras(plan, F.roads, L)
    intersection_domes(plan, F.roads, L)
    for si, s in enumerate(F.sites):
        site_cameras(plan, si, s, F, rng)
    village_cameras(plan, L, F)
    home_cameras(plan, L, F, addresses, rng)
    return plan


def road_cameras(plan: CameraPlan, roads: list[Road], L: Layout) -> None:
    for r in roads:
        name = r.name or "道路"
        if r.road_class == "provincial":
            plan.along(r, 110, name, industry="04", owner="德清县公安局交通警察大队示范中队")
        elif r.road_class == "main_street":
            plan.along(r, 130, name, owner="示范镇派出所")
        elif r.road_class == "village_main":
            plan.along(r, 300, name, owner="示范镇派出所")
        elif r.road_class == "lane" and r.name and L.core.contains(r.line.centroid):
            plan.along(r, 170, name, owner="示范镇派出所")


def intersection_domes(plan: CameraPlan, roads: list[Road], L: Layout) -> None:
    """PTZ domes at the corners of crossings of provincial, main and village roads."""
    major = [r for r in roads if r.road_class in ("provincial", "main_street", "village_main")]
    seen: list[Point] = []
    for i, a in enumerate(major):
        for b in major[i + 1:]:
            if a.name == b.name:
                continue
            for p in shapely.get_parts(shapely.intersection(a.line, b.line)):
                if p.geom_type != "Point" or any(p.distance(q) < 40 for q in seen):
                    continue
                seen.append(p)
                off = max(a.width_m, b.width_m) / 2 + 2.0
                plan.add(p.x + off * 0.7, p.y + off * 0.7, 45.0, kind="ptz", owner="示范镇派出所",
                         name=f"{a.name}与{b.name}交叉口球机")


def site_cameras(plan: CameraPlan, si: int, s: Site, F: Filled, rng) -> None:
    group = SITE_GROUP[s.category]
    kw = dict(industry=s.industry, group=group, owner=s.owner)
    inside = s.geom.representative_point()
    for k, g in enumerate(s.entrances):
        dx, dy = inside.x - g.x, inside.y - g.y
        n = max(np.hypot(dx, dy), 1e-9)
        x, y = g.x + 6 * dx / n, g.y + 6 * dy / n
        plan.add(x, y, float(bearing(-dx, -dy)), name=f"{s.name}{k + 1}号门", hfov=float(rng.choice([68.0, 85.0])),
                 rng_m=float(rng.uniform(25, 40)), **kw)
    blds = [i for i, b in enumerate(F.buildings.site) if b == si]
    if s.category == "residential_estate":
        blds = [i for i, (g, k) in enumerate(zip(F.buildings.geom, F.buildings.kind))
                if k == "apartment" and s.geom.contains(g)]
    target = s.entrances[0] if s.entrances else inside
    for k in range(min(SITE_WALLS[s.category], len(blds))):
        b = F.buildings.geom[blds[k % len(blds)]]
        toward = target if k % 2 == 0 else _away(b, inside)
        plan.wall(b, toward, name=f"{F.buildings.name[blds[k % len(blds)]] or s.name}外墙{k + 1}", **kw)
    if s.category in ("square", "car_park", "high_crime_area"):
        open_area_cameras(plan, s, rng, kw)


def _away(b, inside: Point) -> Point:
    c = b.centroid
    dx, dy = c.x - inside.x, c.y - inside.y
    n = max(np.hypot(dx, dy), 1e-9)
    return Point(c.x + 30 * dx / n, c.y + 30 * dy / n)


def open_area_cameras(plan: CameraPlan, s: Site, rng, kw) -> None:
    """Squares, car parks and high-crime areas: poles on the edge looking in, and a dome."""
    c = s.geom.centroid
    ring = s.geom.exterior
    n = 4 if s.category != "car_park" else 2
    for k in range(n):
        p = ring.interpolate((k + rng.uniform(0.2, 0.8)) / n, normalized=True)
        q = Point(p.x + 0.15 * (c.x - p.x), p.y + 0.15 * (c.y - p.y))
        plan.add(q.x, q.y, float(bearing(c.x - q.x, c.y - q.y)), name=f"{s.name}{k + 1}号杆", **kw)
    if s.category != "car_park":
        plan.add(c.x, c.y, 0.0, kind="ptz", name=f"{s.name}球机", **kw)


def village_cameras(plan: CameraPlan, L: Layout, F: Filled) -> None:
    """Village entrances (村口) where the village road enters the village, and one pole at
    the entrance of each hamlet."""
    for r in F.roads:
        if r.road_class != "village_main":
            continue
        for v in L.villages:
            if v.kind != "village":
                continue
            owner = f"{v.name}村民委员会"
            for p in shapely.get_parts(shapely.intersection(r.line, v.geom.exterior)):
                if p.geom_type != "Point" or not L.town.contains(p.buffer(5)):
                    continue
                s = r.line.project(p)
                q = r.line.interpolate(min(s + 5, r.line.length))
                az = float(bearing(q.x - p.x, q.y - p.y))
                off = r.width_m / 2 + 1.5
                plan.add(p.x + off, p.y, az, industry="01", group="community", owner=owner, name=f"{v.name}村口")
                plan.add(p.x - off, p.y, (az + 180) % 360, industry="01", group="community", owner=owner,
                         name=f"{v.name}村口（出）")
    for h in F.hamlets:
        if not h.lanes:
            continue
        lane = max(h.lanes, key=lambda ln: ln.length)
        a, b = Point(lane.coords[0]), Point(lane.coords[1])
        plan.add(a.x, a.y, float(bearing(b.x - a.x, b.y - a.y)), industry="01", group="community",
                 owner=f"{L.villages[h.village].name}村民委员会", name=f"{h.name}路口")


def home_cameras(plan: CameraPlan, L: Layout, F: Filled, addresses: list[str], rng) -> None:
    """Cameras residents and shopkeepers put on their own walls (雪亮工程 brought many of them
    onto the platform)."""
    B = F.buildings
    lines = np.array([r.line for r in F.roads], dtype=object)
    tree = shapely.STRtree(lines)
    kinds = np.array(B.kind)
    for kind, share, industry, group, owner in (("house", 0.035, "80", "resident", "居民自建"),
                                                 ("shop", 0.3, "53", "shop", "商户自建")):
        idx = np.flatnonzero(kinds == kind)
        pick = np.sort(rng.choice(idx, int(share * len(idx)), replace=False))
        for i in pick:
            b = B.geom[i]
            toward = nearest_points(lines[tree.nearest(b.centroid)], b.centroid)[0]
            plan.wall(b, toward, industry=industry, group=group, owner=owner, name=f"{addresses[i]}门口")


def camera_frame(plan: CameraPlan, centre_code: str, rng, not_networked: float = 0.15,
                 offline: float = 0.03, undocumented: float = 0.08) -> pd.DataFrame:
    """The cameras as a frame: GB/T 28181 IDs — 8-digit centre code + 2-digit industry +
    3-digit type (131 camera, 132 network camera) + network digit + 6-digit serial = 20
    digits — and exact shares of not networked, offline and undocumented cameras."""
    df = pd.DataFrame([c.__dict__ for c in plan.cams])
    n = len(df)
    w = df["group"].map(NOT_NETWORKED_W).to_numpy(float)
    df["networked"] = ~_pick(rng, n, not_networked, w)
    df["online"] = ~_pick(rng, n, offline, np.ones(n))
    df["documented"] = ~_pick(rng, n, undocumented, w)
    df["owner"] = df["owner"].where(df["documented"], None)   # no record (未建档): owner unknown
    analog = rng.random(n) < 0.12
    df["type_code"] = np.where(analog, "131", "132")
    df["network_code"] = df["group"].map(NETWORK_OF)
    res = df["group"] == "resident"
    df.loc[res, "network_code"] = np.where(rng.random(int(res.sum())) < 0.5, "7", "8")
    serial = np.arange(1, n + 1)
    df["gb_id"] = [f"{centre_code}{i}{t}{k}{s:06d}" for i, t, k, s in
                   zip(df["industry"], df["type_code"], df["network_code"], serial)]
    return df


def _pick(rng, n: int, share: float, weights: np.ndarray) -> np.ndarray:
    k = int(round(share * n))
    out = np.zeros(n, dtype=bool)
    out[rng.choice(n, k, replace=False, p=weights / weights.sum())] = True
    return out


def decode_gb28181(gb_id: str) -> dict:
    """Split a 20-digit GB/T 28181 device ID into its parts (digits 1–8 centre, 9–10
    industry, 11–13 type, 14 network, 15–20 serial).

    >>> decode_gb28181("33052199001325000001")["industry"]
    '00'
    """
    if len(gb_id) != 20 or not gb_id.isdigit():
        raise ValueError(f"not a 20-digit GB/T 28181 ID: {gb_id!r}")
    return {"centre": gb_id[:8], "admin": gb_id[:6], "industry": gb_id[8:10], "type": gb_id[10:13],
            "network": gb_id[13], "serial": gb_id[14:]}


# ---------------------------------------------------------------------------------------------
# incidents

INCIDENT_TEXT = {
    "dispute": ["邻里噪音纠纷", "宅基地界址纠纷", "家庭矛盾", "物业费纠纷", "劳资纠纷", "停车位纠纷"],
    "public_order": ["盗窃电动车", "酒后滋事", "打架斗殴", "可疑人员徘徊", "电信诈骗报案"],
    "safety_hazard": ["消防通道堵塞", "电动车楼道充电", "燃气管道老化", "违规燃放烟花爆竹", "危房隐患"],
    "city_management": ["占道经营", "车辆乱停放", "垃圾乱堆放", "违章搭建", "路灯损坏", "井盖缺失"],
    "service_request": ["低保咨询", "证件代办", "老人帮扶", "就业咨询", "医保缴费咨询"],
}
HOT_TEXT = {
    "market": {"city_management": ["农贸市场门口占道经营", "市场周边车辆乱停放"], "dispute": ["摊位纠纷", "缺斤短两纠纷"]},
    "square": {"dispute": ["广场舞噪音扰民"], "public_order": ["广场儿童走失", "扒窃"]},
    "nightlife": {"public_order": ["酒后滋事", "KTV门口打架斗殴", "醉酒驾驶嫌疑"], "dispute": ["烧烤摊噪音扰民"]},
    "rental": {"safety_hazard": ["出租房电动车违规充电", "群租房消防隐患"], "public_order": ["出租房盗窃"]},
}
TYPES = ["dispute", "public_order", "safety_hazard", "city_management", "service_request"]
SOURCES = ["grid_worker", "hotline", "camera", "resident"]
# share of all incidents and (type probabilities) per hot spot; sd of the location (m)
HOT_SPOTS = {"market": (0.075, [0.3, 0.05, 0.05, 0.6, 0.0], 30.0),
             "square": (0.055, [0.45, 0.4, 0.05, 0.1, 0.0], 35.0),
             "nightlife": (0.07, [0.2, 0.7, 0.05, 0.05, 0.0], 25.0),
             "rental": (0.03, [0.15, 0.3, 0.55, 0.0, 0.0], 30.0)}


def incident_places(L: Layout, F: Filled, n: int, rng) -> pd.DataFrame:
    """Where and what: hot spots, homes (weighted by households) and roads."""
    parts = []
    left = n
    for name, (share, p, sd) in HOT_SPOTS.items():
        k = int(share * n)
        xy = _around(F.hot_spots[name], k, sd, rng)
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "type": rng.choice(TYPES, k, p=p),
                                   "spot": name}))
        left -= k
    k_road = int(0.15 * n)
    parts.append(_on_roads(F.roads, k_road, rng))
    parts.append(_at_homes(F.buildings, left - k_road, rng))
    df = pd.concat(parts, ignore_index=True)
    return _inside(df, L, F, rng)


def _around(geom, k: int, sd: float, rng) -> np.ndarray:
    if geom.geom_type == "LineString":
        s = rng.uniform(0, geom.length, k)
        base = shapely.get_coordinates(shapely.line_interpolate_point(geom, s))
        return base + rng.normal(0, sd, (k, 2))
    return np.array(geom.coords[0]) + rng.normal(0, sd, (k, 2))


def _on_roads(roads: list[Road], k: int, rng) -> pd.DataFrame:
    busy = [r for r in roads if r.road_class in ("provincial", "main_street", "village_main")]
    w = np.array([r.line.length * {"provincial": 3, "main_street": 4, "village_main": 1}[r.road_class]
                  for r in busy])
    pick = rng.choice(len(busy), k, p=w / w.sum())
    s = rng.random(k)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(
        np.array([busy[i].line for i in pick], dtype=object), s, normalized=True))
    pts += rng.normal(0, 5, pts.shape)
    return pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "spot": "road",
                         "type": rng.choice(TYPES, k, p=[0.15, 0.25, 0.15, 0.45, 0.0])})


def _at_homes(B: Buildings, k: int, rng) -> pd.DataFrame:
    hh = np.array(B.households, float)
    pick = rng.choice(len(hh), k, p=hh / hh.sum())
    c = shapely.get_coordinates(shapely.centroid(np.array(B.geom, dtype=object)[pick]))
    c += rng.normal(0, 10, c.shape)
    return pd.DataFrame({"x": c[:, 0], "y": c[:, 1], "spot": "home",
                         "type": rng.choice(TYPES, k, p=[0.32, 0.1, 0.2, 0.13, 0.25])})


def _inside(df: pd.DataFrame, L: Layout, F: Filled, rng) -> pd.DataFrame:
    """Move incidents that fell outside the town to a random home."""
    shapely.prepare(L.town)
    out = ~shapely.contains_xy(L.town, df["x"].to_numpy(), df["y"].to_numpy())
    if out.any():
        homes = _at_homes(F.buildings, int(out.sum()), rng)
        df.loc[out, ["x", "y"]] = homes[["x", "y"]].to_numpy()
        inside = shapely.contains_xy(L.town, df["x"].to_numpy(), df["y"].to_numpy())
        df = df[inside].reset_index(drop=True)
    return df


def incident_times(df: pd.DataFrame, year: int, rng) -> pd.DataFrame:
    """When, and how far along the closed loop each one is at the end of the year."""
    n = len(df)
    start = pd.Timestamp(f"{year}-01-01", tz="Asia/Shanghai")
    end = pd.Timestamp(f"{year + 1}-01-01", tz="Asia/Shanghai")
    days = pd.date_range(start, end, freq="D", inclusive="left")
    night = df["spot"].eq("nightlife").to_numpy()
    day = np.empty(n, dtype=int)
    for mask, weekend in ((night, 1.8), (~night, 1.15)):
        w = _day_weights(days, weekend, df["type"].to_numpy()[mask], rng)
        day[mask] = rng.choice(len(days), int(mask.sum()), p=w)
    hour = _hours(df, rng)
    occurred = start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(np.round(hour * 3600), unit="s")
    return _loop(df.assign(occurred_at=occurred), end, rng)


def _day_weights(days: pd.DatetimeIndex, weekend: float, types: np.ndarray, rng) -> np.ndarray:
    doy = days.day_of_year.to_numpy()
    w = 1 + 0.25 * np.cos(2 * np.pi * (doy - 200) / 365)          # summer peak
    w *= np.where(days.day_of_week.to_numpy() >= 5, weekend, 1.0)    # weekends
    spring = (doy >= 25) & (doy <= 40)                              # Spring Festival weeks
    w *= np.where(spring, 1.35, 1.0)
    return w / w.sum()


# relative frequency per hour of the day (0–23): everyday life, the nightlife street, the market
HOURS = {
    "day": [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5, 5.5, 5, 4, 4, 4.5, 5, 5.5, 5.5, 6, 6, 5, 4, 3, 2],
    "nightlife": [6, 5, 3.5, 1.5, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8, 1.2,
                  2.5, 4, 5.5, 6.5, 7],
    "market": [0.1, 0.1, 0.1, 0.2, 0.6, 2.5, 5, 7, 7, 5.5, 4, 3, 2, 1.2, 1, 1, 1.2, 1.5, 1.2, 0.6, 0.3, 0.2, 0.1, 0.1],
}


def _hours(df: pd.DataFrame, rng) -> np.ndarray:
    """Hour of the day (fractional) from the hourly profile of each incident's place."""
    profile = np.where(df["spot"].isin(["nightlife", "market"]), df["spot"], "day")
    h = np.empty(len(df))
    for name, w in HOURS.items():
        mask = profile == name
        w = np.asarray(w, float)
        h[mask] = rng.choice(24, int(mask.sum()), p=w / w.sum()) + rng.random(int(mask.sum()))
    return h


def _loop(df: pd.DataFrame, end: pd.Timestamp, rng) -> pd.DataFrame:
    """Source and the steps report → accept → handle → resolve → evaluate; steps after the
    end of the period have not happened yet (status is the last step reached)."""
    n = len(df)
    src = rng.choice(SOURCES, n, p=[0.5, 0.2, 0.1, 0.2])
    src = np.where(df["spot"].isin(["market", "nightlife"]) & (rng.random(n) < 0.35), "camera", src)
    report_min = {"grid_worker": 25, "hotline": 15, "camera": 4, "resident": 45}
    med = np.array([report_min[s] for s in src], float)
    t_rep = df["occurred_at"] + _minutes(rng, med, 0.8)
    late = (t_rep - end).clip(lower=pd.Timedelta(0))          # reported after new year: happened earlier
    late = late.where(late == pd.Timedelta(0), late + pd.Timedelta(minutes=5))
    df = df.assign(occurred_at=df["occurred_at"] - late)
    t_rep = t_rep - late
    t_acc = t_rep + _minutes(rng, np.full(n, 20.0), 0.7)
    slow = np.where(df["type"].eq("service_request"), 1440.0, 360.0)
    t_han = t_acc + _minutes(rng, slow, 0.9)
    t_res = t_han + _minutes(rng, np.full(n, 600.0), 0.9)
    t_eva = t_res + _minutes(rng, np.full(n, 2880.0), 0.6)
    stuck = rng.random(n) < 0.012          # waiting on another department
    t_res = t_res.where(~stuck)
    no_eval = rng.random(n) < 0.06          # resident never rated it
    t_eva = t_eva.where(~stuck & ~no_eval)
    steps = [t_acc, t_han, t_res, t_eva]
    for i in range(len(steps)):
        late = ~(steps[i] <= end)
        for j in range(i, len(steps)):
            steps[j] = steps[j].where(~late)
    status = np.full(n, "reported", dtype=object)
    for name, t in zip(["accepted", "handled", "resolved", "evaluated"], steps):
        status = np.where(t.notna(), name, status)
    return df.assign(source=src, status=status, reported_at=t_rep,
                     accepted_at=steps[0], handled_at=steps[1], resolved_at=steps[2], evaluated_at=steps[3])


def _minutes(rng, median: np.ndarray, sigma: float) -> pd.Series:
    m = median * np.exp(rng.normal(0, sigma, len(median)))
    return pd.Series(pd.to_timedelta(np.round(m * 60), unit="s"))


def incident_text(df: pd.DataFrame, rng) -> np.ndarray:
    out = np.empty(len(df), dtype=object)
    for (t, spot), idx in df.groupby(["type", "spot"], sort=True).indices.items():
        pool = np.array(HOT_TEXT.get(spot, {}).get(t) or INCIDENT_TEXT[t], dtype=object)
        out[idx] = pool[rng.integers(len(pool), size=len(idx))]
    return out


# ---------------------------------------------------------------------------------------------
# people

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# Zhejiang-heavy weighting for the first few
SURNAME_W = np.array([6 if s in "沈姚钱徐陈王张朱吴金" else 1 for s in SURNAMES], float)
GIVEN_M = "伟强军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋磊建国峰文斌浩然志强海东晓东"
GIVEN_F = "芳娜敏静丽艳娟霞秀英华慧巧美娅婷雪琳晶玲桂红梅莉兰凤洁琴云莲真环瑶怡蓉萍燕"


class People:
    """Seeded Chinese names (unique within the town) and clearly synthetic mobile numbers
    (199 0000 xxxx: the 1990000 block is used for no real subscriber here)."""

    def __init__(self, rng):
        self.rng = rng
        self.used: set[str] = set()
        self.phones = iter(rng.permutation(np.arange(1, 10000)))

    def name(self) -> str:
        r = self.rng
        for _ in range(100):
            s = SURNAMES[r.choice(len(SURNAMES), p=SURNAME_W / SURNAME_W.sum())]
            pool = GIVEN_M if r.random() < 0.55 else GIVEN_F
            given = "".join(pool[int(r.integers(len(pool)))] for _ in range(int(r.choice([1, 2], p=[0.3, 0.7]))))
            if s + given not in self.used:
                self.used.add(s + given)
                return s + given
        raise RuntimeError("ran out of names")

    def phone(self) -> str:
        return f"1990000{int(next(self.phones)):04d}"


def staff_tables(grids: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staff and their assignments (三定): every grid has >= 2 responsible persons (town
    leaders; village secretary and director; grid head and secretary for basic grids), each
    village / community a police officer (also on its basic grids) and a supervisor, and every
    basic grid 2–3 grid managers of its own."""
    people = People(rng)
    staff, assign = [], []

    def person(title: str) -> int:
        staff.append({"key": len(staff), "name": people.name(), "phone": people.phone(), "title": title})
        return len(staff) - 1

    town = grids[grids["level"] == 0].iloc[0]
    secretary, mayor, zongzhi = person("镇党委书记"), person("镇长"), person("镇综治办主任")
    assign += [(town["code"], secretary, "responsible"), (town["code"], mayor, "responsible"),
               (town["code"], zongzhi, "supervisor")]
    for _, v in grids[grids["level"] == 1].iterrows():
        is_village = v["name"].endswith("村")
        sec = person("村党组织书记" if is_village else "社区党委书记")
        head = person("村民委员会主任" if is_village else "社区居民委员会主任")
        police = person("社区民警")
        sup = person("包村干部" if is_village else "包社区干部")
        assign += [(v["code"], sec, "responsible"), (v["code"], head, "responsible"),
                   (v["code"], police, "police"), (v["code"], sup, "supervisor")]
        basics = grids[grids["parent_code"] == v["code"]].sort_values("code")
        heads = [person("网格长（两委委员）") for _ in range(max(1, int(np.ceil(len(basics) / 3))))]
        for k, (_, g) in enumerate(basics.iterrows()):
            assign += [(g["code"], sec, "responsible"), (g["code"], heads[k // 3], "responsible"),
                       (g["code"], police, "police")]
            for m in range(int(rng.choice([2, 3], p=[0.6, 0.4]))):
                assign.append((g["code"], person("专职网格员" if m == 0 else "兼职网格员"), "grid_manager"))
    return (pd.DataFrame(staff),
            pd.DataFrame(assign, columns=["grid_code", "staff_key", "role"]))
