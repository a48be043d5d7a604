from core.views import generic

from . import forms, models, tables


def _crud(model, prefix, filterset, table, form=None, *, select_related=(), log_reads=False, reason=False):
    """List, detail, edit and delete views for one model, in the generic style."""
    list_view = type(f"{model.__name__}ListView", (generic.ObjectListView,), {
        "model": model, "filterset_class": filterset, "table_class": table, "select_related": select_related,
        "export_requires_reason": reason})
    detail_view = type(f"{model.__name__}DetailView", (generic.ObjectDetailView,), {"model": model,
                                                                                    "log_reads": log_reads})
    edit_view = type(f"{model.__name__}EditView", (generic.ObjectEditView,), {"model": model, "form_class": form}) \
        if form else None
    delete_view = type(f"{model.__name__}DeleteView", (generic.ObjectDeleteView,), {"model": model}) if form else None
    return generic.crud_urls(model, list_view=list_view, detail_view=detail_view, edit_view=edit_view,
                             delete_view=delete_view, prefix=prefix)


class SampleDetailView(generic.ObjectDetailView):
    model = models.Sample

    def get_extra_context(self, obj):
        estimates = models.LoadEstimate.objects.filter(measurement__sample=obj).select_related("plant")
        return {"related_tables": [(models.LoadEstimate._meta.verbose_name_plural,
                                    tables.LoadEstimateTable(estimates, orderable=False))]}


class ScreeningBatchDetailView(generic.ObjectDetailView):
    model = models.ScreeningBatch

    def get_extra_context(self, obj):
        return {"extra_rows": [(r.drug, r.positive) for r in obj.results.all()]}


class AlertDetailView(generic.ObjectDetailView):
    model = models.Alert
    template_name = "monitoring/alert_detail.html"

    def get_extra_context(self, obj):
        from .services import alert_evidence_rows

        can_handle = self.request.user.has_resource_perm("monitoring.alert", "change")
        return {"evidence_rows": alert_evidence_rows(obj, self.request.user), "can_handle": can_handle,
                "handle_form": forms.AlertHandleForm(instance=obj) if can_handle else None}


class AlertHandleView(generic.ObjectEditView):
    """Assign, investigate and close an alert (with an outcome)."""

    model = models.Alert
    form_class = forms.AlertHandleForm
