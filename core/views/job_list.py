import django_tables2 as tables

from core.filtersets import BaseFilterSet
from core.models import Job
from core.tables import BaseTable
from core.views import generic


class JobFilterSet(BaseFilterSet):
    search_fields = ("label", "kind")

    class Meta:
        model = Job
        fields = ["status", "kind"]


class JobTable(BaseTable):
    label = tables.Column(linkify=lambda record: f"/jobs/{record.pk}/")

    class Meta(BaseTable.Meta):
        model = Job
        fields = ("label", "kind", "user", "status", "progress", "total", "created", "finished", "message")


class JobListView(generic.ObjectListView):
    model = Job
    filterset_class = JobFilterSet
    table_class = JobTable
    select_related = ("user",)
