from core.views.generic import crud_urls

from . import views
from .models import Organization

app_name = "orgs"
urlpatterns = crud_urls(Organization, list_view=views.OrganizationListView, detail_view=views.OrganizationDetailView,
                        edit_view=views.OrganizationEditView, delete_view=views.OrganizationDeleteView)
