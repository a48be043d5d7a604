from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import home
from precursors.api.urls import epcis_patterns
from users.views import obtain_token

api_patterns = [
    path("auth/token/", obtain_token, name="api-token"),
    path("geo/", include("geo.api.urls")),
    path("orgs/", include("orgs.api.urls")),
    path("users/", include("users.api.urls")),
    path("core/", include("core.api.urls")),
    path("monitoring/", include("monitoring.api.urls")),
    path("casework/", include("casework.api.urls")),
    path("precursors/", include("precursors.api.urls")),
    path("epcis/", include((epcis_patterns, "epcis"))),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("pillars/<str:app>/", home.pillar, name="pillar"),
    path("targets/", home.targets, name="targets"),
    path("accounts/", include("users.urls")),
    path("orgs/", include("orgs.urls")),
    path("geo/", include("geo.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("casework/", include("casework.urls")),
    path("precursors/", include("precursors.urls")),
    path("", include("core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
