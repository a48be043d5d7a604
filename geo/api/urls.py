from rest_framework.routers import DefaultRouter

from .views import DivisionViewSet

router = DefaultRouter()
router.register("divisions", DivisionViewSet)
app_name = "geo-api"
urlpatterns = router.urls
