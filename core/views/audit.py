import django_filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.filtersets import BaseFilterSet
from core.models import AccessLog, ChangeLog
from core.tables import BaseTable
from core.views import generic


class ChangeLogFilterSet(BaseFilterSet):
    search_fields = ("object_repr", "username", "object_type", "message")
    time_after = django_filters.DateTimeFilter(field_name="time", lookup_expr="gte", label=_("from"))
    time_before = django_filters.DateTimeFilter(field_name="time", lookup_expr="lt", label=_("until"))

    class Meta:
        model = ChangeLog
        fields = ["action", "object_type", "object_id", "username", "request_id"]


class AccessLogFilterSet(BaseFilterSet):
    search_fields = ("object_repr", "username", "reason", "object_type")
    time_after = django_filters.DateTimeFilter(field_name="time", lookup_expr="gte", label=_("from"))
    time_before = django_filters.DateTimeFilter(field_name="time", lookup_expr="lt", label=_("until"))

    class Meta:
        model = AccessLog
        fields = ["event", "result", "object_type", "object_id", "username", "ip"]


class ChangeLogTable(BaseTable):
    seq = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = ChangeLog
        fields = ("seq", "time", "username", "ip", "action", "object_type", "object_id", "object_repr", "message",
                  "request_id")


class AccessLogTable(BaseTable):
    seq = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = AccessLog
        fields = ("seq", "time", "username", "ip", "event", "result", "object_type", "object_id", "object_repr",
                  "reason")


class ChangeLogListView(generic.ObjectListView):
    model = ChangeLog
    filterset_class = ChangeLogFilterSet
    table_class = ChangeLogTable


class ChangeLogDetailView(generic.ObjectDetailView):
    model = ChangeLog


class AccessLogListView(generic.ObjectListView):
    model = AccessLog
    filterset_class = AccessLogFilterSet
    table_class = AccessLogTable


class AccessLogDetailView(generic.ObjectDetailView):
    model = AccessLog
