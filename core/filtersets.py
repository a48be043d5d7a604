import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.permissions import is_scoped


class SingleSelectMultiple(forms.SelectMultiple):
    """A one-line select for a multiple-choice filter: the page picks one value (or all), while the
    API still accepts ``?type=a&type=b``."""

    allow_multiple_selected = False

    def optgroups(self, name, value, attrs=None):
        self.choices = [("", _("All")), *[c for c in self.choices if c[0] != ""]]
        return super().optgroups(name, value, attrs)

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [v for v in values if v]


class BaseFilterSet(django_filters.FilterSet):
    """One FilterSet per model serves the list page, the API and exports. ``search_fields`` drive ``?q=``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label=_("Search"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        for filter_ in self.filters.values():
            queryset = filter_.extra.get("queryset")
            if user is not None and hasattr(queryset, "restrict") and is_scoped(queryset.model):
                filter_.extra["queryset"] = queryset.restrict(user, "view")
            if isinstance(filter_, django_filters.MultipleChoiceFilter):
                filter_.extra["widget"] = SingleSelectMultiple
            elif isinstance(filter_, django_filters.BooleanFilter):
                filter_.extra["widget"] = forms.Select(choices=[("", _("All")), ("true", _("Yes")),
                                                                ("false", _("No"))])

    @property
    def form(self):
        form = super().form
        if "q" in form.fields:  # the search box first
            form.fields = {"q": form.fields["q"], **{k: v for k, v in form.fields.items() if k != "q"}}
        return form

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
