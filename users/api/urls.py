from rest_framework.routers import DefaultRouter

from .views import RoleViewSet, UserViewSet

router = DefaultRouter()
router.register("users", UserViewSet)
router.register("roles", RoleViewSet)
app_name = "users-api"
urlpatterns = router.urls
