import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]"))


class CharacterClassValidator:
    """Require characters from at least ``min_classes`` of: lower case, upper case, digits, symbols
    (the usual 等保 level-3 test practice)."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if sum(1 for c in _CLASSES if c.search(password)) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return _("Your password must mix at least %(n)d of: lower-case letters, upper-case letters, digits and "
                 "symbols.") % {"n": self.min_classes}
