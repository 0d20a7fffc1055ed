"""Filling the demo town's grids: roads, key sites (with their buildings) and homes.

Local metric frame as in :mod:`data.demo_layout`. Buildings are placed inside each basic
grid's *free space* (the grid shrunk by a margin, minus road corridors and reserved parcels),
so that no building is cut by a grid boundary or overlaps a road, and homes are added to a
grid only until its household budget (<= the cap) is reached.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import LineString, Point, Polygon, affinity
from shapely.ops import nearest_points

from data.demo_layout import PROVINCIAL_NAME, Layout, lines_of

MARGIN = 4.0  # m kept free inside every grid boundary
BUDGET = (185, 200)  # households aimed at per basic grid (the cap is 200)


@dataclass
class Road:
    line: LineString
    road_class: str
    width_m: float
    name: str | None


@dataclass
class Site:
    """A key site (重点部位): its parcel, gates and the grid it lies in."""

    category: str
    name: str
    geom: Polygon
    grid: int
    entrances: list[Point] = field(default_factory=list)
    industry: str = "03"   # GB/T 28181 industry code of its cameras
    owner: str = ""


@dataclass
class Buildings:
    """Columns of the building layer, filled as buildings are placed."""

    geom: list = field(default_factory=list)
    households: list = field(default_factory=list)
    residential: list = field(default_factory=list)
    floors: list = field(default_factory=list)
    name: list = field(default_factory=list)
    kind: list = field(default_factory=list)   # apartment, house, resettlement, shop, shed, site
    grid: list = field(default_factory=list)
    site: list = field(default_factory=list)   # index into sites or -1
    hamlet: list = field(default_factory=list)  # rural houses: hamlet id or -1

    def add(self, geoms, households, residential, floors, name, kind, grid, site=-1, hamlet=-1):
        n = len(geoms)
        self.geom += list(geoms)
        for col, v in ((self.households, households), (self.residential, residential),
                       (self.floors, floors), (self.name, name), (self.kind, kind),
                       (self.grid, grid), (self.site, site), (self.hamlet, hamlet)):
            col += list(v) if isinstance(v, (list, np.ndarray)) else [v] * n

    def __len__(self) -> int:
        return len(self.geom)


@dataclass
class Hamlet:
    name: str
    village: int
    grid: int
    centre: Point
    axis: float
    lanes: list[LineString]


# ---------------------------------------------------------------------------------------------
# rectangles

def rects(cx, cy, w, d, angle: float) -> np.ndarray:
    """Rectangles of width ``w`` (along ``angle``) and depth ``d`` centred at (cx, cy)."""
    cx, cy = np.atleast_1d(np.asarray(cx, float)), np.atleast_1d(np.asarray(cy, float))
    w = np.broadcast_to(np.asarray(w, float), cx.shape)[:, None] / 2
    d = np.broadcast_to(np.asarray(d, float), cx.shape)[:, None] / 2
    hx, hy = np.array([-1, 1, 1, -1, -1]) * w, np.array([-1, -1, 1, 1, -1]) * d
    c, s = np.cos(angle), np.sin(angle)
    return shapely.polygons(np.stack([cx[:, None] + hx * c - hy * s, cy[:, None] + hx * s + hy * c], -1))


def lattice(region, w, d, pitch_x: float, pitch_y: float, angle: float, rng,
            jitter: float = 0.0, avoid=None) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles on a rotated lattice that lie wholly inside ``region`` and touch nothing in
    ``avoid`` (a sequence of polygons); returns the rectangles and their centres (n, 2)."""
    if region is None or region.is_empty:
        return np.empty(0, dtype=object), np.empty((0, 2))
    c0 = region.centroid
    x0, y0, x1, y1 = affinity.rotate(region, -angle, origin=c0, use_radians=True).bounds
    xs = np.arange(x0 + rng.uniform(0, pitch_x), x1, pitch_x)
    ys = np.arange(y0 + rng.uniform(0, pitch_y), y1, pitch_y)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    if jitter:
        gx, gy = gx + rng.uniform(-jitter, jitter, gx.shape), gy + rng.uniform(-jitter, jitter, gy.shape)
    c, s = np.cos(angle), np.sin(angle)
    wx, wy = c0.x + (gx - c0.x) * c - (gy - c0.y) * s, c0.y + (gx - c0.x) * s + (gy - c0.y) * c
    shapely.prepare(region)
    inside = shapely.contains_xy(region, wx, wy)  # cheap pre-filter on the centres
    wx, wy = wx[inside], wy[inside]
    polys = rects(wx, wy, w, d, angle)
    ok = shapely.contains_properly(region, polys)
    if avoid is not None and len(avoid) and ok.any():
        hit = shapely.STRtree(np.asarray(avoid, dtype=object)).query(polys, predicate="intersects")[0]
        ok[hit] = False
    return polys[ok], np.column_stack([wx, wy])[ok]


def place_rect(region, w: float, d: float, angle: float, target, rng, step: float = 4.0,
               avoid=None):
    """The w×d rectangle inside ``region`` (clear of ``avoid``) nearest to ``target`` (a
    point), or None. Searches near the target first."""
    if region is None or region.is_empty:
        return None
    t = np.array(target.coords[0])
    for radius in (80.0 + max(w, d), 400.0, None):
        local = region if radius is None else region.intersection(target.buffer(radius, quad_segs=4))
        st = max(step, float(np.sqrt(local.area / 600.0)))  # at most ~600 candidates
        polys, centres = lattice(local, w, d, st, st, angle, rng, avoid=avoid)
        if len(polys):
            return polys[int(np.argmin(np.hypot(*(centres - t).T)))]
    return None


class RoadList(list):
    """Roads with a spatial index built on demand (rebuilt after roads are added)."""

    _tree = None
    _indexed = -1

    def tree(self) -> shapely.STRtree:
        if self._indexed != len(self):
            self._tree = shapely.STRtree(np.array([r.line for r in self], dtype=object))
            self._indexed = len(self)
        return self._tree


def nearest_road(roads: list[Road], p: Point) -> Road:
    """The road nearest to ``p``."""
    tree = roads.tree() if isinstance(roads, RoadList) else \
        shapely.STRtree(np.array([r.line for r in roads], dtype=object))
    return roads[int(tree.nearest(p))]


def road_angle(roads: list[Road], p: Point) -> float:
    """Direction (radians) of the road nearest to ``p`` at its nearest point."""
    r = nearest_road(roads, p)
    s = r.line.project(p)
    a, b = r.line.interpolate(max(s - 5, 0)), r.line.interpolate(min(s + 5, r.line.length))
    return float(np.arctan2(b.y - a.y, b.x - a.x))


# ---------------------------------------------------------------------------------------------
# roads

def base_roads(L: Layout, rng) -> list[Road]:
    """Provincial road, core streets, village main roads and field lanes on grid edges."""
    roads = RoadList(Road(p, "provincial", 20.0, PROVINCIAL_NAME) for p in L.provincial)
    roads += [Road(s.line, s.road_class, s.width_m, s.name) for s in L.streets]
    roads += village_main_roads(L, rng, roads)
    roads += field_lanes(L, rng)
    return roads


def village_centres(L: Layout) -> dict[int, Point]:
    """Centre of each rural village: inside the grid nearest to the village's middle, on
    the side facing the town."""
    out = {}
    core_c = L.core.centroid
    for v in L.villages:
        if v.kind != "village":
            continue
        mid = v.geom.point_on_surface()
        mid = Point((2 * mid.x + core_c.x) / 3, (2 * mid.y + core_c.y) / 3)
        gi = min(v.grids, key=lambda g: L.grids[g].geom.distance(mid) + 1e-3 * L.grids[g].geom.centroid.distance(mid))
        out[v.index] = L.grids[gi].geom.point_on_surface()
    return out


def village_main_roads(L: Layout, rng, roads: list[Road]) -> list[Road]:
    """From each village centre to the nearest street end at the core (or the provincial
    road), and on outwards through the village."""
    ends = [Point(c) for s in L.streets for c in (s.line.coords[0], s.line.coords[-1])
            if L.core.exterior.distance(Point(c)) < 0.5]
    prov = shapely.union_all([r.line for r in roads if r.road_class == "provincial"])
    out = []
    for vi, c in village_centres(L).items():
        v = L.villages[vi]
        cands = ends + [nearest_points(prov, c)[0]]
        target = min(cands, key=lambda p: p.distance(c))
        inward = _jagged(rng, c, target)
        away = np.arctan2(c.y - target.y, c.x - target.x) + rng.uniform(-0.5, 0.5)
        far = Point(c.x + 1400 * np.cos(away), c.y + 1400 * np.sin(away))
        outward = _jagged(rng, c, far)
        line = shapely.line_merge(shapely.MultiLineString([inward.reverse(), outward]))
        name = v.name[:-1] + "路"
        for part in lines_of(shapely.intersection(line, L.town)):
            out.append(Road(part, "village_main", 6.0, name))
    return out


def _jagged(rng, a: Point, b: Point, n: int = 4, sd: float = 30.0) -> LineString:
    t = np.linspace(0, 1, n + 2)
    x, y = a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)
    length = a.distance(b)
    nx, ny = -(b.y - a.y) / max(length, 1), (b.x - a.x) / max(length, 1)
    off = np.concatenate([[0], rng.normal(0, sd, n), [0]])
    return LineString(np.column_stack([x + off * nx, y + off * ny]))


def field_lanes(L: Layout, rng, share: float = 0.45) -> list[Road]:
    """Field roads (机耕路) along some edges between rural grids: grid edges follow roads."""
    rural = [i for i, g in enumerate(L.grids) if not g.urban]
    geoms = np.array([L.grids[i].geom for i in rural], dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="touches")
    out = []
    for i, j in zip(a, b):
        if i < j and rng.random() < share:
            edge = shapely.intersection(geoms[i].boundary, geoms[j].boundary)
            out += [Road(p, "lane", 4.0, None) for p in lines_of(edge) if p.length > 80]
    return out


def corridors(roads: list[Road]) -> np.ndarray:
    """Road corridors where nothing may be built: the road plus a set-back."""
    return np.array([r.line.buffer(r.width_m / 2 + 3.0 + 0.15 * r.width_m, cap_style="flat")
                     for r in roads], dtype=object)


# ---------------------------------------------------------------------------------------------
# free space

class Space:
    """Where building is allowed in each grid: ``of(gi)`` is the grid shrunk by MARGIN minus
    road corridors; ``taken[gi]`` lists what is already placed there (with its spacing)."""

    def __init__(self, L: Layout, roads: list[Road]):
        self.L = L
        self.corr = corridors(roads)
        self.tree = shapely.STRtree(self.corr)
        self.base: dict[int, object] = {}
        self.taken: dict[int, list] = {i: [] for i in range(len(L.grids))}

    def of(self, gi: int):
        if gi not in self.base:
            base = self.L.grids[gi].geom.buffer(-MARGIN)
            hit = self.tree.query(base, predicate="intersects")
            self.base[gi] = base.difference(shapely.union_all(self.corr[hit])) if len(hit) else base
        return self.base[gi]

    def reserve(self, gi: int, geoms, gap: float = 3.0) -> None:
        geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
        self.taken[gi] += list(shapely.buffer(geoms, gap) if gap else geoms)

    def free(self, gi: int):
        """The free area itself (a polygon operation: for the few places that need it)."""
        t = self.taken[gi]
        return self.of(gi).difference(shapely.union_all(t)) if t else self.of(gi)


def largest(geom):
    """The largest polygon of a (multi)polygon, or None."""
    if geom is None or geom.is_empty:
        return None
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else None


def grid_at(L: Layout, p: Point) -> int:
    """Index of the basic grid containing (or nearest to) ``p``."""
    d = [g.geom.distance(p) for g in L.grids]
    return int(np.argmin(d))


# ---------------------------------------------------------------------------------------------
# key sites

# use of a whole urban block -> its sites: category, name, GB/T 28181 industry of their cameras,
# buildings [(label, w, d, floors)]; a block with two sites is split between them
BLOCK_SITES = {
    "government": [("party_government", "示范镇人民政府", "03", [("办公楼", 60, 20, 5), ("便民服务中心", 36, 18, 3)]),
                   ("party_government", "示范镇派出所", "02", [("办公楼", 40, 15, 4), ("车库", 24, 10, 1)])],
    "square": [("square", "示范镇文化广场", "08", [("文化中心", 42, 30, 3)])],
    "market": [("square", "示范镇农贸市场", "08", [("市场大棚", 70, 45, 1), ("管理用房", 20, 10, 2)]),
               ("car_park", "农贸市场停车场", "07", [])],
    "middle_school": [("school", "示范镇中学", "11", [("教学楼A", 60, 15, 5), ("教学楼B", 60, 15, 5),
                                                   ("实验楼", 48, 15, 4), ("宿舍楼", 50, 14, 6), ("食堂", 32, 20, 2)])],
    "primary_school": [("school", "示范镇中心小学", "11", [("教学楼", 60, 15, 4), ("综合楼", 40, 15, 4),
                                                        ("食堂", 28, 18, 2)])],
    "hospital": [("hospital", "示范镇卫生院", "09", [("门诊楼", 50, 20, 4), ("住院楼", 60, 16, 6),
                                                  ("医技楼", 30, 16, 3)])],
}

# category, name, industry, (w, d), frame target (x, y) or a keyword, buildings
PARCEL_SITES = [
    ("school", "示范镇中心幼儿园", "11", (70, 55), (-330, 260), [("教学楼", 40, 18, 3)]),
    ("bank", "中国农业银行示范镇支行", "51", (30, 22), (110, 40), [("营业楼", 22, 14, 3)]),
    ("bank", "示范农商银行营业部", "51", (30, 22), (-120, -40), [("营业楼", 22, 14, 3)]),
    ("bank", "中国邮政储蓄银行示范镇营业所", "51", (26, 20), (260, -40), [("营业楼", 18, 12, 2)]),
    ("hotel", "悦来宾馆", "50", (46, 26), (330, 40), [("客房楼", 38, 16, 7)]),
    ("mall", "惠民超市", "53", (62, 46), (-230, -45), [("卖场", 52, 36, 2)]),
    ("internet_cafe", "极速网咖", "55", (22, 16), "nightlife:0.3:1", [("网咖", 16, 11, 2)]),
    ("internet_cafe", "星际网吧", "55", (22, 16), "nightlife:0.7:-1", [("网吧", 16, 11, 2)]),
    ("broadcast_telecom", "中国电信示范镇分局", "49", (36, 24), (60, -200), [("机房楼", 28, 15, 4)]),
    ("broadcast_telecom", "示范镇广播电视站", "49", (30, 20), (-150, 320), [("站房", 20, 12, 2)]),
    ("car_park", "镇中心公共停车场", "07", (55, 40), (-260, 60), []),
]

RURAL_SITES = [
    ("key_enterprise", "华宇机械有限公司", "42", (110, 80), ("prov_east", 250, 1), [("一号车间", 64, 30, 1), ("办公楼", 30, 12, 4)]),
    ("key_enterprise", "恒达新材料有限公司", "42", (95, 70), ("prov_east", 480, -1), [("生产车间", 56, 28, 2), ("仓库", 30, 20, 1)]),
    ("key_enterprise", "振兴纺织有限公司", "42", (120, 85), ("prov_east", 720, 1), [("织造车间", 70, 32, 1), ("办公楼", 28, 12, 3)]),
    ("key_enterprise", "绿源食品有限公司", "42", (90, 65), ("prov_east", 960, -1), [("加工车间", 50, 26, 1), ("冷库", 24, 18, 1)]),
    ("hotel", "示范大酒店", "50", (60, 32), ("prov_east", 120, 1), [("主楼", 48, 18, 8)]),
    ("utility", "110千伏示范变电站", "44", (60, 45), ("prov_west", 380, -1), [("主控楼", 22, 12, 2)]),
    ("utility", "示范镇天然气门站", "45", (50, 40), ("prov_east", 1250, -1), [("站房", 16, 10, 1)]),
    ("car_park", "示范镇客运站停车场", "07", (60, 45), ("prov_west", 150, 1), [("候车室", 30, 14, 2)]),
    ("utility", "示范镇自来水厂", "54", (80, 60), ("village_far", 0, 0), [("净水车间", 30, 18, 1), ("综合楼", 22, 12, 3)]),
    ("broadcast_telecom", "移动通信基站（青山）", "49", (14, 14), ("village_far", 1, 0), [("设备间", 5, 4, 1)]),
]


def frame_point(L: Layout, xy) -> Point:
    x, y = L.frame.to_world(xy[0], xy[1])
    return Point(float(x), float(y))


def block_sites(L: Layout, space: Space, rng) -> list[tuple[Site, list]]:
    """Sites that take whole urban blocks (split in two where a block holds two)."""
    out = []
    for use in sorted(L.special_blocks):
        gi = L.grids[L.special_blocks[use]]
        block = gi.blocks[gi.block_use.index(use)]
        region = largest(space.of(L.special_blocks[use]).intersection(block))
        specs = BLOCK_SITES[use]
        parts = [region] if len(specs) == 1 else split_region(L, region, 0.62)
        for spec, part in zip(specs, parts):
            cat, name, ind, blds = spec
            out.append((Site(cat, name, part, L.special_blocks[use], industry=ind, owner=name), blds))
        space.reserve(L.special_blocks[use], region, gap=0.5)
    return out


def split_region(L: Layout, region: Polygon, share: float) -> list[Polygon]:
    """Cut ``region`` across the frame's x axis: the part nearer the main street first."""
    fx, _ = L.frame.to_frame(*np.array(region.exterior.coords).T)
    lo, hi = fx.min(), fx.max()
    near_lo = abs(lo) < abs(hi)
    cut = lo + share * (hi - lo) if near_lo else hi - share * (hi - lo)
    a = _halfplane(L, cut, below=near_lo)
    b = _halfplane(L, cut, below=not near_lo)
    first = largest(region.intersection(a).buffer(-4))
    second = largest(region.intersection(b).buffer(-4))
    return [first, second]


def _halfplane(L: Layout, x: float, below: bool) -> Polygon:
    big = 5000.0
    xs = (x - big, x) if below else (x, x + big)
    wx, wy = L.frame.to_world([xs[0], xs[1], xs[1], xs[0]], [-big, -big, big, big])
    return Polygon(np.column_stack([wx, wy]))


def parcel_target(L: Layout, target, roads: list[Road], centres: dict[int, Point], rng) -> Point:
    """Where a parcel should go: a frame point, a point along the nightlife street, a point
    along the provincial road beyond the core, or far out in a village."""
    if isinstance(target, tuple) and isinstance(target[0], (int, float)):
        return frame_point(L, target)
    if isinstance(target, str) and target.startswith("nightlife"):
        _, t, side = target.split(":")
        p = L.nightlife.interpolate(float(t), normalized=True)
        a = np.arctan2(*np.diff(np.array(L.nightlife.coords)[[0, -1]], axis=0)[0][::-1])
        return Point(p.x - 25 * float(side) * np.sin(a), p.y + 25 * float(side) * np.cos(a))
    kind, dist, side = target
    if kind.startswith("prov"):
        return _along_provincial(L, roads, kind == "prov_east", dist, side)
    vs = sorted(centres)
    c = centres[vs[(int(dist) * 2) % len(vs)]]
    v = L.villages[vs[(int(dist) * 2) % len(vs)]]
    core_c = L.core.centroid
    far = Point(2 * c.x - core_c.x, 2 * c.y - core_c.y)
    return nearest_points(v.geom.buffer(-150), far)[0]


def _along_provincial(L: Layout, roads, east: bool, dist: float, side: int) -> Point:
    """A point ``dist`` metres along the provincial road beyond the core (east or west),
    ``side`` × 55 m to its left or right."""
    prov = max((r.line for r in roads if r.road_class == "provincial"), key=lambda g: g.length)
    fx = lambda s: float(L.frame.to_frame(*prov.interpolate(s).coords[0])[0])
    forward = fx(prov.length) > fx(0.0)  # s grows eastwards
    exits = sorted(prov.project(p) for p in shapely.get_parts(shapely.intersection(prov, L.core.exterior)))
    s = exits[-1] + dist if east == forward else exits[0] - dist
    s = float(np.clip(s, 0, prov.length - 5))
    p, q = prov.interpolate(s), prov.interpolate(s + 5)
    a = np.arctan2(q.y - p.y, q.x - p.x)
    off = 55.0 * side
    return Point(p.x - off * np.sin(a), p.y + off * np.cos(a))


def parcel_sites(L: Layout, space: Space, roads: list[Road], centres, rng) -> list[tuple[Site, list]]:
    """Key sites on parcels inside residential blocks and rural grids, and the village and
    community committees."""
    out = []
    specs = [(c, n, i, wd, t, b) for c, n, i, wd, t, b in PARCEL_SITES]
    specs += [(c, n, i, wd, t, b) for c, n, i, wd, t, b in RURAL_SITES]
    for cat, name, ind, (w, d), target, blds in specs:
        p = parcel_target(L, target, roads, centres, rng)
        site = _place_site(L, space, roads, cat, name, ind, w, d, p, rng)
        if site is not None:
            out.append((site, blds))
    for v in L.villages:
        p = centres.get(v.index) or _community_centre(L, v)
        kind = "村民委员会" if v.kind == "village" else "居民委员会"
        site = _place_site(L, space, roads, "party_government", f"{v.name}{kind}", "01", 40, 28, p, rng,
                           grids=v.grids)
        out.append((site, [("党群服务中心", 30, 14, 3)]))
    return out


def _community_centre(L: Layout, v) -> Point:
    return v.geom.point_on_surface()


def _place_site(L, space, roads, cat, name, ind, w, d, p, rng, grids=None):
    """Place a w×d parcel as near ``p`` as the free space of nearby grids allows."""
    cand = grids if grids is not None else range(len(L.grids))
    order = sorted(cand, key=lambda g: L.grids[g].geom.distance(p))
    for gi in order[:6]:
        if L.grids[gi].special and _only_special(L.grids[gi]):
            continue
        angle = L.frame.theta if L.grids[gi].urban else road_angle(roads, p)
        rect = place_rect(space.of(gi), w, d, angle, p, rng, avoid=space.taken[gi])
        if rect is not None:
            space.reserve(gi, rect)
            return Site(cat, name, rect, gi, industry=ind, owner=name)
    return None


def _only_special(g) -> bool:
    return all(u != "residential" for u in g.block_use)


def site_buildings(si: int, site: Site, blds: list, angle: float, rng, out: Buildings) -> None:
    """The buildings of a site, packed from its middle outwards."""
    region = site.geom.buffer(-5)
    target = site.geom.centroid
    for label, w, d, floors in blds:
        rect = place_rect(region, w, d, angle, target, rng, step=3.0)
        if rect is None:
            rect = place_rect(region, w * 0.7, d * 0.8, angle, target, rng, step=2.0)
        if rect is None:
            continue
        out.add([rect], 0, False, floors, f"{site.name}{label}", "site", site.grid, site=si)
        region = region.difference(rect.buffer(8))
        target = rect.centroid


def entrances(site: Site, roads: list[Road], big: bool) -> list[Point]:
    """Gates: where the parcel comes nearest to the nearest road (and, for big sites, to a
    second road)."""
    near = sorted(roads, key=lambda r: r.line.distance(site.geom))[:4]
    gates = []
    for r in near:
        p = nearest_points(site.geom.exterior, r.line)[0]
        if all(p.distance(g) > 60 for g in gates) and r.line.distance(site.geom) < 40:
            gates.append(p)
        if len(gates) == (2 if big else 1):
            break
    return gates or [nearest_points(site.geom.exterior, near[0].line)[0]]


# ---------------------------------------------------------------------------------------------
# homes

URBAN_TYPES = {  # width range, depth, floors, units (2 households per unit and floor), gaps
    "walkup": dict(w=(48, 60), d=12, floors=6, units=(3, 4), gap=(10, 20)),
    "mid": dict(w=(34, 44), d=14, floors=11, units=(2, 3), gap=(14, 30)),
    "high": dict(w=(30, 36), d=16, floors=18, units=(2, 3), gap=(16, 38)),
}
HOUSE_HH = np.array([1, 2, 3])
MIN_FLAT_HH = 20


def urban_type(L: Layout, gi: int, free_area: float, rng) -> str:
    """Old centre: old houses and walk-ups; middle ring: walk-ups and mid-rise; edge: new
    mid- and high-rise estates. Small blocks are built high."""
    c = L.grids[gi].geom.centroid
    r = c.distance(L.core.centroid) / 700.0
    if free_area < 11000:
        return "high"
    if free_area < 16000:
        return str(rng.choice(["mid", "high"], p=[0.3, 0.7]))
    if r < 0.45:
        return str(rng.choice(["old", "walkup"], p=[0.55, 0.45]))
    if r < 0.75:
        return str(rng.choice(["walkup", "mid", "old"], p=[0.5, 0.3, 0.2]))
    return str(rng.choice(["mid", "high", "walkup"], p=[0.45, 0.35, 0.2]))


def flats(region, kind: str, budget: int, stop_below: int, angle: float, rng, out: Buildings,
          gi: int, compound: str, avoid=None) -> tuple[int, list]:
    """Apartment slabs (south-facing rows) until fewer than ``stop_below`` households are
    left; returns the households left and the slabs placed."""
    t = URBAN_TYPES[kind]
    w = rng.uniform(*t["w"])
    polys, xy = lattice(region, w, t["d"], w + t["gap"][0], t["d"] + t["gap"][1], angle, rng, avoid=avoid)
    placed, left = [], budget
    c = np.array(region.centroid.coords[0])  # rows grow from the middle of the block
    for k in np.argsort(np.hypot(*(xy - c).T) + rng.normal(0, 25, len(xy))):
        if left < max(stop_below, MIN_FLAT_HH):
            break
        units = int(rng.integers(t["units"][0], t["units"][1] + 1))
        hh = min(units * t["floors"] * 2, left)
        placed.append(polys[k])
        out.add([polys[k]], hh, True, t["floors"], f"{compound}{len(placed)}幢", "apartment", gi)
        left -= hh
    return left, placed


def houses(region, left: int, angle: float, rng, out: Buildings, gi: int, hh_p, centre=None,
           hamlet: int = -1, floors=(2, 3), pitch=(14.0, 14.0), avoid=None) -> tuple[int, list]:
    """Family houses (1–3 households) until the budget is used up; nearest to ``centre``
    first when given, else in random order."""
    w = rng.uniform(10, 12)
    polys, xy = lattice(region, w, 10.0, w + pitch[0] - 11, pitch[1], angle, rng, jitter=0.6, avoid=avoid)
    if len(polys) == 0 or left <= 0:
        return left, []
    if centre is None:  # cluster around a random house of the block
        centre = Point(xy[rng.integers(len(xy))])
    order = np.argsort(np.hypot(*(xy - np.array(centre.coords[0])).T) + rng.normal(0, 12, len(xy)))
    placed = []
    for k in order:
        if left <= 0:
            break
        hh = int(min(rng.choice(HOUSE_HH, p=hh_p), left))
        out.add([polys[k]], hh, True, int(rng.integers(floors[0], floors[1] + 1)), None, "house", gi,
                hamlet=hamlet)
        placed.append(polys[k])
        left -= hh
    return left, placed


def shops(region, n: int, angle: float, rng, out: Buildings, gi: int, avoid=None) -> None:
    """Small shops and service buildings at the edge of a block (on the street side)."""
    polys, xy = lattice(region, 12.0, 10.0, 14.0, 12.0, angle, rng, avoid=avoid)
    if len(polys) == 0:
        return
    edge = shapely.distance(region.boundary, shapely.points(xy)) < 14
    idx = np.flatnonzero(edge)
    for k in rng.permutation(idx)[:n]:
        out.add([polys[k]], 0, False, int(rng.integers(1, 3)), None, "shop", gi)


def fill_urban(L: Layout, space: Space, gi: int, budget: int, kind: str, compound: str,
               rng, out: Buildings, flats_region=None) -> int:
    """Homes of one urban grid: slabs (inside ``flats_region`` when given: an estate), then
    houses for what is left, then shops."""
    region = space.of(gi)
    fr = flats_region if flats_region is not None else region
    angle = L.frame.theta
    left = budget
    stop = 90 if kind == "old" else MIN_FLAT_HH
    left, placed = flats(fr, "walkup" if kind == "old" else kind, left, stop, angle, rng, out, gi, compound,
                         avoid=space.taken[gi])
    space.reserve(gi, placed, gap=8.0)
    left, hs = houses(region, left, angle, rng, out, gi, [0.35, 0.4, 0.25], avoid=space.taken[gi])
    space.reserve(gi, hs, gap=2.0)
    shops(region, int(rng.integers(2, 7)), angle, rng, out, gi, avoid=space.taken[gi])
    return budget - left


def ellipse(c: Point, a: float, b: float, angle: float) -> Polygon:
    e = affinity.scale(c.buffer(1.0, quad_segs=16), a, b)
    return affinity.rotate(e, angle, origin=c, use_radians=True)


def hamlet_centre(region, roads_corr, taken: list[Point], occupied: list, rng) -> Point | None:
    """A place for a hamlet: about 70 m from a road, away from other hamlets and from what is
    already built."""
    from data.demo_layout import sample_in
    if region.is_empty or region.area < 6000:
        return None
    pts = shapely.points(sample_in(region, 80, rng))
    if occupied:
        hit = shapely.STRtree(np.asarray(occupied, dtype=object)).query(pts, predicate="within")[0]
        pts = np.delete(pts, np.unique(hit))
    if len(pts) == 0:
        return None
    d_road = shapely.distance(roads_corr, pts)
    score = np.abs(d_road - 70) + rng.normal(0, 25, len(pts))
    for t in taken:
        score += np.where(shapely.distance(t, pts) < 170, 1e4, 0)
    best = int(np.argmin(score))
    return pts[best] if score[best] < 1e4 else None


def hamlet(region, c: Point, axis: float, occupied: list, rng) -> tuple[list[LineString], object]:
    """Lanes (every 34 m along the hamlet's axis) and the area left for houses."""
    a, b = rng.uniform(70, 125), rng.uniform(42, 70)
    shape = ellipse(c, a, b, axis)
    area = shape.intersection(region)
    near = [g for g in occupied if g.intersects(shape)]
    if near:
        area = area.difference(shapely.union_all(near))
    lanes = []
    nx, ny = -np.sin(axis), np.cos(axis)
    for k in (-2, -1, 0, 1, 2):
        off = k * 34.0 + 17.0
        p0 = (c.x + off * nx - a * np.cos(axis), c.y + off * ny - a * np.sin(axis))
        p1 = (c.x + off * nx + a * np.cos(axis), c.y + off * ny + a * np.sin(axis))
        lanes += [p for p in lines_of(shapely.intersection(LineString([p0, p1]), area)) if p.length > 30]
    return lanes, area


def fill_rural(L: Layout, space: Space, roads: list[Road], gi: int, budget: int, rng,
               out: Buildings, hamlets: list[Hamlet], names) -> int:
    """Homes of one rural grid: sometimes a resettlement block, then hamlets of houses
    along lanes until the household budget is reached; a few sheds."""
    region = space.of(gi)
    left = budget
    v = L.grids[gi].village
    if rng.random() < 0.65:
        left = resettlement(L, space, roads, gi, left, rng, out)
    corr = shapely.union_all(space.corr[space.tree.query(L.grids[gi].geom.buffer(200))])
    taken: list[Point] = []
    region = space.of(gi)
    for _ in range(6):
        if left <= 0:
            break
        c = hamlet_centre(region, corr, taken, space.taken[gi], rng)
        if c is None:
            break
        taken.append(c)
        axis = road_angle(roads, c) + rng.normal(0, 0.12)
        lanes, area = hamlet(region, c, axis, space.taken[gi], rng)
        lane_corr = list(shapely.buffer(np.asarray(lanes, dtype=object), 3.5, cap_style="flat"))
        left, hs = houses(area, left, axis, rng, out, gi, [0.1, 0.45, 0.45], centre=c, hamlet=len(hamlets),
                          pitch=(14.0, 15.0), avoid=lane_corr)
        if not hs:
            continue
        space.reserve(gi, hs, gap=2.0)
        space.reserve(gi, lane_corr, gap=0.0)
        hamlets.append(Hamlet(names(v), v, gi, c, axis, lanes))
    sheds(space, [h for h in hamlets if h.grid == gi], rng, out, gi)
    return budget - left


def resettlement(L: Layout, space: Space, roads: list[Road], gi: int, left: int, rng, out: Buildings) -> int:
    """One or two 5–6-storey resettlement blocks (农民安置房) by the village road."""
    region = space.of(gi)
    mains = [r for r in roads if r.road_class == "village_main"]
    c = L.grids[gi].geom.centroid
    target = nearest_points(nearest_road(mains, c).line, c)[0] if mains else c
    angle = road_angle(roads, target)
    for k in range(int(rng.integers(1, 3))):
        rect = place_rect(region, 36.0, 12.0, angle, target, rng, avoid=space.taken[gi])
        if rect is None or left < MIN_FLAT_HH:
            break
        hh = min(int(rng.choice([24, 30, 36])), left)
        name = f"{L.villages[L.grids[gi].village].name}安置房{k + 1}幢"
        out.add([rect], hh, True, 5 if hh <= 30 else 6, name, "resettlement", gi)
        left -= hh
        space.reserve(gi, rect, gap=15.0)
    return left


def sheds(space: Space, hs: list[Hamlet], rng, out: Buildings, gi: int) -> None:
    """Farm sheds and small workshops near the hamlets."""
    for h in hs:
        local = space.of(gi).intersection(h.centre.buffer(120, quad_segs=4))
        polys, xy = lattice(local, 8.0, 6.0, 24.0, 20.0, h.axis, rng, avoid=space.taken[gi])
        pick = rng.permutation(len(polys))[: int(rng.integers(0, 2))]
        for k in pick:
            out.add([polys[k]], 0, False, 1, None, "shed", gi)
        space.reserve(gi, polys[pick], gap=3.0)


# ---------------------------------------------------------------------------------------------
# the whole town

ESTATE_NAMES = ["锦绣花园", "阳光家园", "文昌苑", "东湖名都", "桂花城", "翡翠湾", "香樟苑", "金色家园",
                "新港花园", "幸福里", "和美家园", "书香名邸"]
COMPOUND_SUFFIX = ["小区", "新村", "公寓", "花苑"]


@dataclass
class Filled:
    roads: list[Road]
    sites: list[Site]
    buildings: Buildings
    hamlets: list[Hamlet]
    committees: dict[int, int]         # village index -> site index of its committee
    hot_spots: dict[str, object]       # name -> geometry
    compounds: dict[int, str]          # urban grid -> compound (小区) name


def fill_town(L: Layout, rng, hamlet_names, n_estates: int = 10) -> Filled:
    """Roads, key sites, buildings and hamlets of the laid-out town."""
    roads = base_roads(L, rng)
    space = Space(L, roads)
    centres = village_centres(L)
    placed = block_sites(L, space, rng) + parcel_sites(L, space, roads, centres, rng)
    sites = [s for s, _ in placed]
    B = Buildings()
    for si, (s, blds) in enumerate(placed):
        angle = L.frame.theta if L.grids[s.grid].urban else road_angle(roads, s.geom.centroid)
        site_buildings(si, s, blds, angle, rng, B)
    committees = {i: si for si, s in enumerate(sites) for i, v in enumerate(L.villages)
                  if s.name.startswith(v.name) and s.name.endswith("委员会")}
    compounds = fill_urban_grids(L, space, rng, B, sites, roads, n_estates)
    hamlets: list[Hamlet] = []
    for gi in [i for i, g in enumerate(L.grids) if not g.urban]:
        fill_rural(L, space, roads, gi, int(rng.integers(BUDGET[0], BUDGET[1] + 1)), rng, B, hamlets, hamlet_names)
    roads += hamlet_roads(hamlets, roads, B)
    hot = hot_spot_sites(L, sites, B, hamlets)
    for s in sites:
        big = s.geom.area > 6000 or s.category in ("school", "hospital", "residential_estate")
        s.entrances = entrances(s, roads, big) if s.category != "high_crime_area" else []
    return Filled(roads, sites, B, hamlets, committees, hot, compounds)


def fill_urban_grids(L: Layout, space: Space, rng, B: Buildings, sites: list[Site], roads,
                     n_estates: int) -> dict[int, str]:
    urban = [i for i, g in enumerate(L.grids) if g.urban]
    far = sorted(urban, key=lambda i: -L.grids[i].geom.centroid.distance(L.core.centroid))
    pool = [i for i in far[: 2 * n_estates] if largest(space.free(i)) is not None
            and largest(space.free(i)).area > 12000]
    estates = sorted(rng.choice(pool, min(n_estates, len(pool)), replace=False).tolist())
    names = list(rng.permutation(ESTATE_NAMES))
    compounds, used = {}, set()
    for gi in urban:
        budget = int(rng.integers(BUDGET[0], BUDGET[1] + 1))
        if gi in estates:
            name = str(names.pop())
            poly = largest(space.free(gi))
            fill_urban(L, space, gi, budget, str(rng.choice(["mid", "high"])), name, rng, B, flats_region=poly)
            sites.append(Site("residential_estate", name, poly, gi, industry="01", owner=f"{name}物业服务中心"))
        else:
            name = _compound_name(L, gi, roads, used, rng)
            fill_urban(L, space, gi, budget, urban_type(L, gi, space.free(gi).area, rng), name, rng, B)
        compounds[gi] = name
        used.add(name)
    return compounds


def _compound_name(L: Layout, gi: int, roads: list[Road], used: set, rng) -> str:
    c = L.grids[gi].geom.centroid
    named = sorted((r for r in roads if r.name and r.road_class != "provincial"), key=lambda r: r.line.distance(c))
    for r in named[:3]:
        for suffix in COMPOUND_SUFFIX:
            name = f"{r.name}{suffix}"
            if name not in used:
                return name
    return f"{named[0].name}{len(used) + 1}区"


def hamlet_roads(hamlets: list[Hamlet], roads: list[Road], B: Buildings) -> list[Road]:
    """Hamlet lanes, and a connector from each hamlet to the nearest road that crosses no
    building."""
    out = []
    net = shapely.union_all([r.line for r in roads])
    btree = shapely.STRtree(shapely.buffer(np.array(B.geom, dtype=object), 2.5))
    for h in hamlets:
        out += [Road(ln, "lane", 3.5, h.name) for ln in h.lanes]
        if not h.lanes:
            continue
        link = shapely.shortest_line(shapely.union_all(h.lanes), net)
        if 3 < link.length < 350 and len(btree.query(link, predicate="intersects")) == 0:
            out.append(Road(link, "lane", 3.5, None))
    return out


def hot_spot_sites(L: Layout, sites: list[Site], B: Buildings, hamlets: list[Hamlet]) -> dict[str, object]:
    """High-crime areas (the nightlife street; the rental housing by the industrial park) and
    the hot spots incidents cluster around."""
    night = L.nightlife.buffer(40, cap_style="flat").intersection(L.core)
    gi_n = grid_at(L, L.nightlife.interpolate(0.5, normalized=True))
    sites.append(Site("high_crime_area", "商贸街夜市区域", night, gi_n, industry="00", owner="示范镇派出所"))
    factory = next(s for s in sites if s.category == "key_enterprise")
    hi = min(range(len(hamlets)), key=lambda i: hamlets[i].centre.distance(factory.geom))
    h = hamlets[hi]
    homes = [g for g, hm in zip(B.geom, B.hamlet) if hm == hi]
    rental = shapely.convex_hull(shapely.union_all(homes)).buffer(8)
    rental = rental.intersection(L.grids[h.grid].geom.buffer(-1))
    sites.append(Site("high_crime_area", f"{L.villages[h.village].name}{h.name}出租房集中区", largest(rental), h.grid,
                      industry="01", owner=f"{L.villages[h.village].name}村民委员会"))
    by_name = {s.name: s for s in sites}
    return {"market": by_name["示范镇农贸市场"].geom.centroid,
            "square": by_name["示范镇文化广场"].geom.centroid,
            "nightlife": L.nightlife,
            "rental": h.centre}
