from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AuditedModel

from . import codes

__all__ = ("Division",)


class Division(AuditedModel):
    """An administrative division or grid, identified by its code (see geo.codes)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        DISTRICT = "district", _("District / county-level city")
        STREET = "street", _("Street / town")
        COMMUNITY = "community", _("Community / village")
        GRID = "grid", _("Grid")

    code = models.CharField(_("code"), max_length=15, primary_key=True,
                            validators=[RegexValidator(r"^(\d{6}|\d{9}|\d{12}|\d{15})$",
                                                       _("A division code has 6, 9, 12 or 15 digits."))])
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, db_index=True)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    population = models.PositiveIntegerField(_("resident population"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("division")
        verbose_name_plural = _("divisions")

    def __str__(self):
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs):
        self.level = codes.level_of(self.code)
        super().save(*args, **kwargs)

    @property
    def prefix(self) -> str:
        return codes.prefix_of(self.code)

    def descendants(self):
        return Division.objects.filter(code__startswith=self.prefix).exclude(code=self.code)

    def path(self) -> list["Division"]:
        """This division and its ancestors, top first."""
        chain, code = [], self.code
        while code:
            chain.append(code)
            code = codes.parent_of(code)
        found = {d.code: d for d in Division.objects.filter(code__in=chain)}
        return [found[c] for c in reversed(chain) if c in found]

    def full_name(self) -> str:
        return "".join(d.name for d in self.path() if d.level != Division.Level.PROVINCE)
