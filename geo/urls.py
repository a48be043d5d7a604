from core.views.generic import crud_urls

from . import views
from .models import Division

app_name = "geo"
urlpatterns = crud_urls(Division, list_view=views.DivisionListView, detail_view=views.DivisionDetailView,
                        edit_view=views.DivisionEditView)
