"""Labels of the dashboards in zh-CN (default) and English.

Layer and field names come from the layer registry (:mod:`api.layers`) and vocabularies from
:mod:`gis.vocab`, so a label is written once; this module holds only what pages add.
"""
from __future__ import annotations

from api.layers import LAYERS

ZH, EN = "zh-CN", "en"

MESSAGES: dict[str, tuple[str, str]] = {
    "town_title": ("{name} 网格总览", "{name}: grid overview"),
    "index_title": ("网格化管理看板", "Grid management dashboards"),
    "index_intro": ("选择辖区打开看板。", "Choose a jurisdiction to open a dashboard."),
    "index_none": ("尚未创建辖区：请先运行 wangge demo load。", "No jurisdiction yet: run `wangge demo load`."),
    "town_page": ("辖区总览", "Town overview"),
    "town_page_desc": ("网格分级、户数负荷、建筑、道路、重点部位与服务中心",
                       "Grids by level, household load, buildings, roads, key sites and service centres"),
    "boundary": ("辖区边界", "Jurisdiction boundary"),
    "basemap_osm": ("OpenStreetMap 底图", "OpenStreetMap basemap"),
    "basemap_tianditu": ("天地图 矢量", "Tianditu vector"),
    "legend_load": ("基础网格户数负荷（上限 {cap} 户）", "Basic grid households (cap {cap})"),
    "status_ok": ("低于上限的 80%", "Below 80% of cap"),
    "status_near": ("上限的 80%–100%", "80–100% of cap"),
    "status_over": ("超过上限", "Over cap"),
    "status": ("负荷", "Load"),
    "load": ("户数/上限", "Households / cap"),
    "legend_buildings": ("建筑", "Buildings"),
    "residential": ("住宅", "Residential"),
    "non_residential": ("非住宅", "Non-residential"),
    "legend_cameras": ("摄像机", "Cameras"),
    "networked": ("已联网", "Networked"),
    "not_networked": ("未联网", "Not networked"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "count_grids": ("网格", "Grids"),
    "count_basic": ("其中基础网格", "of which basic"),
    "count_buildings": ("建筑", "Buildings"),
    "count_households": ("户数", "Households"),
    "count_cameras": ("摄像机", "Cameras"),
    "count_incidents": ("事件", "Incidents"),
    "note_min_zoom": ("建筑在放大到第 {zoom} 级后显示", "Buildings show from zoom level {zoom}"),
    "note_capped": ("建筑较多，仅显示前 {shown} 栋（共 {total} 栋）",
                    "Many buildings: showing the first {shown} of {total}"),
    "other_language": ("English", "中文"),
    "all_dashboards": ("全部看板", "All dashboards"),
    "code": ("编码", "Code"),
    # planner's dashboard (/dashboards/grids)
    "grids_title": ("{name} 网格规划", "{name}: grid planning"),
    "grids_page": ("网格规划", "Grid planning"),
    "grids_page_desc": ("网格分级、户数负荷、网格人员、规则问题与网格编辑（先预校验再保存）",
                        "Grids by level, household load, staff, rule violations and grid editing "
                        "(dry run before saving)"),
    "staff": ("网格人员", "Staff"),
    "no_staff": ("未配备", "None assigned"),
    "count_errors": ("规则错误", "Rule errors"),
    "count_warnings": ("规则警告", "Rule warnings"),
    "note_read_only": ("只读：仅规划人员和管理员可以编辑网格", "Read-only: only planners and administrators edit grids"),
    "note_editable": ("编辑网格：每次修改先预校验（不保存），确认后再保存",
                      "Editing: every change is first checked as a dry run (nothing saved), then saved"),
    "layer_violations": ("规则问题", "Rule violations"),
    "layer_preview": ("预校验结果", "Dry-run result"),
    "legend_violations": ("规则问题", "Rule violations"),
    "violations_title": ("规则问题（{errors} 个错误，{warnings} 个警告）",
                         "Rule violations ({errors} errors, {warnings} warnings)"),
    "violations_empty": ("未发现问题", "No violations"),
    "violations_severity": ("严重程度", "Severity"),
    "violations_grids": ("网格", "Grids"),
    "violations_buildings": ("建筑", "Buildings"),
    "violations_severity_error": ("错误", "Error"),
    "violations_severity_warning": ("警告", "Warning"),
    "violations_new_error": ("新错误", "New error"),
    "violations_preview_title": ("预校验：修改后将有 {n} 个新错误", "Dry run: {n} new error(s) after the change"),
    "violations_refused_title": ("未保存：{n} 个新错误", "Not saved: {n} new error(s)"),
    "editor_title": ("编辑网格", "Edit grids"),
    "editor_hint_select": ("点击地图上的基础网格以选中它", "Click a basic grid on the map to select it"),
    "editor_selected": ("已选网格：{code} {name}", "Selected grid: {code} {name}"),
    "editor_create": ("绘制新网格", "Draw a new grid"),
    "editor_reshape": ("修改形状", "Reshape"),
    "editor_split": ("画线分割", "Split by a line"),
    "editor_finish": ("完成绘制", "Finish"),
    "editor_undo": ("撤销上一点", "Undo last point"),
    "editor_save": ("保存", "Save"),
    "editor_cancel": ("取消", "Cancel"),
    "editor_name": ("新网格名称", "New grid name"),
    "editor_parent": ("上级网格", "Parent grid"),
    "editor_default_name": ("新网格", "New grid"),
    "editor_need_selection": ("请先在地图上选中一个基础网格", "Select a basic grid on the map first"),
    "editor_need_name": ("请填写新网格名称", "Enter a name for the new grid"),
    "editor_need_parent": ("请选择上级网格", "Choose the parent grid"),
    "editor_multipart": ("该网格由多块组成，请先修正为一块再修改形状",
                         "This grid has several pieces: make it one piece before reshaping"),
    "editor_drawing_polygon": ("在地图上逐点绘制新网格，点击第一个点闭合", "Draw the new grid point by point; click the first point to close it"),
    "editor_drawing_line": ("画一条完整穿过所选网格的分割线，点击最后一点结束",
                            "Draw a line right across the selected grid; click the last point to finish"),
    "editor_editing": ("拖动顶点修改形状（拖动边中点可增加顶点），松开后自动预校验",
                       "Drag the vertices (drag a midpoint to add one); each change is checked as a dry run"),
    "editor_checking": ("正在预校验（不保存）…", "Dry run in progress (nothing is saved)…"),
    "editor_dry_run_ok": ("预校验通过：不会产生新的错误，可以保存", "Dry run passed: no new errors; you may save"),
    "editor_dry_run_bad": ("预校验：将产生 {n} 个新错误（见地图与列表），保存会被拒绝",
                           "Dry run: {n} new error(s) (see the map and the list); saving would be refused"),
    "editor_saving": ("正在保存…", "Saving…"),
    "editor_saved": ("已保存：{what}", "Saved: {what}"),
    "editor_failed": ("操作失败：{message}", "Failed: {message}"),
    "editor_polygon_start": ("点击开始绘制网格边界", "Click to start drawing the grid"),
    "editor_polygon_cont": ("点击继续绘制", "Click to continue drawing"),
    "editor_polygon_end": ("点击第一个点闭合网格", "Click the first point to close the grid"),
    "editor_line_start": ("点击开始画分割线", "Click to start the line"),
    "editor_line_cont": ("点击继续画线", "Click to continue the line"),
    "editor_line_end": ("点击最后一点结束画线", "Click the last point to finish the line"),
    "editor_line_error": ("边界不能自相交", "Edges may not cross"),
    # camera coverage and blind spots (/dashboards/coverage, /dashboards/blindspots)
    "coverage_page": ("视频覆盖", "Camera coverage"),
    "coverage_page_desc": ("摄像机可视域、覆盖重数、重点部位覆盖与各网格考核指标（仅公安、管理员）",
                           "Camera views, coverage multiplicity, key-site coverage and KPIs per grid "
                           "(police and admin only)"),
    "blindspots_page": ("盲区盲点", "Blind spots"),
    "blindspots_page_desc": ("按优先级排序的盲区盲点与新增点位建议（仅公安、管理员）",
                             "Blind spots ranked by priority, with suggested new cameras (police and admin only)"),
    "coverage_title": ("{name} 视频覆盖", "{name}: camera coverage"),
    "blindspots_title": ("{name} 盲区盲点", "{name}: blind spots"),
    "layer_views": ("摄像机可视域", "Camera views"),
    "layer_coverage": ("覆盖范围（可视域合并）", "Coverage (union of views)"),
    "layer_multi": ("多机覆盖（≥2 台）", "Seen by ≥2 cameras"),
    "layer_key_site_coverage": ("重点部位覆盖", "Key-site coverage"),
    "layer_kpi": ("考核指标（{level}）", "KPIs ({level})"),
    "layer_camera_points": ("摄像机点位", "Camera positions"),
    "layer_blind_spots": ("盲区盲点", "Blind spots"),
    "layer_suggestions": ("建议新增点位", "Suggested cameras"),
    "min_cameras": ("≥{n} 台摄像机", "≥{n} cameras"),
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "documented": ("已建档", "Documented"),
    "view_area": ("可视面积（㎡）", "View area (m²)"),
    "site_share": ("覆盖比例", "Share covered"),
    "site_entrances": ("出入口覆盖", "Entrances covered"),
    "site_cameras": ("可见摄像机", "Cameras seeing it"),
    "site_status": ("覆盖状态", "Coverage"),
    "site_covered": ("已覆盖", "Covered"),
    "site_partly": ("部分覆盖", "Partly covered"),
    "site_not": ("未覆盖", "Not covered"),
    "gb_admin": ("行政区划", "Admin code"),
    "gb_type": ("设备类型", "Device type"),
    "gb_network": ("网络标识", "Network"),
    "gb_serial": ("序号", "Serial"),
    "kpi_title": ("考核指标", "KPIs"),
    "kpi_level": ("层级", "Level"),
    "kpi_area": ("区域", "Area"),
    "kpi_indicator": ("指标", "Indicator"),
    "kpi_value": ("实际", "Value"),
    "kpi_target": ("目标", "Target"),
    "kpi_met": ("达标", "Met"),
    "kpi_key_area_coverage": ("重点区域覆盖率", "Key-area coverage"),
    "kpi_networking_key": ("重点部位联网率", "Networking (key sites)"),
    "kpi_networking_all": ("联网率", "Networking (all)"),
    "kpi_online": ("在线率", "Online rate"),
    "kpi_documented": ("建档率", "Documented rate"),
    "rag_green": ("达标", "Green: met"),
    "rag_amber": ("接近目标", "Amber: near target"),
    "rag_red": ("未达标", "Red: below target"),
    "rag_none": ("无数据", "No data"),
    "count_cameras_networked": ("已联网摄像机", "Networked cameras"),
    "count_cameras_online": ("在线摄像机", "Online cameras"),
    "count_covered_km2": ("覆盖面积（km²）", "Covered (km²)"),
    "count_multi_km2": ("多机覆盖面积（km²）", "Seen by ≥2 (km²)"),
    "count_sites_status": ("重点部位 已/部分/未覆盖", "Key sites covered / partly / not"),
    "count_blind_spots": ("盲区盲点", "Blind spots"),
    "count_blind_m2": ("盲区总面积（㎡）", "Blind area (m²)"),
    "count_incidents_window": ("计入的警情（{start} 起）", "Incidents counted (since {start})"),
    "spot_rank": ("排序", "Rank"),
    "spot_priority": ("优先级", "Priority"),
    "spot_area": ("面积（㎡）", "Area (m²)"),
    "spot_category": ("类别", "Category"),
    "spot_site": ("所属部位", "Place"),
    "spot_grid": ("所在网格", "Grid"),
    "spot_incidents": ("警情密度（每百㎡）", "Incidents per 100 m²"),
    "spot_list_title": ("盲区盲点（按优先级，共 {n} 处）", "Blind spots by priority ({n})"),
    "spot_list_empty": ("未发现盲区", "No blind spots"),
    "spot_entry": ("{rank}. {category} {name} {area} ㎡，优先级 {priority}",
                   "{rank}. {category} {name} {area} m², priority {priority}"),
    "priority_high": ("高优先级", "High priority"),
    "priority_mid": ("中优先级", "Medium priority"),
    "priority_low": ("低优先级", "Low priority"),
    "suggest_rank": ("建议序号", "Suggestion"),
    "suggest_azimuth": ("朝向（°）", "Azimuth (°)"),
    "suggest_gain": ("新增覆盖（㎡）", "Gain (m²)"),
    "suggest_gain_weighted": ("加权增益", "Weighted gain"),
    "suggest_cumulative": ("累计覆盖盲区比例", "Cumulative share of blind area"),
    "note_suggestions": ("建议点位：在重点部位盲区中按警情加权的贪心选址，至少达到最优的 {quality}",
                         "Suggestions: incident-weighted greedy placement over the key sites' blind spots, "
                         "at least {quality} of the optimum"),
    "note_no_suggestions": ("未计算新增点位建议", "No camera suggestions computed"),
    "note_police_only": ("摄像机位置属敏感信息：仅公安、管理员可见", "Camera positions are sensitive: police and admin only"),
}


def norm_lang(lang: str | None) -> str:
    return EN if (lang or "").lower().startswith("en") else ZH


def t(key: str, lang: str, **values) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    zh, en = MESSAGES[key]
    return (en if norm_lang(lang) == EN else zh).format(**values)


def pick(pair: tuple[str, str], lang: str) -> str:
    """One of a (zh, en) pair, as vocabularies hold them."""
    return pair[1] if norm_lang(lang) == EN else pair[0]


def layer_name(key: str, lang: str) -> str:
    spec = LAYERS[key]
    return spec.en if norm_lang(lang) == EN else spec.zh


def field_label(layer: str, field: str, lang: str) -> str:
    f = LAYERS[layer].field(field)
    return f.en if norm_lang(lang) == EN else f.zh


def level_name(level: dict | object, lang: str) -> str:
    """Name of a grid level (a GridLevelConfig or its dict form) in ``lang``."""
    get = level.get if isinstance(level, dict) else lambda k: getattr(level, k)
    return get("name_en") if norm_lang(lang) == EN else get("name_zh")


def place_name(name: str, name_en: str | None, lang: str) -> str:
    return (name_en or name) if norm_lang(lang) == EN else name


def yes_no(value: bool | None, lang: str) -> str:
    return "" if value is None else t("yes" if value else "no", lang)
