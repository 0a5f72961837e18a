"""Labels for the map and report in Chinese (default) and English."""

from __future__ import annotations

__all__ = ["LANGS", "t"]

LANGS = ("zh", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("托育设施选址分析", "Infant-care facility siting"),
    "hazards": ("危险源", "Hazards"),
    "zones": ("危险源退让范围", "Hazard setback zones"),
    "demand": ("婴幼儿需求（估算）", "Under-3 demand (estimate)"),
    "candidates": ("候选地块（按得分）", "Candidate parcels (by score)"),
    "excluded": ("排除地块", "Excluded parcels"),
    "selected": ("推荐新址", "Recommended new sites"),
    "catchments": ("步行5分钟服务范围", "5-minute walking catchments"),
    "facilities": ("现有托育与公共资源", "Existing childcare and public resources"),
    "parcel": ("地块", "Parcel"),
    "score": ("得分", "Score"),
    "rank": ("排名", "Rank"),
    "eligible": ("符合条件", "Eligible"),
    "excluded_by": ("排除依据", "Excluded by"),
    "rule": ("规则", "Rule"),
    "measured": ("测量值", "Measured"),
    "result": ("结论", "Result"),
    "pass": ("通过", "pass"),
    "fail": ("不通过", "FAIL"),
    "margin": ("超出退让 {v} m", "{v} m beyond setback"),
    "inside": ("进入退让范围 {v} m", "{v} m inside setback"),
    "none_within": ("{v} m 内无此类危险源", "none within {v} m"),
    "none_in_study": ("研究区内无相关危险源，通过", "no such hazard in the study area: pass"),
    "no_feature": ("通过（范围内无）", "pass (none near)"),
    "penalty": ("扣分", "penalty"),
    "unmet": ("多数需求未被现有托育满足", "mostly unmet by existing childcare"),
    "met_demand": ("需求基本被满足", "mostly met"),
    "soft_penalty": ("（扣分项）", "(soft penalty)"),
    "threshold": ("要求", "Threshold"),
    "crosses": ("穿越地块", "crosses the parcel"),
    "not_crosses": ("未穿越", "does not cross"),
    "criterion": ("指标", "Criterion"),
    "value": ("数值", "Value"),
    "points": ("得分贡献", "Points"),
    "area": ("面积", "Area"),
    "capacity": ("可提供托位", "Possible slots"),
    "planned": ("规划托位", "Planned slots"),
    "pick": ("选址顺序", "Pick order"),
    "under3": ("婴幼儿", "under-3s"),
    "residents": ("常住人口", "residents"),
    "estimate_note": (
        "人口为按居住建筑面积估算值",
        "Population is estimated from residential floor area",
    ),
    "score_classes": ("得分分级", "Score classes"),
    "attribution": (
        "数据 © OpenStreetMap 贡献者，ODbL 许可",
        "Data © OpenStreetMap contributors, ODbL",
    ),
    "fuel_station": ("加油（气）站", "Fuel station"),
    "pipeline": ("输油输气管道", "Oil/gas pipeline"),
    "power_line": ("电力线路", "Power line"),
    "power_cable": ("地下电缆", "Underground cable"),
    "substation": ("变电站", "Substation"),
    "industrial": ("工业用地", "Industrial land"),
    "landfill": ("垃圾填埋场", "Landfill"),
    "wastewater_plant": ("污水处理厂", "Wastewater plant"),
    "waste_transfer": ("垃圾转运站", "Waste transfer station"),
    "hospital": ("医院", "Hospital"),
    "crowded_venue": ("商场、市场等人员密集场所", "Mall or market (crowded venue)"),
    "hazardous_storage": ("易燃易爆储罐", "Flammable storage tanks"),
    "geohazard": ("地质灾害易发区", "Geological hazard zone"),
    "report_title": ("托育设施选址分析报告", "Infant-care siting report"),
    "targets": ("目标与达成", "Targets and results"),
    "target": ("目标", "Target"),
    "before": ("现状", "Before"),
    "after": ("新增后", "After"),
    "met": ("达标", "Met"),
    "coverage": ("社区托育覆盖率", "Community childcare coverage"),
    "slots_per_1000": ("每千人口托位数", "Slots per 1,000 residents"),
    "under3_in_walk": (
        "步行5分钟内有托育的婴幼儿比例",
        "Under-3s within a 5-min walk of childcare",
    ),
    "existing_slots": ("现有托位（估算见说明）", "Existing slots"),
    "exclusions": ("各规则排除地块数", "Parcels excluded per rule"),
    "count": ("数量", "Count"),
    "source": ("依据", "Source"),
    "confidence": ("可信度", "Confidence"),
    "top_sites": ("排名前列地块", "Top-ranked parcels"),
    "data_sources": ("数据来源", "Data sources"),
    "summary": ("概况", "Overview"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "unknown": ("未知", "unknown"),
    "scores_dist": ("得分分布", "Score distribution"),
    # map controls
    "fullscreen": ("全屏", "Full screen"),
    "measure": ("测量距离与面积", "Measure distance and area"),
    "measure_hint": (
        "在地图上点击添加测量点；再次点击按钮或按 Esc 结束",
        "Click the map to add points; click the button again or press Esc to finish",
    ),
    "distance": ("距离", "Distance"),
    "area_label": ("面积", "Area"),
    "search_placeholder": ("按地块编号查找", "Find a parcel by id"),
    "not_found": ("未找到该地块编号", "No parcel with this id"),
    "p_top_k": ("进入前 k 名的概率", "P(top k)"),
    "light_note": (
        "该地块排名靠后，地图仅给出各指标得分贡献；完整数值见 ranking.csv",
        "Low-ranked parcel: the map gives the points only; values are in ranking.csv",
    ),
    "unmet_value": ("未被现有托育满足的需求", "unmet by existing childcare"),
    "gcj_note": (
        "为与高德底图对齐，图中数据已由 WGS84 转换为 GCJ-02 坐标显示；"
        "分析与导出数据仍为 WGS84/CGCS2000",
        "Shown shifted to GCJ-02 to line up with the Amap basemap; the analysis and exported "
        "files stay in WGS84/CGCS2000",
    ),
    "dots_note": (
        "排名前 {v} 的地块显示为多边形，其余地块显示为圆点（点击查看）",
        "The top {v} parcels are drawn as polygons, the others as dots (click one)",
    ),
    "basemap_osm": ("OpenStreetMap 底图", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
    "basemap_amap": ("高德地图（GCJ-02）", "Amap (GCJ-02)"),
    "data_attribution": (
        "数据 © <a href='https://www.openstreetmap.org/copyright'>OpenStreetMap</a> 贡献者，ODbL",
        "Data © <a href='https://www.openstreetmap.org/copyright'>OpenStreetMap</a> "
        "contributors, ODbL",
    ),
    "no_hazard_near": ("筛查范围内无危险源", "no hazard within screening range"),
    "walk_u3": ("步行5分钟内婴幼儿", "Under-3s within a 5-min walk"),
    "unserved_u3": ("其中未被现有托育覆盖", "of which unserved"),
    "margin_m": ("危险源余量 m", "Hazard margin m"),
    "compliance": ("合规情况（有测量值的规则）", "Compliance (rules that measured something)"),
    "compliance_note": (
        "每条规则后为结论与地块边界到最近相关危险源的距离；未列出的规则在筛查范围内无相关危险源",
        "Each rule with its result and the distance from the parcel boundary to the nearest "
        "feature; rules not listed have no such feature within their screening range",
    ),
    "penalised": ("扣分地块", "Penalised"),
    "exclusions_note": (
        "一个地块可被多条规则同时排除，因此各规则数量之和可大于排除地块总数；“–”表示该规则不排除或不扣分",
        "A parcel can fail several rules, so the counts can add up to more than the excluded "
        "parcels; – means the rule does not exclude (or does not penalise)",
    ),
    "stability": ("排名稳定性", "Rank stability"),
    "stability_intro": (
        "p_top_k：在权重扰动的敏感性分析中，地块进入前 k 名的比例",
        "p_top_k: share of the sensitivity runs (perturbed weights) in which the parcel is "
        "in the top k",
    ),
    "no_stability": (
        "本次运行未计算排名稳定性（敏感性分析）",
        "Rank stability (sensitivity analysis) was not computed in this run",
    ),
    "static_map": ("静态地图", "Static map"),
    "rulebook_src": ("规则库", "Rulebook"),
    "map_link": ("地图", "map"),
    "report_link": ("报告", "report"),
    "area_name": ("区域", "Area"),
    "batch_title": ("托育设施选址分析（分区）", "Infant-care siting by area"),
    "batch_note": (
        "每个区域单独分析：其边界外一定范围内的危险源、道路和人口仍参与计算；候选地块按代表点归属区域",
        "Each area is studied on its own: hazards, streets and homes within a margin outside "
        "its boundary still count; a parcel belongs to the area holding its representative "
        "point",
    ),
    "walk_label": ("{v} 的步行服务范围", "walking catchment of {v}"),
    # land use, size, reuse, new residential areas (issue 9)
    "check": ("需核实", "to check"),
    "new_areas": ("新建居住区", "New residential areas"),
    "new_area_flagged": ("周边无托育设施（需配建）", "no facility near (must build)"),
    "new_area_served": ("已有托育设施服务", "served by a facility"),
    "new_areas_text": (
        "{n} 个新建居住区周边 {r} 米内无托育设施，需配建托位 {x} 个",
        "{n} new residential areas have no facility within {r} m; they need {x} slots",
    ),
    "new_areas_total": (
        "共 {n} 个新建居住区，规划人口 {p}，按整班应配托位合计 {x} 个",
        "{n} new residential areas, {p} planned residents, {x} slots required in all "
        "(whole classes)",
    ),
    "new_areas_note": (
        "服务半径按地块边界直线距离计；最近候选地块为符合条件且用地适宜或可合建的地块",
        "The radius is measured straight from the area's boundary; the nearest candidates are "
        "eligible parcels of a suitable or co-location land use",
    ),
    "land_use": ("用地类型", "Land use"),
    "land_use_role": ("用地角色", "Land-use role"),
    "land_use_scheme": ("分类标准", "Classification"),
    "unknown_codes": ("对照表中没有的地类代码", "Codes not in the code table"),
    "unknown_codes_note": (
        "这些地块不参与排序（LAND-UNKNOWN），请在用户对照表中指定其角色",
        "These parcels are not ranked (LAND-UNKNOWN); map their codes in your own table",
    ),
    "no_unknown_codes": ("所有地类代码均在对照表中", "Every code is in the code table"),
    "idle_parcels": ("闲置土地地块", "Idle-land parcels"),
    "low_efficiency_parcels": ("低效用地地块", "Low-efficiency parcels"),
    "code": ("地类代码", "Code"),
    "parcels": ("地块数", "Parcels"),
    "reuse": ("利用既有设施", "reuse"),
    "reuse_layer": ("利用既有设施（候选）", "Reuse of existing facilities (candidates)"),
    "reuse_of": ("既有设施", "Existing facility"),
    "usable_area": ("可用面积", "Usable area"),
    "reuse_note": (
        "♻ = 利用既有设施（幼儿园、社区服务中心、卫生站等）合建，须满足 JGJ 39 第 3.2.2 条",
        "♻ = reuse of an existing facility (kindergarten, community centre, health station) "
        "under JGJ 39 3.2.2",
    ),
    "toolkit_reasons": (
        "用地、面积与形状（非规则库条款）",
        "Land use, size and shape (not rulebook rules)",
    ),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """Label ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    zh, en = _TEXT[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text
