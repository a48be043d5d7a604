from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("plants", views.TreatmentPlantViewSet)
router.register("samples", views.SampleViewSet)
router.register("estimates", views.LoadEstimateViewSet)
router.register("screening", views.ScreeningBatchViewSet)
router.register("forensic", views.ForensicIdentificationViewSet)
router.register("dispensing", views.DispensingViewSet)
router.register("alerts", views.AlertViewSet)
app_name = "monitoring-api"
urlpatterns = [
    path("wbe/estimate", views.EstimateView.as_view(), name="wbe-estimate"),
    path("wbe/estimate/", views.EstimateView.as_view()),
    path("signals/detect", views.DetectView.as_view(), name="signals-detect"),
    path("signals/detect/", views.DetectView.as_view()),
    *router.urls,
]
