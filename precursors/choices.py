from django.db import models
from django.utils.translation import gettext_lazy as _

from .algorithms.rules import facts as F


class PartyKind(models.TextChoices):
    PRODUCER = F.PRODUCER, _("Producer")
    TRADER = F.TRADER, _("Trader")
    USER = F.USER, _("User")
    CARRIER = F.CARRIER, _("Carrier")
    WAREHOUSE = F.WAREHOUSE, _("Warehouse")
    IMPORTER = F.IMPORTER, _("Importer")
    EXPORTER = F.EXPORTER, _("Exporter")
    RESEARCH = F.RESEARCH, _("Research")
    MEDICAL = F.MEDICAL, _("Medical institution")
    INDIVIDUAL = F.INDIVIDUAL, _("Individual")


class RiskGrade(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class SiteKind(models.TextChoices):
    PLANT = "plant", _("Production plant")
    WAREHOUSE = "warehouse", _("Warehouse")
    LAB = "lab", _("Laboratory")
    TANK = "tank", _("Tank farm")
    OFFICE = "office", _("Office")
    SHOP = "shop", _("Shop")


class AuthorizationType(models.TextChoices):
    DRUG_PROD_LICENCE = F.DRUG_PROD_LICENCE, _("Pharmaceutical precursor production licence")
    NONPHARMA_PROD_LICENCE = F.NONPHARMA_PROD_LICENCE, _("Category 1 production licence")
    PROD_FILING = F.PROD_FILING, _("Category 2/3 production filing")
    DRUG_TRADE_LICENCE = F.DRUG_TRADE_LICENCE, _("Pharmaceutical precursor trade licence")
    NONPHARMA_TRADE_LICENCE = F.NONPHARMA_TRADE_LICENCE, _("Category 1 trade licence")
    TRADE_FILING = F.TRADE_FILING, _("Category 2/3 trade filing")
    DRUG_PURCHASE_PROOF = F.DRUG_PURCHASE_PROOF, _("Pharmaceutical precursor purchase proof")
    PURCHASE_LICENCE = F.PURCHASE_LICENCE, _("Category 1 purchase licence")
    PURCHASE_FILING = F.PURCHASE_FILING, _("Category 2/3 purchase filing")
    TRANSPORT_LICENCE = F.TRANSPORT_LICENCE, _("Transport licence (category 1/2)")
    TRANSPORT_FILING = F.TRANSPORT_FILING, _("Transport filing (category 3)")
    IMPORT_LICENCE = F.IMPORT_LICENCE, _("Import licence")
    EXPORT_LICENCE = F.EXPORT_LICENCE, _("Export licence")
    SPECIAL_COUNTRY_EXPORT_LICENCE = F.SPECIAL_COUNTRY_EXPORT_LICENCE, _("Export licence for specific countries")
    NARCOTIC_SEAL_CARD = F.NARCOTIC_SEAL_CARD, _("Narcotic drug seal card (hospital)")


class AuthorizationStatus(models.TextChoices):
    VALID = F.VALID, _("Valid")
    USED = F.USED, _("Used")
    EXPIRED = F.EXPIRED, _("Expired")
    REVOKED = F.REVOKED, _("Revoked")
    SUSPENDED = F.SUSPENDED, _("Suspended")


class FilingKind(models.TextChoices):
    SALES_FILING = F.SALES_FILING, _("Sales filing")
    ANNUAL_REPORT = F.ANNUAL_REPORT, _("Annual report")
    LOSS_REPORT = F.LOSS_REPORT, _("Loss or theft report")
    INTL_VERIFICATION = F.INTL_VERIFICATION, _("International verification")
    PEN = F.PEN, _("Pre-export notification")
    REFILING = F.REFILING, _("Re-filing after a change")


class EquipmentType(models.TextChoices):
    NMR = "nmr", _("NMR spectrometer")
    TABLET_PRESS = "tablet_press", _("Tablet press")
    ENCAPSULATOR = "encapsulator", _("Encapsulator")
    REACTOR = "reactor", _("Reactor")
    OTHER = "other", _("Other")


class CaptureChannel(models.TextChoices):
    API = "api", _("EPCIS API")
    EXCEL = "excel", _("Excel ledger")
    WEB = "web", _("Web form")
    DEMO = "demo", _("Demo data")


class AlertSeverity(models.TextChoices):
    HIGH = "H", _("High")
    MEDIUM = "M", _("Medium")
    LOW = "L", _("Low")


class AlertStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    INVESTIGATING = "investigating", _("Investigating")
    CLOSED = "closed", _("Closed")


class AlertOutcome(models.TextChoices):
    FALSE_POSITIVE = "false_positive", _("False positive")
    RECTIFIED = "rectified", _("Rectified")
    CASE_OPENED = "case_opened", _("Case opened")


class InspectionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    RECTIFYING = "rectifying", _("Rectification ordered")
    RECHECKED = "rechecked", _("Re-checked")


class SurveyKind(models.TextChoices):
    DRONE = "drone", _("Drone flight")
    FOOT = "foot", _("Foot patrol")


class FindingKind(models.TextChoices):
    POPPY = "poppy", _("Opium poppy")
    CANNABIS = "cannabis", _("Cannabis")
    OTHER = "other", _("Other")
    NONE = "none", _("Nothing found")
