from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("parties", views.PartyViewSet)
router.register("sites", views.SiteViewSet)
router.register("authorizations", views.AuthorizationViewSet)
router.register("filings", views.FilingViewSet)
router.register("alerts", views.AlertViewSet)
router.register("inspections", views.InspectionViewSet)
router.register("equipment", views.EquipmentViewSet)
router.register("shipments", views.ShipmentViewSet)
app_name = "precursors-api"
urlpatterns = [
    path("trace/", views.TraceView.as_view(), name="trace"),
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
    *router.urls,
]

epcis_patterns = [
    path("capture", views.CaptureView.as_view(), name="epcis-capture"),
    path("capture/", views.CaptureView.as_view()),
    path("events", views.EventQueryView.as_view(), name="epcis-events"),
    path("events/", views.EventQueryView.as_view()),
]
