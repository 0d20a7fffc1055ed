"""Camera registry decoding (GB/T 28181) and video-coverage KPIs (联网率、在线率、建档率、覆盖率).

Pure functions: strings, numbers, numpy arrays and shapely geometries in; plain values out. No
database, web or map library.

GB/T 28181-2016 device IDs have 20 digits::

    3305210 1 | 00 | 132 | 5 | 000001
    centre (8) = administrative division code (6) + grass-roots unit (2)
    industry (2) | type (3) | network (1) | serial (6)

(DOMAIN.md says "7-digit serial", but 8 + 2 + 3 + 1 leaves 6 of 20 digits: the standard's
Appendix D has 6, and so do the demo town's IDs.)

Examples
--------
>>> d = decode("33052101001325000001")
>>> d.admin_code, d.industry.en, d.type.en, d.network.en
('330521', 'Public security, roads', 'Network camera', 'Police information network')
>>> kpi_rate("online", 9, 10, target=0.98).met
False
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import shapely

# ---- code tables (GB/T 28181-2016 Appendix D) ------------------------------------------------

INDUSTRY_CODES: dict[str, tuple[str, str]] = {
    "00": ("社会治安路面接入", "Public security, roads"),
    "01": ("社会治安社区接入", "Public security, communities"),
    "02": ("社会治安内部接入", "Public security, internal"),
    "03": ("社会治安其他接入", "Public security, other"),
    "04": ("交通路面接入", "Traffic, roads"),
    "05": ("交通卡口接入", "Traffic, checkpoints"),
    "06": ("交通内部接入", "Traffic, internal"),
    "07": ("交通其他接入", "Traffic, other"),
    "08": ("城市管理接入", "City management"),
    "09": ("卫生环保接入", "Health and environment"),
    "10": ("商检海关接入", "Inspection and customs"),
    "11": ("教育部门接入", "Education"),
    "40": ("农林牧渔业接入", "Agriculture, forestry, fishery"),
    "41": ("采矿企业接入", "Mining"),
    "42": ("制造企业接入", "Manufacturing"),
    "43": ("冶金企业接入", "Metallurgy"),
    "44": ("电力企业接入", "Power"),
    "45": ("燃气企业接入", "Gas"),
    "46": ("建筑企业接入", "Construction"),
    "47": ("物流企业接入", "Logistics"),
    "48": ("邮政企业接入", "Postal services"),
    "49": ("信息企业接入", "Information technology"),
    "50": ("住宿和餐饮业接入", "Hotels and catering"),
    "51": ("金融企业接入", "Finance"),
    "52": ("房地产业接入", "Real estate"),
    "53": ("商务服务业接入", "Business services"),
    "54": ("水利企业接入", "Water management"),
    "55": ("娱乐企业接入", "Entertainment"),
}
_INDUSTRY_RANGES: list[tuple[int, int, str, str]] = [
    (12, 39, "预留（行业）", "Reserved (sectors)"),
    (56, 79, "预留（企业）", "Reserved (enterprises)"),
    (80, 89, "群众共享接入", "Built by residents (shared)"),
    (90, 99, "预留", "Reserved"),
]

#: Device types (type code, digits 11–13). Only 131 and 132 are cameras.
DEVICE_TYPES: dict[str, tuple[str, str]] = {
    "111": ("DVR", "DVR"), "112": ("视频服务器", "Video server"), "113": ("编码器", "Encoder"),
    "114": ("解码器", "Decoder"), "115": ("视频切换矩阵", "Video switching matrix"),
    "116": ("音频切换矩阵", "Audio switching matrix"), "117": ("报警控制器", "Alarm controller"),
    "118": ("网络视频录像机", "NVR"), "130": ("混合硬盘录像机", "Hybrid DVR"),
    "131": ("摄像机", "Camera"), "132": ("网络摄像机", "Network camera"),
    "133": ("显示器", "Display"), "134": ("报警输入设备", "Alarm input"),
    "135": ("报警输出设备", "Alarm output"), "136": ("语音输入设备", "Audio input"),
    "137": ("语音输出设备", "Audio output"), "138": ("移动传输设备", "Mobile transmission device"),
    "139": ("其他外围设备", "Other peripheral"),
    "200": ("中心信令控制服务器", "Central signalling server"), "201": ("Web应用服务器", "Web server"),
    "202": ("媒体分发服务器", "Media distribution server"), "203": ("代理服务器", "Proxy server"),
    "204": ("安全服务器", "Security server"), "205": ("报警服务器", "Alarm server"),
    "206": ("数据库服务器", "Database server"), "207": ("GIS服务器", "GIS server"),
    "208": ("管理服务器", "Management server"), "209": ("接入网关", "Access gateway"),
    "210": ("媒体存储服务器", "Media storage server"), "211": ("信令安全路由网关", "Signalling security gateway"),
    "215": ("业务分组", "Business group"), "216": ("虚拟组织", "Virtual organisation"),
    "300": ("中心用户", "Central user"), "400": ("终端用户", "Terminal user"),
}
CAMERA_TYPES = frozenset({"131", "132"})

NETWORK_CODES: dict[str, tuple[str, str]] = {
    **{str(i): ("监控报警专网", "Video surveillance private network") for i in range(5)},
    "5": ("公安信息网", "Police information network"),
    "6": ("政务网", "Government network"),
    "7": ("互联网", "Internet"),
    "8": ("社会资源接入网", "Social-resource access network"),
    "9": ("预留", "Reserved"),
}

#: Fields a camera's record needs to count as documented (建档).
DOCUMENT_FIELDS: tuple[str, ...] = ("gb_id", "name", "position", "height_m", "azimuth_deg",
                                    "hfov_deg", "range_m", "kind", "owner")


@dataclass(frozen=True)
class Label:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Decoded:
    """The parts of a GB/T 28181 device ID."""
    gb_id: str
    centre_code: str
    admin_code: str
    unit_code: str
    industry: Label
    type: Label
    network: Label
    serial: str

    def as_dict(self) -> dict:
        return asdict(self)


class NotACamera(ValueError):
    """A well-formed ID of a device that is not a camera (or a malformed ID)."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def industry_label(code: str) -> Label:
    """zh/en name of an industry code (00–99).

    >>> industry_label("11").zh, industry_label("85").en
    ('教育部门接入', 'Built by residents (shared)')
    """
    if code in INDUSTRY_CODES:
        return Label(code, *INDUSTRY_CODES[code])
    n = int(code)
    for lo, hi, zh, en in _INDUSTRY_RANGES:
        if lo <= n <= hi:
            return Label(code, zh, en)
    return Label(code, "未知", "Unknown")


def decode(gb_id: str, *, camera: bool = True) -> Decoded:
    """Split a 20-digit GB/T 28181 ID; with ``camera`` refuse devices that are not cameras.

    >>> decode("33052101001115000001")
    Traceback (most recent call last):
    ...
    gis.kpi.NotACamera: 33052101001115000001 is a DVR (type 111), not a camera (131 or 132)
    >>> decode("33052101001115000001", camera=False).type.zh
    'DVR'
    """
    if not (isinstance(gb_id, str) and len(gb_id) == 20 and gb_id.isascii() and gb_id.isdigit()):
        raise NotACamera("bad_gb_id", f"国标编码应为20位数字：{gb_id!r}",
                         f"A GB/T 28181 ID has 20 digits: {gb_id!r}")
    t = gb_id[10:13]
    tzh, ten = DEVICE_TYPES.get(t, ("未知设备", "Unknown device"))
    if camera and t not in CAMERA_TYPES:
        raise NotACamera("not_a_camera", f"{gb_id} 是{tzh}（类型编码 {t}），不是摄像机（131 或 132）",
                         f"{gb_id} is a {ten} (type {t}), not a camera (131 or 132)")
    return Decoded(gb_id, gb_id[:8], gb_id[:6], gb_id[6:8], industry_label(gb_id[8:10]),
                   Label(t, tzh, ten), Label(gb_id[13], *NETWORK_CODES[gb_id[13]]), gb_id[14:])


def admin_mismatch(gb_id: str, county_code: str) -> bool:
    """True when the ID's administrative code is not the county's (first 6 digits).

    >>> admin_mismatch("33052101001325000001", "330521199"), admin_mismatch("33010201001325000001", "330521")
    (False, True)
    """
    return gb_id[:6] != county_code[:6]


def documented(record: dict) -> tuple[bool, list[str]]:
    """Whether a camera record has every field of :data:`DOCUMENT_FIELDS`, and which are missing.

    >>> documented({"gb_id": "1" * 20, "name": "东门", "position": (1, 2), "height_m": 4,
    ...             "azimuth_deg": 0, "hfov_deg": 60, "range_m": 50, "kind": "fixed", "owner": ""})
    (False, ['owner'])
    """
    missing = [f for f in DOCUMENT_FIELDS if _blank(record.get(f))]
    return not missing, missing


def _blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    if isinstance(v, str) and not v.strip():
        return True
    return isinstance(v, shapely.Geometry) and v.is_empty


# ---- KPIs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kpi:
    """One indicator: value (0–1, None without a denominator), its target, whether it is met,
    the counts behind it and a red / amber / green light."""
    key: str
    value: float | None
    target: float
    met: bool | None
    numerator: float
    denominator: float
    status: str  # "green" | "amber" | "red" | "none"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["value"] = None if self.value is None else round(self.value, 6)
        for k in ("numerator", "denominator"):      # areas (m²) to 0.1 m², counts as they are
            d[k] = round(d[k], 1) if isinstance(d[k], float) else d[k]
        return d


def kpi_rate(key: str, numerator: float, denominator: float, target: float, amber_margin: float = 0.1,
             eps: float = 1e-9) -> Kpi:
    """A rate against its target: green when met, amber within ``amber_margin`` below, else red.

    >>> k = kpi_rate("networking", 8, 10, target=0.8)
    >>> k.value, k.met, k.status
    (0.8, True, 'green')
    >>> kpi_rate("online", 9, 10, target=0.98).status, kpi_rate("online", 0, 0, 0.98).status
    ('amber', 'none')
    """
    if denominator <= 0:
        return Kpi(key, None, target, None, numerator, denominator, "none")
    v = float(numerator) / float(denominator)
    met = v + eps >= target
    status = "green" if met else ("amber" if v + eps >= target - amber_margin else "red")
    return Kpi(key, v, target, met, numerator, denominator, status)


def worst(statuses) -> str:
    """The worst of several lights (red > amber > green; "none" ignored).

    >>> worst(["green", "amber", "none"]), worst(["none"])
    ('amber', 'none')
    """
    order = {"red": 3, "amber": 2, "green": 1}
    s = [x for x in statuses if x in order]
    return max(s, key=order.get) if s else "none"


def site_status(share: float, full: float = 0.999) -> str:
    """covered / partly / not, from the covered share of a site.

    >>> [site_status(x) for x in (1.0, 0.4, 0.0)]
    ['covered', 'partly', 'not']
    """
    if share is None or np.isnan(share) or share <= 0:
        return "not"
    return "covered" if share >= full else "partly"


def incident_priority(spots, incidents, radius_m: float = 100.0, per_m2: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Incident density around each blind spot and its priority (density / highest density).

    Density = incidents within ``radius_m`` of the spot, per ``per_m2`` of the spot grown by
    ``radius_m``. Metric CRS.

    Examples
    --------
    >>> from shapely.geometry import box, Point
    >>> d, p = incident_priority([box(0, 0, 10, 10), box(500, 0, 510, 10)], [Point(5, 20), Point(5, 30)],
    ...                          radius_m=50)
    >>> p.tolist(), int(d[1])
    ([1.0, 0.0], 0)
    """
    g = np.asarray(getattr(spots, "geometry", spots), dtype=object)
    pts = np.asarray(getattr(incidents, "geometry", incidents), dtype=object)
    counts = np.zeros(len(g))
    if len(g) and len(pts):
        spot_i, _ = shapely.STRtree(pts).query(g, predicate="dwithin", distance=radius_m)
        counts = np.bincount(spot_i, minlength=len(g)).astype(float)
    around = shapely.area(shapely.buffer(g, radius_m)) if len(g) else np.zeros(0)
    density = np.where(around > 0, counts / np.maximum(around, 1e-9) * per_m2, 0.0)
    top = density.max() if len(density) else 0.0
    return density, (density / top if top > 0 else np.zeros(len(g)))


def documented_mask(cams) -> tuple[np.ndarray, list[list[str]]]:
    """Per camera of a (Geo)DataFrame: documented (every :data:`DOCUMENT_FIELDS` present) and
    the missing fields. ``position`` is the geometry.

    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> f = gpd.GeoDataFrame({"gb_id": ["1" * 20] * 2, "name": ["东门", None], "height_m": [4.0, 4.0],
    ...     "azimuth_deg": [0.0, 0.0], "hfov_deg": [60.0, 60.0], "range_m": [50.0, 50.0],
    ...     "kind": ["fixed", "ptz"], "owner": ["派出所", " "]}, geometry=[Point(0, 0), Point(1, 1)])
    >>> ok, missing = documented_mask(f)
    >>> ok.tolist(), missing
    ([True, False], [[], ['name', 'owner']])
    """
    n = len(cams)
    blank = {}
    for f in DOCUMENT_FIELDS:
        if f == "position":
            g = np.asarray(cams.geometry, dtype=object)
            blank[f] = shapely.is_missing(g) | shapely.is_empty(g)
        elif f not in cams:
            blank[f] = np.ones(n, bool)
        else:
            s = cams[f]
            b = s.isna().to_numpy()
            if s.dtype.kind not in "biufcmM":
                b = b | s.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool)
            blank[f] = b
    missing = [[f for f in DOCUMENT_FIELDS if blank[f][i]] for i in range(n)]
    return np.array([not m for m in missing], dtype=bool), missing
