import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.tables import BaseTable
from utilities.masking import mask_id_number, mask_name

from . import models


class PersonTable(BaseTable):
    name = tables.Column(linkify=True, verbose_name=_("name"), orderable=False)
    id_number = tables.Column(verbose_name=_("ID number"), orderable=False)

    class Meta(BaseTable.Meta):
        model = models.Person
        fields = ("name", "id_number", "gender", "birth_date", "status", "risk_level", "household_area_code",
                  "owner_area_code", "in_control")
        exclude_from_export = ()

    def render_name(self, value):
        return mask_name(value)

    def render_id_number(self, value):
        return mask_id_number(value)

    value_name = render_name
    value_id_number = render_id_number


class MeasureTable(BaseTable):
    kind = tables.Column(linkify=True)
    person = tables.Column(linkify=True, orderable=False)

    class Meta(BaseTable.Meta):
        model = models.Measure
        fields = ("kind", "person", "state", "served_on", "report_due_on", "start_on", "planned_end_on",
                  "execution_area_code")


class PlannedEventTable(BaseTable):
    person = tables.Column(linkify=True, orderable=False)

    class Meta(BaseTable.Meta):
        model = models.PlannedEvent
        fields = ("due_on", "kind", "person", "status", "done_on")


class PoliceReportTaskTable(BaseTable):
    person = tables.Column(linkify=True, orderable=False)

    class Meta(BaseTable.Meta):
        model = models.PoliceReportTask
        fields = ("due_on", "rule_id", "trigger", "person", "triggered_on", "reported_on")


class TransferTable(BaseTable):
    person = tables.Column(linkify=True, orderable=False)

    class Meta(BaseTable.Meta):
        model = models.Transfer
        fields = ("requested_on", "person", "from_area_code", "to_area_code", "status", "decided_on",
                  "report_due_on")


class ReferralTable(BaseTable):
    person = tables.Column(linkify=True, orderable=False)
    kind = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Referral
        fields = ("referred_on", "kind", "person", "need", "provider_org", "status", "done_on")


class IncidentTable(BaseTable):
    kind = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Incident
        fields = ("occurred_on", "kind", "severity", "area_code")


class BreakGlassTable(BaseTable):
    review = tables.TemplateColumn(
        template_code='{% load i18n %}{% if not record.reviewed_at %}<form method="post" action="{% url '
                      '\'casework:breakglass_review\' record.pk %}">{% csrf_token %}<button class="btn btn-sm '
                      'btn-outline-success">{% translate "Reviewed" %}</button></form>{% endif %}',
        verbose_name="", orderable=False)

    class Meta(BaseTable.Meta):
        model = models.BreakGlass
        fields = ("granted_at", "user", "person", "reason", "expires_at", "reviewed_by", "reviewed_at")
        exclude_from_export = ("review",)


class SchedulePolicyTable(BaseTable):
    measure_kind = tables.Column(linkify=lambda record: f"/casework/schedule-policies/{record.pk}/edit/")

    class Meta(BaseTable.Meta):
        model = models.SchedulePolicy
        fields = ("measure_kind", "risk_level", "phase_from_month", "phase_to_month", "period_months", "checkins",
                  "tests", "random_tests", "home_visits", "grace_days", "lost_contact_misses", "source")


class RiskInstrumentTable(BaseTable):
    code = tables.Column(linkify=lambda record: f"/casework/risk-instruments/{record.pk}/edit/")

    class Meta(BaseTable.Meta):
        model = models.RiskInstrument
        fields = ("code", "version", "in_use", "source", "updated")
