"""The demo city: a Jiangsu prefecture-level city (苏州, 320500) with real district codes, synthetic
streets/communities/grids below them, organisations for every type and member unit, and one demo
user per built-in role. Idempotent (re-running adds nothing) and reproducible (``--seed``).

Pillar apps extend the demo with ``@demo_builder(order)``: each builder gets the DemoContext after
the platform part is in place.
"""

import random
from dataclasses import dataclass, field


from django.db import transaction


from geo.loader import load_divisions, parse_division_csv
from geo.models import Division
from orgs.choices import OUTLINE_MEMBER_UNITS, OrgType, Sector
from orgs.models import Organization
from utilities.identifiers import make_uscc

DEMO_BUILDERS: list[tuple[int, str, object]] = []

SCALES = {
    # communities per street, grids per community, schools per district, enterprises per district
    "small": {"communities": 2, "grids": 2, "schools": 2, "enterprises": 3},
    "city": {"communities": 8, "grids": 4, "schools": 12, "enterprises": 25},
}
DEMO_DISTRICT = "320508"  # 姑苏区: the demo district users work in
DEMO_STREET = "320508001"  # 平江街道


def demo_builder(order: int, name: str):
    def register(func):
        DEMO_BUILDERS.append((order, name, func))
        DEMO_BUILDERS.sort(key=lambda b: b[0])
        return func

    return register


@dataclass
class DemoContext:
    scale: str
    seed: int
    password: str
    rng: random.Random
    stdout: object = None
    orgs: dict = field(default_factory=dict)
    users: list = field(default_factory=list)  # (username, role code, description)

    @property
    def sizes(self) -> dict:
        return SCALES[self.scale]

    def say(self, text: str) -> None:
        if self.stdout is not None:
            self.stdout.write(text)


def _org(ctx: DemoContext, key: str, **values) -> Organization:
    org = Organization.objects.filter(area_code=values["area_code"], name=values["name"]).first()
    if org is None:
        org = Organization(**values)
        org.full_clean()
        org.save(audit_message="demo city")
    ctx.orgs[key] = org
    return org


def build_divisions(ctx: DemoContext, division_file) -> None:
    rows = parse_division_csv(division_file.read_text(encoding="utf-8"))
    load_divisions(rows)
    existing = set(Division.objects.filter(code__startswith="3205", level__in=["community", "grid"])
                   .values_list("code", flat=True))
    new_rows = []
    for street in Division.objects.filter(level="street", code__startswith="3205").order_by("code"):
        for c in range(1, ctx.sizes["communities"] + 1):
            community = f"{street.code}{c:03d}"
            new_rows.append({"code": community, "name": f"{street.name}第{c}社区", "parent_id": street.code,
                             "source": "合成（演示）", "population": None})
            for g in range(1, ctx.sizes["grids"] + 1):
                new_rows.append({"code": f"{community}{g:03d}", "name": f"第{g}网格", "parent_id": community,
                                 "source": "合成（演示）", "population": None})
    missing = [r for r in new_rows if r["code"] not in existing]
    if missing:
        load_divisions(missing)
    ctx.say(f"divisions: {Division.objects.filter(code__startswith='3205').count()} in the demo city")


def _uscc(ctx: DemoContext, area: str, serial: int, org_type: str = "1") -> str:
    body = f"{ctx.seed % 97:02d}{serial:06d}"[-8:].replace("I", "1")
    return make_uscc("9", org_type, area[:6], body)


def build_orgs(ctx: DemoContext) -> None:
    city = "320500"
    _org(ctx, "city_office", name="苏州市禁毒委员会办公室", short_name="市禁毒办", type=OrgType.NARCOTICS_OFFICE,
         sector=Sector.NARCOTICS_CONTROL, area_code=city, is_member_unit=True)
    for name, sector in OUTLINE_MEMBER_UNITS:
        _org(ctx, f"member:{sector}", name=name.replace("市", "苏州市", 1) if name.startswith("市") else name,
             short_name=name, type=OrgType.MEMBER_UNIT, sector=sector, area_code=city, is_member_unit=True,
             parent=ctx.orgs["city_office"])
    serial = 0
    districts = Division.objects.filter(level="district", code__startswith="3205").order_by("code")
    for district in districts:
        d = district.code
        office = _org(ctx, f"office:{d}", name=f"{district.name}禁毒办", type=OrgType.NARCOTICS_OFFICE,
                      sector=Sector.NARCOTICS_CONTROL, area_code=d, is_member_unit=True,
                      parent=ctx.orgs["city_office"])
        for suffix, sector in (("公安分局", Sector.PUBLIC_SECURITY), ("教育局", Sector.EDUCATION),
                               ("民政局", Sector.CIVIL_AFFAIRS), ("司法局", Sector.JUSTICE),
                               ("卫生健康委员会", Sector.HEALTH), ("人力资源和社会保障局", Sector.HRSS)):
            _org(ctx, f"{sector}:{d}", name=f"{district.name}{suffix}", type=OrgType.MEMBER_UNIT, sector=sector,
                 area_code=d, is_member_unit=True, parent=office)
        for street in Division.objects.filter(parent=district).order_by("code"):
            _org(ctx, f"street:{street.code}", name=f"{street.name}办事处", type=OrgType.STREET_OFFICE,
                 sector=Sector.STREET, area_code=street.code)
            _org(ctx, f"police:{street.code}", name=f"{street.name.removesuffix('街道').removesuffix('镇')}派出所",
                 type=OrgType.POLICE_STATION, sector=Sector.PUBLIC_SECURITY, area_code=street.code,
                 parent=ctx.orgs[f"{Sector.PUBLIC_SECURITY}:{d}"])
        streets = list(Division.objects.filter(parent=district).order_by("code"))
        for i in range(1, ctx.sizes["schools"] + 1):
            street = streets[(i - 1) % len(streets)]
            kind = "中学" if i % 2 else "小学"
            _org(ctx, f"school:{d}:{i}", name=f"{district.name}第{i}{kind}", type=OrgType.SCHOOL,
                 sector=Sector.EDUCATION, area_code=street.code, parent=ctx.orgs[f"{Sector.EDUCATION}:{d}"])
        for i in range(1, ctx.sizes["enterprises"] + 1):
            serial += 1
            street = streets[ctx.rng.randrange(len(streets))]
            _org(ctx, f"enterprise:{d}:{i}", name=f"{district.name.removesuffix('区').removesuffix('市')}"
                 f"{['华', '瑞', '恒', '新', '联'][i % 5]}{['化工', '医药', '化学试剂', '新材料', '贸易'][i % 5]}有限公司{i}号",
                 type=OrgType.ENTERPRISE, sector=Sector.PRIVATE, area_code=street.code,
                 uscc=_uscc(ctx, d, serial))
        _org(ctx, f"hospital:{d}", name=f"{district.name}人民医院", type=OrgType.MEDICAL, sector=Sector.HEALTH,
             area_code=streets[0].code)
    _org(ctx, "rehab", name="苏州市强制隔离戒毒所", type=OrgType.REHAB_CENTER, sector=Sector.JUSTICE,
         area_code="320506001")
    _org(ctx, "lab", name="苏州市公安局禁毒检验鉴定实验室", type=OrgType.LAB, sector=Sector.PUBLIC_SECURITY,
         area_code="320508002")
    _org(ctx, "courier", name="苏州市某快递分拨中心", type=OrgType.COURIER, sector=Sector.PRIVATE, area_code="320507001",
         uscc=_uscc(ctx, "320507", 900001))
    _org(ctx, "checkpoint", name="苏州东公安检查站", type=OrgType.CHECKPOINT, sector=Sector.PUBLIC_SECURITY,
         area_code="320509001")
    for community in Division.objects.filter(level="community", code__startswith=DEMO_STREET).order_by("code"):
        _org(ctx, f"community:{community.code}", name=f"{community.name}居委会", type=OrgType.COMMUNITY,
             sector=Sector.STREET, area_code=community.code, parent=ctx.orgs[f"street:{DEMO_STREET}"])
    ctx.say(f"organisations: {Organization.objects.count()}")


DEMO_USERS = [
    # username, role, area, org key, full name, what they show
    ("sysadmin", "system_admin", "", None, "系统管理员", "accounts, organisations, divisions (TOTP required)"),
    ("secadmin", "security_admin", "", None, "安全管理员", "roles, role assignment, unlocking (TOTP required)"),
    ("auditor", "audit_admin", "", None, "审计管理员", "audit logs only (TOTP required)"),
    ("city", "city_office", "320500", "city_office", "市禁毒办 王主任", "the whole city"),
    ("gusu", "district_office", DEMO_DISTRICT, f"office:{DEMO_DISTRICT}", "姑苏区禁毒办 李科长", "姑苏区"),
    ("pingjiang_sw", "social_worker", DEMO_STREET, f"street:{DEMO_STREET}", "平江街道禁毒专干 张社工", "平江街道"),
    ("gusu_police", "police", DEMO_DISTRICT, f"public_security:{DEMO_DISTRICT}", "姑苏公安分局 赵警官", "姑苏区"),
    ("gusu_minzheng", "member_unit", DEMO_DISTRICT, f"civil_affairs:{DEMO_DISTRICT}", "姑苏区民政局 周科员",
     "姑苏区, identity and assistance sections only"),
    ("enterprise1", "enterprise", "", f"enterprise:{DEMO_DISTRICT}:1", "企业合规专员", "its own enterprise"),
    ("school1", "school", "", f"school:{DEMO_DISTRICT}:1", "学校禁毒教师", "its own school"),
    ("lab1", "lab", "", "lab", "实验室检验员", "its own laboratory"),
]


def build_users(ctx: DemoContext) -> None:
    from users.models import Role, User

    roles = {r.code: r for r in Role.objects.all()}
    for username, role, area, org_key, full_name, shows in DEMO_USERS:
        org = ctx.orgs.get(org_key) if org_key else None
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, full_name=full_name, role=roles[role], org=org,
                        area_code=area or (org.area_code if org else ""))
            user.set_password(ctx.password)
            user.save(audit_message="demo user")
        ctx.users.append((username, role, shows))


def run(scale: str, seed: int, password: str, division_file, stdout=None) -> DemoContext:
    ctx = DemoContext(scale=scale, seed=seed, password=password, rng=random.Random(seed), stdout=stdout)
    with transaction.atomic():
        build_divisions(ctx, division_file)
        build_orgs(ctx)
        build_users(ctx)
    for _order, name, builder in DEMO_BUILDERS:
        ctx.say(f"demo: {name}")
        with transaction.atomic():
            builder(ctx)
    return ctx


__all__ = ("demo_builder", "DemoContext", "run", "DEMO_USERS")
