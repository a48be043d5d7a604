from django import forms
from django.utils.translation import gettext_lazy as _

from geo.validators import validate_division_code

from . import choices, models

DATE = forms.DateInput(attrs={"type": "date"})


class PersonRegisterForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    household_area_code = forms.CharField(label=_("household registration area (户籍地)"), max_length=15,
                                          validators=[validate_division_code])
    residence_area_code = forms.CharField(label=_("residence area (居住地)"), max_length=15,
                                          validators=[validate_division_code])
    grid = forms.CharField(label=_("grid (网格)"), max_length=40, required=False)
    phone = forms.CharField(label=_("phone"), max_length=20, required=False)
    first_found_on = forms.DateField(label=_("first found"), required=False, widget=DATE)
    drug_types = forms.MultipleChoiceField(label=_("drugs used"), required=False,
                                           choices=[(d, d) for d in choices.DRUG_TYPES],
                                           widget=forms.CheckboxSelectMultiple)

    def clean_id_number(self):
        from utilities.validators import validate_id_number

        value = self.cleaned_data["id_number"].strip().upper()
        validate_id_number(value)
        return value

    def clean_phone(self):
        from utilities.validators import validate_mobile

        value = self.cleaned_data.get("phone", "").strip()
        if value:
            validate_mobile(value)
        return value


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label=_("measure"), choices=choices.MeasureKind.choices)
    execution_area_code = forms.CharField(label=_("execution area"), max_length=15, validators=[validate_division_code])
    decision_no = forms.CharField(label=_("decision number"), max_length=60, required=False)
    decided_on = forms.DateField(label=_("decided on"), required=False, widget=DATE)
    served_on = forms.DateField(label=_("order served on"), required=False, widget=DATE)
    ordered_years = forms.IntegerField(label=_("ordered years"), min_value=1, max_value=3, initial=3)
    medical_grounds = forms.CharField(label=_("medical grounds (病残收治)"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 2}))
    review_every_months = forms.IntegerField(label=_("review every (months, 病残收治)"), required=False, min_value=1,
                                             max_value=24)


class FacilityForm(forms.Form):
    facility = forms.ModelChoiceField(label=_("facility"), queryset=None)
    authority = forms.ChoiceField(label=_("run by"), choices=[("police", _("Police (公安)")),
                                                              ("justice", _("Justice (司法行政)"))])
    on = forms.DateField(label=_("from"), widget=DATE)
    reason = forms.CharField(label=_("reason (needed after six months)"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        from orgs.models import Organization

        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Organization.objects.filter(is_active=True, type="rehab_center").order_by(
            "area_code", "name")


class EscapeForm(forms.Form):
    escaped_on = forms.DateField(label=_("escaped on"), widget=DATE)


class ReturnForm(forms.Form):
    returned_on = forms.DateField(label=_("returned on"), widget=DATE)


class ReportForm(forms.Form):
    reported_on = forms.DateField(label=_("reported on"), widget=DATE)
    agreement_signed_on = forms.DateField(label=_("agreement signed on"), required=False, widget=DATE)
    late_reason = forms.CharField(label=_("good reason, if reported after 15 days (正当理由)"), max_length=200,
                                  required=False)


class TestForm(forms.Form):
    sample = forms.ChoiceField(label=_("sample"), choices=choices.TestSample.choices)
    collected_on = forms.DateField(label=_("collected on"), widget=DATE)
    result = forms.ChoiceField(label=_("result"), choices=choices.TestResult.choices)
    substances = forms.MultipleChoiceField(label=_("substances found"), required=False,
                                           choices=[(d, d) for d in choices.DRUG_TYPES],
                                           widget=forms.CheckboxSelectMultiple)
    method = forms.ChoiceField(label=_("method"), choices=[("onsite", _("On site")), ("lab", _("Laboratory")),
                                                           ("retest", _("Retest"))], initial="onsite")
    hair_segment_cm = forms.FloatField(label=_("hair segment (cm)"), required=False, min_value=0.5, max_value=30)
    random = forms.BooleanField(label=_("random test"), required=False)
    legal_effect = forms.BooleanField(label=_("legally effective (police test)"), required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("hair_segment_cm") and cleaned.get("sample") != "hair":
            self.add_error("hair_segment_cm", _("Only a hair sample has a segment length."))
        if cleaned.get("substances") and cleaned.get("result") != "positive":
            self.add_error("substances", _("Substances are recorded for a positive result."))
        return cleaned


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=choices.ContactKind.choices)
    occurred_on = forms.DateField(label=_("date"), widget=DATE)
    outcome = forms.ChoiceField(label=_("outcome"), choices=choices.ContactOutcome.choices)
    location = forms.CharField(label=_("place"), max_length=200, required=False)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class AbsenceForm(forms.Form):
    left_on = forms.DateField(label=_("left on"), widget=DATE)
    returned_on = forms.DateField(label=_("returned on"), required=False, widget=DATE)
    written_notice = forms.BooleanField(label=_("written notice given"), required=False)
    authorised = forms.BooleanField(label=_("authorised"), required=False)
    destination = forms.CharField(label=_("destination"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("returned_on") and cleaned.get("left_on") and cleaned["returned_on"] < cleaned["left_on"]:
            self.add_error("returned_on", _("Return before departure."))
        return cleaned


class ReferralForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=choices.AssistanceKind.choices)
    need = forms.CharField(label=_("need"), max_length=300)
    provider_org = forms.ModelChoiceField(label=_("referred to"), queryset=None)
    consent = forms.BooleanField(label=_("the person consented"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from orgs.models import Organization

        self.fields["provider_org"].queryset = Organization.objects.filter(is_member_unit=True).order_by("area_code")


class TransferForm(forms.Form):
    to_area_code = forms.CharField(label=_("to area"), max_length=15, validators=[validate_division_code])
    reason = forms.CharField(label=_("reason"), max_length=300)


class BreakGlassForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500, min_length=4,
                             widget=forms.Textarea(attrs={"rows": 2}))


class AssessmentForm(forms.Form):
    manual_level = forms.ChoiceField(label=_("manual level"), choices=[("", "—"), *choices.RiskLevel.choices],
                                     required=False)
    manual_reason = forms.CharField(label=_("reason for the manual level"), max_length=300, required=False)
    flags = forms.MultipleChoiceField(label=_("hard overrides you have established"), required=False,
                                      widget=forms.CheckboxSelectMultiple, choices=())

    def __init__(self, *args, **kwargs):
        from .risk_service import WORKER_FLAG_CHOICES

        super().__init__(*args, **kwargs)
        self.fields["flags"].choices = WORKER_FLAG_CHOICES

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("manual_level") and not cleaned.get("manual_reason"):
            self.add_error("manual_reason", _("A manual level needs a reason."))
        return cleaned


class IncidentForm(forms.ModelForm):
    class Meta:
        model = models.Incident
        fields = ["occurred_on", "kind", "severity", "area_code", "persons", "description", "high_risk_trigger"]
        widgets = {"occurred_on": DATE}


class ChildForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    birth_date = forms.DateField(label=_("date of birth"), widget=DATE)
    guardianship = forms.ChoiceField(label=_("guardianship"), choices=choices.Guardianship.choices)
    needs = forms.CharField(label=_("needs"), max_length=300, required=False)


class StatusForm(forms.Form):
    to_status = forms.ChoiceField(label=_("status"), choices=choices.PersonStatus.choices)
    on = forms.DateField(label=_("date"), widget=DATE)
    source = forms.ChoiceField(label=_("source"), choices=choices.StatusSource.choices)
    document = forms.CharField(label=_("document"), max_length=100, required=False)
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class PoliceNoteForm(forms.Form):
    written_on = forms.DateField(label=_("date"), widget=DATE)
    text = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 4}))


class SchedulePolicyForm(forms.ModelForm):
    class Meta:
        model = models.SchedulePolicy
        fields = ["measure_kind", "risk_level", "phase_from_month", "phase_to_month", "period_months", "checkins",
                  "tests", "random_tests", "home_visits", "grace_days", "lost_contact_misses", "source"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("phase_from_month") is not None and cleaned.get("phase_to_month") is not None \
                and cleaned["phase_to_month"] <= cleaned["phase_from_month"]:
            self.add_error("phase_to_month", _("The phase must end after it starts."))
        return cleaned


class EndMeasureForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=[
        ("completed", _("Completed at expiry (期满解除)")), ("released", _("Released from isolation (解除强戒)")),
        ("terminated", _("Terminated: prison or compulsory education (终止)")),
        ("converted", _("Converted to compulsory isolation (转强戒)"))])
    on = forms.DateField(label=_("date"), widget=DATE)
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class IsolationDecisionForm(forms.Form):
    extension_days = forms.IntegerField(label=_("extension (days)"), min_value=0, max_value=366, initial=0)
    early_release_on = forms.DateField(label=_("early release"), required=False, widget=DATE)


class _CorrectionBase(forms.ModelForm):
    reason = forms.CharField(label=_("reason for the correction"), max_length=200)


def correction_form(model, *args, **kwargs):
    """A form with the correctable fields of a recorded test, contact or absence, plus the reason (required)."""
    from django.db.models import DateField

    from .services import CORRECTABLE_FIELDS

    fields = CORRECTABLE_FIELDS[model._meta.model_name]
    widgets = {f: DATE for f in fields if isinstance(model._meta.get_field(f), DateField)}
    form = forms.modelform_factory(model, form=_CorrectionBase, fields=fields, widgets=widgets)(*args, **kwargs)
    form.correctable = fields
    return form


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=choices.DocumentKind.choices)
    title = forms.CharField(label=_("title"), max_length=200)
    signed_on = forms.DateField(label=_("signed or issued on"), widget=DATE)
    file = forms.FileField(label=_("scan (PDF, PNG or JPEG, up to 10 MB)"))
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class CarePlanForm(forms.Form):
    needs = forms.MultipleChoiceField(label=_("needs"), choices=choices.AssistanceKind.choices,
                                      widget=forms.CheckboxSelectMultiple)
    goals = forms.CharField(label=_("goals"), widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(label=_("actions"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    review_on = forms.DateField(label=_("review on"), widget=DATE)


class TeamMemberForm(forms.Form):
    role = forms.ChoiceField(label=_("role"), choices=choices.TEAM_ROLES)
    name = forms.CharField(label=_("name"), max_length=60, required=False)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)


class RiskInstrumentForm(forms.ModelForm):
    """The definition is JSON: thresholds {"high", "medium"} and factors (flag / choice / bands) with points."""

    class Meta:
        model = models.RiskInstrument
        fields = ["code", "version", "definition", "in_use", "source"]
