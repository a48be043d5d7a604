from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("persons", views.PersonViewSet)
router.register("measures", views.MeasureViewSet)
router.register("tests", views.DrugTestViewSet)
router.register("contacts", views.ContactEventViewSet)
router.register("absences", views.AbsenceViewSet)
router.register("assessments", views.RiskAssessmentViewSet)
router.register("transfers", views.TransferViewSet)
router.register("referrals", views.ReferralViewSet)
router.register("police-tasks", views.PoliceReportTaskViewSet)
router.register("planned-events", views.PlannedEventViewSet)
router.register("children", views.ChildViewSet)
router.register("status-changes", views.StatusChangeViewSet)
router.register("incidents", views.IncidentViewSet)
router.register("schedule-policies", views.SchedulePolicyViewSet)
router.register("documents", views.CaseDocumentViewSet)
router.register("care-plans", views.CarePlanViewSet)
router.register("team", views.WorkTeamMemberViewSet)
app_name = "casework-api"
urlpatterns = router.urls
