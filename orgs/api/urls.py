from rest_framework.routers import DefaultRouter

from .views import OrganizationViewSet

router = DefaultRouter()
router.register("organizations", OrganizationViewSet)
app_name = "orgs-api"
urlpatterns = router.urls
