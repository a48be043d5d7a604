from django.urls import path

from .views import audit, job_list, jobs_imports
from .views.generic import crud_urls
from .models import AccessLog, ChangeLog

app_name = "core"
urlpatterns = [
    *crud_urls(ChangeLog, list_view=audit.ChangeLogListView, detail_view=audit.ChangeLogDetailView,
               prefix="audit/changes/"),
    *crud_urls(AccessLog, list_view=audit.AccessLogListView, detail_view=audit.AccessLogDetailView,
               prefix="audit/access/"),
    path("jobs/", job_list.JobListView.as_view(), name="job_list"),
    path("jobs/<uuid:pk>/", jobs_imports.job_detail, name="job_detail"),
    path("imports/<str:name>/", jobs_imports.import_start, name="import_start"),
    path("imports/<str:name>/template.xlsx", jobs_imports.import_template, name="import_template"),
    path("imports/batch/<int:pk>/", jobs_imports.import_batch, name="import_batch"),
    path("imports/batch/<int:pk>/errors.xlsx", jobs_imports.import_errors, name="import_errors"),
    path("unmask/<str:label>/<str:pk>/<str:field>/", jobs_imports.unmask, name="unmask"),
]
