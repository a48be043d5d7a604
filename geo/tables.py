import django_tables2 as tables

from core.tables import BaseTable

from .models import Division


class DivisionTable(BaseTable):
    code = tables.Column(linkify=True)
    parent = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Division
        fields = ("code", "name", "level", "parent", "population", "source")
