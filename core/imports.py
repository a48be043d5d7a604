"""The one import pipeline every pillar reuses.

template → upload (xlsx/csv) → every row validated with the same ModelForm the UI uses → preview
with counts (new / changed / unchanged) or an error workbook naming row and column → commit in one
transaction, all rows or none. Each upload is an ``ImportBatch`` with the file's SM3 hash; a file
already committed is recognised and adds nothing, and rows matching an existing record by the
spec's natural key update it (or are counted unchanged) instead of duplicating it.
"""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from utilities.crypto import sm3_hex
from utilities.excel import UnreadableFile, error_workbook, read_rows

from .audit import log_access
from .jobs import enqueue, job, progress
from .models import AccessLog, ImportBatch
from .permissions import ensure_in_scope, model_perm

FILE_ERRORS_ROW = 0  # errors that concern the whole file are reported against "row 0"


@dataclass
class Column:
    field: str
    header: str
    help: str = ""
    example: str = ""


@dataclass
class ImportSpec:
    """How one kind of record is imported. ``form_class`` is the form the UI uses for the model."""

    name: str
    model: type
    form_class: type
    columns: list[Column]
    key_fields: tuple[str, ...]
    label: str = ""
    save: object = None  # optional service: save(form, user) -> instance; default form.save()
    # optional: find_existing(data) -> instance | None, when the natural key is not model fields
    find_existing: object = None
    # optional: row_check(form, user) -> {field: message} for a valid row the user may still not write (a row that
    # names a record outside the user's scope), so the preview names the row instead of the commit failing whole
    row_check: object = None
    # optional: duplicate_key(data) -> the key two rows of one file must not share, when the key fields can be
    # spelled two ways (a party by identifier or by credit code); default: the key fields as written
    duplicate_key: object = None
    # list pages (models) that offer this import besides ``model`` itself
    also_for: tuple = ()

    def existing_for(self, data: dict):
        if self.find_existing is not None:
            return self.find_existing(data)
        return self.model._default_manager.filter(**{k: data.get(k, "") for k in self.key_fields}).first()

    def header_map(self) -> dict[str, str]:
        return {c.header: c.field for c in self.columns}

    def text_headers(self) -> list[str]:
        """Columns that hold codes (text, however numeric they look)."""
        text = []
        for c in self.columns:
            form_field = self.form_class.base_fields.get(c.field)
            if isinstance(form_field, forms.CharField) and not isinstance(form_field, forms.TypedChoiceField):
                text.append(c.header)
        return text

    def choice_labels(self) -> dict[str, list[str]]:
        """The drop-down values of choice columns, as labels a clerk reads (in the active language)."""
        labels = {}
        for c in self.columns:
            form_field = self.form_class.base_fields.get(c.field)
            if isinstance(form_field, forms.ChoiceField) and not isinstance(form_field, forms.ModelChoiceField):
                labels[c.header] = [_short_label(label) for value, label in form_field.choices if value not in ("",
                                                                                                             None)]
        return labels

    def template_notes(self) -> list[tuple[str, str]]:
        notes = []
        form = self.form_class()
        for c in self.columns:
            form_field = form.fields.get(c.field)
            required = _("required") if form_field is not None and form_field.required else _("optional")
            text = f"{required}。{c.help or (form_field.help_text if form_field else '')}".strip("。 ")
            if form_field is not None and getattr(form_field, "choices", None) and not c.help:
                text += "；" + _("allowed values") + ": " + "、".join(str(label) for value, label in form_field.choices
                                                                  if value not in ("", None))
            notes.append((c.header, text))
        return notes


class Registry:
    def __init__(self):
        self._specs: dict[str, ImportSpec] = {}

    def register(self, spec: ImportSpec) -> ImportSpec:
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ImportSpec:
        return self._specs[name]

    def for_model(self, model) -> list[ImportSpec]:
        """The imports a model's list page offers."""
        return [s for s in self._specs.values() if s.model is model or model in s.also_for]

    def all(self):
        return list(self._specs.values())


registry = Registry()


# --- the pipeline -------------------------------------------------------------------------------

@dataclass
class RowOutcome:
    excel_row: int
    action: str  # create, update, unchanged, invalid
    errors: dict[str, str] = field(default_factory=dict)
    form: object = None  # the bound, valid form (create/update rows)


def _cell_to_form_value(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns codes like 320505 into 320505.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value).strip()


def _short_label(label) -> str:
    """"派出所" rather than "Police station (派出所)" when the label carries the Chinese name in brackets."""
    text = str(label)
    if translation.get_language() and translation.get_language().startswith("zh") and text.endswith(")") \
            and "(" in text:
        return text[text.rindex("(") + 1:-1]
    return text


def _choice_maps(form_class) -> dict[str, dict[str, str]]:
    """Per choice field: every accepted spelling → stored value. A clerk may type the value
    (school), the Chinese label (学校) or the English label (School); English labels such as
    "Police station (派出所)" also match their bracketed Chinese name."""
    maps = {}
    for name, form_field in form_class.base_fields.items():
        if isinstance(form_field, forms.ModelChoiceField) or not getattr(form_field, "choices", None):
            continue  # foreign keys are matched by id, not by label
        choices = form_field.choices
        mapping = {}
        for value, label in choices:
            if value in ("", None):
                continue
            mapping[str(value)] = str(value)
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    text = str(label)
                mapping.setdefault(text, str(value))
                if "(" in text and text.endswith(")"):  # "Police station (派出所)" or "甲基苯丙胺 (methamphetamine)"
                    mapping.setdefault(text[text.rindex("(") + 1:-1], str(value))
                    mapping.setdefault(text[:text.rindex("(")].strip(), str(value))
        maps[name] = mapping
    return maps


def evaluate(spec: ImportSpec, headers: list[str], rows: list[tuple[int, list]], user) -> list[RowOutcome]:
    """Validate every row with the spec's form; nothing is written."""
    header_map = spec.header_map()
    missing = [c.header for c in spec.columns if c.header not in headers and spec.form_class.base_fields.get(
        c.field) is not None and spec.form_class.base_fields[c.field].required]
    if missing:
        return [RowOutcome(FILE_ERRORS_ROW, "invalid", {_("columns"): _("Missing required column(s): %(cols)s")
                                                        % {"cols": "、".join(missing)}})]
    outcomes: list[RowOutcome] = []
    editable = spec.model.objects.restrict(user, "change")
    choice_maps = _choice_maps(spec.form_class)
    seen_keys: dict[tuple, int] = {}
    for excel_row, values in rows:
        raw = {header_map[h]: _cell_to_form_value(v) for h, v in zip(headers, values) if h in header_map}
        data = {k: choice_maps.get(k, {}).get(v, v) for k, v in raw.items()}
        key = tuple(data.get(k, "") for k in spec.key_fields)
        header_of = {c.field: c.header for c in spec.columns}
        same = spec.duplicate_key(data) if spec.duplicate_key is not None and all(key) else key
        if all(key) and same in seen_keys:
            message = _("Same record as row %(row)d of this file.") % {"row": seen_keys[same]}
            outcomes.append(RowOutcome(excel_row, "invalid", {header_of[spec.key_fields[0]]: message}))
            continue
        seen_keys[same] = excel_row
        existing = None
        if all(key):
            existing = spec.existing_for(data)
            if existing is not None and not editable.filter(pk=existing.pk).exists():
                outcomes.append(RowOutcome(excel_row, "invalid", {
                    header_of[spec.key_fields[0]]: _("This record exists but is outside your scope.")}))
                continue
        form = spec.form_class(data=_merge_with_instance(spec, existing, data), instance=existing)
        if not form.is_valid():
            errors = {}
            for name, messages in form.errors.items():
                header = header_of.get(name, _("row"))
                errors[header] = " ".join(str(m) for m in messages)
            outcomes.append(RowOutcome(excel_row, "invalid", errors))
            continue
        refused = spec.row_check(form, user) if spec.row_check is not None else {}
        if refused:
            outcomes.append(RowOutcome(excel_row, "invalid", {header_of.get(name, _("row")): message
                                                              for name, message in refused.items()}))
            continue
        if existing is None:
            action = "create"
        else:
            action = "update" if form.has_changed() else "unchanged"
        outcomes.append(RowOutcome(excel_row, action, form=form))
    return outcomes


def _merge_with_instance(spec, instance, data: dict) -> dict:
    """Columns missing from the file keep the record's current values instead of being blanked."""
    if instance is None:
        return data
    from django.forms.models import model_to_dict

    current = model_to_dict(instance, fields=list(spec.form_class.base_fields))
    merged = {k: ("" if v is None else v) for k, v in current.items()}
    merged.update(data)
    return merged


def _stored_path(digest: str, file_name: str) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}{Path(file_name).suffix.lower()}"


def start_import(spec: ImportSpec, user, file_name: str, content: bytes) -> ImportBatch:
    """Store the upload, record the batch and validate it in a job. A file already committed adds nothing."""
    if not model_perm(user, spec.model, "import"):
        raise PermissionDenied
    digest = sm3_hex(content)
    path = _stored_path(digest, file_name)
    path.write_bytes(content)
    previous = ImportBatch.objects.filter(spec=spec.name, file_sm3=digest, status=ImportBatch.Status.COMMITTED).first()
    batch = ImportBatch(spec=spec.name, user=user, file_name=file_name[:255], file_sm3=digest, stored_path=str(path))
    if previous is not None:
        batch.status = ImportBatch.Status.DUPLICATE
        batch.duplicate_of = previous
        batch.save(audit_message="duplicate upload ignored")
        path.unlink(missing_ok=True)
        log_access(AccessLog.Event.IMPORT, batch, result=AccessLog.Result.FAILURE,
                   detail={"spec": spec.name, "duplicate_of": previous.pk})
        return batch
    batch.save()
    batch.job = enqueue("core.import_validate", _("Validate %(file)s") % {"file": file_name}, user, batch_id=batch.pk)
    ImportBatch.objects.filter(pk=batch.pk).update(job=batch.job)
    batch.refresh_from_db()
    return batch


def _load(batch: ImportBatch):
    content = Path(batch.stored_path).read_bytes()
    return read_rows(content, batch.file_name)


@job("core.import_validate")
def validate_job(record, batch_id: int):
    batch = ImportBatch.objects.get(pk=batch_id)
    spec = registry.get(batch.spec)
    try:
        headers, rows = _load(batch)
    except UnreadableFile as exc:
        batch.status = ImportBatch.Status.INVALID
        batch.errors = [{"row": FILE_ERRORS_ROW, "column": _("file"), "message": str(exc)}]
        batch.save()
        return {"status": batch.status}
    progress(record, 0, len(rows), _("Validating rows"))
    outcomes = evaluate(spec, headers, rows, batch.user)
    _record_outcomes(batch, headers, rows, outcomes)
    progress(record, len(rows), len(rows))
    return {"status": batch.status}


def ignored_columns(spec: ImportSpec, headers: list[str]) -> list[str]:
    """Columns the import does not use: an export's extra columns, or the 行号/错误 columns of an
    error workbook that a clerk fixed and uploads again. They are reported, not refused."""
    known = spec.header_map()
    return [h for h in headers if h and h not in known]


def _record_outcomes(batch, headers, rows, outcomes):
    invalid = [o for o in outcomes if o.action == "invalid"]
    batch.rows_total = len(rows)
    batch.rows_invalid = sum(1 for o in invalid if o.excel_row != FILE_ERRORS_ROW)
    extra = ignored_columns(registry.get(batch.spec), headers)
    batch.notices = [_("Columns not used by this import were ignored: %(cols)s") % {"cols": "、".join(extra)}] \
        if extra else []
    batch.rows_created = sum(1 for o in outcomes if o.action == "create")
    batch.rows_updated = sum(1 for o in outcomes if o.action == "update")
    batch.rows_unchanged = sum(1 for o in outcomes if o.action == "unchanged")
    batch.errors = [{"row": o.excel_row, "column": col, "message": msg} for o in invalid for col, msg in o.errors.items()]
    if invalid:
        batch.status = ImportBatch.Status.INVALID
        path = Path(batch.stored_path).with_suffix(".errors.xlsx")
        path.write_bytes(error_workbook(headers, rows, {o.excel_row: o.errors for o in invalid}))
        batch.error_file = str(path)
    else:
        batch.status = ImportBatch.Status.READY
    batch.save()


def commit(batch: ImportBatch, user) -> ImportBatch:
    if batch.status != ImportBatch.Status.READY:
        raise ValueError(f"batch {batch.pk} is {batch.status}, not ready")
    batch.status = ImportBatch.Status.COMMITTING
    batch.save()
    batch.job = enqueue("core.import_commit", _("Import %(file)s") % {"file": batch.file_name}, user,
                        batch_id=batch.pk)
    ImportBatch.objects.filter(pk=batch.pk).update(job=batch.job)
    batch.refresh_from_db()
    return batch


class _RowsInvalid(Exception):
    pass


@job("core.import_commit")
def commit_job(record, batch_id: int):
    batch = ImportBatch.objects.get(pk=batch_id)
    spec = registry.get(batch.spec)
    user = batch.user
    headers, rows = _load(batch)
    total = len(rows)
    progress(record, 0, total, _("Writing rows"))
    try:
        with transaction.atomic():
            # Validate again inside the transaction: the database may have changed since the preview.
            outcomes = evaluate(spec, headers, rows, user)
            if any(o.action == "invalid" for o in outcomes):
                raise _RowsInvalid
            for done, outcome in enumerate(outcomes, start=1):
                if outcome.action in ("create", "update"):
                    _save_row(spec, user, outcome)
                if done % 50 == 0 or done == total:
                    progress(record, done, total)
    except _RowsInvalid:
        _record_outcomes(batch, headers, rows, outcomes)
        return {"status": batch.status}
    except Exception as exc:
        batch.status = ImportBatch.Status.FAILED
        batch.errors = [{"row": FILE_ERRORS_ROW, "column": "", "message": str(exc)[:500]}]
        batch.save()
        raise
    batch.rows_total = total
    batch.rows_created = sum(1 for o in outcomes if o.action == "create")
    batch.rows_updated = sum(1 for o in outcomes if o.action == "update")
    batch.rows_unchanged = sum(1 for o in outcomes if o.action == "unchanged")
    batch.status = ImportBatch.Status.COMMITTED
    batch.save()
    # the rows now live in the database; the uploaded copy (personal data, in clear) is not kept
    Path(batch.stored_path).unlink(missing_ok=True)
    log_access(AccessLog.Event.IMPORT, batch, detail={"spec": spec.name, "created": batch.rows_created,
                                                      "updated": batch.rows_updated})
    return {"status": batch.status, "created": batch.rows_created, "updated": batch.rows_updated}


def _save_row(spec, user, outcome: RowOutcome):
    """Save one validated row through the spec's service (or the form) and re-check scope."""
    form = outcome.form
    obj = spec.save(form, user) if spec.save else form.save()
    ensure_in_scope(obj, user, "change" if outcome.action == "update" else "add")
    return obj
