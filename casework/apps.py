from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Services and management of drug users")

    def ready(self):
        from django.db.models.signals import post_migrate

        from jindu import navigation

        from . import demo, imports, signals  # noqa: F401  (registers the demo builder and the imports)
        from .services import seed_schedule_policies

        signals.connect()
        post_migrate.connect(seed_schedule_policies, sender=self)

        for label, url_name, resource in [
            (_("My tasks"), "casework:my_tasks", "casework.plannedevent"),
            (_("Registered persons"), "casework:person_list", "casework.person"),
            (_("Indicators K01–K13"), "casework:indicators", "casework.person"),
            (_("Register a person"), "casework:person_add", "casework.person"),
            (_("Measures"), "casework:measure_list", "casework.measure"),
            (_("Police report tasks"), "casework:policereporttask_list", "casework.policereporttask"),
            (_("Transfers"), "casework:transfer_list", "casework.transfer"),
            (_("Referrals"), "casework:referral_list", "casework.referral"),
            (_("Incidents"), "casework:incident_list", "casework.incident"),
            (_("Break-glass review"), "casework:breakglass_list", "casework.breakglass"),
            (_("Schedule policies"), "casework:schedulepolicy_list", "casework.schedulepolicy"),
            (_("Risk instruments"), "casework:riskinstrument_list", "casework.riskinstrument"),
        ]:
            navigation.register("casework", label, url_name, resource)
