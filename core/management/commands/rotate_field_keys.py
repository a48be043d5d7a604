from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.audit import log_access
from core.context import acting_as
from core.fields import EncryptedTextField, key_ring
from core.models import AccessLog
from utilities import crypto


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted field under the current key id (after adding a new key and making it "
            "current). Old keys stay in the ring until this has run. The blind-index key is not rotated.")

    def handle(self, **options):
        ring = key_ring()
        total = 0
        with acting_as(username="command:rotate_field_keys", channel="command"), transaction.atomic():
            for model in apps.get_models():
                fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
                for field in fields:
                    # the ORM would decrypt; read the stored tokens as they are
                    table, column = model._meta.db_table, field.column
                    with connection.cursor() as cursor:
                        cursor.execute(f'SELECT "{model._meta.pk.column}", "{column}" FROM "{table}" '
                                       f'WHERE "{column}" IS NOT NULL AND "{column}" <> %s', [""])
                        stored = cursor.fetchall()
                    changed = 0
                    for pk, token in stored:
                        fresh = crypto.reencrypt(ring, token, field.aad)
                        if fresh != token:
                            model._base_manager.filter(pk=pk).update(**{field.attname: fresh})
                            changed += 1
                    total += changed
                    if changed:
                        self.stdout.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
            log_access(AccessLog.Event.ADMIN, object_type="core.keys", detail={"action": "rotate_field_keys",
                                                                               "current_kid": ring.current_kid,
                                                                               "re_encrypted": total})
        self.stdout.write(f"{total} values now under key {ring.current_kid}")
