from django import forms

from .models import Organization


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "short_name", "type", "sector", "is_member_unit", "uscc", "area_code", "parent", "address",
                  "contact_name", "contact_phone", "is_active"]

    def clean_uscc(self):
        value = (self.cleaned_data.get("uscc") or "").strip().upper()
        return value or None
