from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AuditedModel
from geo.validators import validate_division_code
from utilities.validators import validate_uscc

from .choices import OrgType, Sector

__all__ = ("Organization",)


class Organization(AuditedModel):
    """Any body that acts in the platform: offices, member units, police stations, streets,
    communities, schools, enterprises, hospitals, rehabilitation facilities, labs, couriers."""

    scope_area_field = "area_code"
    scope_org_field = "pk"

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    type = models.CharField(_("type"), max_length=32, choices=OrgType.choices, db_index=True)
    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices, blank=True, db_index=True)
    is_member_unit = models.BooleanField(_("member unit of the narcotics control commission"), default=False)
    uscc = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True, unique=True,
                            validators=[validate_uscc])
    area_code = models.CharField(_("area code"), max_length=15, db_index=True, validators=[validate_division_code])
    parent = models.ForeignKey("self", verbose_name=_("parent organisation"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["area_code", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["area_code", "name"], name="orgs_organization_unique_area_name",
                                    violation_error_message=_("An organisation with this name already exists in "
                                                              "this area.")),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.uscc == "":
            self.uscc = None
        if self.uscc:
            self.uscc = self.uscc.upper()
