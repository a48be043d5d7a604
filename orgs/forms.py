from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Organization


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "short_name", "type", "sector", "is_member_unit", "uscc", "area_code", "parent", "address",
                  "contact_name", "contact_phone", "is_active"]

    def clean_area_code(self):
        from geo.models import Division

        code = self.cleaned_data["area_code"].strip()
        if not Division.objects.filter(code=code).exists():
            raise forms.ValidationError(_("Unknown area code %(code)s."), params={"code": code}, code="unknown_area")
        return code

    def clean_uscc(self):
        value = (self.cleaned_data.get("uscc") or "").strip().upper()
        return value or None
