from django.urls import path

from core.views import generic

from . import filtersets, forms, models, tables, views
from .views import _crud

app_name = "precursors"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("trace/", views.trace_page, name="trace"),
    path("ledger/", views.ledger_page, name="ledger"),
    path("report/", views.report_page, name="report"),
    path("rules/run/", views.run_rules_now, name="rules_run"),
    path("alerts/<int:pk>/handle/", views.alert_handle, name="alert_handle"),
    path("inspections/plan/", views.inspection_plan, name="inspection_plan"),
    path("inspections/<int:pk>/record/", views.inspection_record, name="inspection_record"),
    path("inspections/<int:pk>/recheck/", views.inspection_recheck, name="inspection_recheck"),
    path("patrols/<int:pk>/flights/add/", views.flight_add, name="flight_add"),
    *generic.crud_urls(models.Party, list_view=views.PartyListView, detail_view=views.PartyDetailView,
                       edit_view=type("PartyEditView", (generic.ObjectEditView,), {"model": models.Party,
                                                                                   "form_class": forms.PartyForm}),
                       prefix="parties/"),
    *_crud(models.Site, "sites/", filtersets.SiteFilterSet, tables.SiteTable, forms.SiteForm,
           select_related=("party",)),
    *_crud(models.Authorization, "authorizations/", filtersets.AuthorizationFilterSet, tables.AuthorizationTable,
           forms.AuthorizationForm, select_related=("holder",)),
    *_crud(models.Filing, "filings/", filtersets.FilingFilterSet, tables.FilingTable, forms.FilingForm,
           select_related=("party",)),
    *generic.crud_urls(models.Alert, list_view=type("AlertListView", (generic.ObjectListView,), {
        "model": models.Alert, "filterset_class": filtersets.AlertFilterSet, "table_class": tables.AlertTable,
        "select_related": ("party", "assignee")}), detail_view=views.AlertDetailView, prefix="alerts/"),
    *generic.crud_urls(models.Inspection, list_view=type("InspectionListView", (generic.ObjectListView,), {
        "model": models.Inspection, "filterset_class": filtersets.InspectionFilterSet,
        "table_class": tables.InspectionTable, "select_related": ("party", "site")}),
        detail_view=views.InspectionDetailView, prefix="inspections/"),
    path("equipment/<int:pk>/transfer/", views.equipment_transfer, name="equipment_transfer"),
    *_crud(models.Equipment, "equipment/", filtersets.EquipmentFilterSet, tables.EquipmentTable, forms.EquipmentForm,
           select_related=("owner",), detail=views.EquipmentDetailView),
    *_crud(models.Shipment, "shipments/", filtersets.ShipmentFilterSet, tables.ShipmentTable, forms.ShipmentForm,
           select_related=("party", "carrier"), detail=views.ShipmentDetailView),
    *_crud(models.Event, "events/", filtersets.EventFilterSet, tables.EventTable, select_related=("party",)),
    *_crud(models.Substance, "substances/", filtersets.SubstanceFilterSet, tables.SubstanceTable),
    *_crud(models.RuleParameter, "parameters/", filtersets.RuleParameterFilterSet, tables.RuleParameterTable,
           forms.RuleParameterForm),
    *_crud(models.PatrolFinding, "patrol-findings/", filtersets.PatrolFindingFilterSet, tables.PatrolFindingTable,
           forms.PatrolFindingForm, select_related=("area",)),
    *generic.crud_urls(models.SurveyArea, list_view=type("SurveyAreaListView", (generic.ObjectListView,), {
        "model": models.SurveyArea, "filterset_class": filtersets.SurveyAreaFilterSet,
        "table_class": tables.SurveyAreaTable}), detail_view=views.SurveyAreaDetailView,
        edit_view=type("SurveyAreaEditView", (generic.ObjectEditView,), {"model": models.SurveyArea,
                                                                         "form_class": forms.SurveyAreaForm}),
        prefix="patrols/"),
]
