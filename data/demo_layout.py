"""Layout of the demo town: boundary, villages / communities, basic grids, main roads.

Everything here is in a local metric frame (metres; x east, y north; origin near the town
centre). :mod:`data.demo` moves it to EPSG:32650 and EPSG:4326 at the end.

How exact tiling is obtained: every line that bounds a grid (town boundary, edge of the town
core, village edges, streets, rural grid edges) is snap-rounded and noded *together* once
(``union_all`` with a 1 cm grid), then polygonised. Faces of one noded linework share their
edges vertex for vertex, so unions of faces (grids), of grids (villages) and of villages (the
town) form valid coverages whose unions equal their parents exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import LineString, MultiPoint, Point, Polygon

GRID_SIZE = 0.01            # m: grid linework is snap-rounded to 1 cm
TOWN_RADIUS = 1900.0        # m, mean radius of the town boundary before stretching
TOWN_STRETCH = 1.25         # east-west elongation
CORE_RADIUS = 640.0         # m, the urban core (镇区)
MIN_URBAN_BLOCK = 15000.0   # m²: smaller blocks are merged into a neighbour
MIN_FACE = 1500.0           # m²: smaller faces (noding artefacts) are merged into a neighbour
OVERSHOOT = 2.0             # m: cutting lines overshoot what they end on (see clip_over)

COMMUNITY_NAMES = {("W", "N"): "文昌社区", ("E", "N"): "城北社区", ("W", "S"): "新桥社区",
                   ("E", "S"): "城南社区"}
VILLAGE_NAMES = ["沈家村", "塘湾村", "桑园村", "姚庄村", "青山村", "三合村", "东衡村"]
NS_STREETS = ["解放路", "文昌路", "建设路", "青年路", "育才路", "城西路", "城东路", "新华路", "广源路"]
EW_STREETS = ["中山路", "富民路", "健康路", "学前路", "东湖路", "兴业路", "长安路", "振兴路", "和平路"]
PROVINCIAL_NAME = "S306省道"


@dataclass
class Street:
    line: LineString
    road_class: str
    width_m: float
    name: str | None


@dataclass
class Village:
    """A village (村) or community (社区): the level-1 grid."""

    index: int
    name: str
    kind: str                 # "community" | "village"
    geom: Polygon | None = None
    key: tuple | None = None  # communities: quadrant of the core, e.g. ("E", "N")
    grids: list[int] = field(default_factory=list)


@dataclass
class GridCell:
    """A basic grid before codes are given: its village, geometry and what it is for."""

    village: int
    geom: Polygon
    urban: bool
    special: list[str] = field(default_factory=list)  # urban special-use blocks merged in
    blocks: list[Polygon] = field(default_factory=list)  # urban: residential / special parts
    block_use: list[str] = field(default_factory=list)


@dataclass
class Frame:
    """The urban street grid: origin, rotation and street positions (frame coordinates)."""

    ox: float
    oy: float
    theta: float
    xs: np.ndarray
    ys: np.ndarray

    def to_world(self, x, y):
        c, s = np.cos(self.theta), np.sin(self.theta)
        x, y = np.asarray(x, float), np.asarray(y, float)
        return self.ox + x * c - y * s, self.oy + x * s + y * c

    def to_frame(self, x, y):
        c, s = np.cos(self.theta), np.sin(self.theta)
        dx, dy = np.asarray(x, float) - self.ox, np.asarray(y, float) - self.oy
        return dx * c + dy * s, -dx * s + dy * c

    def line(self, p0, p1) -> LineString:
        x, y = self.to_world([p0[0], p1[0]], [p0[1], p1[1]])
        return LineString(np.column_stack([x, y]))


@dataclass
class Layout:
    town: Polygon
    core: Polygon
    frame: Frame
    villages: list[Village]
    grids: list[GridCell]
    streets: list[Street]
    provincial: list[LineString]
    special_blocks: dict[str, int]   # use -> grid index holding that block
    nightlife: LineString            # the street segment of bars, KTVs and internet cafés


# ---------------------------------------------------------------------------------------------
# small geometry helpers

def polar_blob(rng, cx: float, cy: float, radius: float, stretch: float, angle: float,
               n: int = 160, roughness: float = 0.09) -> Polygon:
    """A smooth irregular star-shaped polygon (harmonics 2..7 of the radius)."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 8):
        r += rng.uniform(0.3, 1.0) * roughness / (k / 2) * np.cos(k * phi + rng.uniform(0, 2 * np.pi))
    x, y = radius * r * np.cos(phi) * stretch, radius * r * np.sin(phi)
    c, s = np.cos(angle), np.sin(angle)
    return Polygon(np.column_stack([cx + x * c - y * s, cy + x * s + y * c]))


def wiggle(line: LineString, rng, frac: float, max_amp: float, step: float = 20.0) -> LineString:
    """Displace a line sideways by a smooth random curve that vanishes at both ends."""
    length = line.length
    if length < 3 * step:
        return line
    xy = shapely.get_coordinates(shapely.segmentize(line, step))
    seg = np.hypot(*np.diff(xy, axis=0).T)
    t = np.concatenate([[0], np.cumsum(seg)]) / length
    tangent = np.gradient(xy, axis=0)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    normal /= np.maximum(np.hypot(*normal.T), 1e-12)[:, None]
    f1, f2 = rng.uniform(0.6, 1.6), rng.uniform(1.8, 3.2)
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    amp = min(max_amp, frac * length)
    off = amp * np.sin(np.pi * t) * (0.7 * np.sin(2 * np.pi * f1 * t + p1) + 0.3 * np.sin(2 * np.pi * f2 * t + p2))
    xy[1:-1] += normal[1:-1] * off[1:-1, None]
    return LineString(xy)


def lines_of(geom) -> list[LineString]:
    """LineString parts of any geometry (empty and point parts dropped)."""
    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom)
    out = []
    for p in parts:
        if p.geom_type == "LineString" and p.length > 0:
            out.append(p)
        elif p.geom_type in ("MultiLineString", "GeometryCollection"):
            out += lines_of(p)
    return out


def voronoi_edges(seeds: np.ndarray, region: Polygon) -> list[LineString]:
    """Edges of the Voronoi diagram of ``seeds`` inside ``region`` (merged between nodes),
    overshooting the region's boundary (see :func:`clip_over`)."""
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=region.buffer(500)))
    net = shapely.union_all(shapely.boundary(cells))
    return lines_of(shapely.line_merge(shapely.intersection(net, region.buffer(OVERSHOOT))))


def voronoi_cells(seeds: np.ndarray, region: Polygon) -> np.ndarray:
    """Voronoi cells of ``seeds`` clipped to ``region``, in the order of the seeds."""
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=region.buffer(500)))
    owner = cKDTree(seeds).query(shapely.get_coordinates(shapely.point_on_surface(cells)))[1]
    out = np.empty(len(seeds), dtype=object)
    out[owner] = shapely.intersection(cells, region)
    return out


def polygonize(lines: list) -> np.ndarray:
    """Faces of the snap-rounded, noded linework. Lines must cross the lines they end on
    (see :func:`clip_over`): their overshoots are dangles, which polygonize drops."""
    noded = shapely.union_all(np.asarray(lines, dtype=object), grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 1.0]


def clip_over(line, region, over: float = OVERSHOOT) -> list[LineString]:
    """Parts of ``line`` inside ``region`` grown by ``over`` metres, so that they cross the
    region's boundary and get noded to it."""
    return lines_of(shapely.intersection(line, region.buffer(over)))


def sample_in(poly, n: int, rng) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling)."""
    x0, y0, x1, y1 = poly.bounds
    shapely.prepare(poly)
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform([x0, y0], [x1, y1], size=(2 * n, 2))
        out = np.vstack([out, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
    return out[:n]


def lloyd(poly, k: int, rng, iterations: int = 15) -> np.ndarray:
    """``k`` seeds spread evenly over ``poly`` (Lloyd's algorithm on sample points)."""
    pts = sample_in(poly, max(1500, 120 * k), rng)
    seeds = pts[rng.choice(len(pts), k, replace=False)]
    for _ in range(iterations):
        lab = cKDTree(seeds).query(pts)[1]
        counts = np.bincount(lab, minlength=k)
        sums = np.column_stack([np.bincount(lab, pts[:, 0], k), np.bincount(lab, pts[:, 1], k)])
        ok = counts > 0
        seeds[ok] = sums[ok] / counts[ok, None]
    return seeds


def shared_length(a, b) -> float:
    return float(shapely.length(shapely.intersection(a.boundary, b.boundary)))


def adjacency(geoms: np.ndarray) -> dict[int, dict[int, float]]:
    """Shared boundary length between every pair of touching polygons."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    lengths = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b])))
    adj: dict[int, dict[int, float]] = {i: {} for i in range(len(geoms))}
    for i, j, length in zip(a, b, lengths):
        if length > 0.5:
            adj[int(i)][int(j)] = adj[int(j)][int(i)] = float(length)
    return adj


# ---------------------------------------------------------------------------------------------
# the town, its core and the urban streets

def make_frame(rng, core_radius: float) -> Frame:
    ox, oy = rng.uniform(-150, 150), rng.uniform(-120, 120)
    theta = np.deg2rad(rng.uniform(-14, 14))
    xs = _positions(rng, 1.35 * core_radius * 1.25, 155, 215)
    ys = _positions(rng, 1.35 * core_radius, 140, 195)
    return Frame(ox, oy, theta, xs, ys)


def _positions(rng, extent: float, lo: float, hi: float) -> np.ndarray:
    """Street positions: 0 (the main street) and irregular spacing outwards both ways."""
    out = [0.0]
    for sign in (1, -1):
        p = 0.0
        while abs(p) < extent:
            p += sign * rng.uniform(lo, hi)
            out.append(p)
    return np.sort(np.array(out))


def provincial_road(rng, town: Polygon, frame: Frame, core: Polygon) -> LineString:
    """The provincial road: straight along the frame's x axis through the core, winding
    gently outside it, from beyond the west boundary to beyond the east boundary."""
    half = frame.xs.max() + 50
    parts = []
    for sign in (-1, 1):
        x, y = frame.to_world(sign * half, 0.0)
        heading = frame.theta + (np.pi if sign < 0 else 0.0)
        pts = [(float(x), float(y))]
        start = heading
        for _ in range(30):
            heading = start + np.clip(heading - start + rng.normal(0, 0.07), -0.5, 0.5)
            x, y = x + 180 * np.cos(heading), y + 180 * np.sin(heading)
            pts.append((float(x), float(y)))
        parts.append(pts if sign > 0 else pts[::-1])
    return LineString(parts[0] + parts[1])


def urban_streets(frame: Frame, core: Polygon) -> list[Street]:
    """The street grid of the core (the provincial road's own segment excluded)."""
    big = 4000.0
    out = []
    ns_names = iter(NS_STREETS)
    ew_names = iter(EW_STREETS)
    for k, x in enumerate(sorted(frame.xs, key=abs)):
        cls, width = _street_class(k)
        name = next(ns_names, None)
        for part in lines_of(shapely.intersection(frame.line((x, -big), (x, big)), core)):
            out.append(Street(part, cls, width, name))
    for k, y in enumerate(sorted(frame.ys, key=abs)):
        if k == 0:
            continue  # y = 0 is the provincial road
        cls, width = _street_class(k)
        name = next(ew_names, None)
        for part in lines_of(shapely.intersection(frame.line((-big, y), (big, y)), core)):
            out.append(Street(part, cls, width, name))
    return out


def _street_class(rank: int) -> tuple[str, float]:
    if rank == 0:
        return "main_street", 18.0
    if rank <= 2:
        return "main_street", 14.0
    return "lane", 7.0


# ---------------------------------------------------------------------------------------------
# urban blocks

def community_of(frame: Frame, pts: np.ndarray) -> list[tuple[str, str]]:
    fx, fy = frame.to_frame(pts[:, 0], pts[:, 1])
    return [("E" if x > 0 else "W", "N" if y > 0 else "S") for x, y in zip(fx, fy)]


def street_cuts(frame: Frame, core: Polygon) -> list[LineString]:
    """Every street line of the core (the provincial road's segment included), overshooting
    the edge of the core: the linework that cuts the core into blocks."""
    big = 4000.0
    out = []
    for x in frame.xs:
        out += clip_over(frame.line((x, -big), (x, big)), core)
    for y in frame.ys:
        out += clip_over(frame.line((-big, y), (big, y)), core)
    return out


def urban_blocks(core: Polygon, cut_lines: list[LineString], frame: Frame) -> tuple[np.ndarray, list]:
    """Street blocks of the core, too-small ones merged into a neighbour of the same community.
    Returns the block polygons and, for each, its community key."""
    faces = polygonize([core.boundary] + cut_lines)
    comm = community_of(frame, shapely.get_coordinates(shapely.point_on_surface(faces)))
    groups = merge_small(faces, comm, MIN_URBAN_BLOCK)
    blocks = np.array([shapely.coverage_union_all(faces[g]) for g in groups], dtype=object)
    return blocks, [comm[g[0]] for g in groups]


def merge_small(faces: np.ndarray, label: list, min_area: float,
                fixed: list[bool] | None = None) -> list[list[int]]:
    """Group faces: each face smaller than ``min_area`` joins the neighbour with the same
    label sharing the longest edge (repeatedly, smallest first); ``fixed`` faces stay alone."""
    adj = adjacency(faces)
    group = list(range(len(faces)))
    fixed = fixed or [False] * len(faces)
    area = {i: (np.inf if fixed[i] else float(faces[i].area)) for i in range(len(faces))}
    members = {i: [i] for i in range(len(faces))}
    while True:
        small = sorted((a, i) for i, a in area.items() if a < min_area)
        merged = False
        for _, i in small:
            nbrs = {}
            for m in members[i]:
                for j, length in adj[m].items():
                    gj = group[j]
                    if gj != i and label[gj] == label[i]:
                        nbrs[gj] = nbrs.get(gj, 0.0) + length
            if nbrs:
                target = max(sorted(nbrs), key=lambda g: nbrs[g])
                for m in members.pop(i):
                    group[m] = target
                    members[target].append(m)
                area[target] += area.pop(i)
                merged = True
                break
        if not merged:
            return [sorted(ms) for _, ms in sorted(members.items())]


# ---------------------------------------------------------------------------------------------
# villages and rural grids

def village_edges(rng, town: Polygon, core: Polygon, n: int) -> tuple[list[LineString], np.ndarray]:
    """Seeds of ``n`` rural villages around the core and their (wiggled) Voronoi edges."""
    ring = town.difference(core)
    c = core.centroid
    phi0 = rng.uniform(0, 2 * np.pi)
    seeds = []
    for i in range(n):
        phi = phi0 + 2 * np.pi * i / n + rng.uniform(-0.2, 0.2)
        ray = LineString([(c.x, c.y), (c.x + 9000 * np.cos(phi), c.y + 9000 * np.sin(phi))])
        hit = shapely.intersection(ray, town.boundary)
        far = min(shapely.get_parts(hit), key=lambda p: p.distance(c)) if not hit.is_empty else c
        d = c.distance(far)
        r = CORE_RADIUS + 0.55 * (d - CORE_RADIUS)
        seeds.append((c.x + r * np.cos(phi), c.y + r * np.sin(phi)))
    seeds = np.array(seeds)
    edges = [wiggle(e, rng, 0.06, 70.0) for e in voronoi_edges(seeds, ring)]
    return edges, seeds


def rural_cells(rng, village: Polygon, k: int) -> tuple[list[LineString], np.ndarray]:
    """Edges (wiggled) and plain cells of ``k`` evenly spread grids inside a village."""
    seeds = lloyd(village, k, rng)
    edges = [wiggle(e, rng, 0.05, 25.0) for e in voronoi_edges(seeds, village)]
    return edges, voronoi_cells(seeds, village)


def allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, float) / np.sum(weights)
    raw = w * (total - minimum * len(w))
    out = np.floor(raw).astype(int) + minimum
    for i in np.argsort(-(raw - np.floor(raw)))[: total - out.sum()]:
        out[i] += 1
    return out


def village_of(villages: list, p: Point) -> int:
    """The rural village containing ``p`` (the nearest one if noding moved ``p`` out)."""
    rural = [v for v in villages if v.kind == "village"]
    inside = [v.index for v in rural if v.geom.contains(p)]
    return inside[0] if inside else min(rural, key=lambda v: v.geom.distance(p)).index


def label_rural(faces: np.ndarray, villages: list, cells: dict[int, np.ndarray]) -> list:
    """(village, cell) label of each rural face: the plain cell it overlaps most."""
    pts = shapely.point_on_surface(faces)
    out = []
    for f, p in zip(faces, pts):
        v = village_of(villages, p)
        ov = shapely.area(shapely.intersection(f, cells[v]))
        out.append((v, int(np.argmax(ov))))
    return out


def connect_groups(faces: np.ndarray, labels: list) -> list:
    """Relabel faces so that every label forms one connected piece: stray pieces join the
    neighbouring label of the same village sharing the longest edge."""
    adj = adjacency(faces)
    labels = list(labels)
    for _ in range(10):
        changed = False
        for lab in sorted(set(labels)):
            comps = _components([i for i, x in enumerate(labels) if x == lab], adj)
            for comp in sorted(comps, key=len)[:-1]:
                nb = {}
                for i in comp:
                    for j, length in adj[i].items():
                        if labels[j] != lab and labels[j][0] == lab[0]:
                            nb[labels[j]] = nb.get(labels[j], 0.0) + length
                if nb:
                    new = max(sorted(nb), key=lambda x: nb[x])
                    for i in comp:
                        labels[i] = new
                    changed = True
        if not changed:
            return labels
    return labels


def _components(nodes: list[int], adj) -> list[list[int]]:
    left, out = set(nodes), []
    while left:
        stack = [min(left)]
        comp = []
        left.discard(stack[0])
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in adj[i]:
                if j in left:
                    left.discard(j)
                    stack.append(j)
        out.append(sorted(comp))
    return out


# ---------------------------------------------------------------------------------------------
# putting it together

def make_layout(rng, n_basic: int, n_rural_villages: int) -> Layout:
    """The town with about ``n_basic`` basic grids (urban blocks + rural cells)."""
    town = polar_blob(rng, 0, 0, TOWN_RADIUS, TOWN_STRETCH, rng.uniform(-0.2, 0.2))
    frame = make_frame(rng, CORE_RADIUS)
    core = polar_blob(rng, frame.ox, frame.oy, CORE_RADIUS, 1.25, frame.theta, roughness=0.05)
    prov = provincial_road(rng, town, frame, core)
    streets = urban_streets(frame, core)
    cuts = street_cuts(frame, core)
    blocks, comm = urban_blocks(core, cuts, frame)
    uses = choose_special_blocks(blocks, comm, frame)
    urban_groups = merge_special(blocks, comm, uses)

    v_edges, v_seeds = village_edges(rng, town, core, n_rural_villages)
    villages = make_villages(town, core, v_edges, v_seeds, blocks, comm, rng)
    n_rural = n_basic - len(urban_groups)
    rural = [v for v in villages if v.kind == "village"]
    ks = allocate(n_rural, [v.geom.area for v in rural], 3)
    cell_edges, cells = [], {}
    for v, k in zip(rural, ks):
        e, c = rural_cells(rng, v.geom, int(k))
        cell_edges += e
        cells[v.index] = c

    lines = [town.boundary, core.boundary] + v_edges + cuts + cell_edges
    faces = merge_tiny(polygonize(lines), core, villages)
    grids = build_grids(faces, core, blocks, comm, urban_groups, uses, villages, cells)
    if len(grids) != n_basic:
        raise RuntimeError(f"layout produced {len(grids)} basic grids instead of {n_basic}")
    _attach(villages, grids)
    special = {u: gi for gi, g in enumerate(grids) for u in g.special}
    nightlife = nightlife_street(frame, core)
    prov_parts = lines_of(shapely.intersection(prov, town))
    return Layout(town, core, frame, villages, grids, streets, prov_parts, special, nightlife)


def merge_tiny(faces: np.ndarray, core: Polygon, villages: list[Village]) -> np.ndarray:
    """Merge rural noding artefacts (faces under MIN_FACE m²) into the neighbour of the same
    village sharing the longest edge. Core faces are kept: they map to street blocks."""
    shapely.prepare(core)
    pts = shapely.point_on_surface(faces)
    label = []
    for p, in_core in zip(pts, shapely.contains(core, pts)):
        label.append(-1 if in_core else village_of(villages, p))
    groups = merge_small(faces, label, MIN_FACE, fixed=[lab == -1 for lab in label])
    return np.array([faces[g[0]] if len(g) == 1 else shapely.coverage_union_all(faces[g])
                     for g in groups], dtype=object)


def make_villages(town, core, v_edges, v_seeds, blocks, comm, rng) -> list[Village]:
    faces = polygonize([town.boundary, core.boundary] + v_edges)
    shapely.prepare(core)
    pts = shapely.point_on_surface(faces)
    in_core = shapely.contains(core, pts)
    plain = voronoi_cells(v_seeds, town)
    owner = [int(np.argmax(shapely.area(shapely.intersection(f, plain)))) for f in faces]
    villages = []
    for key in sorted(COMMUNITY_NAMES):
        mine = [b for b, c in zip(blocks, comm) if c == key]
        if mine:
            villages.append(Village(len(villages), COMMUNITY_NAMES[key], "community", key=key))
    names = list(rng.permutation(VILLAGE_NAMES))
    for i in range(len(v_seeds)):
        mine = [f for f, o, c in zip(faces, owner, in_core) if o == i and not c]
        villages.append(Village(len(villages), str(names[i]), "village",
                                geom=shapely.coverage_union_all(mine)))
    return villages


def choose_special_blocks(blocks: np.ndarray, comm: list, frame: Frame) -> dict[int, str]:
    """Whole blocks given to one use: government, square, market (next to the centre, in
    three quadrants), schools (north and south), hospital (east, on the provincial road)."""
    pts = shapely.get_coordinates(shapely.point_on_surface(blocks))
    fx, fy = frame.to_frame(pts[:, 0], pts[:, 1])
    d = np.hypot(fx, fy)
    area = shapely.area(blocks)
    uses: dict[int, str] = {}

    def pick(use, mask, score):
        cand = [i for i in np.argsort(score) if mask[i] and i not in uses and area[i] > 14000]
        if cand:
            uses[int(cand[0])] = use

    pick("government", (fx > 0) & (fy > 0), d)
    pick("square", (fx < 0) & (fy > 0), d)
    pick("market", (fx > 0) & (fy < 0), d)
    pick("middle_school", fy > 0, np.abs(d - 420) - 0.2 * fy)
    pick("primary_school", fy < 0, np.abs(d - 380) + 0.2 * fy)
    pick("hospital", (fx > 0) & (np.abs(fy) < 200), np.abs(fx - 450))
    return uses


def merge_special(blocks: np.ndarray, comm: list, uses: dict[int, str]) -> list[list[int]]:
    """Urban grids as lists of blocks: each special block joins the residential neighbour of
    its community sharing the longest edge."""
    adj = adjacency(blocks)
    owner = {i: i for i in range(len(blocks)) if i not in uses}
    for b in sorted(uses):
        nb = {j: length for j, length in adj[b].items() if j not in uses and comm[j] == comm[b]}
        owner[b] = max(sorted(nb), key=lambda j: nb[j]) if nb else b
    groups: dict[int, list[int]] = {}
    for b in range(len(blocks)):
        groups.setdefault(owner[b], []).append(b)
    return [sorted(g) for _, g in sorted(groups.items())]


def build_grids(faces, core, blocks, comm, urban_groups, uses, villages, cells) -> list[GridCell]:
    """Final basic grids from the noded faces: urban faces grouped by block group, rural
    faces by (village, cell), stray pieces reattached."""
    shapely.prepare(core)
    pts = shapely.point_on_surface(faces)
    urban = shapely.contains(core, pts)
    tree = shapely.STRtree(blocks)
    grids = []
    ufaces = faces[urban]
    blk = tree.query(shapely.point_on_surface(ufaces), predicate="within")
    block_of = dict(zip(blk[0].tolist(), blk[1].tolist()))
    vil_of = {v.key: v.index for v in villages if v.kind == "community"}
    for group in urban_groups:
        fs = [ufaces[i] for i, b in sorted(block_of.items()) if b in group]
        g = GridCell(vil_of[comm[group[0]]], shapely.coverage_union_all(fs), True)
        for b in group:
            parts = [ufaces[i] for i, bb in sorted(block_of.items()) if bb == b]
            g.blocks.append(shapely.coverage_union_all(parts))
            g.block_use.append(uses.get(b, "residential"))
            if b in uses:
                g.special.append(uses[b])
        grids.append(g)
    rfaces = faces[~urban]
    labels = connect_groups(rfaces, label_rural(rfaces, villages, cells))
    for lab in sorted(set(labels)):
        fs = [f for f, x in zip(rfaces, labels) if x == lab]
        geom = fs[0] if len(fs) == 1 else shapely.coverage_union_all(fs)
        grids.append(GridCell(lab[0], geom, False))
    return grids


def _attach(villages: list[Village], grids: list[GridCell]) -> None:
    for gi, g in enumerate(grids):
        villages[g.village].grids.append(gi)
    for v in villages:
        geoms = [grids[gi].geom for gi in v.grids]
        v.geom = shapely.coverage_union_all(geoms)


def nightlife_street(frame: Frame, core: Polygon) -> LineString:
    """The first east-west street south of the provincial road, west of the main street."""
    y = frame.ys[frame.ys < 0].max()
    x0 = frame.xs[frame.xs < 0]
    x0 = x0[-2] if len(x0) >= 2 else -250.0
    return frame.line((x0, y), (0.0, y))
