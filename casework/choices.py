from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonStatus(models.TextChoices):
    COMMUNITY_TREATMENT = "community_treatment", _("Community drug treatment (社区戒毒)")
    COMMUNITY_REHAB = "community_rehab", _("Community rehabilitation (社区康复)")
    COMPULSORY_ISOLATION = "compulsory_isolation", _("Compulsory isolation (强制隔离戒毒)")
    VOLUNTARY = "voluntary", _("Voluntary treatment (自愿戒毒)")
    MAINTENANCE = "maintenance", _("Maintenance treatment (维持治疗)")
    DETAINED = "detained", _("Detained (羁押)")
    IMPRISONED = "imprisoned", _("Serving a sentence (服刑)")
    ABSTINENT_3Y = "abstinent_3y", _("Abstinent three years (戒断三年未复吸)")
    LOST_CONTACT = "lost_contact", _("Lost contact (失控)")
    DECEASED = "deceased", _("Deceased (死亡)")
    EMIGRATED = "emigrated", _("Left the country (出境)")
    OTHER_SOCIAL = "other_social", _("Other, in society (其他社会面)")


class StatusSource(models.TextChoices):
    POLICE = "police", _("Public security (公安)")
    JUSTICE = "justice", _("Justice (司法)")
    HEALTH = "health", _("Health (卫健)")
    COMMUNITY = "community", _("Community (社区)")


class MeasureKind(models.TextChoices):
    COMMUNITY_TREATMENT = "community_treatment", _("Community drug treatment (社区戒毒)")
    COMMUNITY_REHAB = "community_rehab", _("Community rehabilitation (社区康复)")
    COMPULSORY_ISOLATION = "compulsory_isolation", _("Compulsory isolation (强制隔离戒毒)")
    VOLUNTARY = "voluntary", _("Voluntary treatment (自愿戒毒)")
    MAINTENANCE = "maintenance", _("Maintenance treatment (维持治疗)")
    TEMPORARY_CONTROL = "temporary_control", _("Temporary control (临时管控)")
    AFTERCARE = "aftercare", _("Aftercare (后续照管)")
    MEDICAL_CUSTODY = "medical_custody", _("Admission of the sick or disabled (病残收治)")


COMMUNITY_KINDS = (MeasureKind.COMMUNITY_TREATMENT, MeasureKind.COMMUNITY_REHAB)


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High (高)")
    MEDIUM = "medium", _("Medium (中)")
    LOW = "low", _("Low (低)")


class ContactKind(models.TextChoices):
    CHECKIN = "checkin", _("Check-in (报到)")
    TALK = "talk", _("Talk (谈话)")
    HOME_VISIT = "home_visit", _("Home visit (走访)")
    PHONE = "phone", _("Phone contact (电话)")


class ContactOutcome(models.TextChoices):
    MET = "met", _("Met in person")
    NOT_FOUND = "not_found", _("Not found")
    REFUSED = "refused", _("Refused")


class TestSample(models.TextChoices):
    URINE = "urine", _("Urine (尿检)")
    HAIR = "hair", _("Hair (毛发)")
    SALIVA = "saliva", _("Saliva (唾液)")
    BLOOD = "blood", _("Blood (血液)")


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative (阴性)")
    POSITIVE = "positive", _("Positive (阳性)")
    REFUSED = "refused", _("Refused (拒绝)")
    EVADED = "evaded", _("Evaded (逃避)")
    INVALID = "invalid", _("Invalid (无效)")


class PlannedKind(models.TextChoices):
    CHECKIN = "checkin", _("Check-in (报到)")
    TEST = "test", _("Drug test (检测)")
    RANDOM_TEST = "random_test", _("Random test (随机检测)")
    HOME_VISIT = "home_visit", _("Home visit (走访)")
    ASSESSMENT = "assessment", _("Risk review (评估)")


class PlannedStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    OVERDUE = "overdue", _("Overdue")
    SKIPPED = "skipped", _("Not needed")


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class AssistanceKind(models.TextChoices):
    TRAINING = "training", _("Vocational training (技能培训)")
    JOB = "job", _("Employment (就业)")
    DIBAO = "dibao", _("Minimum living allowance (低保)")
    MEDICAL_INSURANCE = "medical_insurance", _("Medical insurance (医保)")
    TEMPORARY_RELIEF = "temporary_relief", _("Temporary relief (临时救助)")
    PSYCHOLOGICAL = "psychological", _("Psychological help (心理)")
    SCHOOL = "school", _("Schooling (就学)")
    MEDICAL = "medical", _("Medical care (就医)")
    CHILD_CARE = "child_care", _("Care for children (子女关爱)")


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    DONE = "done", _("Done")


class Guardianship(models.TextChoices):
    PARENT = "parent", _("With the other parent")
    RELATIVE = "relative", _("With relatives")
    NONE = "none", _("Without a carer (事实无人抚养)")
    INSTITUTION = "institution", _("In an institution")


class IncidentKind(models.TextChoices):
    SELF_HARM = "self_harm", _("Self-harm or suicide (自伤自残)")
    HARM_OTHERS = "harm_others", _("Harm to others (伤害他人)")
    DRUG_DRIVING = "drug_driving", _("Drug driving (毒驾)")
    PUBLIC_SAFETY = "public_safety", _("Public safety or property (公共安全)")
    PUBLIC_OPINION = "public_opinion", _("Major public-opinion event (重大舆情)")


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    SERIOUS = "serious", _("Serious")
    MAJOR = "major", _("Major")


# the substances a registered person is recorded as using (滥用毒品种类), by their Chinese names as the
# ledgers write them; stored in Person.drug_types
DRUG_TYPES = ["海洛因", "甲基苯丙胺", "氯胺酮", "大麻", "可卡因", "吗啡", "MDMA(摇头丸)", "甲卡西酮", "麻古",
              "新精神活性物质", "其他"]


class DocumentKind(models.TextChoices):
    AGREEMENT = "agreement", _("Signed agreement (社区戒毒/康复协议)")
    CONSENT = "consent", _("Consent (知情同意书)")
    CARE_PLAN = "care_plan", _("Care plan (帮扶计划)")
    DECISION = "decision", _("Decision (决定书)")
    OTHER = "other", _("Other document")


class CarePlanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


TEAM_ROLES = [("worker", _("Full-time worker (专职人员)")), ("police", _("Community police (社区民警)")),
              ("medical", _("Medical staff (医务人员)")), ("family", _("Family member (家属)")),
              ("volunteer", _("Volunteer (志愿者)"))]
