"""The audit service: every write and every sensitive access ends up here.

``log_change`` records a model write with before/after snapshots; ``log_access`` records logins,
reads of sensitive records, searches, exports, unmasking, break-glass, transfers and approvals.
Both append to a hash chain (each row's HMAC-SM3 covers its predecessor's hash) that
``verify_chain`` checks.
"""

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from utilities.crypto import hmac_sm3_hex, sm3_hex
from utilities.masking import redact_identifiers

from .context import current_actor
from .models.audit import AccessLog, AuditChainHead, AuditRecord, ChangeLog

GENESIS_HASH = "0" * 64
_COMMON_FIELDS = ("seq", "time", "user_id", "username", "ip", "request_id", "channel", "object_type", "object_id",
                  "object_repr", "prev_hash")


def _jsonable(value):
    """Round-trip through JSON so that what we hash is exactly what the database gives back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _canonical(value) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "hex") and value.__class__.__name__ == "UUID":
        return str(value)
    return value


def _chain_key() -> bytes:
    """The HMAC key of the chain, derived from the key ring (outside the database), so that someone
    who can rewrite the tables cannot recompute valid hashes."""
    from .fields import key_ring

    return bytes.fromhex(hmac_sm3_hex(key_ring().index_key, b"jindu-audit-chain-v1"))


def compute_row_hash(record: AuditRecord) -> str:
    """HMAC-SM3 over the row's content, which includes the predecessor's hash (``prev_hash``)."""
    payload = {name: _canonical(getattr(record, name)) for name in (*_COMMON_FIELDS, *record.hashed_fields)}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hmac_sm3_hex(_chain_key(), text.encode("utf-8"))


def _append(record: AuditRecord, obj=None, object_type: str = "", object_id: str = "", object_repr: str = ""):
    actor = current_actor()
    record.time = timezone.now()
    record.user_id = actor.user_id
    record.username = actor.username[:150]
    record.ip = actor.ip
    record.request_id = actor.request_id
    record.channel = actor.channel
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    record.object_type = object_type
    record.object_id = str(object_id)[:64]
    record.object_repr = str(object_repr)[:200]
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=record.chain_name)
        record.seq = head.last_seq + 1
        record.prev_hash = head.last_hash
        record.row_hash = compute_row_hash(record)
        record.save()
        head.last_seq, head.last_hash = record.seq, record.row_hash
        head.save(update_fields=["last_seq", "last_hash"])
    return record


# --- snapshots -----------------------------------------------------------------------------------

def serialize_instance(obj) -> dict:
    """A JSON snapshot of an instance's concrete fields; encrypted fields appear masked, never plain."""
    data = {}
    excluded = getattr(obj, "audit_exclude", ())
    for field in obj._meta.concrete_fields:
        if field.attname in excluded:
            data[field.attname] = "<redacted>"
            continue
        audit_repr = getattr(field, "audit_repr", None)
        value = field.value_from_object(obj)
        if audit_repr is not None:
            value = audit_repr(value)
        elif isinstance(field, (models.BinaryField, models.FileField)):
            value = str(value) if value else None
        data[field.attname] = value
    return _jsonable(data)


def log_change(obj, action: str, before: dict | None = None, after: dict | None = None, message: str = "",
               object_id: str = ""):
    if action != ChangeLog.Action.DELETE and after is None:
        after = serialize_instance(obj)
    record = ChangeLog(action=action, before=_jsonable(before), after=_jsonable(after), message=message[:300])
    return _append(record, obj, object_id=object_id)


def _redacted(value):
    if isinstance(value, str):
        return redact_identifiers(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def log_changes_bulk(objects, action: str = "create", message: str = "") -> int:
    """One change-log row per object, appended to the chain in one go (bulk loads, demo data):
    the chain head is locked once and the rows are inserted together."""
    objects = list(objects)
    if not objects:
        return 0
    actor = current_actor()
    now = timezone.now()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=ChangeLog.chain_name)
        seq, prev = head.last_seq, head.last_hash
        records = []
        for obj in objects:
            seq += 1
            record = ChangeLog(action=action, before=None, after=serialize_instance(obj), message=message[:300],
                               seq=seq, time=now, user_id=actor.user_id, username=actor.username[:150],
                               ip=actor.ip, request_id=actor.request_id, channel=actor.channel,
                               object_type=obj._meta.label_lower, object_id=str(obj.pk)[:64],
                               object_repr=str(obj)[:200], prev_hash=prev)
            record.row_hash = compute_row_hash(record)
            prev = record.row_hash
            records.append(record)
        ChangeLog.objects.bulk_create(records, batch_size=1000)
        head.last_seq, head.last_hash = seq, prev
        head.save(update_fields=["last_seq", "last_hash"])
    return len(records)


def _digest_value(value):
    """A value as the digest sees it: numbers as the text of their float (PostgreSQL's jsonb gives 1e16 back as an
    integer and -0.0 as 0.0, and keeps integers wider than 64 bits), containers element by element."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return repr(number + 0.0)           # + 0.0 turns -0.0 into 0.0
    if isinstance(value, dict):
        return {str(k): _digest_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_digest_value(v) for v in value]
    return str(value)


def content_digest(objects, fields: tuple[str, ...]) -> str:
    """SM3 over ``[pk, *fields]`` of each object in pk order (canonical JSON, keys sorted, numbers normalised):
    recomputed from the stored rows on either database, it shows whether any of them changed since
    :func:`log_created_digest` recorded it."""
    rows = sorted(([obj.pk, *(_digest_value(getattr(obj, f)) for f in fields)] for obj in objects),
                  key=lambda r: r[0])
    return sm3_hex(orjson.dumps(rows, option=orjson.OPT_SORT_KEYS))


def log_created_digest(objects, fields: tuple[str, ...], message: str = ""):
    """One change-log row for many objects a system job created together (the precursor rule run's alerts), as an
    EPCIS capture records its events: the model, how many, the first and last id, and the SM3 of the ids and of
    ``fields`` of each (:func:`content_digest`). Any later change to one of them is logged on a row of its own.
    Per-object rows would double the run's writes for no more evidence."""
    objects = list(objects)
    if not objects:
        return None
    ids = sorted(obj.pk for obj in objects)
    label = objects[0]._meta.label_lower
    after = {"count": len(ids), "first_id": ids[0], "last_id": ids[-1],
             "ids_sm3": sm3_hex(",".join(map(str, ids)).encode()), "fields": list(fields),
             "content_sm3": content_digest(objects, fields)}
    record = ChangeLog(action=ChangeLog.Action.CREATE, before=None, after=after, message=message[:300])
    return _append(record, object_type=label, object_id=f"{ids[0]}-{ids[-1]}",
                   object_repr=f"{len(ids)} × {objects[0]._meta.verbose_name}")


def log_access(event: str, obj=None, *, result: str = AccessLog.Result.SUCCESS, reason: str = "",
               detail: dict | None = None, object_type: str = "", object_id: str = "", object_repr: str = ""):
    # search terms and filters may carry ID or phone numbers: the log keeps them masked
    record = AccessLog(event=event, result=result, reason=redact_identifiers(reason)[:500],
                       detail=_jsonable(_redacted(detail)))
    return _append(record, obj, object_type, object_id, object_repr)


def log_access_as(username: str, event: str, **kwargs):
    """For events before anyone is authenticated (a failed login names the username it tried)."""
    from .context import Actor, current_actor, reset_actor, set_actor

    actor = current_actor()
    token = set_actor(Actor(request=None, ip=actor.ip, request_id=actor.request_id, channel=actor.channel,
                            username=username))
    try:
        return log_access(event, **kwargs)
    finally:
        reset_actor(token)


# --- verification --------------------------------------------------------------------------------

@dataclass
class ChainProblem:
    chain: str
    seq: int | None
    row_id: int | None
    problem: str

    def __str__(self):
        return f"{self.chain} chain: row seq={self.seq} id={self.row_id}: {self.problem}"


def verify_chain(model: type[AuditRecord]) -> ChainProblem | None:
    """Walk one chain in order; return the first problem found or None when intact."""
    chain = model.chain_name
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for record in model.objects.order_by("seq").iterator(chunk_size=2000):
        if record.seq != expected_seq:
            return ChainProblem(chain, expected_seq, None, f"row missing (next row present is seq={record.seq})")
        if record.prev_hash != expected_prev:
            return ChainProblem(chain, record.seq, record.pk, "previous-hash link broken (a row before it was "
                                                              "altered or removed)")
        if compute_row_hash(record) != record.row_hash:
            return ChainProblem(chain, record.seq, record.pk, "content does not match its hash (row altered)")
        expected_prev = record.row_hash
        expected_seq += 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and head.last_seq != expected_seq - 1:
        return ChainProblem(chain, head.last_seq, None, "rows at the end of the chain were removed")
    if head is not None and head.last_hash != expected_prev:
        return ChainProblem(chain, head.last_seq, None, "the last row does not match the chain head")
    return None


def verify_all() -> list[ChainProblem]:
    return [p for p in (verify_chain(ChangeLog), verify_chain(AccessLog)) if p is not None]
