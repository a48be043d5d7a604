from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = _("Organisations")

    def ready(self):
        from . import imports  # noqa: F401  (registers the organisation import)
