from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Drug-situation monitoring and early warning")

    def ready(self):
        from jindu import navigation

        from . import demo, imports, jobs  # noqa: F401  (register import specs, jobs, demo builder)
        from .parameters import sync_correction_factors

        post_migrate.connect(sync_correction_factors, sender=self)
        for label, url_name, resource in [
            (_("Dashboard"), "monitoring:dashboard", "monitoring.measurement"),
            (_("Fused view by area"), "monitoring:fused", "monitoring.alert"),
            (_("Series by area and drug"), "monitoring:series", "monitoring.forensicidentification"),
            (_("Alert inbox"), "monitoring:alert_list", "monitoring.alert"),
            (_("Treatment plants"), "monitoring:treatmentplant_list", "monitoring.treatmentplant"),
            (_("Wastewater samples"), "monitoring:sample_list", "monitoring.sample"),
            (_("Sampling campaigns"), "monitoring:samplingcampaign_list", "monitoring.samplingcampaign"),
            (_("Population estimates"), "monitoring:populationestimate_list", "monitoring.populationestimate"),
            (_("Load estimates"), "monitoring:loadestimate_list", "monitoring.loadestimate"),
            (_("Hair and lab screening"), "monitoring:screeningbatch_list", "monitoring.screeningbatch"),
            (_("Forensic identifications"), "monitoring:forensicidentification_list",
             "monitoring.forensicidentification"),
            (_("Controlled-medicine dispensing"), "monitoring:dispensing_list", "monitoring.dispensing"),
            (_("Alert definitions"), "monitoring:alertdefinition_list", "monitoring.alertdefinition"),
            (_("Correction factors"), "monitoring:correctionfactor_list", "monitoring.correctionfactor"),
            (_("Monthly reports"), "monitoring:monthlyreport_list", "monitoring.monthlyreport"),
        ]:
            navigation.register("monitoring", label, url_name, resource)
