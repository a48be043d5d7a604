from django import forms
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField


class EncryptedFieldsFormMixin:
    """Edit forms never show encrypted personal data in clear: the box starts empty with the masked
    current value as a hint, and leaving it empty keeps the stored value."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kept = {}
        for name, form_field in self.fields.items():
            model_field = self._meta.model._meta.get_field(name) if name in self._encrypted_names() else None
            if model_field is None:
                continue
            form_field.widget = forms.TextInput(attrs={"autocomplete": "off"})
            current = getattr(self.instance, name, "") if self.instance.pk else ""
            if current:
                self._kept[name] = current
                self.initial[name] = ""
                form_field.required = False
                form_field.widget.attrs["placeholder"] = model_field.audit_repr(current)
                form_field.help_text = _("Leave empty to keep the current value.")

    def _encrypted_names(self):
        return {f.name for f in self._meta.model._meta.concrete_fields if isinstance(f, EncryptedTextField)}

    def _clean_fields(self):
        super()._clean_fields()
        for name, value in self._kept.items():
            if not self.cleaned_data.get(name):
                self.cleaned_data[name] = value
