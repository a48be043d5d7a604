"""全要素监管制毒物品 (measures 15–18): the substance catalogue, the enterprise registry (一企一档), EPCIS events,
diversion alerts, inspections, equipment and illegal-cultivation patrols.

Events are append-only (database triggers refuse UPDATE and DELETE, like the audit log); a correction is a new
event carrying an errorDeclaration, recorded in ``EventRetraction``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AuditedModel, BaseModel
from core.models.base import RestrictedQuerySet
from utilities.validators import validate_uscc

from .choices import (
    AlertOutcome,
    AlertSeverity,
    AlertStatus,
    AuthorizationStatus,
    AuthorizationType,
    CaptureChannel,
    EquipmentType,
    FilingKind,
    FindingKind,
    InspectionStatus,
    RiskGrade,
    SiteKind,
    SurveyKind,
)

__all__ = (
    "Alert",
    "Authorization",
    "CaptureBatch",
    "Equipment",
    "EquipmentTransfer",
    "Event",
    "EventEPC",
    "EventRetraction",
    "Filing",
    "Inspection",
    "Party",
    "PatrolFinding",
    "PermitDraw",
    "ProductMapping",
    "RuleParameter",
    "Shipment",
    "ShipmentFix",
    "Site",
    "StockCheck",
    "Substance",
    "SurveyArea",
    "SurveyFlight",
)


class Substance(AuditedModel):
    """One entry of 《易制毒化学品的分类和品种目录》, synchronised from precursors/data/catalogue/substances.csv
    after every migrate (each change is written to the audit log, so the catalogue's history is kept)."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    category = models.PositiveSmallIntegerField(_("category"), null=True, blank=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    cas = models.CharField(_("CAS number"), max_length=40, blank=True, db_index=True)
    is_pharma = models.BooleanField(_("pharmaceutical"), default=False)
    is_group = models.BooleanField(_("class entry"), default=False)
    listed_from = models.DateField(_("listed from"), null=True, blank=True)
    listed_to = models.DateField(_("listed until"), null=True, blank=True)
    listed_by = models.CharField(_("listed by"), max_length=200, blank=True)
    criminal_threshold_kg = models.FloatField(_("criminal threshold (kg)"), null=True, blank=True)
    salt_to_base_factor = models.FloatField(_("salt to base factor"), default=1.0)
    volatile = models.BooleanField(_("volatile solvent"), default=False)
    intl_verification = models.BooleanField(_("international verification"), default=False)
    watch = models.BooleanField(_("watch list"), default=False)
    watch_threshold_kg = models.FloatField(_("watch threshold (kg)"), null=True, blank=True)
    category_confirmed = models.BooleanField(_("category confirmed"), default=True)
    tag = models.CharField(_("confidence"), max_length=2, blank=True)
    source = models.TextField(_("source"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("controlled substance")
        verbose_name_plural = _("controlled substances")

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class RuleParameter(AuditedModel):
    """An effective-dated value of a rule parameter (overrides the default declared with the rule). Parameters
    apply city-wide, so only city-level (or global) users may write them; everyone with the permission reads."""

    @classmethod
    def scope_q(cls, scope, user, action):
        from core.permissions import city_wide_setting_q

        return city_wide_setting_q(scope, user, action)

    name = models.CharField(_("parameter"), max_length=80, db_index=True)
    value = models.JSONField(_("value"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["name", "-effective_from"]
        verbose_name = _("rule parameter")
        verbose_name_plural = _("rule parameters")
        constraints = [models.UniqueConstraint(fields=["name", "effective_from"],
                                               name="precursors_ruleparameter_unique_from")]

    def __str__(self):
        return f"{self.name} = {self.value} ({self.effective_from})"


class ProductMapping(AuditedModel):
    """Maps a product identifier in the events (a GTIN, an LGTIN class prefix or an enterprise's own code) to a
    catalogue substance, with what converting its quantities needs (research §5.3: avoid the ERP code → CAS gap)."""

    prefix = models.CharField(_("identifier prefix"), max_length=200, unique=True,
                              help_text=_("An epcClass is mapped by the longest prefix that matches it, e.g. "
                                          "urn:epc:class:lgtin:6901234.012345."))
    substance = models.ForeignKey(Substance, verbose_name=_("substance"), on_delete=models.PROTECT,
                                  related_name="products", to_field="code")
    product_name = models.CharField(_("product name"), max_length=200, blank=True)
    concentration = models.FloatField(_("concentration (0–1)"), default=1.0)
    density_kg_l = models.FloatField(_("density (kg/L)"), null=True, blank=True)
    piece_mass_kg = models.FloatField(_("mass per piece (kg)"), null=True, blank=True)

    class Meta:
        ordering = ["prefix"]
        verbose_name = _("product mapping")
        verbose_name_plural = _("product mappings")

    def __str__(self):
        return f"{self.prefix} → {self.substance_id}"


class Party(AuditedModel):
    """An enterprise or other party handling precursors (一企一档)."""

    scope_area_field = "area_code"
    scope_org_field = "org"

    identifier = models.CharField(_("identifier in events"), max_length=200, unique=True,
                                  help_text=_("The PGLN (or other id) the party's EPCIS events use."))
    uscc = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True, unique=True,
                            validators=[validate_uscc])
    name = models.CharField(_("name"), max_length=200)
    kinds = models.JSONField(_("roles"), default=list, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    org = models.ForeignKey("orgs.Organization", verbose_name=_("organisation"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="precursor_parties")
    address = models.CharField(_("address"), max_length=300, blank=True)
    legal_rep = models.CharField(_("legal representative"), max_length=60, blank=True)
    responsible_person = models.CharField(_("person responsible for precursors"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    registered_on = models.DateField(_("incorporated on"), null=True, blank=True)
    changed_on = models.DateField(_("name or legal representative changed on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    risk_grade = models.CharField(_("risk grade"), max_length=10, choices=RiskGrade.choices, default=RiskGrade.LOW)
    blacklist_until = models.DateField(_("barred until"), null=True, blank=True)
    residential_site = models.BooleanField(_("registered at a residential or virtual address"), default=False)
    declared_annual_kg = models.JSONField(_("declared annual requirement (kg)"), default=dict, blank=True)
    link_keys = models.JSONField(_("link keys"), default=list, blank=True,
                                 help_text=_("Shared phone, address, legal representative or bank, for linking."))
    country = models.CharField(_("country"), max_length=2, default="CN")

    class Meta:
        ordering = ["area_code", "name"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.uscc == "":
            self.uscc = None


class Site(AuditedModel):
    scope_area_field = "area_code"
    scope_org_field = "party__org"

    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.CASCADE, related_name="sites")
    identifier = models.CharField(_("identifier in events"), max_length=200, unique=True,
                                  help_text=_("The SGLN the events use for this site."))
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices, default=SiteKind.WAREHOUSE)
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    residential = models.BooleanField(_("residential or rented space"), default=False)
    dedicated_store = models.BooleanField(_("dedicated store or cabinet (专库专柜)"), default=False)
    dual_lock = models.BooleanField(_("two persons, two locks (双人双锁)"), default=False)
    cctv = models.BooleanField(_("CCTV"), default=False)
    alarm_to_police = models.BooleanField(_("alarm linked to police"), default=False)

    class Meta:
        ordering = ["party", "name"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self):
        return f"{self.party} · {self.name}"


class Authorization(AuditedModel):
    """A licence, filing proof or permit (research §1.3): who holds it, for which substances and quantities,
    with which counterparties and route, valid when, how many uses."""

    scope_area_field = "holder__area_code"
    scope_org_field = "holder__org"

    number = models.CharField(_("number"), max_length=80, unique=True)
    type = models.CharField(_("type"), max_length=40, choices=AuthorizationType.choices, db_index=True)
    holder = models.ForeignKey(Party, verbose_name=_("holder"), on_delete=models.PROTECT,
                               related_name="authorizations")
    issuer = models.CharField(_("issued by"), max_length=120, blank=True)
    substances = models.JSONField(_("substances and maximum kg"), default=dict,
                                  help_text=_('Substance code → maximum kg (null = no cap), e.g. {"C3-02": 5000}'))
    counterparty = models.ForeignKey(Party, verbose_name=_("counterparty"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    consignee = models.ForeignKey(Party, verbose_name=_("consignee"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    carrier = models.ForeignKey(Party, verbose_name=_("carrier"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    origin_area = models.CharField(_("origin area"), max_length=15, blank=True)
    destination_area = models.CharField(_("destination area"), max_length=15, blank=True)
    destination_country = models.CharField(_("destination country"), max_length=2, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    uses_allowed = models.PositiveIntegerField(_("uses allowed"), null=True, blank=True,
                                               help_text=_("1 for a single-use permit; empty for unlimited."))
    status = models.CharField(_("status"), max_length=12, choices=AuthorizationStatus.choices,
                              default=AuthorizationStatus.VALID)
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "number"]
        verbose_name = _("authorization")
        verbose_name_plural = _("authorizations")

    def __str__(self):
        return f"{self.get_type_display()} {self.number}"


class Filing(AuditedModel):
    """A filing or report an enterprise must submit: sales filings, annual reports, loss reports, the export's
    international verification and pre-export notification."""

    scope_area_field = "party__area_code"
    scope_org_field = "party__org"

    kind = models.CharField(_("kind"), max_length=30, choices=FilingKind.choices, db_index=True)
    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="filings")
    submitted_at = models.DateTimeField(_("submitted at"))
    reference = models.CharField(_("about (event, waybill or transaction)"), max_length=300, blank=True,
                                 db_index=True)
    year = models.PositiveIntegerField(_("year"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("filing")
        verbose_name_plural = _("filings")

    def __str__(self):
        return f"{self.get_kind_display()} {self.party} {self.submitted_at:%Y-%m-%d}"


class Equipment(AuditedModel):
    """Equipment that can make drugs or identify new ones: NMR spectrometers, tablet presses, encapsulators."""

    scope_area_field = "area_code"
    scope_org_field = "owner__org"

    type = models.CharField(_("type"), max_length=20, choices=EquipmentType.choices, db_index=True)
    make = models.CharField(_("make"), max_length=80, blank=True)
    model = models.CharField(_("model"), max_length=80, blank=True)
    serial = models.CharField(_("serial number"), max_length=80)
    field_mhz = models.FloatField(_("field strength (MHz)"), null=True, blank=True)
    benchtop = models.BooleanField(_("benchtop"), default=False)
    owner = models.ForeignKey(Party, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="equipment")
    site = models.ForeignKey(Site, verbose_name=_("site"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="equipment")
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    acquired_on = models.DateField(_("acquired on"), null=True, blank=True)
    purpose = models.CharField(_("declared purpose"), max_length=200, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["type", "serial"]
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        constraints = [models.UniqueConstraint(fields=["type", "make", "serial"],
                                               name="precursors_equipment_unique_serial")]

    def __str__(self):
        return f"{self.get_type_display()} {self.make} {self.serial}"


class EquipmentTransfer(AuditedModel):
    scope_area_field = "equipment__area_code"
    scope_org_field = "equipment__owner__org"

    equipment = models.ForeignKey(Equipment, on_delete=models.CASCADE, related_name="transfers")
    date = models.DateField(_("date"))
    from_party = models.ForeignKey(Party, verbose_name=_("previous owner"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_party = models.ForeignKey(Party, verbose_name=_("new owner"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    to_name = models.CharField(_("new owner (when not registered)"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-date"]
        verbose_name = _("equipment transfer")
        verbose_name_plural = _("equipment transfers")


def _consignor_or_carrier_q(model, scope, action, carrier_org_field):
    """An enterprise reaches a shipment track as its consignor, and also as its carrier — whose vehicle the GPS is in
    — to read it and add fixes or the arrival; only a consignor files a new one."""
    from core.permissions import default_scope_q

    q = default_scope_q(model, scope)
    if q is not None and scope.org_id and action != "add":
        q |= models.Q(**{carrier_org_field: scope.org_id})
    return q


class Shipment(AuditedModel):
    """A permitted shipment's planned route and GPS track (在途监控, R29). The waybill number ties it to the shipping
    event that cites the same waybill (``jindu:waybillNo`` or a ``bol``/``waybill`` bizTransaction); the track is
    reported by the consignor (the transport permit's holder) or by an office loading the vehicle-monitoring
    platform's export. The carrier's enterprise reaches it too (``scope_q``)."""

    scope_area_field = "area_code"
    scope_org_field = "party__org"

    @classmethod
    def scope_q(cls, scope, user, action):
        return _consignor_or_carrier_q(cls, scope, action, "carrier__org")

    # unique per consignor, not globally: a party filing a track under someone else's waybill must not lock the
    # real consignor out of its own (and the rule run ties a track only to its own consignor's sale)
    waybill = models.CharField(_("waybill number"), max_length=100, db_index=True)
    party = models.ForeignKey(Party, verbose_name=_("consignor"), on_delete=models.PROTECT, related_name="shipments")
    carrier = models.ForeignKey(Party, verbose_name=_("carrier"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    area_code = models.CharField(_("area code"), max_length=15, db_index=True, editable=False)
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    permit_no = models.CharField(_("transport permit or filing"), max_length=80, blank=True)
    planned_route = models.JSONField(_("planned route"), default=list,
                                     help_text=_("[[lon, lat], …] in WGS-84, from origin to destination."))
    departed_at = models.DateTimeField(_("departed at"), null=True, blank=True)
    eta = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    departure_kg = models.FloatField(_("weight at departure (kg)"), null=True, blank=True)
    arrival_kg = models.FloatField(_("weight at arrival (kg)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-departed_at", "waybill"]
        verbose_name = _("shipment track")
        verbose_name_plural = _("shipment tracks")
        constraints = [models.UniqueConstraint(fields=["waybill", "party"], name="precursors_shipment_unique_waybill")]

    def __str__(self):
        return self.waybill

    def rule_key(self) -> str:
        """The track's id in the rule facts and its R29 alert's key: the waybill and the consignor (its row id, which
        an edit of the party's identifier does not change)."""
        return f"{self.waybill}@{self.party_id}"

    def save(self, *args, **kwargs):
        # scoped by the consignor's area, like its events
        self.area_code = self.party.area_code if self.party_id else self.area_code
        super().save(*args, **kwargs)


class ShipmentFix(models.Model):
    """One GPS fix of a shipment (time, WGS-84 position). Append-only like the events (database triggers): a fix
    is evidence, and a correction would be a new track, not an edit. Written only by ``services.add_fixes``, which
    audits each batch as one change-log row with the SM3 of the fixes (an API call is a batch; the Excel sheet saves
    row by row, so a row is)."""

    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment track"), on_delete=models.PROTECT,
                                 related_name="fixes")
    time = models.DateTimeField(_("time"))
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))

    objects = RestrictedQuerySet.as_manager()
    scope_area_field = "shipment__area_code"
    scope_org_field = "shipment__party__org"

    @classmethod
    def scope_q(cls, scope, user, action):
        return _consignor_or_carrier_q(cls, scope, action, "shipment__carrier__org")

    class Meta:
        ordering = ["shipment", "time"]
        verbose_name = _("GPS fix")
        verbose_name_plural = _("GPS fixes")
        constraints = [models.UniqueConstraint(fields=["shipment", "time"], name="precursors_fix_unique_time")]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.lon:.5f},{self.lat:.5f}"


class CaptureBatch(BaseModel):
    """One capture: an EPCIS document, an Excel ledger or a web form. Audited as one change-log row that carries
    the SM3 hash of the document and the ids of the events it added (events themselves are append-only)."""

    scope_area_field = "area_code"
    scope_org_field = "party__org"

    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    channel = models.CharField(_("channel"), max_length=10, choices=CaptureChannel.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    party = models.ForeignKey(Party, verbose_name=_("on behalf of"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="captures")
    area_code = models.CharField(_("area code"), max_length=15, blank=True, db_index=True)
    document_sm3 = models.CharField(_("document SM3"), max_length=64)
    context = models.JSONField(_("document @context"), default=list, blank=True)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    n_new = models.PositiveIntegerField(_("new events"), default=0)
    n_duplicate = models.PositiveIntegerField(_("already captured"), default=0)
    flags = models.JSONField(_("rule flags"), default=list, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("capture")
        verbose_name_plural = _("captures")


class Event(models.Model):
    """One EPCIS 2.0 event as received (``raw``), with the indexed columns the standard query needs."""

    event_id = models.CharField(_("event ID"), max_length=300)
    declared_error = models.BooleanField(_("error declaration"), default=False)
    content_hash = models.CharField(_("content SHA-256"), max_length=64)
    event_type = models.CharField(_("event type"), max_length=24)
    action = models.CharField(_("action"), max_length=8, blank=True)
    event_time = models.DateTimeField(_("event time"), db_index=True)
    record_time = models.DateTimeField(_("record time"))
    biz_step = models.CharField(_("business step"), max_length=200, blank=True)
    disposition = models.CharField(_("disposition"), max_length=200, blank=True)
    read_point = models.CharField(_("read point"), max_length=300, blank=True)
    biz_location = models.CharField(_("business location"), max_length=300, blank=True)
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    area_code = models.CharField(_("area code"), max_length=15, blank=True)
    # no field-level index: altering a field makes SQLite rebuild the table, which would drop the append-only
    # triggers; indexes are added in Meta instead
    batch = models.ForeignKey(CaptureBatch, on_delete=models.PROTECT, related_name="events", db_index=False)
    raw = models.TextField(_("event JSON"))

    objects = RestrictedQuerySet.as_manager()
    scope_area_field = "area_code"
    scope_org_field = "party__org"

    class Meta:
        ordering = ["id"]
        verbose_name = _("EPCIS event")
        verbose_name_plural = _("EPCIS events")
        constraints = [models.UniqueConstraint(fields=["event_id", "declared_error"],
                                               name="precursors_event_unique_id")]
        # every secondary index slows the capture (each is a B-tree the insert updates): the standard query's
        # eventType filter rides on the event_time index, and the capture names its events' ids itself rather
        # than reading them back by batch, so neither needs one of its own
        indexes = [
            models.Index(fields=["biz_step", "event_time"], name="precursors_event_step_time"),
            models.Index(fields=["biz_location"], name="precursors_event_bizloc"),
            models.Index(fields=["read_point"], name="precursors_event_readpoint"),
            models.Index(fields=["party", "event_time"], name="precursors_event_party_time"),
        ]

    def __str__(self):
        return self.event_id


class EventEPC(models.Model):
    """Which identifiers an event names, and in which role, so MATCH_epc / MATCH_anyEPC / MATCH_epcClass use an
    index. ``role``: e = epcList, p = parentID, c = childEPCs, i = inputEPCList, o = outputEPCList,
    q / cq / iq / oq = the classes of quantityList / childQuantityList / inputQuantityList / outputQuantityList;
    b = a bizTransaction id or waybill number (for the trace's waybill seeds); a = a permit number cited."""

    # the key leads with the identifier, so the key is the index the queries use: on SQLite the table is kept
    # WITHOUT ROWID (migration 0006), one B-tree instead of a table plus an index, which the capture writes ~3 rows
    # per event into
    pk = models.CompositePrimaryKey("epc", "event", "role")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="epcs", db_index=False)
    epc = models.CharField(max_length=300)
    role = models.CharField(max_length=2)


class PermitDraw(models.Model):
    """How much one event drew on a permit it cites (kg of a substance, as the capture-time rules count it), so that
    R04/R08 at capture sum a permit's earlier draws with one query instead of re-reading every earlier event citing
    it. Derived data, written by the capture-time check and filled in from the events for any citing event that has
    no row yet (one captured without the rules, e.g. a bulk load). A row with an empty substance marks an event that
    cites the permit but draws nothing on it."""

    pk = models.CompositePrimaryKey("permit", "event_id", "substance")
    permit = models.CharField(max_length=100)
    event_id = models.CharField(max_length=300)
    substance = models.CharField(max_length=20, blank=True)
    event_time = models.DateTimeField()
    kg = models.FloatField(default=0.0)


class EventRetraction(models.Model):
    """An errorDeclaration received for an event: the event stays, but queries and rules leave it out."""

    event_id = models.CharField(max_length=300, unique=True)
    declared_by = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    declaration_time = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    corrective_event_ids = models.JSONField(default=list)


class Alert(AuditedModel):
    """A diversion alert raised by a rule R01–R31, with its evidence; staff assign, investigate and close it."""

    scope_area_field = "area_code"
    scope_org_field = "party__org"

    # investigators' notes and the assignee are the office's: an enterprise sees its alerts without them
    field_sections = {"investigation": ("note", "assignee")}

    rule_id = models.CharField(_("rule"), max_length=5, db_index=True)
    severity = models.CharField(_("severity"), max_length=1, choices=AlertSeverity.choices)
    party = models.ForeignKey(Party, verbose_name=_("party"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="alerts")
    party_identifier = models.CharField(_("party identifier"), max_length=200, blank=True)
    area_code = models.CharField(_("area code"), max_length=15, blank=True, db_index=True)
    message = models.TextField(_("message"))
    evidence = models.JSONField(_("evidence"), default=list)
    details = models.JSONField(_("details"), default=dict, blank=True)
    blocked = models.BooleanField(_("flagged at capture"), default=False)
    first_seen = models.DateTimeField(_("first raised"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last confirmed"))
    status = models.CharField(_("status"), max_length=15, choices=AlertStatus.choices, default=AlertStatus.NEW,
                              db_index=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=AlertOutcome.choices, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("note"), blank=True)
    dedup_key = models.CharField(max_length=300, unique=True, editable=False)

    class Meta:
        ordering = ["-last_seen", "rule_id"]
        verbose_name = _("diversion alert")
        verbose_name_plural = _("diversion alerts")

    def __str__(self):
        return f"{self.rule_id} {self.party_identifier}"


class Inspection(AuditedModel):
    """An on-site inspection (现场检查): planned, done (checklist, counts, findings), rectification and re-check."""

    scope_area_field = "party__area_code"
    scope_org_field = "party__org"

    @classmethod
    def scope_q(cls, scope, user, action):
        """An enterprise sees its inspections once done: planned (unannounced) visits stay with the office."""
        from django.db.models import Q

        from core.permissions import default_scope_q

        q = default_scope_q(cls, scope)
        if q is not None and scope.org_id and not scope.area_prefix and not scope.is_global:
            q &= Q(done_at__isnull=False)
        return q

    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="inspections")
    site = models.ForeignKey(Site, verbose_name=_("site"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="inspections")
    planned_on = models.DateField(_("planned for"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    on_site = models.BooleanField(_("on site"), default=True)
    inspectors = models.CharField(_("inspectors"), max_length=200, blank=True,
                                  help_text=_("At least two, separated by commas."))
    checklist = models.JSONField(_("checklist"), default=dict, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=InspectionStatus.choices,
                              default=InspectionStatus.PLANNED, db_index=True)
    rectify_by = models.DateField(_("rectify by"), null=True, blank=True)
    rechecked_on = models.DateField(_("re-checked on"), null=True, blank=True)
    recheck_passed = models.BooleanField(_("re-check passed"), null=True, blank=True)

    class Meta:
        ordering = ["-planned_on", "-done_at"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")

    def __str__(self):
        when = self.done_at.date() if self.done_at else self.planned_on
        return f"{self.party} {when}"


class StockCheck(AuditedModel):
    """Stock counted at an inspection against the book (R22)."""

    scope_area_field = "inspection__party__area_code"
    scope_org_field = "inspection__party__org"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="stock_checks")
    substance = models.ForeignKey(Substance, on_delete=models.PROTECT, to_field="code", related_name="+")
    counted_kg = models.FloatField(_("counted (kg)"))
    book_kg = models.FloatField(_("book (kg)"))
    counted_tags = models.JSONField(_("tags found"), default=list, blank=True)

    class Meta:
        verbose_name = _("stock check")
        verbose_name_plural = _("stock checks")


class SurveyArea(AuditedModel):
    """An area to patrol for illegal cultivation (a polygon in WGS-84)."""

    scope_area_field = "area_code"

    name = models.CharField(_("name"), max_length=120)
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    year = models.PositiveIntegerField(_("year"))
    polygon = models.JSONField(_("polygon (GeoJSON, WGS-84)"))
    area_m2 = models.FloatField(_("area (m²)"), default=0)
    covered_fraction = models.FloatField(_("covered"), default=0)

    class Meta:
        ordering = ["-year", "area_code", "name"]
        verbose_name = _("survey area")
        verbose_name_plural = _("survey areas")

    def __str__(self):
        return f"{self.name} ({self.year})"


class SurveyFlight(AuditedModel):
    scope_area_field = "area__area_code"

    area = models.ForeignKey(SurveyArea, verbose_name=_("survey area"), on_delete=models.CASCADE,
                             related_name="flights")
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices, default=SurveyKind.DRONE)
    flown_on = models.DateField(_("date"))
    pilot = models.CharField(_("pilot or patrol"), max_length=100, blank=True)
    altitude_m = models.FloatField(_("altitude (m)"))
    hfov_deg = models.FloatField(_("horizontal field of view (°)"))
    vfov_deg = models.FloatField(_("vertical field of view (°)"), null=True, blank=True)
    track = models.JSONField(_("track (GeoJSON LineString, WGS-84)"))
    swath_m = models.FloatField(_("swath width (m)"), default=0)
    footprint = models.JSONField(_("footprint (GeoJSON)"), null=True, blank=True)

    class Meta:
        ordering = ["-flown_on"]
        verbose_name = _("survey flight")
        verbose_name_plural = _("survey flights")


class PatrolFinding(AuditedModel):
    scope_area_field = "area_code"

    area = models.ForeignKey(SurveyArea, verbose_name=_("survey area"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="findings")
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=FindingKind.choices)
    source = models.CharField(_("source"), max_length=20, default="flight",
                              help_text=_("flight, tip-off or foot patrol"))
    found_on = models.DateField(_("date"))
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    plants = models.PositiveIntegerField(_("number of plants found"), default=0)
    eradicated = models.BooleanField(_("eradicated"), default=False)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-found_on"]
        verbose_name = _("patrol finding")
        verbose_name_plural = _("patrol findings")
