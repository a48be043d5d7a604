from django.utils.translation import gettext_lazy as _

from core.views import generic

from . import filtersets, forms, tables
from .models import Organization


class OrganizationListView(generic.ObjectListView):
    model = Organization
    filterset_class = filtersets.OrganizationFilterSet
    table_class = tables.OrganizationTable
    select_related = ("parent",)


class OrganizationDetailView(generic.ObjectDetailView):
    model = Organization

    def get_extra_context(self, obj):
        children = Organization.objects.restrict(self.request.user, "view").filter(parent=obj)
        return {"related_tables": [(_("Subordinate organisations"), tables.OrganizationTable(children,
                                                                                             orderable=False))]}


class OrganizationEditView(generic.ObjectEditView):
    model = Organization
    form_class = forms.OrganizationForm


class OrganizationDeleteView(generic.ObjectDeleteView):
    model = Organization
