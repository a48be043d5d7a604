from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgType(models.TextChoices):
    NARCOTICS_OFFICE = "narcotics_office", _("Narcotics control office (禁毒办)")
    MEMBER_UNIT = "member_unit", _("Member unit / government department")
    POLICE_STATION = "police_station", _("Police station (派出所)")
    STREET_OFFICE = "street_office", _("Street office / town government")
    COMMUNITY = "community", _("Community / village committee")
    SCHOOL = "school", _("School")
    ENTERPRISE = "enterprise", _("Enterprise")
    MEDICAL = "medical", _("Medical institution")
    REHAB_CENTER = "rehab_center", _("Drug rehabilitation facility (戒毒场所)")
    LAB = "lab", _("Laboratory")
    COURIER = "courier", _("Courier / logistics company")
    CHECKPOINT = "checkpoint", _("Checkpoint (查缉站)")
    SOCIAL_ORG = "social_org", _("Social organisation")
    TREATMENT_PLANT = "treatment_plant", _("Wastewater treatment plant")
    OTHER = "other", _("Other")


class Sector(models.TextChoices):
    """The line of government an organisation belongs to (条线); member units of the outline."""

    NARCOTICS_CONTROL = "narcotics_control", _("Narcotics control commission")
    PROPAGANDA = "propaganda", _("Publicity department (宣传部)")
    COURT = "court", _("Court")
    PROCURATORATE = "procuratorate", _("Procuratorate")
    PUBLIC_SECURITY = "public_security", _("Public security (公安)")
    EDUCATION = "education", _("Education (教育)")
    HRSS = "hrss", _("Human resources and social security (人社)")
    YOUTH_LEAGUE = "youth_league", _("Communist Youth League (团委)")
    WOMEN_FEDERATION = "women_federation", _("Women's federation (妇联)")
    TRADE_UNION = "trade_union", _("Trade union (工会)")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs (民政)")
    JUSTICE = "justice", _("Justice (司法)")
    CULTURE_TOURISM = "culture_tourism", _("Culture, broadcasting and tourism (文广旅)")
    EMERGENCY = "emergency", _("Emergency management (应急)")
    FINANCE = "finance", _("Finance (财政)")
    HEALTH = "health", _("Health (卫健)")
    AGRICULTURE = "agriculture", _("Agriculture and rural affairs (农业农村)")
    CUSTOMS = "customs", _("Customs anti-smuggling (海关缉私)")
    POSTAL = "postal", _("Postal administration (邮管)")
    PBOC = "pboc", _("People's Bank of China (人民银行)")
    TRANSPORT = "transport", _("Transport (交通)")
    RAILWAY = "railway", _("Railway station (火车站)")
    COMMERCE = "commerce", _("Commerce (商务)")
    MARKET_REGULATION = "market_regulation", _("Market regulation (市场监管)")
    DRUG_ADMINISTRATION = "drug_administration", _("Drug administration (药监)")
    INDUSTRY_IT = "industry_it", _("Industry and information technology (工信)")
    ECOLOGY = "ecology", _("Ecology and environment (生态环境)")
    DEVELOPMENT_REFORM = "development_reform", _("Development and reform (发改)")
    LANDSCAPING = "landscaping", _("Landscaping (园林绿化)")
    WATER = "water", _("Water affairs (水务)")
    STREET = "street", _("Street / community")
    PRIVATE = "private", _("Non-government")


# The member units (成员单位) the outline names, with the sector each belongs to. The demo city
# creates one organisation per entry at city level; districts get the ones that exist there.
OUTLINE_MEMBER_UNITS = [
    ("市委宣传部", Sector.PROPAGANDA),
    ("市中级人民法院", Sector.COURT),
    ("市人民检察院", Sector.PROCURATORATE),
    ("市公安局", Sector.PUBLIC_SECURITY),
    ("市教育局", Sector.EDUCATION),
    ("市人力资源和社会保障局", Sector.HRSS),
    ("团市委", Sector.YOUTH_LEAGUE),
    ("市妇联", Sector.WOMEN_FEDERATION),
    ("市总工会", Sector.TRADE_UNION),
    ("市民政局", Sector.CIVIL_AFFAIRS),
    ("市司法局", Sector.JUSTICE),
    ("市文化广电和旅游局", Sector.CULTURE_TOURISM),
    ("市应急管理局", Sector.EMERGENCY),
    ("市财政局", Sector.FINANCE),
    ("市卫生健康委员会", Sector.HEALTH),
    ("市农业农村局", Sector.AGRICULTURE),
    ("海关缉私分局", Sector.CUSTOMS),
    ("市邮政管理局", Sector.POSTAL),
    ("人民银行市中心支行", Sector.PBOC),
    ("市交通运输局", Sector.TRANSPORT),
    ("火车站", Sector.RAILWAY),
    ("市商务局", Sector.COMMERCE),
    ("市市场监督管理局", Sector.MARKET_REGULATION),
    ("省药品监督管理局检查分局", Sector.DRUG_ADMINISTRATION),
    ("市工业和信息化局", Sector.INDUSTRY_IT),
    ("市生态环境局", Sector.ECOLOGY),
    ("市发展和改革委员会", Sector.DEVELOPMENT_REFORM),
    ("市园林绿化管理局", Sector.LANDSCAPING),
    ("市水务局", Sector.WATER),
]
