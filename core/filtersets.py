import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BaseFilterSet(django_filters.FilterSet):
    """One FilterSet per model serves the list page, the API and exports. ``search_fields`` drive ``?q=``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label=_("Search"))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


class AreaPrefixFilter(django_filters.CharFilter):
    """``?area=3205`` or ``?area=320505`` selects everything whose code starts with that division's prefix."""

    def filter(self, qs, value):
        if not value:
            return qs
        from geo.codes import prefix_of

        try:
            prefix = prefix_of(value)
        except ValueError:
            prefix = value
        return qs.filter(**{f"{self.field_name}__startswith": prefix})
