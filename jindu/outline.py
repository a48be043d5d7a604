"""The outline (纲要) this platform carries: six pillars (六全), 27 measures, the targets.

Transcribed from shared/seed/000_fe1d6717abea1aa4.txt (a Jiangsu city's 2023 outline). Lead and
participating units are as the outline names them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Pillar:
    number: int
    app: str
    title: str
    title_en: str
    short: str  # for the navigation bar
    short_en: str


@dataclass(frozen=True)
class Measure:
    number: int
    pillar: int
    title: str
    lead_units: str
    participating_units: str


PILLARS = [
    Pillar(1, "education", "全覆盖开展毒品预防教育", "Prevention education for everyone", "预防教育", "Prevention"),
    Pillar(2, "casework", "全环节服务管理吸毒人员", "Services and management of drug users", "吸毒人员", "Drug users"),
    Pillar(3, "enforcement", "全链条打击毒品犯罪活动", "Striking drug crime along the whole chain", "打击犯罪", "Enforcement"),
    Pillar(4, "precursors", "全要素监管制毒物品", "Supervision of precursor chemicals", "制毒物品", "Precursors"),
    Pillar(5, "monitoring", "全方位毒情监测预警", "Drug-situation monitoring and early warning", "毒情监测", "Monitoring"),
    Pillar(6, "governance", "全层级落实禁毒工作责任", "Responsibility at every level", "责任落实", "Responsibility"),
]

MEASURES = [
    Measure(1, 1, "加强全民禁毒宣传教育", "市禁毒办", "市禁毒委各成员单位"),
    Measure(2, 1, "加强青少年毒品预防教育", "市禁毒办、市教育局、市人社局", "市公安局,团市委"),
    Measure(3, 1, "加强重点人群禁毒宣传", "市禁毒办", "市公安局、市民政局、市司法局、市文广旅局、市应急局,团市委、市妇联"),
    Measure(4, 1, "扩大禁毒宣传教育影响", "市禁毒办、市委宣传部", "市禁毒委各成员单位"),
    Measure(5, 2, "严厉查处吸毒违法行为", "市公安局", ""),
    Measure(6, 2, "落实分级分类核查管控", "市禁毒办", "市公安局、市民政局、市司法局、市卫生健康委"),
    Measure(7, 2, "深化社区戒毒社区康复", "市禁毒办", "市公安局、市民政局、市司法局、市财政局、市卫生健康委"),
    Measure(8, 2, "推进强戒执行和病残收治", "市禁毒办", "市公安局、市卫生健康委"),
    Measure(9, 2, "规范完善自愿戒毒体系", "市卫生健康委", "市公安局、市司法局"),
    Measure(10, 2, "落实吸毒人员关怀救助", "市禁毒办", "市教育局、市公安局、市民政局、市司法局、市财政局、市人社局、市农业农村局、市卫生健康委"),
    Measure(11, 3, "严厉打击制贩毒犯罪", "市公安局", "市中级法院、市检察院、*海关缉私分局、市邮管局"),
    Measure(12, 3, "提升缉毒侦查合成作战水平", "市公安局", "市中级法院、市检察院、*海关缉私分局、人行*中支"),
    Measure(13, 3, "加强毒品公开查缉", "市公安局", "市交通局、*海关缉私分局、市邮管局、*火车站"),
    Measure(14, 3, "提升禁毒执法办案质量", "市公安局", "市中级法院、市检察院"),
    Measure(15, 4, "严格落实企业日常监管措施", "市禁毒办", "市公安局、市商务局、市应急局、市市场监管局、省药监局*检查分局"),
    Measure(16, 4, "提高易制毒化学品智慧监管水平", "市禁毒办", "市工信局、市公安局、市生态环境局、市商务局、市应急局、市市场监管局、人行*中支、省药监局*检查分局"),
    Measure(17, 4, "提升易制毒化学品管理社会化水平", "市禁毒办", "市发改委、市工信局、市公安局、市民政局、市生态环境局、市商务局、市应急局、市市场监管局、人行*中支、省药监局*检查分局"),
    Measure(18, 4, "深化非法种植毒品原植物治理", "市禁毒办", "市公安局、市园林绿化局、市农业农村局、市市场监管局"),
    Measure(19, 5, "加强全市毒情监测体系建设", "市禁毒办", "市公安局、市财政局、市生态环境局、市水务局、市卫生健康委、市市场监管局、省药监局*检查分局"),
    Measure(20, 5, "提升禁毒情报信息化水平", "市公安局", ""),
    Measure(21, 6, "落实禁毒委成员单位禁毒工作责任", "市禁毒办", "市禁毒委各成员单位"),
    Measure(22, 6, "固化发展禁毒办实体化运作机制", "市禁毒办", "市禁毒委各成员单位,各县级市(区)禁毒办"),
    Measure(23, 6, "加大禁毒经费投入", "市禁毒办", "市公安局、市财政局,各县级市(区)禁毒办"),
    Measure(24, 6, "完善禁毒基础设施", "市禁毒办", "市公安局、市财政局,各县级市(区)禁毒办"),
    Measure(25, 6, "加强禁毒专业队伍建设", "市禁毒办", "市禁毒委各成员单位,各县级市(区)禁毒办"),
    Measure(26, 6, "深化突出毒品问题整治", "市禁毒办", "市禁毒委各成员单位,各县级市(区)禁毒办"),
    Measure(27, 6, "深化禁毒示范城市创建", "市禁毒办", "市禁毒委各成员单位,各县级市(区)禁毒办"),
]

# 五个保持低位、四个百分之百、三个不发生
TARGETS = {
    "keep_low": ["涉毒违法犯罪空间", "毒品滥用水平", "吸毒人员复吸率", "新发现吸毒人员", "涉易制毒化学品违法违规"],
    "hundred_percent": ["禁毒宣传教育覆盖面", "吸毒人员核查管控率", "易制毒化学品企业实地核查率", "污水毒情监测覆盖面"],
    "never": ["吸毒人员肇事肇祸案事件", "重大制毒物品流入非法渠道案事件", "重大涉毒舆情炒作事件"],
}


CITY_NAME = "苏州"  # the seed redacts the city's name as "*"; the demo city is 苏州 (320500)


def display(text: str, city: str = CITY_NAME) -> str:
    """Outline text with the redacted city name filled in and one list separator (、)."""
    return text.replace("*", city).replace(",", "、").replace("，", "、")


def pillar(app: str) -> Pillar:
    return next(p for p in PILLARS if p.app == app)


def measures_of(pillar_number: int) -> list[Measure]:
    return [m for m in MEASURES if m.pillar == pillar_number]
