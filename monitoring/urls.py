from django.urls import path

from core.views import generic

from . import dashboards, filtersets, forms, models, tables, views
from .views import _crud

app_name = "monitoring"
urlpatterns = [
    path("", dashboards.dashboard, name="dashboard"),
    path("fused/", dashboards.fused, name="fused"),
    path("series/", dashboards.series, name="series"),
    path("chart/plant/<str:code>/<str:residue>.json", dashboards.plant_chart, name="plant_chart"),
    path("reports/new/", dashboards.new_report, name="report_new"),
    path("reports/<int:pk>/download/", dashboards.download_report, name="report_download"),
    path("alerts/run/", dashboards.run_alerts, name="alerts_run"),
    path("boundaries/upload/", dashboards.upload_boundaries, name="boundary_upload"),
    path("boundaries.geojson", dashboards.boundaries_geojson, name="boundaries"),
    *_crud(models.TreatmentPlant, "plants/", filtersets.TreatmentPlantFilterSet, tables.TreatmentPlantTable,
           forms.TreatmentPlantForm),
    *generic.crud_urls(models.Sample, list_view=type("SampleListView", (generic.ObjectListView,), {
        "model": models.Sample, "filterset_class": filtersets.SampleFilterSet, "table_class": tables.SampleTable,
        "select_related": ("plant", "campaign")}), detail_view=views.SampleDetailView,
        edit_view=type("SampleEditView", (generic.ObjectEditView,), {"model": models.Sample,
                                                                     "form_class": forms.SampleForm}),
        prefix="samples/"),
    *_crud(models.SamplingCampaign, "campaigns/", filtersets.SamplingCampaignFilterSet, tables.SamplingCampaignTable,
           forms.SamplingCampaignForm),
    *_crud(models.PopulationEstimate, "populations/", filtersets.PopulationEstimateFilterSet,
           tables.PopulationEstimateTable, forms.PopulationEstimateForm, select_related=("plant",)),
    *_crud(models.LoadEstimate, "estimates/", filtersets.LoadEstimateFilterSet, tables.LoadEstimateTable,
           select_related=("plant",)),
    *generic.crud_urls(models.ScreeningBatch, list_view=type("ScreeningBatchListView", (generic.ObjectListView,), {
        "model": models.ScreeningBatch, "filterset_class": filtersets.ScreeningBatchFilterSet,
        "table_class": tables.ScreeningBatchTable}), detail_view=views.ScreeningBatchDetailView,
        edit_view=type("ScreeningBatchEditView", (generic.ObjectEditView,), {
            "model": models.ScreeningBatch, "form_class": forms.ScreeningBatchForm}), prefix="screening/"),
    *_crud(models.ForensicIdentification, "forensic/", filtersets.ForensicIdentificationFilterSet,
           tables.ForensicIdentificationTable, forms.ForensicIdentificationForm),
    *_crud(models.Dispensing, "dispensing/", filtersets.DispensingFilterSet, tables.DispensingTable, forms.DispensingForm,
           reason=True),
    *_crud(models.AlertDefinition, "alert-definitions/", filtersets.AlertDefinitionFilterSet, tables.AlertDefinitionTable,
           forms.AlertDefinitionForm),
    *_crud(models.CorrectionFactor, "factors/", filtersets.CorrectionFactorFilterSet, tables.CorrectionFactorTable),
    *_crud(models.MonthlyReport, "reports/", filtersets.MonthlyReportFilterSet, tables.MonthlyReportTable),
    *generic.crud_urls(models.Alert, list_view=type("AlertListView", (generic.ObjectListView,), {
        "model": models.Alert, "filterset_class": filtersets.AlertFilterSet, "table_class": tables.AlertTable,
        "select_related": ("assignee",)}), detail_view=views.AlertDetailView, edit_view=views.AlertHandleView,
        prefix="alerts/"),
]
