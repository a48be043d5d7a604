"""The navigation: the six pillars of the outline, then indicators and system administration.

Pillar apps add their pages with ``register(pillar_app, label, url_name, resource)``; an item shows
only to users whose role grants ``resource:view``.
"""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .outline import PILLARS


@dataclass
class MenuItem:
    label: str
    url_name: str
    resource: str | None = None
    action: str = "view"


@dataclass
class MenuGroup:
    key: str
    label: str
    items: list[MenuItem] = field(default_factory=list)
    overview_url_name: str | None = None
    label_en: str | None = None

    def display_label(self) -> str:
        if self.label_en and not (translation.get_language() or "").startswith("zh"):
            return self.label_en
        return str(self.label)


def _pillar_groups():
    return [MenuGroup(p.app, p.short, overview_url_name="pillar", label_en=p.short_en) for p in PILLARS]


MENU: list[MenuGroup] = [
    *_pillar_groups(),
    MenuGroup("indicators", _("Indicators"), [MenuItem(_("Targets of the outline"), "targets")]),
    MenuGroup("admin", _("System administration"), [
        MenuItem(_("Organisations"), "orgs:organization_list", "orgs.organization"),
        MenuItem(_("Administrative divisions"), "geo:division_list", "geo.division"),
        MenuItem(_("Users"), "users:user_list", "users.user"),
        MenuItem(_("Roles"), "users:role_list", "users.role"),
        MenuItem(_("Change log"), "core:changelog_list", "core.changelog"),
        MenuItem(_("Access log"), "core:accesslog_list", "core.accesslog"),
        MenuItem(_("Background jobs"), "core:job_list", "core.job"),
        MenuItem(_("API documentation"), "api-docs", None),
    ]),
]


def register(group_key: str, label, url_name: str, resource: str | None = None, action: str = "view") -> None:
    group = next(g for g in MENU if g.key == group_key)
    if not any(i.url_name == url_name for i in group.items):
        group.items.append(MenuItem(label, url_name, resource, action))


def menu_for(user) -> list[dict]:
    groups = []
    for group in MENU:
        items = []
        for item in group.items:
            if item.resource and not user.has_resource_perm(item.resource, item.action):
                continue
            try:
                items.append({"label": item.label, "url": reverse(item.url_name)})
            except NoReverseMatch:
                continue
        overview = reverse(group.overview_url_name, args=[group.key]) if group.overview_url_name else None
        if items or overview:
            groups.append({"key": group.key, "label": group.display_label(), "items": items, "overview": overview})
    return groups


def navigation_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"menu": menu_for(user)}
