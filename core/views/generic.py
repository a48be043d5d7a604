"""Generic list / detail / edit / delete views that pillar apps use with a few lines each.

Every view starts from ``Model.objects.restrict(user, action)``, so out-of-scope rows are a 404;
writes run in one transaction and re-check scope before it commits (``ensure_in_scope``).
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django_tables2 import RequestConfig

from core.audit import log_access
from core.models import AccessLog
from core.permissions import ensure_in_scope, is_scoped, model_perm
from core.sections import hidden_fields
from core.tables import export_rows
from utilities.excel import write_table


def model_url(model, view: str, pk=None) -> str | None:
    meta = model._meta
    try:
        return reverse(f"{meta.app_label}:{meta.model_name}_{view}", args=[pk] if pk is not None else [])
    except NoReverseMatch:
        return None


def restrict_choices(form, user) -> None:
    """Drop-downs of related records offer only what the user may see (e.g. a district office picks a
    parent organisation from its own district, not from the whole city)."""
    from django.forms import ModelChoiceField

    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if isinstance(field, ModelChoiceField) and hasattr(queryset, "restrict") and is_scoped(queryset.model):
            field.queryset = queryset.restrict(user, "view")


class PermissionMixin(LoginRequiredMixin):
    model = None
    action = "view"

    def check_permission(self, action: str | None = None):
        if not model_perm(self.request.user, self.model, action or self.action):
            log_access(AccessLog.Event.DENIED, result=AccessLog.Result.DENIED, object_type=self.model._meta.label_lower,
                       detail={"action": action or self.action, "path": self.request.path})
            raise PermissionDenied

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.check_permission()
        return super().dispatch(request, *args, **kwargs)

    def restricted(self, action: str | None = None):
        return self.model.objects.restrict(self.request.user, action or self.action)

    def base_context(self, **extra):
        meta = self.model._meta
        return {"model_meta": meta, "verbose_name": meta.verbose_name, "verbose_name_plural": meta.verbose_name_plural,
                "list_url": model_url(self.model, "list"), **extra}


class ObjectListView(PermissionMixin, View):
    """Filter (FilterSet), sort and paginate (django-tables2, HTMX partial), export to xlsx."""

    filterset_class = None
    table_class = None
    template_name = "core/object_list.html"
    select_related: tuple[str, ...] = ()
    export_requires_reason = False

    def get_queryset(self):
        qs = self.restricted("view")
        return qs.select_related(*self.select_related) if self.select_related else qs

    def get(self, request, *args, **kwargs):
        qs = self.get_queryset()
        filterset = self.filterset_class(request.GET, queryset=qs, request=request) if self.filterset_class else None
        if filterset is not None:
            qs = filterset.qs
        if request.GET.get("export") == "xlsx":
            return self.export(qs)
        table = self.table_class(qs, request=request, exclude=tuple(hidden_fields(request.user, self.model)))
        RequestConfig(request, paginate={"per_page": getattr(table.Meta, "per_page", 25)}).configure(table)
        if filterset is not None and any(v for k, v in request.GET.items() if k not in ("page", "sort")):
            log_access(AccessLog.Event.SEARCH, object_type=self.model._meta.label_lower,
                       detail={k: v for k, v in request.GET.items() if k not in ("page",)})
        context = self.base_context(table=table, filterset=filterset,
                                    add_url=model_url(self.model, "add") if model_perm(request.user, self.model, "add")
                                    else None,
                                    can_export=model_perm(request.user, self.model, "export"),
                                    export_requires_reason=self.export_requires_reason,
                                    imports=self.import_links())
        if getattr(request, "htmx", False) and request.htmx.target == "object-table":
            return render(request, "core/_table_block.html", context)
        return render(request, self.template_name, context)

    def import_links(self) -> list[tuple[str, str]]:
        from core.imports import registry

        return [(str(spec.label), reverse("core:import_start", args=[spec.name]))
                for spec in registry.for_model(self.model) if model_perm(self.request.user, spec.model, "import")]

    def export(self, qs):
        self.check_permission("export")
        reason = self.request.GET.get("reason", "").strip()
        if self.export_requires_reason and not reason:
            messages.error(self.request, _("Exporting these records requires a reason."))
            return redirect(self.request.path)
        hidden = set(getattr(self.table_class.Meta, "exclude_from_export", ())) | hidden_fields(self.request.user,
                                                                                                self.model)
        table = self.table_class(qs, request=self.request, exclude=tuple(hidden))
        headers, rows = export_rows(table)
        rows = list(rows)
        now = timezone.localtime()
        user = self.request.user
        log_access(AccessLog.Event.EXPORT, object_type=self.model._meta.label_lower, reason=reason,
                   detail={"rows": len(rows), "filters": {k: v for k, v in self.request.GET.items()
                                                          if k not in ("export", "reason")}})
        footer = _("Exported by %(user)s at %(time)s from Jindu; %(rows)d rows.") % {
            "user": user.get_username(), "time": now.strftime("%Y-%m-%d %H:%M"), "rows": len(rows)}
        content = write_table(headers, rows, title=str(self.model._meta.verbose_name_plural), footer=footer)
        response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml."
                                                      "sheet")
        filename = f"{self.model._meta.model_name}-{now:%Y%m%d-%H%M}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ObjectDetailView(PermissionMixin, View):
    template_name = "core/object_detail.html"
    fields: tuple[str, ...] | None = None
    log_reads = False

    def get_object(self):
        return get_object_or_404(self.restricted("view"), pk=self.kwargs["pk"])

    def get_fields(self, obj):
        """(label, value, unmask URL or None) per field; encrypted values are shown masked."""
        from core import unmask

        names = self.fields or [f.name for f in obj._meta.concrete_fields if f.name not in ("id",) and f.editable]
        hidden = hidden_fields(self.request.user, self.model)
        names = [n for n in names if n not in hidden]
        may_unmask = model_perm(self.request.user, self.model, "unmask")
        rows = []
        for name in names:
            field = obj._meta.get_field(name)
            if unmask.encrypted_field(self.model, name) is not None:
                value = unmask.masked(obj, name)
                url = reverse("core:unmask", args=[obj._meta.label_lower, obj.pk, name]) if value and may_unmask \
                    else None
                rows.append((field.verbose_name, value, url))
                continue
            display = getattr(obj, f"get_{name}_display", None)
            rows.append((field.verbose_name, display() if display else getattr(obj, name), None))
        return rows

    def get_extra_context(self, obj):
        return {}

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        if self.log_reads:
            log_access(AccessLog.Event.READ, obj)
        user = request.user
        context = self.base_context(
            object=obj, fields=self.get_fields(obj),
            edit_url=model_url(self.model, "edit", obj.pk) if model_perm(user, self.model, "change") else None,
            delete_url=model_url(self.model, "delete", obj.pk) if model_perm(user, self.model, "delete") else None,
            **self.get_extra_context(obj))
        return render(request, self.template_name, context)


class ObjectEditView(PermissionMixin, View):
    """Add (no pk) or change (pk). ``save_object`` is where an app calls its service function."""

    form_class = None
    template_name = "core/object_edit.html"

    @property
    def action(self):
        return "change" if "pk" in self.kwargs else "add"

    def get_object(self):
        if "pk" not in self.kwargs:
            return self.model()
        return get_object_or_404(self.restricted("change"), pk=self.kwargs["pk"])

    def get_form(self, obj, data=None, files=None):
        form = self.form_class(data=data, files=files, instance=obj, user=self.request.user) \
            if getattr(self.form_class, "accepts_user", False) else self.form_class(data=data, files=files, instance=obj)
        for name in hidden_fields(self.request.user, self.model):
            form.fields.pop(name, None)  # a section the user may not see is not editable either
        restrict_choices(form, self.request.user)
        return form

    def save_object(self, form):
        return form.save()

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        return render(request, self.template_name, self.base_context(object=obj, form=self.get_form(obj)))

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = self.get_form(obj, request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():
                    obj = self.save_object(form)
                    ensure_in_scope(obj, request.user, self.action)
            except PermissionDenied:
                form.add_error(None, _("You cannot save a record outside your area or organisation."))
            else:
                messages.success(request, _("Saved %(object)s.") % {"object": obj})
                return redirect(model_url(self.model, "detail", obj.pk) or request.path)
        return render(request, self.template_name, self.base_context(object=obj, form=form), status=400)


class ObjectDeleteView(PermissionMixin, View):
    action = "delete"
    template_name = "core/object_confirm_delete.html"

    def get_object(self):
        return get_object_or_404(self.restricted("delete"), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, self.base_context(object=self.get_object()))

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        from django.db.models import ProtectedError

        try:
            obj.delete()
        except ProtectedError:
            messages.error(request, _("%(object)s is still referenced by other records and cannot be deleted.")
                           % {"object": obj})
            return redirect(model_url(self.model, "detail", obj.pk) or "home")
        messages.success(request, _("Deleted %(object)s.") % {"object": obj})
        return redirect(model_url(self.model, "list") or "home")


def crud_urls(model, *, list_view=None, detail_view=None, edit_view=None, delete_view=None, prefix=""):
    """URL patterns named ``<model>_list/_add/_detail/_edit/_delete`` for the views given."""
    from django.urls import path

    name = model._meta.model_name
    patterns = []
    if list_view:
        patterns.append(path(f"{prefix}", list_view.as_view(), name=f"{name}_list"))
    if edit_view:
        patterns.append(path(f"{prefix}add/", edit_view.as_view(), name=f"{name}_add"))
    if detail_view:
        patterns.append(path(f"{prefix}<str:pk>/", detail_view.as_view(), name=f"{name}_detail"))
    if edit_view:
        patterns.append(path(f"{prefix}<str:pk>/edit/", edit_view.as_view(), name=f"{name}_edit"))
    if delete_view:
        patterns.append(path(f"{prefix}<str:pk>/delete/", delete_view.as_view(), name=f"{name}_delete"))
    return patterns


__all__ = ("ObjectListView", "ObjectDetailView", "ObjectEditView", "ObjectDeleteView", "crud_urls", "model_url",
           "Http404")
