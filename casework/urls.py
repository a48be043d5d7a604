from django.urls import path

from core.views.generic import crud_urls

from . import models, views

app_name = "casework"
urlpatterns = [
    path("", views.my_tasks, name="my_tasks"),
    path("indicators/", views.indicators, name="indicators"),
    path("indicators/drill/", views.indicator_drill, name="indicator_drill"),
    path("persons/", views.PersonListView.as_view(), name="person_list"),
    path("persons/register/", views.register, name="person_add"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("persons/<int:pk>/break-glass/", views.break_glass, name="break_glass"),
    path("persons/<int:pk>/add/<str:kind>/", views.add_event, name="add_event"),
    path("records/<str:kind>/<int:pk>/correct/", views.correct_event, name="correct_event"),
    path("documents/<int:pk>/download/", views.download_document, name="document_download"),
    path("team/<int:pk>/remove/", views.remove_team_member, name="team_remove"),
    path("transfers/<int:pk>/decide/", views.decide_transfer, name="transfer_decide"),
    path("referrals/<int:pk>/decide/", views.decide_referral, name="referral_decide"),
    path("police-tasks/<int:pk>/reported/", views.police_reported, name="police_reported"),
    path("assessments/<int:pk>/approve/", views.approve_manual_level, name="assessment_approve"),
    path("persons/<int:pk>/abstinence/", views.confirm_abstinence, name="confirm_abstinence"),
    *crud_urls(models.PoliceReportTask, list_view=views.PoliceReportTaskListView, prefix="police-tasks/"),
    *crud_urls(models.Measure, list_view=views.MeasureListView, detail_view=views.MeasureDetailView,
               prefix="measures/"),
    *crud_urls(models.Referral, list_view=views.ReferralListView, detail_view=views.ReferralDetailView,
               prefix="referrals/"),
    *crud_urls(models.Transfer, list_view=views.TransferListView, prefix="transfers/"),
    *crud_urls(models.Incident, list_view=views.IncidentListView, detail_view=views.IncidentDetailView,
               edit_view=views.IncidentEditView, prefix="incidents/"),
    *crud_urls(models.BreakGlass, list_view=views.BreakGlassListView, prefix="break-glass/"),
    path("break-glass/<int:pk>/review/", views.review_break_glass, name="breakglass_review"),
    *crud_urls(models.SchedulePolicy, list_view=views.SchedulePolicyListView, edit_view=views.SchedulePolicyEditView,
               prefix="schedule-policies/"),
    *crud_urls(models.RiskInstrument, list_view=views.RiskInstrumentListView, edit_view=views.RiskInstrumentEditView,
               prefix="risk-instruments/"),
]
