import json
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import models
from .choices import PartyKind


class PartyForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(label=_("roles"), choices=PartyKind.choices,
                                      widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = models.Party
        fields = ["name", "identifier", "uscc", "kinds", "industry", "area_code", "org", "address", "legal_rep",
                  "responsible_person", "phone", "registered_on", "changed_on", "is_active", "risk_grade",
                  "blacklist_until", "residential_site", "declared_annual_kg", "link_keys"]
        widgets = {"registered_on": forms.DateInput(attrs={"type": "date"}),
                   "changed_on": forms.DateInput(attrs={"type": "date"}),
                   "blacklist_until": forms.DateInput(attrs={"type": "date"})}


class SiteForm(forms.ModelForm):
    class Meta:
        model = models.Site
        fields = ["party", "name", "identifier", "kind", "area_code", "address", "residential", "dedicated_store",
                  "dual_lock", "cctv", "alarm_to_police"]


class AuthorizationForm(forms.ModelForm):
    class Meta:
        model = models.Authorization
        fields = ["number", "type", "holder", "issuer", "substances", "counterparty", "consignee", "carrier",
                  "origin_area", "destination_area", "destination_country", "valid_from", "valid_to",
                  "uses_allowed", "status", "revoked_on"]
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"}),
                   "valid_to": forms.DateInput(attrs={"type": "date"}),
                   "revoked_on": forms.DateInput(attrs={"type": "date"})}

    def clean_substances(self):
        value = self.cleaned_data["substances"]
        if not isinstance(value, dict) or not value:
            raise forms.ValidationError(_('Give substance code → maximum kg, e.g. {"C3-02": 5000}.'))
        unknown = sorted(set(value) - set(models.Substance.objects.filter(code__in=list(value))
                                          .values_list("code", flat=True)))
        if unknown:
            raise forms.ValidationError(_("Unknown substance code(s): %(codes)s") % {"codes": ", ".join(unknown)})
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("The end of validity is before its start."))
        return cleaned


class FilingForm(forms.ModelForm):
    class Meta:
        model = models.Filing
        fields = ["kind", "party", "submitted_at", "reference", "year", "status", "note"]
        widgets = {"submitted_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}


class EquipmentForm(forms.ModelForm):
    class Meta:
        model = models.Equipment
        fields = ["type", "make", "model", "serial", "field_mhz", "benchtop", "owner", "site", "area_code",
                  "acquired_on", "purpose", "is_active"]
        widgets = {"acquired_on": forms.DateInput(attrs={"type": "date"})}


class RuleParameterForm(forms.ModelForm):
    class Meta:
        model = models.RuleParameter
        fields = ["name", "value", "effective_from", "effective_to", "source", "note"]
        widgets = {"effective_from": forms.DateInput(attrs={"type": "date"}),
                   "effective_to": forms.DateInput(attrs={"type": "date"})}

    def clean_name(self):
        from .algorithms.rules import PARAMS

        name = self.cleaned_data["name"]
        if name not in PARAMS:
            raise forms.ValidationError(_("No rule reads a parameter of this name."))
        return name

    def clean(self):
        """The value must have the shape of the rule's default (a number, a list, a mapping…): a wrong shape
        would break the rule for every capture."""
        from .algorithms.rules import PARAMS

        cleaned = super().clean()
        spec, value = PARAMS.get(cleaned.get("name") or ""), cleaned.get("value")
        if spec is not None and value is not None and spec.default is not None:
            kinds = {bool: (bool,), int: (int, float), float: (int, float), str: (str,), list: (list,),
                     tuple: (list,), dict: (dict,)}
            wanted = kinds.get(type(spec.default), (type(spec.default),))
            if isinstance(value, bool) and bool not in wanted or not isinstance(value, wanted):
                self.add_error("value", _("Expected a value like the rule's default: %(default)s")
                               % {"default": json.dumps(spec.default, ensure_ascii=False, default=list)})
            elif cleaned.get("name") == "special_country_substances":
                self._check_special_country_table(value)
        return cleaned

    def _check_special_country_table(self, value):
        """{"MM": ["C3-02", …]}: two-letter country codes, each with a list of catalogue codes."""
        known = set(models.Substance.objects.values_list("code", flat=True))
        for country, codes in value.items():
            if len(country) != 2 or not (country.isascii() and country.isalpha()):
                self.add_error("value", _("%(country)s is not a two-letter country code.") % {"country": country})
            elif not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                self.add_error("value", _('Give %(country)s a list of substance codes, e.g. ["C3-02"].')
                               % {"country": country})
            elif set(codes) - known:
                self.add_error("value", _("Unknown substance code(s): %(codes)s")
                               % {"codes": ", ".join(sorted(set(codes) - known))})


class AlertHandleForm(forms.ModelForm):
    note_add = forms.CharField(label=_("add a note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = models.Alert
        fields = ["status", "assignee", "outcome"]


class InspectionPlanForm(forms.Form):
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)
    area = forms.CharField(label=_("area code (optional)"), required=False, max_length=15)


class InspectionRecordForm(forms.Form):
    """Phone-friendly: one radio row per checklist item, counts as ``code=counted/book`` lines."""

    inspectors = forms.CharField(label=_("inspectors (at least two, comma-separated)"), max_length=200)
    findings = forms.CharField(label=_("findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    counts = forms.CharField(label=_("stock counted (one per line: substance code, counted kg, book kg)"),
                             required=False, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "C3-02, 120, 125"}))
    rectify_by = forms.DateField(label=_("rectify by"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, checklist=(), **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in checklist:
            self.fields[f"check_{key}"] = forms.ChoiceField(
                label=label, choices=[("ok", _("OK")), ("bad", _("Problem")), ("na", _("N/A"))], initial="ok",
                widget=forms.RadioSelect)

    def clean_counts(self):
        rows = []
        for n, line in enumerate(self.cleaned_data["counts"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.replace("，", ",").split(",")]
            if len(parts) != 3:
                raise forms.ValidationError(_("Line %(n)d: write substance code, counted kg, book kg.") % {"n": n})
            code = parts[0]
            if not models.Substance.objects.filter(code=code).exists():
                raise forms.ValidationError(_("Line %(n)d: unknown substance code %(code)s.") % {"n": n, "code": code})
            try:
                rows.append((code, float(parts[1]), float(parts[2])))
            except ValueError:
                raise forms.ValidationError(_("Line %(n)d: the quantities must be numbers.") % {"n": n}) from None
        return rows


class SurveyAreaForm(forms.ModelForm):
    polygon = forms.CharField(label=_("polygon (GeoJSON, WGS-84)"), widget=forms.Textarea(attrs={"rows": 4}))

    class Meta:
        model = models.SurveyArea
        fields = ["name", "area_code", "year", "polygon"]

    def clean_polygon(self):
        from .algorithms.patrol import PatrolGeometryError, polygon_from_geojson, to_geojson

        try:
            return to_geojson(polygon_from_geojson(self.cleaned_data["polygon"]))
        except (PatrolGeometryError, ValueError) as exc:
            raise forms.ValidationError(str(exc)) from None


class SurveyFlightForm(forms.ModelForm):
    track = forms.CharField(label=_("track (GeoJSON LineString, WGS-84)"), widget=forms.Textarea(attrs={"rows": 4}))

    class Meta:
        model = models.SurveyFlight
        fields = ["kind", "flown_on", "pilot", "altitude_m", "hfov_deg", "vfov_deg", "track"]
        widgets = {"flown_on": forms.DateInput(attrs={"type": "date"})}

    def clean_track(self):
        try:
            track = json.loads(self.cleaned_data["track"])
            if track.get("type") == "Feature":
                track = track["geometry"]
            if track.get("type") != "LineString" or len(track.get("coordinates", [])) < 2:
                raise ValueError
            for lon, lat, *_rest in track["coordinates"]:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError
        except (ValueError, TypeError, AttributeError, KeyError):
            raise forms.ValidationError(_("A GeoJSON LineString of at least two [lon, lat] points in WGS-84.")) \
                from None
        return track


class EquipmentTransferForm(forms.Form):
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    to_party = forms.ModelChoiceField(label=_("new owner (registered party)"), queryset=models.Party.objects.all(),
                                      required=False)
    to_name = forms.CharField(label=_("new owner (when not registered)"), max_length=200, required=False)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class PatrolFindingForm(forms.ModelForm):
    class Meta:
        model = models.PatrolFinding
        fields = ["area", "area_code", "kind", "source", "found_on", "lon", "lat", "plants", "eradicated", "note"]
        widgets = {"found_on": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        cleaned = super().clean()
        lon, lat = cleaned.get("lon"), cleaned.get("lat")
        if lon is not None and not -180 <= lon <= 180:
            self.add_error("lon", _("Longitude between -180 and 180 (WGS-84)."))
        if lat is not None and not -90 <= lat <= 90:
            self.add_error("lat", _("Latitude between -90 and 90 (WGS-84)."))
        return cleaned


def find_party(value) -> models.Party | None:
    """The registered party named by its identifier in events or its 统一社会信用代码 (Excel columns carry text)."""
    value = str(value or "").strip()
    return models.Party.objects.filter(identifier=value).first() or \
        models.Party.objects.filter(uscc=value.upper()).first()


def party_from_text(value: str):
    """``find_party``, or a ValidationError saying no party has that identifier or credit code."""
    party = find_party(value)
    if party is None:
        raise forms.ValidationError(_("No registered party has this identifier or credit code."))
    return party


class PartyTextField(forms.CharField):
    """A registered party typed as its identifier or 统一社会信用代码 (what a sheet or a clerk has). Unchanged when it
    names the party already recorded, however it is spelled (a sheet without the column gives the record's id)."""

    @staticmethod
    def _pk(value):
        if value in (None, ""):
            return None
        if isinstance(value, int) or str(value).isdecimal():
            return int(value)
        party = find_party(value)
        return party.pk if party is not None else str(value)

    def has_changed(self, initial, data):
        return self._pk(initial) != self._pk(data)


class ShownDateTimeField(forms.DateTimeField):
    """A time the page shows to the minute (or second): unchanged when the posted value equals the stored one to
    that precision, so re-saving a form does not count as changing a time stored with seconds."""

    @classmethod
    def on_page(cls, label):
        return cls(label=label, required=False,
                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    def has_changed(self, initial, data):
        try:
            posted = self.to_python(data)
            initial = self.to_python(initial) if isinstance(initial, str) else initial
        except forms.ValidationError:
            return True
        if initial is None or posted is None:
            return (initial is None) != (posted is None)
        with_seconds = isinstance(data, str) and re.search(r"\d:\d\d:\d", data) is not None

        def shown(t):
            t = timezone.localtime(t).replace(microsecond=0)
            return t if with_seconds else t.replace(second=0)

        return shown(initial) != shown(posted)


class RouteField(forms.CharField):
    """A planned route typed as ``lon,lat; lon,lat; …`` or pasted as a GeoJSON LineString; cleaned to
    [[lon, lat], …]. Unchanged when it names the same points, however it is spelled."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        from .algorithms.gps import route_as_text

        return route_as_text(value) if isinstance(value, list) else value

    def clean(self, value):
        from .services import planned_route_from

        return planned_route_from(super().clean(value))

    def has_changed(self, initial, data):
        from .algorithms.gps import RouteError, parse_route, route_as_json

        try:
            return route_as_json(parse_route(initial)) != route_as_json(parse_route(data))
        except (RouteError, TypeError):
            return True


class ShipmentForm(forms.ModelForm):
    """A shipment's planned route and its departure and arrival (R29). The carrier is any registered party, named by
    its identifier or 统一社会信用代码 (the consignor may not see the carrier's file, but may name it)."""

    accepts_user = True
    planned_route = RouteField(
        label=_("planned route"),
        help_text=_("Longitude,latitude of each point from origin to destination, separated by semicolons "
                    "(WGS-84), e.g. 120.62,31.31; 120.30,31.57; 118.78,32.05 — or a GeoJSON LineString."))
    carrier = PartyTextField(label=_("carrier (identifier or credit code)"), max_length=200, required=False)
    departed_at = ShownDateTimeField.on_page(_("departed at"))
    eta = ShownDateTimeField.on_page(_("expected arrival"))
    arrived_at = ShownDateTimeField.on_page(_("arrived at"))

    class Meta:
        model = models.Shipment
        fields = ["waybill", "party", "carrier", "vehicle_plate", "permit_no", "planned_route", "departed_at", "eta",
                  "arrived_at", "departure_kg", "arrival_kg", "note"]

    #: the page's form leaves out the consignor of a recorded track (it does not change, and the carrier editing
    #: the arrival could not pick a consignor outside its own scope); the Excel row names it, as its key's partner
    consignor_on_edit = False

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.pk and self.instance.carrier_id:
            self.initial["carrier"] = self.instance.carrier.identifier
        if self.instance.pk and not self.consignor_on_edit:
            self.fields.pop("party")

    def clean_carrier(self):
        return self._party("carrier") if self.cleaned_data.get("carrier") else None

    def _party(self, name):
        value = str(self.cleaned_data[name]).strip()
        current = getattr(self.instance, f"{name}_id", None)
        if current is not None and value in (str(current), getattr(self.instance, name).identifier):
            return getattr(self.instance, name)     # as recorded (a sheet without the column gives its id)
        return party_from_text(value)

    def clean(self):
        from .services import shipment_errors

        cleaned = super().clean()
        if self.instance.pk:
            for name in ("departed_at", "eta", "arrived_at", "planned_route"):
                if name in cleaned and name not in self.changed_data:
                    cleaned[name] = getattr(self.instance, name)      # as stored, not as the page rounded it
        for name, message in shipment_errors(self.instance, cleaned, self.changed_data, self.user).items():
            self.add_error(name if name in self.fields else None, message)
        return cleaned


class ShipmentRowForm(ShipmentForm):
    """One row of the shipment sheet: the consignor named by identifier or credit code, like the carrier."""

    party = PartyTextField(label=_("consignor (identifier or credit code)"), max_length=200)
    consignor_on_edit = True

    def clean_party(self):
        return self._party("party")


def tracks_of(waybill: str, consignor: str = "") -> list:
    """The shipment tracks a row may mean by its waybill (and consignor, when the row names one); the import's
    ``row_check`` keeps those in the user's scope, which must then be one. Raises ValidationError when none has it."""
    tracks = models.Shipment.objects.filter(waybill=waybill.strip())
    if consignor.strip():
        tracks = tracks.filter(party=party_from_text(consignor))
    found = list(tracks)
    if not found:
        raise forms.ValidationError(_("No shipment track has this waybill number: enter the shipment first."))
    return found


class ShipmentFixRowForm(forms.Form):
    """One row of a vehicle-monitoring export: waybill, time, longitude, latitude (and the consignor, when two
    consignors' tracks share a waybill)."""

    waybill = forms.CharField(label=_("waybill number"), max_length=100)
    time = forms.DateTimeField(label=_("time"))
    lon = forms.FloatField(label=_("longitude"))
    lat = forms.FloatField(label=_("latitude"))
    party = forms.CharField(label=_("consignor (identifier or credit code)"), max_length=200, required=False)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance          # the fix already recorded at this time, when there is one
        super().__init__(*args, **kwargs)

    def clean_party(self):
        value = self.cleaned_data.get("party", "")
        if value:
            party_from_text(value)            # an unknown consignor is named on its own column
        return value

    def clean(self):
        cleaned = super().clean()
        self.tracks = []
        if cleaned.get("waybill") and "party" in cleaned:
            try:
                self.tracks = tracks_of(cleaned["waybill"], cleaned["party"])
                cleaned["waybill"] = self.tracks[0]        # the import's row_check picks among several
            except forms.ValidationError as exc:
                self.add_error("waybill", exc)
        return self._check_position(cleaned)

    def _check_position(self, cleaned):
        from .algorithms.gps import RouteError, check_point
        from .services import route_error_text

        if cleaned.get("lon") is not None and cleaned.get("lat") is not None:
            try:
                check_point(cleaned["lon"], cleaned["lat"])
            except RouteError as exc:
                self.add_error("lat" if exc.code == "lat_range" else "lon", route_error_text(exc))
        fix, position = self.instance, (cleaned.get("lon"), cleaned.get("lat"))
        if fix is not None and None not in position and (fix.lon, fix.lat) != position:
            self.add_error("lon", _("A different position is already recorded for this time."))
        return cleaned

    def has_changed(self):
        return self.instance is None      # a fix recorded again at the same time and place is "unchanged"

    def save(self, user=None):
        from .services import add_fixes

        d = self.cleaned_data
        shipment = d["waybill"]                  # clean() found the track
        add_fixes(shipment, [(d["time"], d["lon"], d["lat"])], user)
        return models.ShipmentFix.objects.get(shipment=shipment, time=d["time"])
