from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def validate_division_code(value: str) -> None:
    """The code must be a known division (or grid) of the platform."""
    from .models import Division

    if not Division.objects.filter(code=(value or "").strip()).exists():
        raise ValidationError(_("Unknown area code %(code)s."), params={"code": value}, code="unknown_area")
