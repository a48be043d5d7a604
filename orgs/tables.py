import django_tables2 as tables

from core.tables import BaseTable

from .models import Organization


class OrganizationTable(BaseTable):
    name = tables.Column(linkify=True)
    parent = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Organization
        fields = ("name", "type", "sector", "is_member_unit", "uscc", "area_code", "parent", "contact_name")
