"""Domain vocabularies (DOMAIN.md), shared by storage, API and analysis.

Each entry maps a stable key to its zh-CN and en names.
"""
from __future__ import annotations

KEY_SITE_CATEGORIES: dict[str, tuple[str, str]] = {
    "party_government": ("党政机关", "Party and government offices"),
    "utility": ("水电气热等公共设施", "Water, power, gas and heating utilities"),
    "broadcast_telecom": ("广播电视与通信", "Broadcasting and telecom"),
    "key_enterprise": ("重点企业", "Key enterprises"),
    "school": ("中小学及幼儿园", "Primary and middle schools, kindergartens"),
    "bank": ("银行及金融网点", "Banks and financial sites"),
    "hospital": ("医院", "Hospitals"),
    "mall": ("商场超市", "Malls and supermarkets"),
    "internet_cafe": ("网吧", "Internet cafés"),
    "car_park": ("停车场", "Car parks"),
    "hotel": ("宾馆酒店", "Hotels"),
    "residential_estate": ("住宅小区", "Residential estates"),
    "square": ("广场、体育场及人员密集场所", "Squares, sports grounds and busy areas"),
    "high_crime_area": ("治安复杂区域", "High-crime areas"),
}

ROAD_CLASSES: dict[str, tuple[str, str]] = {
    "provincial": ("省道", "Provincial road"),
    "main_street": ("主要街道", "Main street"),
    "village_main": ("村主干道", "Village main road"),
    "lane": ("巷道", "Lane"),
}

SERVICE_CENTRE_LEVELS: dict[str, tuple[str, str]] = {
    "district": ("区级", "District"),
    "town": ("镇/街道级", "Town / sub-district"),
    "village": ("村/社区级", "Village / community"),
}

STAFF_ROLES: dict[str, tuple[str, str]] = {
    "responsible": ("网格责任人", "Responsible person"),
    "grid_manager": ("网格员", "Grid manager"),
    "police": ("网格民警", "Police officer"),
    "supervisor": ("网格督导员", "Supervisor"),
    "specialist": ("专职网格员", "Specialist"),
    "volunteer": ("志愿者", "Volunteer"),
}

CAMERA_KINDS: dict[str, tuple[str, str]] = {
    "fixed": ("枪机（固定）", "Fixed"),
    "ptz": ("球机（云台）", "PTZ dome"),
}

INCIDENT_TYPES: dict[str, tuple[str, str]] = {
    "dispute": ("矛盾纠纷", "Dispute"),
    "public_order": ("治安案事件", "Public order / crime"),
    "safety_hazard": ("安全隐患", "Safety hazard"),
    "city_management": ("城市管理", "City management"),
    "service_request": ("服务诉求", "Service request"),
}

INCIDENT_STATUSES: dict[str, tuple[str, str]] = {
    "reported": ("已上报", "Reported"),
    "accepted": ("已受理", "Accepted"),
    "handled": ("已处置", "Handled"),
    "resolved": ("已办结", "Resolved"),
    "evaluated": ("已评价", "Evaluated"),
}

INCIDENT_SOURCES: dict[str, tuple[str, str]] = {
    "grid_worker": ("网格员上报", "Grid worker"),
    "hotline": ("热线", "Hotline"),
    "camera": ("视频发现", "Camera"),
    "resident": ("群众反映", "Resident"),
}
