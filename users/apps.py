from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("Users and access")

    def ready(self):
        from .roles import sync_builtin_roles

        post_migrate.connect(sync_builtin_roles, sender=self)
