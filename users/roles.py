"""The built-in roles, kept in code so every installation has the same stable codes.

``sync_builtin_roles`` runs after every migrate and makes the database match this table; custom
roles created by a security administrator are left alone. The three administrator roles are
separated (三权分立): the system administrator manages accounts, organisations and divisions; the
security administrator manages roles, role assignment, lockouts and tokens; the audit administrator
only reads and exports the audit logs. None can do another's job.
"""

PILLARS = ("education", "casework", "enforcement", "precursors", "monitoring", "governance", "indicators")
ALL_SECTIONS = ["*"]
# Member units (人社, 民政, 卫健, 教育, 司法) see identity and assistance, never tests, risk or police notes.
MEMBER_UNIT_SECTIONS = ["identity", "assistance"]

_REFERENCE_READ = ["geo.division:view", "orgs.organization:view", "core.job:view", "core.importbatch:view",
                   "core.importbatch:add"]


ENTERPRISE_PRECURSOR_PERMS = [
    # the registry (sites, equipment, risk flags) is the supervisors' record: enterprises read it, offices keep it
    "precursors.party:view", "precursors.site:view",
    "precursors.authorization:view", "precursors.event:view", "precursors.event:add", "precursors.event:export",
    "precursors.event:import", "precursors.capturebatch:view", "precursors.capturebatch:add",
    "precursors.capturebatch:import", "precursors.alert:view", "precursors.inspection:view",
    "precursors.stockcheck:view", "precursors.equipment:view",
    "precursors.filing:view", "precursors.filing:add", "precursors.substance:view",
    # the consignor reports its shipments' planned routes and GPS tracks (R29)
    "precursors.shipment:view", "precursors.shipment:add", "precursors.shipment:change", "precursors.shipment:import",
    # (fixes are append-only: "change" lets a reload of the platform's export find the fixes already recorded)
    "precursors.shipmentfix:view", "precursors.shipmentfix:add", "precursors.shipmentfix:change",
    "precursors.shipmentfix:import",
]


def _pillar_perms(actions: str, pillars=PILLARS) -> list[str]:
    return [f"{p}.*:{a}" for p in pillars for a in actions.split(",")]


BUILTIN_ROLES = [
    {
        "code": "system_admin", "name": "系统管理员", "description": "System administrator", "scope_kind": "global",
        "permissions": ["users.user:view", "users.user:add", "users.user:change", "users.user:export",
                        "users.user:unmask",
                        "orgs.organization:*", "geo.division:*", "core.job:view", "core.importbatch:*"],
        "sections": [],
    },
    {
        "code": "security_admin", "name": "安全管理员", "description": "Security administrator", "scope_kind": "global",
        "permissions": ["users.user:view", "users.user:assign_role", "users.user:unlock", "users.role:*",
                        "users.apitoken:view", "users.apitoken:delete", "core.job:view"],
        "sections": [],
    },
    {
        "code": "audit_admin", "name": "审计管理员", "description": "Audit administrator", "scope_kind": "global",
        "permissions": ["core.changelog:view", "core.changelog:export", "core.accesslog:view",
                        "core.accesslog:export", "core.job:view"],
        "sections": [],
    },
    {
        "code": "city_office", "name": "市禁毒办", "description": "City narcotics control office", "scope_kind": "area",
        "permissions": [*_REFERENCE_READ, "orgs.organization:add", "orgs.organization:change",
                        "orgs.organization:export", "orgs.organization:import", "users.user:view",
                        *_pillar_perms("view,add,change,delete,export,import,unmask,approve")],
        "sections": ALL_SECTIONS,
    },
    {
        "code": "district_office", "name": "区禁毒办", "description": "District narcotics control office", "scope_kind": "area",
        "permissions": [*_REFERENCE_READ, "orgs.organization:add", "orgs.organization:change",
                        "orgs.organization:export", "orgs.organization:import", "users.user:view",
                        *_pillar_perms("view,add,change,delete,export,import,unmask,approve")],
        "sections": ALL_SECTIONS,
    },
    {
        "code": "social_worker", "name": "禁毒专干/社工", "description": "Street narcotics worker / social worker",
        "scope_kind": "area",
        # the receiving street accepts or refuses a transfer (异地执行) into its area
        "permissions": [*_REFERENCE_READ, *_pillar_perms("view,add,change,export,import",
                                                         ("casework", "education", "indicators")),
                        "casework.transfer:approve"],
        "sections": ALL_SECTIONS,
    },
    {
        "code": "police", "name": "公安", "description": "Police", "scope_kind": "area",
        "permissions": [*_REFERENCE_READ, "orgs.organization:export", "casework.person:confirm",
                        *_pillar_perms("view,add,change,export,import,unmask",
                                       ("casework", "enforcement", "precursors", "monitoring", "indicators"))],
        "sections": ALL_SECTIONS,
    },
    {
        "code": "member_unit", "name": "成员单位", "description": "Member unit", "scope_kind": "area",
        "permissions": [*_REFERENCE_READ, *_pillar_perms("view,add,change,export",
                                                         ("casework", "education", "governance", "indicators"))],
        "sections": MEMBER_UNIT_SECTIONS,
    },
    {
        "code": "enterprise", "name": "企业", "description": "Enterprise", "scope_kind": "org",
        # its own file and reports only: never rule parameters, alerts handling, inspections or other registries
        "permissions": [*_REFERENCE_READ, "orgs.organization:change", *ENTERPRISE_PRECURSOR_PERMS],
        "sections": [],
    },
    {
        "code": "school", "name": "学校", "description": "School", "scope_kind": "org",
        "permissions": [*_REFERENCE_READ, *_pillar_perms("view,add,change,export,import", ("education",))],
        "sections": [],
    },
    {
        "code": "lab", "name": "实验室", "description": "Laboratory", "scope_kind": "org",
        "permissions": [*_REFERENCE_READ, *_pillar_perms("view,add,change,export,import", ("monitoring",))],
        "sections": [],
    },
]
BUILTIN_CODES = [r["code"] for r in BUILTIN_ROLES]


def sync_builtin_roles(**kwargs) -> None:
    from core.context import acting_as

    from .models import Role

    with acting_as(username="system:sync_roles", channel="system"):
        for spec in BUILTIN_ROLES:
            values = {k: v for k, v in spec.items() if k != "code"}
            role = Role.objects.filter(code=spec["code"]).first()
            if role is None:
                Role(code=spec["code"], builtin=True, **values).save(audit_message="built-in role created")
            elif any(getattr(role, k) != v for k, v in values.items()) or not role.builtin:
                for k, v in values.items():
                    setattr(role, k, v)
                role.builtin = True
                role.save(audit_message="built-in role synchronised with code")
