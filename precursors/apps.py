from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrecursorsConfig(AppConfig):
    name = "precursors"
    verbose_name = _("Precursor chemicals")

    def ready(self):
        from jindu import navigation

        from . import demo, imports, jobs  # noqa: F401  (register the demo builder, the import spec, the jobs)
        from .catalogue_sync import sync_catalogue

        post_migrate.connect(sync_catalogue, sender=self)
        # the permit draws the capture-time rules keep were weighed with the catalogue of the day: a change to it
        # drops them, and the next captures read the events again (rules_service._fill_missing_draws)
        from django.db.models.signals import post_delete, post_save

        from .models import ProductMapping, Substance
        from .rules_service import forget_permit_draws

        for model in (ProductMapping, Substance):
            post_save.connect(forget_permit_draws, sender=model, dispatch_uid=f"permit-draws-{model.__name__}-save")
            post_delete.connect(forget_permit_draws, sender=model,
                                dispatch_uid=f"permit-draws-{model.__name__}-delete")
        for label, url_name, resource in [
            (_("Overview"), "precursors:overview", "precursors.party"),
            (_("Enterprises (一企一档)"), "precursors:party_list", "precursors.party"),
            (_("Authorizations"), "precursors:authorization_list", "precursors.authorization"),
            (_("Alert inbox"), "precursors:alert_list", "precursors.alert"),
            (_("Trace"), "precursors:trace", "precursors.event"),
            (_("Ledger (台账)"), "precursors:ledger", "precursors.event"),
            (_("Events"), "precursors:event_list", "precursors.event"),
            (_("Shipment tracks (GPS)"), "precursors:shipment_list", "precursors.shipment"),
            (_("Report events"), "precursors:report", "precursors.event"),
            (_("Inspections"), "precursors:inspection_list", "precursors.inspection"),
            (_("Equipment (NMR…)"), "precursors:equipment_list", "precursors.equipment"),
            (_("Cultivation patrols"), "precursors:surveyarea_list", "precursors.surveyarea"),
            (_("Patrol findings and tip-offs"), "precursors:patrolfinding_list", "precursors.patrolfinding"),
            (_("Filings"), "precursors:filing_list", "precursors.filing"),
            (_("Substance catalogue"), "precursors:substance_list", "precursors.substance"),
            (_("Rule parameters"), "precursors:ruleparameter_list", "precursors.ruleparameter"),
        ]:
            navigation.register("precursors", label, url_name, resource)
