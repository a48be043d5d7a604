"""Model fields for personal data: SM4-GCM ciphertext at rest plus an HMAC-SM3 blind index.

``EncryptedTextField(index_field="id_number_index", normalizer=..., masker=...)`` stores
``sm4gcm$<kid>$…`` tokens (the key id lets keys rotate) bound to ``<model>.<field>`` as associated
data, fills the named index field on save for exact search (``Model.objects.filter(
id_number_index=blind_index_for("id_number", value))``), and shows up masked in the change log.
Equality lookups on the ciphertext column are refused: they could never match.
"""

import os
import time
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import pre_save

from utilities import crypto


@lru_cache(maxsize=1)
def key_ring() -> crypto.KeyRing:
    if settings.JINDU_FIELD_KEYS:
        if not settings.JINDU_INDEX_KEY:
            raise ImproperlyConfigured("JINDU_FIELD_KEYS is set but JINDU_INDEX_KEY is not")
        return crypto.KeyRing.from_spec(settings.JINDU_FIELD_KEYS, settings.JINDU_FIELD_KEY_ID,
                                        settings.JINDU_INDEX_KEY)
    path = settings.JINDU_KEY_FILE
    if not path.exists():  # embedded default: a fresh random key file, readable by the owner only
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: when two processes start at once, exactly one writes the key and both read it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(crypto.KeyRing.generate().to_json())
    for _attempt in range(50):  # the writer may still be writing
        text = path.read_text()
        if text.strip():
            return crypto.KeyRing.from_json(text)
        time.sleep(0.05)
    raise ImproperlyConfigured(f"key file {path} is empty")


def blind_index_for(purpose: str, value: str, normalizer=None) -> str:
    value = normalizer(value) if normalizer else value.strip()
    return crypto.blind_index(key_ring(), value, purpose)


class EncryptedTextField(models.TextField):
    def __init__(self, *args, index_field: str | None = None, index_purpose: str | None = None, normalizer=None,
                 masker=None, **kwargs):
        self.index_field = index_field
        self.index_purpose = index_purpose
        self.normalizer = normalizer
        self.masker = masker
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.index_field:
            kwargs["index_field"] = self.index_field
        if self.index_purpose:
            kwargs["index_purpose"] = self.index_purpose
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if self.index_field and not cls._meta.abstract:
            pre_save.connect(self._fill_index, sender=cls, weak=False)

    @property
    def aad(self) -> bytes:
        return f"{self.model._meta.label_lower}.{self.name}".encode()

    def purpose(self) -> str:
        return self.index_purpose or self.name

    def normalize(self, value: str) -> str:
        return self.normalizer(value) if self.normalizer else value.strip()

    def _fill_index(self, sender, instance, **kwargs):
        value = getattr(instance, self.attname)
        index = crypto.blind_index(key_ring(), self.normalize(value), self.purpose()) if value else None
        setattr(instance, self.index_field, index)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        if crypto.is_token(value):
            return value
        return crypto.encrypt(key_ring(), self.normalize(value), self.aad)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(key_ring(), value, self.aad)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("isnull",):
            return None  # ciphertext is randomised: only the blind index can be searched
        return super().get_lookup(lookup_name)

    def audit_repr(self, value):
        if not value:
            return value
        return self.masker(value) if self.masker else "******"
