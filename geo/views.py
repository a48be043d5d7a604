from core.views import generic

from . import filtersets, forms, tables
from .models import Division


class DivisionListView(generic.ObjectListView):
    model = Division
    filterset_class = filtersets.DivisionFilterSet
    table_class = tables.DivisionTable
    select_related = ("parent",)


class DivisionDetailView(generic.ObjectDetailView):
    model = Division

    def get_extra_context(self, obj):
        children = Division.objects.filter(parent=obj)
        return {"breadcrumb": obj.path(),
                "related_tables": [(Division._meta.verbose_name_plural, tables.DivisionTable(children, orderable=False))]}


class DivisionEditView(generic.ObjectEditView):
    model = Division
    form_class = forms.DivisionForm
