from rest_framework.routers import DefaultRouter

from .audit import AccessLogViewSet, ChangeLogViewSet, JobViewSet

router = DefaultRouter()
router.register("changes", ChangeLogViewSet)
router.register("access-logs", AccessLogViewSet)
router.register("jobs", JobViewSet)
app_name = "core-api"
urlpatterns = router.urls
