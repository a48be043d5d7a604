"""One access rule for every queryset that reaches a user: ``Model.objects.restrict(user, action)``.

A user may act on a model when their role grants ``resource:action`` (resource = ``app.model``),
and then only on rows inside their scope: the capture scope for writes, the search scope for reads.
A scope is an area-code prefix (GB/T 2260 / statistical codes) and/or an organisation. A model says
how it is scoped with ``scope_area_field`` / ``scope_org_field``, or with a ``scope_q`` classmethod.
Reference data with neither is visible to anyone holding the permission.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q

READ_ACTIONS = frozenset({"view", "export", "search"})


@dataclass(frozen=True)
class Scope:
    area_prefix: str = ""
    org_id: int | None = None
    is_global: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.is_global or self.area_prefix or self.org_id)


def resource_name(model) -> str:
    return getattr(model, "resource", None) or model._meta.label_lower


def has_perm(user, resource: str, action: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_resource_perm(resource, action)


def model_perm(user, model, action: str) -> bool:
    return has_perm(user, resource_name(model), action)


def default_scope_q(model, scope: Scope) -> Q | None:
    if scope.is_global:
        return Q()
    area_field = getattr(model, "scope_area_field", None)
    org_field = getattr(model, "scope_org_field", None)
    if not area_field and not org_field:
        return Q()
    q, applied = Q(), False
    if area_field and scope.area_prefix:
        q &= Q(**{f"{area_field}__startswith": scope.area_prefix})
        applied = True
    if org_field and scope.org_id:
        q &= Q(**{org_field: scope.org_id})
        applied = True
    return q if applied else None


def scope_filter(model, user, action: str) -> Q | None:
    """The Q a user's rows must match for ``action``, or None when the user may see nothing."""
    if not model_perm(user, model, action):
        return None
    scope = user.scope_for(action)
    custom = getattr(model, "scope_q", None)
    if custom is not None:
        return custom(scope, user, action)
    return default_scope_q(model, scope)


def ensure_in_scope(obj, user, action: str) -> None:
    """Re-check inside the write transaction that the saved row is still in the user's scope.

    Raising rolls the transaction back, so a user cannot move a record out of (or create one
    outside) their scope.
    """
    model = type(obj)
    if not model._default_manager.restrict(user, action).filter(pk=obj.pk).exists():
        raise PermissionDenied(f"{model._meta.label_lower} {obj.pk} is outside your {action} scope")


def is_scoped(model) -> bool:
    """Whether rows of this model belong to an area or organisation (reference data does not)."""
    return any(hasattr(model, name) for name in ("scope_area_field", "scope_org_field", "scope_q"))


CITY_PREFIX_MAX_LEN = 4   # "3205": a prefecture city's own scope; districts and below are longer


def city_wide_setting_q(scope: Scope, user, action: str) -> Q | None:
    """``scope_q`` for city-wide settings (rule parameters, schedule policies): everyone holding the permission
    reads them; only a city-level (or global) scope writes them, since a change applies to every district."""
    city_level = bool(scope.area_prefix) and len(scope.area_prefix) <= CITY_PREFIX_MAX_LEN
    if action in READ_ACTIONS or scope.is_global or city_level:
        return Q()
    return None
