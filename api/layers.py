"""The layer registry: one description per layer, used by import, export, CRUD, OGC API
and the demo loader, so that a field is declared once.

A field has a type, whether it is required, its range or vocabulary, its labels (zh-CN, en),
a short name for Shapefile (<= 10 bytes) and the names real files use for it (zh and en),
so that an importer can guess the mapping.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from api.db import models as m
from gis.vocab import (CAMERA_KINDS, INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_TYPES,
                       KEY_SITE_CATEGORIES, ROAD_CLASSES, SERVICE_CENTRE_LEVELS, STAFF_ROLES)

Kind = Literal["str", "int", "float", "bool", "datetime", "enum"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    zh: str
    en: str
    required: bool = False
    default: Any = None
    vocab: dict[str, tuple[str, str]] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    max_len: int | None = None
    synonyms: tuple[str, ...] = ()
    short: str | None = None  # Shapefile field name when name is longer than 10 bytes
    writable: bool = True     # False: derived, shown but never taken from input

    @property
    def shp_name(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class LayerSpec:
    key: str
    model: type
    geometry_type: str  # shapely geom_type stored: Polygon, MultiPolygon, Point, LineString
    zh: str
    en: str
    fields: tuple[FieldSpec, ...]
    code_field: str | None = None  # unique within a jurisdiction
    read_roles: frozenset[str] = frozenset()
    write_roles: frozenset[str] = frozenset({"admin"})
    sensitive: bool = False
    extra_fields: tuple[FieldSpec, ...] = field(default=())  # derived, read-only

    def field(self, name: str) -> FieldSpec:
        for f in self.fields + self.extra_fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def input_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.writable)

    @property
    def all_fields(self) -> tuple[FieldSpec, ...]:
        return self.fields + self.extra_fields


ALL = frozenset({"admin", "planner", "police", "leader", "analyst", "grid_worker"})
PLANNING = frozenset({"admin", "planner"})
POLICE = frozenset({"admin", "police"})

_CODE_SYN = ("code", "id_code", "编码", "代码", "编号", "bm")
_NAME_SYN = ("name", "名称", "名字", "mc")
_GRID_ID = FieldSpec("grid_code", "str", "所属网格", "Grid", writable=False, short="grid_code")

LAYERS: dict[str, LayerSpec] = {}


def _add(spec: LayerSpec) -> None:
    LAYERS[spec.key] = spec


_add(LayerSpec(
    "grids", m.Grid, "MultiPolygon", "网格", "Grids",
    fields=(
        FieldSpec("code", "str", "网格编码", "Grid code", required=True, pattern=r"^[0-9]+$",
                  max_len=32, synonyms=_CODE_SYN + ("grid_code", "wgbm", "网格编码", "网格代码")),
        FieldSpec("name", "str", "网格名称", "Grid name", required=True,
                  synonyms=_NAME_SYN + ("grid_name", "wgmc", "网格名称")),
    ),
    extra_fields=(
        FieldSpec("level", "str", "层级", "Level", writable=False),
        FieldSpec("parent_code", "str", "上级网格编码", "Parent code", writable=False, short="parent"),
        FieldSpec("households", "int", "户数", "Households", writable=False, short="households"),
        FieldSpec("version", "int", "版本", "Version", writable=False),
    ),
    code_field="code", read_roles=ALL, write_roles=PLANNING))

_add(LayerSpec(
    "buildings", m.Building, "Polygon", "建筑", "Buildings",
    fields=(
        FieldSpec("code", "str", "建筑编码", "Building code", max_len=64,
                  synonyms=_CODE_SYN + ("building_code", "bldg_id", "fwbm", "房屋编码", "建筑编码")),
        FieldSpec("name", "str", "建筑名称", "Building name", synonyms=_NAME_SYN + ("building_name", "楼名")),
        FieldSpec("address", "str", "地址", "Address", synonyms=("address", "addr", "地址", "门牌", "门牌地址", "dz")),
        FieldSpec("households", "int", "户数", "Households", required=True, min=0, max=100000,
                  synonyms=("households", "hh", "hh_count", "hhcount", "household", "户数", "住户数",
                            "户数量", "hs", "units")),
        FieldSpec("residential", "bool", "是否住宅", "Residential", default=True, short="resident",
                  synonyms=("residential", "is_residential", "res", "住宅", "是否住宅", "居住")),
        FieldSpec("floors", "int", "层数", "Floors", min=1, max=200,
                  synonyms=("floors", "levels", "storeys", "stories", "building_levels", "层数", "楼层数", "cs")),
    ),
    extra_fields=(_GRID_ID,),
    code_field="code", read_roles=ALL, write_roles=PLANNING))

_add(LayerSpec(
    "cameras", m.Camera, "Point", "摄像机", "Cameras",
    fields=(
        FieldSpec("gb_id", "str", "国标编码", "GB/T 28181 ID", required=True, pattern=r"^[0-9]{20}$",
                  synonyms=("gb_id", "gbid", "gb28181", "device_id", "deviceid", "国标编码", "设备编码",
                            "国标id", "设备国标编码", "camera_id")),
        FieldSpec("name", "str", "点位名称", "Name", synonyms=_NAME_SYN + ("camera_name", "点位名称", "设备名称")),
        FieldSpec("height_m", "float", "安装高度(米)", "Mount height (m)", default=4.0, min=0, max=300,
                  synonyms=("height", "height_m", "mount_height", "安装高度", "高度")),
        FieldSpec("azimuth_deg", "float", "朝向(度)", "Azimuth (°)", default=0.0, min=0, max=360,
                  short="azimuth", synonyms=("azimuth", "azimuth_deg", "direction", "heading", "bearing",
                                             "朝向", "方向角", "方位角")),
        FieldSpec("hfov_deg", "float", "水平视场角(度)", "Horizontal FOV (°)", default=60.0, min=0.1,
                  max=360, short="hfov", synonyms=("hfov", "hfov_deg", "fov", "视场角", "水平视场角", "视角")),
        FieldSpec("range_m", "float", "有效距离(米)", "Range (m)", default=50.0, min=0.1, max=2000,
                  synonyms=("range", "range_m", "distance", "有效距离", "监控距离", "可视距离")),
        FieldSpec("kind", "enum", "类型", "Kind", default="fixed", vocab=CAMERA_KINDS,
                  synonyms=("kind", "type", "camera_type", "类型", "摄像机类型", "设备类型")),
        FieldSpec("networked", "bool", "已联网", "Networked", default=False,
                  synonyms=("networked", "connected", "联网", "是否联网", "已联网")),
        FieldSpec("online", "bool", "在线", "Online", default=True, synonyms=("online", "在线", "是否在线", "状态")),
        FieldSpec("documented", "bool", "已建档", "Documented", default=False, short="document",
                  synonyms=("documented", "建档", "是否建档", "已建档")),
        FieldSpec("owner", "str", "建设/管理单位", "Owner", synonyms=("owner", "unit", "建设单位", "管理单位", "权属单位")),
    ),
    extra_fields=(
        FieldSpec("centre_code", "str", "中心编码", "Centre code", writable=False, short="centre"),
        FieldSpec("industry_code", "str", "行业编码", "Industry code", writable=False, short="industry"),
        FieldSpec("type_code", "str", "类型编码", "Type code", writable=False),
        FieldSpec("network_code", "str", "网络标识", "Network code", writable=False, short="network"),
    ),
    code_field="gb_id", read_roles=POLICE, write_roles=POLICE, sensitive=True))

_add(LayerSpec(
    "key_sites", m.KeySite, "MultiPolygon", "重点部位", "Key sites",
    fields=(
        FieldSpec("category", "enum", "类别", "Category", required=True, vocab=KEY_SITE_CATEGORIES,
                  synonyms=("category", "type", "class", "类别", "类型", "分类")),
        FieldSpec("name", "str", "名称", "Name", required=True, synonyms=_NAME_SYN),
    ),
    read_roles=ALL, write_roles=PLANNING | POLICE))

_add(LayerSpec(
    "roads", m.Road, "LineString", "道路", "Roads",
    fields=(
        FieldSpec("name", "str", "道路名称", "Road name", synonyms=_NAME_SYN + ("road_name", "道路名称", "路名")),
        FieldSpec("road_class", "enum", "道路等级", "Road class", required=True, vocab=ROAD_CLASSES,
                  short="class", synonyms=("road_class", "class", "fclass", "highway", "等级", "道路等级")),
        FieldSpec("width_m", "float", "宽度(米)", "Width (m)", default=6.0, min=0.5, max=120,
                  synonyms=("width", "width_m", "宽度", "路宽")),
    ),
    read_roles=ALL, write_roles=PLANNING))

_add(LayerSpec(
    "service_centres", m.ServiceCentre, "Point", "服务中心", "Service centres",
    fields=(
        FieldSpec("name", "str", "名称", "Name", required=True, synonyms=_NAME_SYN),
        FieldSpec("level", "enum", "级别", "Level", required=True, vocab=SERVICE_CENTRE_LEVELS,
                  synonyms=("level", "级别", "层级")),
        FieldSpec("address", "str", "地址", "Address", synonyms=("address", "addr", "地址")),
        FieldSpec("phone", "str", "电话", "Phone", pattern=r"^[0-9+() -]{3,32}$",
                  synonyms=("phone", "tel", "telephone", "电话", "联系电话")),
    ),
    read_roles=ALL, write_roles=PLANNING))

_add(LayerSpec(
    "incidents", m.Incident, "Point", "事件", "Incidents",
    fields=(
        FieldSpec("type", "enum", "事件类型", "Type", required=True, vocab=INCIDENT_TYPES,
                  synonyms=("type", "incident_type", "category", "事件类型", "类型", "类别")),
        FieldSpec("source", "enum", "来源", "Source", default="grid_worker", vocab=INCIDENT_SOURCES,
                  synonyms=("source", "来源", "上报来源")),
        FieldSpec("status", "enum", "状态", "Status", default="reported", vocab=INCIDENT_STATUSES,
                  synonyms=("status", "state", "状态", "办理状态")),
        FieldSpec("occurred_at", "datetime", "发生时间", "Occurred at", required=True, short="occurred",
                  synonyms=("occurred_at", "time", "datetime", "date", "发生时间", "时间", "事发时间")),
        FieldSpec("reported_at", "datetime", "上报时间", "Reported at", short="reported",
                  synonyms=("reported_at", "report_time", "上报时间")),
        FieldSpec("accepted_at", "datetime", "受理时间", "Accepted at", short="accepted",
                  synonyms=("accepted_at", "受理时间")),
        FieldSpec("handled_at", "datetime", "处置时间", "Handled at", short="handled",
                  synonyms=("handled_at", "处置时间")),
        FieldSpec("resolved_at", "datetime", "办结时间", "Resolved at", short="resolved",
                  synonyms=("resolved_at", "办结时间")),
        FieldSpec("evaluated_at", "datetime", "评价时间", "Evaluated at", short="evaluated",
                  synonyms=("evaluated_at", "评价时间")),
        FieldSpec("description", "str", "描述", "Description", short="descr",
                  synonyms=("description", "desc", "content", "描述", "内容", "事件描述")),
    ),
    extra_fields=(_GRID_ID,),
    read_roles=ALL, write_roles=ALL - {"analyst", "leader"}))

STAFF_FIELDS = (
    FieldSpec("grid_code", "str", "网格编码", "Grid code", required=True,
              synonyms=("grid_code", "grid", "code", "网格编码", "网格")),
    FieldSpec("name", "str", "姓名", "Name", required=True, synonyms=("name", "姓名", "名字")),
    FieldSpec("phone", "str", "电话", "Phone", pattern=r"^[0-9+() -]{3,32}$",
              synonyms=("phone", "tel", "mobile", "电话", "手机", "联系电话")),
    FieldSpec("role", "enum", "职责", "Role", required=True, vocab=STAFF_ROLES,
              synonyms=("role", "duty", "职责", "角色", "岗位")),
    FieldSpec("title", "str", "职务", "Title", synonyms=("title", "职务")),
)


def get_layer(key: str) -> LayerSpec:
    """The layer called ``key``; raises :class:`api.errors.WanggeError` (404) if unknown."""
    from api.errors import WanggeError

    try:
        return LAYERS[key]
    except KeyError:
        raise WanggeError("unknown_layer", f"未知图层：{key}（可用：{'、'.join(LAYERS)}）",
                          f"Unknown layer: {key} (known: {', '.join(LAYERS)})", 404) from None
