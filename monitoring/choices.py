from django.db import models
from django.utils.translation import gettext_lazy as _


class PopulationMethod(models.TextChoices):
    CENSUS = "census", _("Census (人口普查)")
    DESIGN = "design", _("Design population (设计服务人口)")
    HYDROCHEMICAL = "hydrochemical", _("Hydrochemical markers (水质参数)")
    COTININE = "cotinine", _("Cotinine (可替宁)")
    REPORTED = "reported", _("Reported by the plant")


class SampleType(models.TextChoices):
    COMPOSITE_24H = "composite_24h", _("24-hour composite")
    GRAB = "grab", _("Grab sample")


class ScreeningSampleType(models.TextChoices):
    HAIR = "hair", _("Hair (毛发)")
    URINE = "urine", _("Urine (尿液)")
    SALIVA = "saliva", _("Saliva (唾液)")


class PopulationGroup(models.TextChoices):
    GENERAL = "general", _("General population")
    DRIVERS = "drivers", _("Professional drivers (职业驾驶人)")
    VENUE_STAFF = "venue_staff", _("Entertainment venue staff (娱乐场所从业人员)")
    KEY_PERSONS = "key_persons", _("Key persons under control (重点人员)")
    REHAB = "rehab", _("Persons in community treatment (社戒社康人员)")
    CIVIL_SERVANTS = "civil_servants", _("Civil servants (公职人员)")
    STUDENTS = "students", _("Students (学生)")


class SubstanceCategory(models.TextChoices):
    TRADITIONAL = "traditional", _("Traditional drug (传统毒品)")
    SYNTHETIC = "synthetic", _("Synthetic drug (合成毒品)")
    NPS = "nps", _("New psychoactive substance (新精神活性物质)")
    MEDICINE = "medicine", _("Controlled medicine (麻精药品)")
    PRECURSOR = "precursor", _("Precursor chemical (易制毒化学品)")


class DrugClass(models.TextChoices):
    OPIOID = "opioid", _("Opioid")
    BENZODIAZEPINE = "benzodiazepine", _("Benzodiazepine")
    STIMULANT = "stimulant", _("Stimulant")
    OTHER = "other", _("Other")


class ControlCategory(models.TextChoices):
    NARCOTIC = "narcotic", _("Narcotic drug (麻醉药品)")
    PSYCHOTROPIC_1 = "psychotropic_1", _("Class I psychotropic (第一类精神药品)")
    PSYCHOTROPIC_2 = "psychotropic_2", _("Class II psychotropic (第二类精神药品)")


class DosageForm(models.TextChoices):
    INJECTION = "injection", _("Injection")
    CONTROLLED_RELEASE = "controlled_release", _("Controlled / extended release")
    OTHER = "other", _("Other form")


class AlertSource(models.TextChoices):
    WASTEWATER = "wastewater", _("Wastewater")
    SCREENING = "screening", _("Hair / lab screening")
    FORENSIC = "forensic", _("Forensic identification")
    PDMP = "pdmp", _("Controlled medicines")
    PRECURSOR = "precursor", _("Precursor chemicals")
    SEIZURE = "seizure", _("Seizures")
    NEIGHBOUR = "neighbour", _("Neighbouring area")


class AlertSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class AlertStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    INVESTIGATING = "investigating", _("Investigating")
    CLOSED = "closed", _("Closed")


class AlertOutcome(models.TextChoices):
    FALSE_POSITIVE = "false_positive", _("False positive")
    CONFIRMED = "confirmed", _("Confirmed, no action needed")
    ACTION_TAKEN = "action_taken", _("Action taken")
    CASE_OPENED = "case_opened", _("Case opened")
