import django_tables2 as tables
from django.utils.translation import gettext, gettext_lazy


class BaseTable(tables.Table):
    """Tables link their first column to the object's page and paginate 25 rows by default."""

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = gettext_lazy("No records.")
        template_name = "core/_table.html"
        per_page = 25


def _plain(value):
    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    return value


def export_rows(table: tables.Table):
    """Header labels and plain values of every row of a table (all pages), for xlsx export."""
    columns = [c for c in table.columns if c.name not in getattr(table.Meta, "exclude_from_export", ())]
    headers = [str(c.header) for c in columns]
    rows = ([_plain(row.get_cell_value(c.name)) for c in columns] for row in table.rows)
    return headers, rows
