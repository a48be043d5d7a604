from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import imports
from core.models import ImportBatch, Job
from core.permissions import model_perm
from utilities.excel import template_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def job_detail(request, pk):
    job = get_object_or_404(Job.objects.restrict(request.user, "view"), pk=pk)
    next_url = request.GET.get("next", "")
    if job.is_done and next_url.startswith("/") and job.status == Job.Status.SUCCEEDED:
        if request.htmx:
            response = HttpResponse()
            response["HX-Redirect"] = next_url
            return response
        return redirect(next_url)
    template = "core/_job_progress.html" if request.htmx else "core/job_detail.html"
    return render(request, template, {"job": job, "next": next_url})


def _spec_for(request, name):
    try:
        spec = imports.registry.get(name)
    except KeyError as exc:
        raise Http404 from exc
    if not model_perm(request.user, spec.model, "import"):
        raise PermissionDenied
    return spec


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Only .xlsx and .csv files are accepted."))
        if upload.size > 50 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        return upload


@login_required
def import_start(request, name):
    spec = _spec_for(request, name)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = imports.start_import(spec, request.user, upload.name, upload.read())
        if batch.status == ImportBatch.Status.DUPLICATE:  # the batch page says so
            return redirect("core:import_batch", pk=batch.pk)
        target = reverse("core:import_batch", args=[batch.pk])
        return redirect(f"{reverse('core:job_detail', args=[batch.job_id])}?next={target}")
    batches = ImportBatch.objects.restrict(request.user, "view").filter(spec=spec.name)[:20]
    return render(request, "core/import_start.html", {"spec": spec, "form": form, "batches": batches})


@login_required
def import_template(request, name):
    spec = _spec_for(request, name)
    content = template_workbook([c.header for c in spec.columns], spec.template_notes(),
                                example=[c.example for c in spec.columns], title=str(spec.label or spec.name),
                                text_columns=spec.text_headers(), choices=spec.choice_labels())
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="template-{spec.name}.xlsx"'
    return response


@login_required
def import_batch(request, pk):
    batch = get_object_or_404(ImportBatch.objects.restrict(request.user, "view"), pk=pk)
    spec = imports.registry.get(batch.spec)
    if request.method == "POST" and batch.status == ImportBatch.Status.READY:
        _spec_for(request, batch.spec)
        batch = imports.commit(batch, request.user)
        target = reverse("core:import_batch", args=[batch.pk])
        return redirect(f"{reverse('core:job_detail', args=[batch.job_id])}?next={target}")
    return render(request, "core/import_batch.html", {"batch": batch, "spec": spec, "errors": batch.errors[:500]})


@login_required
def import_errors(request, pk):
    batch = get_object_or_404(ImportBatch.objects.restrict(request.user, "view"), pk=pk)
    if not batch.error_file:
        raise Http404
    return FileResponse(open(batch.error_file, "rb"), as_attachment=True, filename=f"errors-{batch.pk}.xlsx",
                        content_type=XLSX)


@login_required
def unmask(request, label, pk, field):
    """HTMX: swap a masked value for the clear one when the user may unmask it (logged)."""
    from django.utils.html import escape

    from core import unmask as unmasking

    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        model, obj = unmasking.resolve(label, pk)
    except LookupError as exc:
        raise Http404 from exc
    if obj is None or unmasking.encrypted_field(model, field) is None or not unmasking.can_unmask(request.user, obj):
        raise PermissionDenied
    value = unmasking.reveal(request.user, obj, field, reason=request.POST.get("reason", ""))
    return HttpResponse(f'<span class="font-monospace">{escape(value)}</span>')
