"""Demo data for the precursor-chemicals pillar (issue 3 item 10), with known ground truth.

What it builds (``--scale small``: 76 parties, ≈ 17,000 events, built in a few seconds; ``--scale city``: 324 parties,
≈ 250,000 events; counts in :data:`STATS` after a build):

* the registry (一企一档): producers, traders, users in six industries, exporters, carriers, warehouses,
  universities and testing laboratories, hospitals, a few counterparties in 南京 (3201) and foreign importers, each
  with an ``orgs.Organization`` (a valid 统一社会信用代码) where the platform can hold one, PGLN/SGLN identifiers
  (``urn:epc:id:pgln:69xxxxx.00001`` / ``urn:epc:id:sgln:69xxxxx.00001.0``), risk grades and link keys; product
  mappings for every LGTIN prefix in use (``urn:epc:class:lgtin:69xxxxx.0302.`` → C3-02 丙酮);
* the authorizations a lawful flow needs: production and trade filings, purchase filings per buyer and supplier and
  calendar year, drug purchase proofs, transport filings for every shipment that leaves or enters the 设区的市,
  export licences;
* a supply chain of EPCIS 2.0 documents captured through :func:`precursors.capture.capture` (nothing is written to
  the event table any other way): lots commissioned with ILMD, drums palletised (AggregationEvent), shipped by lot
  quantity with the pallet's SSCC, waybill and the permits cited, received and unpacked, consumed in
  TransformationEvents, counted at every month end; sales filings, annual reports, loss reports;
* inspections (two inspectors, checklist, stock counted against the book), the NMR registry, survey areas for
  illegal cultivation with drone flights (footprints and coverage from ``precursors.algorithms.patrol``) and findings;
* injected diversion scenarios with known ground truth (:data:`SCENARIOS`: rule, party identifier, a fragment of the
  alert's key, a note, and the other parties involved), and one full rule run as of :data:`AS_OF` so the alert inbox
  is populated. The lawful background is built to raise no alert at all: filings on time, permits in force and big
  enough, receipts within two days, regular order sizes and cadences, counts equal to the book, inspections at the
  frequency of each risk grade, no route-kit combinations, no shared link keys;
* the GPS tracks of the cross-city shipments of the last six months (planned route along 沪宁高速, departure,
  arrival, weights, a fix every five minutes), two of them R29 scenarios.

R20's special-country branch and R21's PEN branch read lists the research does not confirm
(``special_country_rules.csv`` is empty, no country is known to require a PEN): the demo enters them as rule
parameters marked :data:`DEMO_ASSUMPTION` (缅甸 for the exported substance; 越南、泰国、马来西亚、韩国 require a PEN)
and files an acknowledged PEN before every export to those countries but one. R21's 国际核查 branch stays silent
(no substance is on the 核查目录 until the office confirms it).

Idempotent: a second run finds the registry and adds nothing. Reproducible from the seed.

Modelling choices worth knowing when reading the data:

* Quantities are whole kilograms (``KGM``) so the 台账 balance, the counts and the rules compare exact numbers.
* Shipments name the lot quantities (the rules and the 台账 read ``quantityList``) and the pallet's SSCC; the drums
  are the pallet's children. Drums are not commissioned with contents, otherwise the ledger would count a shipment
  twice (once as the SSCC's contents, once as the lot quantity).
* The events are captured by two system accounts without a password: the city's enterprise feed (area 320500) and a
  province data exchange (area 320000) for the parties in 南京, which an account of the demo city may not capture for.
* The builder is registered by importing this module (``precursors/apps.py`` ``ready()``).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

from core.demo import DEMO_DISTRICT, demo_builder

CST = dt.timezone(dt.timedelta(hours=8), "CST")
DEMO_DATE = dt.date(2026, 11, 29)                    # the demo city's "today" (casework uses the same day)
AS_OF = dt.datetime(2026, 11, 29, 12, 0, tzinfo=CST)  # the rules run as of this instant
EVENT_END = AS_OF - dt.timedelta(hours=2)            # nothing happens after this
START = dt.date(2025, 7, 1)                          # first sale to a user
EARLIEST = dt.date(2025, 4, 15)                      # first stocking purchase of a trader
MARKER = "urn:epc:id:pgln:6920001.00001"             # the first party: present = the demo is built
FEED_USERS = {  # system accounts that capture the demo's events (no password: they cannot log in)
    "city": ("sz_precursor_feed", "苏州市易制毒化学品企业数据接入（系统账户）", "320500"),
    "province": ("js_precursor_exchange", "江苏省易制毒化学品数据交换（系统账户）", "320000"),
}
ENTERPRISE_USER = "chem1"
NS = uuid.UUID("6f1c2d4e-8a57-4c1b-9a43-0c2f5d7e9b11")
JINDU_NS = "https://ns.jindu.org.cn/epcis/"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DOC_EVENTS = 3000

SIZES = {
    # producer_sets: copies of the producer line-up; batches: TransformationEvents per delivery; cadence: × order
    # period (shorter = more orders)
    "small": {"producer_sets": 1, "traders": 5, "users": 36, "exporters": 1, "research": 3, "labs": 1,
              "medical": 2, "carriers": 2, "warehouses": 1, "outside_users": 2, "batches": 3, "cadence": 1.0,
              "trader_period": 14},
    "city": {"producer_sets": 4, "traders": 30, "users": 200, "exporters": 6, "research": 12, "labs": 5,
             "medical": 10, "carriers": 8, "warehouses": 5, "outside_users": 6, "batches": 8, "cadence": 0.5,
             "trader_period": 10},
}

# substance → (item reference, product name, kg per drum or bag, package word, density kg/L or None, HS code)
PRODUCTS = {
    "C3-01": ("0301", "甲苯", 170, "桶", 0.87, "2902300000"),
    "C3-02": ("0302", "丙酮", 160, "桶", 0.79, "2914110000"),
    "C3-03": ("0303", "甲基乙基酮（丁酮）", 165, "桶", 0.81, "2914120000"),
    "C3-04": ("0304", "高锰酸钾", 50, "桶", None, "2841610000"),
    "C3-05": ("0305", "硫酸 98%", 250, "桶", 1.84, "2807000010"),
    "C3-06": ("0306", "盐酸 31%", 240, "桶", 1.15, "2806100000"),
    "C2-01": ("0201", "苯乙酸", 25, "袋", None, "2916340000"),
    "C2-02": ("0202", "醋酸酐", 215, "桶", 1.08, "2915240000"),
    "C2-03": ("0203", "三氯甲烷", 250, "桶", 1.48, "2903130000"),
    "C2-04": ("0204", "乙醚", 140, "桶", 0.71, "2909110000"),
    "C1-12b": ("0112", "盐酸伪麻黄碱", 25, "桶", None, "2939420000"),
    "W-01": ("9001", "4-哌啶酮盐酸盐", 25, "桶", None, "2933399099"),
}
LOT_DRUMS = 60   # a production lot fills this many drums (more when one order needs it)

# the producer line-up (one "set"): (district, substances, kind of licence)
PRODUCER_SET = [
    ("320581", ["C3-02", "C3-03"], "prod_filing"),
    ("320582", ["C3-01"], "prod_filing"),
    ("320585", ["C3-05", "C3-06"], "prod_filing"),
    ("320581", ["C2-02", "C2-03"], "prod_filing"),
    ("320509", ["C3-04", "C2-04"], "prod_filing"),
    ("320583", ["C2-01", "W-01"], "prod_filing"),
    ("320506", ["C1-12b"], "drug_prod_licence"),
]
TRADED = ["C3-02", "C3-01", "C3-03", "C3-05", "C3-06", "C3-04", "C2-02", "C2-03", "C2-04"]
# user industries: (industry code, Chinese word, substances to pick from, how many, output units per kg)
INDUSTRIES = [
    ("pharma", "制药", ["C3-02", "C2-02", "C2-03", "C3-06"], 2, 3),
    ("coatings", "涂料", ["C3-01", "C3-02", "C3-03"], 2, 5),
    ("electronics", "电子材料", ["C3-02", "C3-05", "C3-06"], 2, 4),
    ("dye", "染料化工", ["C3-05", "C3-06", "C3-04", "C2-02"], 2, 4),
    ("water_treatment", "水处理技术", ["C3-04", "C3-05"], 1, 6),
    ("fragrance", "香料", ["C2-01"], 1, 2),
]
SUZHOU_DISTRICTS = {"320505": "高新", "320506": "吴中", "320507": "相城", "320508": "姑苏", "320509": "吴江",
                    "320571": "园区", "320581": "常熟市", "320582": "张家港市", "320583": "昆山市", "320585": "太仓市"}
NANJING = {"320116": "六合区", "320113": "栖霞区", "320115": "江宁区", "320111": "浦口区", "320106": "鼓楼区",
           "320114": "雨花台区"}
FOREIGN = [("VN", "893", "Saigon Solvents Co., Ltd."), ("TH", "885", "Siam Chem Supply Co., Ltd."),
           ("MY", "955", "Penang Industrial Chemicals Sdn. Bhd."), ("KR", "880", "Hanbit Fine Chemical Co., Ltd.")]
_BRANDS = ("华盛 瑞丰 金泰 恒通 宏达 新源 联创 永信 天成 博远 嘉禾 振华 明德 通利 东方 协和 润华 正源 海川 盛达 中天 康宁 欣荣 佳立 "
          "长青 鼎力 开元 信诚 汇通 兴业 安泰 德润 华康 立信 宏远 金辉 龙腾 鑫源 锦程 晨光 百川 顺达 海纳 星河 三和 富邦 华瑞 "
          "泰和 裕丰 同创 凯达 美琪 华新 中联 申达 江南 吴越 太湖 阳澄 虞山 金鸡 姑苏 东吴 沧浪 枫桥 胥江 娄江 运河 湖滨 "
          "北辰 南洋 西山 东山 旺山 望亭 黄桥 木渎 横塘 浒关 光福 平望 盛泽 同里 周庄 锦溪 千灯 淀山 浏河 沙溪 璜泾 金港 乐余 "
          "凤凰 塘桥 杨舍 梅李 海虞 古里 支塘 辛庄 尚湖 昆承 花桥 陆家 张浦 巴城 周市 玉山 亭林 唯亭 胜浦 娄葑 斜塘 金湖")
BRANDS = tuple(_BRANDS.split())
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志文辉海燕红梅玉兰晓东德春永"
POLICE = ["周建国", "沈立新", "钱志强", "陆海峰", "顾伟民", "朱晓东", "徐文杰", "陈国平", "吴振华", "蒋小军", "杨明辉", "金卫东"]

# R20's special-country branch and R21's PEN branch need lists the research does not confirm (the chemicals of the
# 特定国家 catalogue; which importing countries require a pre-export notification). The demo enters them as rule
# parameters, marked as demo assumptions, so the two branches can be seen firing; a real installation leaves them
# to the office (规则参数).
DEMO_ASSUMPTION = "演示假设（未经核实，仅用于演示数据）"
DEMO_PEN_COUNTRIES = ["VN", "TH", "MY", "KR"]

# ground truth of the injected scenarios, filled by a build: {"rule", "party", "key_contains", "note", "involved"}
SCENARIOS: list[dict] = []
STATS: dict = {}


class DemoPlanError(RuntimeError):
    """The plan is inconsistent (e.g. a trader would sell stock it does not have); a bug of this module."""


# ----------------------------------------------------------------------------------------------------- the plan
@dataclass(eq=False)
class P:
    """A party of the plan."""

    key: str
    ident: str
    prefix: str
    name: str
    kinds: list
    industry: str
    area: str                      # street code in the demo city, district code outside
    district: str
    site_kind: str = "plant"
    sites: list = field(default_factory=list)   # (sgln, name, kind, area)
    risk: str = "low"
    uscc: str | None = None
    org_kind: str = "enterprise"   # enterprise / university / institute / hospital / none
    org: object = None             # an existing Organization to link (hospitals)
    registered_on: dt.date = dt.date(2010, 1, 1)
    legal_rep: str = ""
    responsible: str = ""
    phone: str = ""
    address: str = ""
    declared: dict = field(default_factory=dict)
    link_keys: list = field(default_factory=list)
    changed_on: dt.date | None = None
    residential: bool = False
    country: str = "CN"
    outside: bool = False          # outside the demo city (3201)
    produces: list = field(default_factory=list)
    licence: str = ""              # producers: prod_filing or drug_prod_licence
    nmr: bool = False              # research: owns an NMR (and then buys Cat 3 only)
    output_m: int = 3              # output units per kg consumed (constant: R10's peer band)
    product: str = "1001"
    annual_report: bool = True
    inspect_2026: bool = True
    planned_only: bool = False
    scenario: bool = False
    pk: int | None = None

    @property
    def site(self) -> str:
        return self.sites[0][0]

    @property
    def domestic(self) -> bool:
        return self.country == "CN"

    def is_(self, kind: str) -> bool:
        return kind in self.kinds


@dataclass(eq=False)
class A:
    """An authorization of the plan."""

    number: str
    type: str
    holder: P
    substances: dict
    valid_from: dt.date
    valid_to: dt.date | None
    issuer: str = ""
    counterparty: P | None = None
    consignee: P | None = None
    carrier: P | None = None
    origin_area: str = ""
    destination_area: str = ""
    destination_country: str = ""
    uses_allowed: int | None = None


@dataclass(eq=False)
class Order:
    t: dt.datetime
    seller: P
    buyer: P
    sub: str
    kg: int
    drums: int | None = None       # whole drums on an SSCC pallet; None = loose (no pallet)
    lead_h: float = 24.0
    receive: bool = True
    batches: int = 0               # TransformationEvents the buyer consumes the delivery in (0 = stock)
    span_days: float = 14.0
    payment: str = "transfer"
    address_kind: str = ""
    carrier: P | None = None
    permits: list = field(default_factory=list)
    sales_delay_h: float | None = -1.0   # -1 = the usual 1–10 days; None = never filed
    no_output: bool = False
    tag: str = ""                  # scenario tag
    waybill: str = ""              # set when the shipping event is written


def _d(day: dt.date, hour: float = 9.0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=CST) + dt.timedelta(hours=hour)


def _roundup(x: float, step: int) -> int:
    return int(math.ceil(x / step) * step)


class Planner:
    """Pure Python: parties, authorizations and orders, from the seed and the scale."""

    def __init__(self, scale: str, seed: int, streets: dict[str, list[tuple[str, str]]]):
        self.scale, self.sizes = scale, SIZES[scale]
        self.rng = random.Random(seed * 7 + 60)
        self.streets = streets                      # district → [(street code, street name)]
        self.parties: list[P] = []
        self.auths: list[A] = []
        self.orders: list[Order] = []
        self.n_auth = 0
        self.used_names: set[str] = set()
        self.pf: dict[tuple, list[A]] = defaultdict(list)   # (buyer, seller) → purchase filings
        self.tf: dict[tuple, list[A]] = defaultdict(list)   # (seller, buyer) → transport filings
        self.scen: dict[str, P] = {}                        # scenario role → party
        self.special_country_subs: dict[str, list[str]] = {}   # R20's demo catalogue (see DEMO_ASSUMPTION)
        self.trade_auth: dict[str, A] = {}

    # --- helpers -------------------------------------------------------------------------------------------
    def person(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2))))

    def phone(self) -> str:
        return f"1{self.rng.choice('3589')}{self.rng.randrange(10 ** 9):09d}"

    def brand_name(self, district: str, suffix: str, outside: bool = False) -> str:
        for _ in range(500):
            brand = self.rng.choice(BRANDS)
            if outside:
                name = f"南京{brand}{suffix}"
            else:
                place = SUZHOU_DISTRICTS[district]
                name = f"{place}{brand}{suffix}" if place.endswith("市") else f"苏州{brand}{suffix}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise DemoPlanError("ran out of names")

    def auth_no(self, prefix: str, year: int) -> str:
        self.n_auth += 1
        return f"{prefix}〔{year}〕{self.n_auth:05d}号"

    def add_party(self, *, kinds, industry, district, suffix=None, name=None, site_kind="plant", outside=False,
                  org_kind="enterprise", country="CN", prefix=None, area=None, **extra) -> P:
        n = len(self.parties) + 1
        prefix = prefix or f"69{20000 + n:05d}"
        if area is None:
            if outside:
                area = district
            else:
                area, _street_name = self.rng.choice(self.streets[district])
        street_name = dict(self.streets.get(district, ())).get(area, NANJING.get(district, ""))
        name = name or self.brand_name(district, suffix, outside)
        rep = self.person()
        p = P(key=f"p{n}", ident=f"urn:epc:id:pgln:{prefix}.00001", prefix=prefix, name=name, kinds=list(kinds),
              industry=industry, area=area, district=district, site_kind=site_kind, outside=outside,
              org_kind=org_kind, country=country, legal_rep=rep,
              responsible=self.person(), phone=self.phone(), address=f"{street_name}{self.rng.randint(1, 399)}号",
              **extra)
        registered = dt.date(self.rng.randint(2003, 2021), self.rng.randint(1, 12), self.rng.randint(1, 28))
        if "registered_on" not in extra:
            p.registered_on = registered
        if country == "CN" and org_kind != "none":
            body = f"JD{n:06d}"
            p.uscc = self._uscc(org_kind, area[:6], body)
        p.link_keys = [f"phone:{p.phone}", f"bank:{p.prefix}-{self.rng.randrange(10 ** 8):08d}"]
        kind_word = {"plant": "生产厂区", "warehouse": "仓库", "lab": "实验室", "office": "办公场所",
                     "tank": "储罐区", "shop": "门店"}[site_kind]
        p.sites.append((f"urn:epc:id:sgln:{prefix}.00001.0", f"{p.name}{kind_word}", site_kind, area))
        risk = self.rng.random()
        p.risk = "high" if risk < 0.08 else "medium" if risk < 0.30 else "low"
        if outside or country != "CN":
            p.risk = "low"
        self.parties.append(p)
        return p

    @staticmethod
    def _uscc(org_kind: str, area6: str, body: str) -> str:
        from utilities.identifiers import make_uscc

        if org_kind in ("university", "institute", "hospital"):
            return make_uscc("1", "2", area6, body)
        return make_uscc("9", "1", area6, body)

    def add_auth(self, **kw) -> A:
        a = A(**kw)
        self.auths.append(a)
        return a

    # --- the registry ------------------------------------------------------------------------------------------
    def registry(self, hospitals: dict[str, object]) -> None:
        s, r = self.sizes, self.rng
        suzhou = list(SUZHOU_DISTRICTS)
        self.producers: list[P] = []
        for k in range(s["producer_sets"]):
            for district, subs, licence in PRODUCER_SET:
                if k and licence == "drug_prod_licence" and k % 2:
                    continue
                suffix = "制药有限公司" if licence == "drug_prod_licence" else \
                    "精细化工有限公司" if "C2-01" in subs else "化工有限公司"
                p = self.add_party(kinds=["producer"], industry="pharma" if licence == "drug_prod_licence" else
                                   "chemical", district=district if not k else r.choice(suzhou), suffix=suffix,
                                   produces=list(subs))
                p.licence = licence
                p.sites.append((f"urn:epc:id:sgln:{p.prefix}.00002.0", f"{p.name}储罐区", "tank", p.area))
                self.producers.append(p)
        # 南京: one producer of sulfuric acid selling into the city
        self.nj_producer = self.add_party(kinds=["producer"], industry="chemical", district="320116",
                                          suffix="化工有限公司", outside=True, produces=["C3-05"])
        self.nj_producer.licence = "prod_filing"
        self.traders: list[P] = []
        for i in range(s["traders"]):
            district = DEMO_DISTRICT if i == 0 else r.choice(suzhou)
            p = self.add_party(kinds=["trader"], industry="trading", district=district, suffix="化学品贸易有限公司",
                               site_kind="warehouse")
            self.traders.append(p)
        self.exporters = [self.add_party(kinds=["trader", "exporter"], industry="trading",
                                         district=r.choice(["320571", "320585", "320582"]),
                                         suffix="进出口有限公司", site_kind="warehouse")
                          for _ in range(s["exporters"])]
        self.users: list[P] = []
        for i in range(s["users"]):
            industry, word, _subs, _n, m = INDUSTRIES[i % len(INDUSTRIES)] if i < 12 else r.choice(INDUSTRIES)
            p = self.add_party(kinds=["user"], industry=industry, district=r.choice(suzhou),
                               suffix=f"{word}有限公司" if industry != "electronics" else "电子材料科技有限公司",
                               output_m=m, product=f"{1001 + i % 7}")
            self.users.append(p)
        self.research: list[P] = []
        for i in range(s["research"]):
            if i % 3 == 0:
                name = ["苏州理工学院化学与材料工程学院", "姑苏医科大学药学院", "东吴师范学院化学系", "吴中职业技术学院化工系"][
                    (i // 3) % 4] + ("" if i < 12 else f"（{i // 12 + 1}）")
                kind = "university"
            else:
                name = f"苏州{r.choice(BRANDS)}{['新材料研究院', '精细化工研究所', '生物医药研究院'][i % 3]}"
                kind = "institute"
            if name in self.used_names:
                name = f"{name}{i}"
            self.used_names.add(name)
            p = self.add_party(kinds=["research"], industry="research", district=r.choice(["320571", "320508",
                                                                                           "320505"]),
                               name=name, site_kind="lab", org_kind=kind, output_m=2)
            p.nmr = i % 3 != 2              # two in three own an NMR: they buy Cat 3 only
            self.research.append(p)
        self.labs = [self.add_party(kinds=["user"], industry="testing_lab", district=r.choice(["320571", "320505"]),
                                    suffix="检测技术有限公司", site_kind="lab", output_m=2)
                     for _ in range(s["labs"])]
        self.medical: list[P] = []
        hospital_keys = sorted(hospitals)
        for i in range(s["medical"]):
            if i < len(hospital_keys):
                org = hospitals[hospital_keys[i]]
                district = hospital_keys[i]
                p = self.add_party(kinds=["medical"], industry="hospital", district=district, name=org.name,
                                   site_kind="lab", org_kind="hospital", area=org.area_code, org=org, output_m=2)
            else:
                district = r.choice(suzhou)
                p = self.add_party(kinds=["medical"], industry="hospital", district=district,
                                   suffix="医院", site_kind="lab", org_kind="hospital", output_m=2)
            self.medical.append(p)
        self.carriers = [self.add_party(kinds=["carrier"], industry="logistics", district=r.choice(suzhou),
                                        suffix="危险货物运输有限公司", site_kind="office")
                         for _ in range(s["carriers"])]
        self.warehouses = [self.add_party(kinds=["warehouse"], industry="logistics",
                                          district=r.choice(["320585", "320582", "320581"]),
                                          suffix="化工仓储有限公司", site_kind="warehouse")
                           for _ in range(s["warehouses"])]
        pairs = list(zip(list(NANJING)[1:] * 4, [INDUSTRIES[1], INDUSTRIES[2]] * 10))[:s["outside_users"]]
        self.nj_users = [self.add_party(kinds=["user"], industry=ind, district=d, suffix=f"{word}有限公司", outside=True,
                                        output_m=m) for (d, (ind, word, _s, _n, m)) in pairs]
        self.foreign = [self.add_party(kinds=["importer"], industry="trading", district="", name=name,
                                       org_kind="none", country=cc, prefix=f"{gs1}{7000 + i:04d}", area="",
                                       outside=True)
                        for i, (cc, gs1, name) in enumerate(FOREIGN)]
        for p in self.foreign:
            p.sites = []
        # long-standing filings and licences: valid 3 years, none ending in the R31 reminder window
        for p in self.producers + [self.nj_producer]:
            subs = {c: None for c in p.produces if c != "W-01"}
            if p.licence == "drug_prod_licence":
                self.trade_auth[p.key] = self.add_auth(number=self.auth_no("苏药监易生许", 2022),
                                                       type="drug_prod_licence", holder=p, substances=subs,
                                                       valid_from=dt.date(2022, 6, 1), valid_to=dt.date(2027, 5, 31),
                                                       issuer="江苏省药品监督管理局")
            else:
                self._long_filing(p, "prod_filing", subs, "宁应急易生备" if p.outside else "苏应急易生备",
                                  "南京市应急管理局" if p.outside else "苏州市应急管理局")

    def _long_filing(self, p: P, kind: str, subs: dict, prefix: str, issuer: str, valid_from=None) -> A:
        r = self.rng
        valid_from = valid_from or dt.date(2024, 4, 1) + dt.timedelta(days=r.randrange(0, 360))
        a = self.add_auth(number=self.auth_no(prefix, valid_from.year), type=kind, holder=p, substances=subs,
                          valid_from=valid_from, valid_to=valid_from.replace(year=valid_from.year + 3)
                          - dt.timedelta(days=1), issuer=issuer)
        self.trade_auth[p.key] = a
        return a

    # --- the flows ---------------------------------------------------------------------------------------------
    def producers_of(self, sub: str) -> list[P]:
        return [p for p in self.producers if sub in p.produces]

    def contract(self, buyer: P, sub: str, sellers: list[P], *, period: float, drums: int, start: dt.date,
                 batches: int, end: dt.date | None = None, carrier: P | None = None) -> list[Order]:
        """Regular orders every ``period`` days (±1 day), alternating n and n+1 drums and the sellers."""
        r, out = self.rng, []
        day = start
        end = end or (EVENT_END - dt.timedelta(days=1)).date()
        k = 0
        while day <= end:
            n = drums + (k % 2)
            seller = sellers[k % len(sellers)]
            t = _d(day, r.uniform(8.5, 15.5))
            cross = seller.area[:4] != buyer.area[:4]
            o = Order(t, seller, buyer, sub, n * PRODUCTS[sub][2], drums=n, lead_h=r.uniform(18, 44),
                      batches=batches, span_days=period, carrier=carrier if cross else None)
            out.append(o)
            k += 1
            day = day + dt.timedelta(days=max(1, round(period + r.choice((-1, 0, 0, 1)))))
        self.orders.extend(out)
        return out

    def flows(self) -> None:
        s, r = self.sizes, self.rng
        cadence, batches = s["cadence"], s["batches"]
        sellers_of: dict[str, list[P]] = defaultdict(list)      # substance → traders selling it
        self.trader_subs: dict[str, set] = defaultdict(set)
        for i, t in enumerate(self.traders):
            subs = set(r.sample(TRADED, 4 if i % 2 else 5)) | {"C3-02"}
            if i == 0:
                subs |= {"C3-03"}
            for c in sorted(subs):
                if self.producers_of(c):
                    sellers_of[c].append(t)
                    self.trader_subs[t.key].add(c)

        def sellers_for(sub: str, buyer: P) -> list[P]:
            prods = self.producers_of(sub)
            if sub in ("C2-01", "C1-12b") or not sellers_of.get(sub):
                return [r.choice(prods)]
            if r.random() < 0.3:
                return [r.choice(prods)]
            if r.random() < 0.2 and len(sellers_of[sub]) > 1:
                return r.sample(sellers_of[sub], 2)
            return [r.choice(sellers_of[sub])]

        def start_day(period: float) -> dt.date:
            return START + dt.timedelta(days=r.randrange(0, max(1, int(period))))

        # users in the city
        self.user_subs: dict[str, list] = {}
        for i, u in enumerate(self.users):
            industry = next(x for x in INDUSTRIES if x[0] == u.industry)
            subs = sorted(r.sample(industry[2], min(industry[3], len(industry[2]))))
            if u.industry == "dye" and "C2-02" in subs:
                subs = [c for c in subs if c != "C2-02"] + ["C3-06"]
                subs = sorted(set(subs))
            self.user_subs[u.key] = subs
            for sub in subs:
                period = r.choice((14, 21, 28)) * cadence
                drums = 2 if sub != "C2-01" else 3
                if sub in ("C3-04",):
                    drums = 4
                sellers = sellers_for(sub, u)
                if sub == "C3-05" and i % 5 == 2:
                    sellers = [self.nj_producer]
                self.contract(u, sub, sellers, period=max(7, period), drums=drums, start=start_day(period),
                              batches=batches, carrier=r.choice(self.carriers))
        # two pharma users buy a Cat 1 pharmaceutical precursor from the pharma producer, one proof per purchase
        pharma_prod = next(p for p in self.producers if "C1-12b" in p.produces)
        self.cat1_users = [u for u in self.users if u.industry == "pharma"][:2]
        for u in self.cat1_users:
            for o in self.contract(u, "C1-12b", [pharma_prod], period=30, drums=1, start=start_day(30),
                                   batches=batches):
                o.drums, o.kg = 2, 50                    # always two 25 kg drums: the proof is for 50 kg
        for p in self.research:
            subs = ["C3-02"] if p.nmr else ["C3-02", "C2-03"]
            for sub in subs:
                self.contract(p, sub, [r.choice(sellers_of[sub] or self.producers_of(sub))], period=56 * cadence,
                              drums=1, start=start_day(40), batches=2)
        for p in self.labs:
            self.contract(p, "C3-02", [r.choice(sellers_of["C3-02"])], period=42 * cadence, drums=1,
                          start=start_day(40), batches=2)
        for p in self.medical:
            for sub in ("C3-06", "C2-04"):
                self.contract(p, sub, [r.choice(sellers_of[sub] or self.producers_of(sub))], period=60 * cadence,
                              drums=1, start=start_day(50), batches=2)
        # 南京 users buy acetone from Suzhou: a transport filing for every shipment out of the city
        for u in self.nj_users:
            self.contract(u, "C3-02", [r.choice(sellers_of["C3-02"])], period=28 * cadence, drums=2,
                          start=start_day(28), batches=batches, carrier=r.choice(self.carriers))
        # exporters: monthly exports to one importer each
        self.export_plan = []
        for i, e in enumerate(self.exporters):
            sub = ["C3-02", "C3-06", "C3-01"][i % 3]
            buyer = self.foreign[i % len(self.foreign)]
            day = START + dt.timedelta(days=10 + i)
            k = 0
            while day <= (EVENT_END - dt.timedelta(days=2)).date():
                n = 10 + k % 2
                o = Order(_d(day, r.uniform(9, 15)), e, buyer, sub, n * PRODUCTS[sub][2], drums=n, receive=False)
                self.orders.append(o)
                self.export_plan.append(o)
                k += 1
                day += dt.timedelta(days=round(30 * cadence))

    def scenarios(self) -> None:
        """Injected diversion cases (ground truth). Background parties picked here become scenario parties."""
        r = self.rng
        users = [u for u in self.users if u not in self.cat1_users]

        def pick(cond=lambda u: True, exclude=()):
            """The first unused user meeting ``cond`` (a preference: any unused user when none does)."""
            free = [u for u in users if not u.scenario and u not in exclude]
            if not free:
                raise DemoPlanError("not enough users for the scenarios")
            u = next((u for u in free if cond(u)), free[0])
            u.scenario = True
            return u

        def orders_of(buyer, sub=None, after=dt.date(2025, 1, 1)):
            return [o for o in self.orders if o.buyer is buyer and (sub is None or o.sub == sub)
                    and o.t.date() >= after and not o.tag]

        def from_producer(base: Order) -> P:
            """The seller for an extra order: the base order's seller when it is a producer in the city (stock made
            on demand), else a producer of the substance."""
            if base.seller.is_("producer") and not base.seller.outside:
                return base.seller
            return self.producers_of(base.sub)[0]

        def tagged(o: Order, tag: str) -> Order:
            o.tag = (o.tag + " " + tag).strip()
            return o

        def day(y, m, d_, h=10.0):
            return _d(dt.date(y, m, d_), h)

        ac2o = next(p for p in self.producers if "C2-02" in p.produces)
        paa = next(p for p in self.producers if "C2-01" in p.produces)
        acetone_prod = next(p for p in self.producers if "C3-02" in p.produces)
        t0 = self.traders[0]                                   # 姑苏: the enterprise demo login
        t0.scenario = True
        self.scen["R06"] = t0
        sales = [o for o in self.orders if o.seller is t0 and dt.date(2026, 6, 1) <= o.t.date() <= dt.date(2026, 10, 10)]
        for k, o in enumerate(sales[:: max(1, len(sales) // 4)][:4]):
            o.sales_delay_h = None if k == 3 else 24.0 * (36 + 3 * k)
        plausible = {"coatings": ["C3-03", "C3-01", "C3-02"], "pharma": ["C3-01", "C3-05", "C2-03", "C3-02"],
                     "electronics": ["C3-06", "C3-05", "C3-02"], "dye": ["C3-04", "C3-06", "C3-01"],
                     "water_treatment": ["C3-06", "C3-04"]}

        def unbought(u):
            return [c for c in plausible.get(u.industry, ()) if c not in self.user_subs[u.key]]

        # R01: a user buys a substance its purchase filings do not cover (from the 姑苏 trader)
        u = pick(lambda u: bool(unbought(u)))
        sub = (unbought(u) or [c for c in TRADED if c not in self.user_subs[u.key]])[0]
        self.r01_sub = sub
        for k, d_ in enumerate((dt.date(2026, 9, 8), dt.date(2026, 10, 13))):
            self.orders.append(tagged(Order(_d(d_, 10 + k), t0, u, sub, 2 * PRODUCTS[sub][2], drums=2, batches=2,
                                            span_days=20), "R01"))
        self.scen["R01"] = u
        # R03 + R01: a user resells two drums to another user (no trade filing, no purchase filing)
        seller = pick(lambda u: any(o.sub in TRADED for o in orders_of(u, after=dt.date(2026, 8, 1))))
        first = next(o for o in orders_of(seller, after=dt.date(2026, 8, 1)))
        buyer = pick(lambda u: first.sub in plausible.get(u.industry, ()) and first.sub not in self.user_subs[u.key],
                     exclude=(seller,))
        first.batches = 0                                      # it keeps that delivery for resale
        self.orders.append(tagged(Order(first.t + dt.timedelta(hours=first.lead_h + 30), seller, buyer, first.sub,
                                        first.kg // first.drums, drums=None, batches=2, span_days=10), "R03"))
        self.scen["R03"], self.scen["R01b"] = seller, buyer
        # R04: a buyer's 2026 purchase filings are for far less than it buys
        self.scen["R04"] = pick(lambda u: len(orders_of(u, after=dt.date(2026, 1, 1))) >= 8)
        # R05 + R01: a buyer keeps citing its 2025 filing in January 2026 (renewed only in February)
        self.scen["R05"] = pick(lambda u: any(dt.date(2026, 1, 2) <= o.t.date() < dt.date(2026, 1, 31)
                                              for o in orders_of(u)))
        # R09: a count after an October delivery is a drum short of the book
        self.scen["R09"] = pick(lambda u: len(orders_of(u, after=dt.date(2026, 10, 1))) >= 2)
        # R10: one consumption without an output lot
        u = pick(lambda u: bool(orders_of(u, after=dt.date(2026, 9, 1))))
        orders_of(u, after=dt.date(2026, 9, 1))[0].no_output = True
        self.scen["R10"] = u
        # R11 (去向不明): a pallet shipped in October is never received (also R23 on its SSCC)
        u = pick(lambda u: any(o.seller.is_("producer") for o in orders_of(u, after=dt.date(2026, 10, 1))))
        o = next((o for o in orders_of(u, after=dt.date(2026, 10, 1)) if o.seller.is_("producer")),
                 orders_of(u, after=dt.date(2026, 10, 1))[0])
        o.receive = False
        tagged(o, "R11out")
        o.seller.scenario = True
        self.scen["R11"] = o.seller
        # R11 (来源不明): a receipt nobody shipped
        self.scen["R11in"] = pick()
        # R12: delivery to a residential address
        u = pick()
        tagged(orders_of(u, after=dt.date(2026, 7, 1))[0], "R12").address_kind = "residential"
        self.scen["R12"] = u
        # R13: one order eight times the usual size (from a producer, so the stock is there)
        u = pick(lambda u: any(o.seller.is_("producer") and not o.seller.outside
                               for o in orders_of(u, after=dt.date(2026, 9, 1))))
        base = next((o for o in orders_of(u, after=dt.date(2026, 9, 1)) if o.seller.is_("producer")),
                    orders_of(u, after=dt.date(2026, 9, 1))[0])
        base.seller, base.kg, base.drums = from_producer(base), base.kg * 8, base.drums * 8   # same day, 8× the size
        base.batches = max(base.batches, 4)
        tagged(base, "R13")
        self.scen["R13"] = u
        # R14: a regular buyer starts ordering every four days
        u = pick()
        base = orders_of(u, after=dt.date(2026, 10, 15))[0]
        for k in range(1, 6):
            self.orders.append(tagged(Order(base.t + dt.timedelta(days=4 * k), from_producer(base), u, base.sub,
                                            base.kg, drums=base.drums, batches=2, span_days=4), "R14"))
        self.scen["R14"] = u
        # R19: cash
        u = pick(lambda u: True)
        tagged(next(o for o in orders_of(u) if o.t.date() >= dt.date(2026, 6, 1)), "R19").payment = "cash"
        self.scen["R19"] = u
        # R24: theft not reported (and a background theft that is reported in time)
        self.scen["R24"] = pick()
        self.loss_control = next(u for u in users if not u.scenario)
        # R25: no annual report for 2025
        u = pick(lambda u: True)
        u.annual_report = False
        self.scen["R25"] = u
        # R26: a high-risk and a medium-risk party with no inspection this year
        for grade in ("high", "medium"):
            u = pick(lambda u: True)
            u.risk, u.inspect_2026 = grade, False
            self.scen[f"R26{grade}"] = u
        # R31: a legal representative changed without re-filing; a filing about to expire
        t31 = next(t for t in self.traders[1:] if not t.scenario)
        t31.scenario, t31.changed_on = True, dt.date(2026, 6, 15)
        self.scen["R31"] = t31
        control = next((t for t in self.traders[1:] if not t.scenario), None)
        if control is not None:                       # changed and re-filed in time: no alert
            control.changed_on = dt.date(2026, 3, 10)
            self.refiled = control
        self.scen["R31exp"] = p = next(p for p in self.producers if "C3-04" in p.produces)
        p.scenario = True
        # R22: an inspection at the 姑苏 trader counts drums fewer than the book (the 台账)
        self.scen["R22"] = t0
        # R07 / R08: a shipment to 南京 without a transport filing; another with the wrong carrier
        nj, nj2 = self.nj_users[0], self.nj_users[-1]
        nj_sellers = {o.seller.key for o in self.orders if o.buyer.outside}
        t7 = next((t for t in self.traders if not t.scenario and t.key not in nj_sellers),
                  next(t for t in self.traders if t.key not in nj_sellers))
        o7 = orders_of(nj, after=dt.date(2026, 9, 1))[0]          # this one comes from a dealer without a
        o7.seller = t7                                            # transport filing for 南京
        t7.scenario = True
        tagged(o7, "R07")
        self.scen["R07"] = t7
        o8 = next(o for o in orders_of(nj2, after=dt.date(2026, 8, 1)) if o is not o7)
        o8.seller.scenario = True
        tagged(o8, "R08")                                         # …and this one with another carrier
        self.scen["R08"] = o8.seller
        # R20: an export to 缅甸 (MM, a 特定国家) without an export licence
        exporter = self.exporters[0]
        exporter.scenario = True
        mm = self.add_party(kinds=["importer"], industry="trading", district="", name="Yangon Golden Trading Co., Ltd.",
                            org_kind="none", country="MM", prefix="8837001", area="", outside=True)
        mm.sites = []
        self.foreign.append(mm)
        sub = self.export_plan[0].sub
        self.orders.append(tagged(Order(day(2026, 10, 20), exporter, mm, sub, 8 * PRODUCTS[sub][2], drums=8,
                                        receive=False), "R20"))
        self.scen["R20"] = exporter
        self.special_country_subs = {"MM": [sub]}
        # R21: an export to a country that requires a pre-export notification, dispatched before any answer
        late = [o for o in self.export_plan
                if o.buyer.country in DEMO_PEN_COUNTRIES and o.t.date() >= dt.date(2026, 9, 1)]
        if late:
            tagged(late[0], "R21")
            late[0].seller.scenario = True
        # dedicated parties: their whole story is the scenario
        streets = list(SUZHOU_DISTRICTS)
        # R02 + R19 (+ R11 on the seller): an individual buys acetic anhydride for cash from a small dealer
        dealer = self.add_party(kinds=["trader"], industry="trading", district=r.choice(streets),
                                suffix="化工经营部", site_kind="shop", scenario=True)
        self._long_filing(dealer, "trade_filing", {"C2-02": None}, "苏公易经备", "苏州市公安局")
        person = self.add_party(kinds=["individual"], industry="", district=dealer.district, name="陈某（个人）",
                                org_kind="none", scenario=True, annual_report=False, inspect_2026=False)
        person.ident, person.sites = f"urn:jindu:person:{uuid.uuid5(NS, 'person-chen')}", []
        self.orders.append(Order(day(2026, 8, 3), ac2o, dealer, "C2-02", 430, drums=2, receive=True))
        self.orders.append(tagged(Order(day(2026, 8, 21), dealer, person, "C2-02", 30, drums=None, receive=False,
                                        payment="cash"), "R02"))
        self.scen["R02"], self.scen["R02seller"] = person, dealer
        # R15: two linked companies (same legal representative and phone) split acetic anhydride below 50 kg
        rep, phone = self.person(), self.phone()
        pair = []
        for k in range(2):
            q = self.add_party(kinds=["user"], industry="pharma", district="320507", suffix="医药科技有限公司",
                               scenario=True, output_m=3)
            q.legal_rep, q.phone = rep, phone
            q.link_keys = [f"phone:{phone}", f"rep:{rep}"]
            pair.append(q)
            self.orders.append(tagged(Order(day(2026, 9, 7 + 9 * k), ac2o, q, "C2-02", 40, drums=None, batches=2,
                                            span_days=10), "R15"))
            self.add_pf(q, ac2o, {"C2-02": 200}, dt.date(2026, 9, 1) + dt.timedelta(days=5 * k), dt.date(2027, 8, 31))
        self.scen["R15"], self.scen["R15b"] = pair
        # R16: one buyer, three suppliers of acetone in six weeks, far above its declared need
        multi = self.add_party(kinds=["user"], industry="electronics", district="320571",
                               suffix="光电科技有限公司", scenario=True, output_m=4)
        multi.declared = {"C3-02": 600}
        suppliers = [acetone_prod] + [t for t in self.traders if "C3-02" in self.trader_subs[t.key]
                                      and t is not t0][:2]
        for k, sup in enumerate(suppliers):
            self.orders.append(tagged(Order(day(2026, 9, 10) + dt.timedelta(days=14 * k), sup, multi, "C3-02", 320,
                                            drums=2, batches=2,
                                            span_days=14), "R16"))
        self.scen["R16"], self.scen["R16sellers"] = multi, suppliers
        # R17: phenylacetic acid and acetic anhydride within two weeks (P-2-P route kit)
        kit = self.add_party(kinds=["trader"], industry="trading", district="320507", suffix="商贸有限公司",
                             scenario=True, site_kind="warehouse")
        self._long_filing(kit, "trade_filing", {"C2-01": None, "C2-02": None}, "苏公易经备", "苏州市公安局")
        self.orders.append(tagged(Order(day(2026, 10, 5), paa, kit, "C2-01", 100, drums=4), "R17"))
        self.orders.append(tagged(Order(day(2026, 10, 16), ac2o, kit, "C2-02", 215, drums=1), "R17"))
        self.scen["R17"] = kit
        # R18: a company incorporated in July buys chloroform (Cat 2) within 180 days
        young = self.add_party(kinds=["user"], industry="pharma", district="320506", suffix="生物科技有限公司",
                               scenario=True, registered_on=dt.date(2026, 7, 20), annual_report=False, output_m=3)
        young.risk = "low"          # graded frequency would ask for inspections before it existed (see R26)
        chcl3 = next(p for p in self.producers if "C2-03" in p.produces)
        for d_ in (dt.date(2026, 9, 10), dt.date(2026, 10, 22)):
            self.orders.append(tagged(Order(_d(d_, 10), chcl3, young, "C2-03", 250, drums=1, batches=2,
                                            span_days=20), "R18"))
        self.scen["R18"] = young
        # R27: a filing holder whose registered site is a flat
        shell = self.add_party(kinds=["trader"], industry="trading", district="320505", suffix="化工贸易有限公司",
                               scenario=True, site_kind="office", residential=True)
        shell.sites[0] = (shell.sites[0][0], f"{shell.name}注册地址", "office", shell.area)
        self._long_filing(shell, "trade_filing", {"C3-02": None, "C3-01": None}, "苏公易经备", "苏州市公安局")
        self.scen["R27"] = shell
        # R28: a trading company owns a benchtop NMR
        nmr_trader = self.add_party(kinds=["trader"], industry="trading", district="320509",
                                    suffix="化工贸易有限公司", scenario=True, site_kind="warehouse")
        self._long_filing(nmr_trader, "trade_filing", {"C3-02": None}, "苏公易经备", "苏州市公安局")
        self.scen["R28"] = nmr_trader
        # R30: 4-piperidone (watch list) bought by a company with no history
        watch = self.add_party(kinds=["user"], industry="pharma_rnd", district="320583", suffix="医药中间体有限公司",
                               scenario=True, output_m=3)
        self.orders.append(tagged(Order(day(2026, 10, 28), paa, watch, "W-01", 50, drums=2, batches=1,
                                        span_days=10), "R30"))
        self.scen["R30"] = watch
        for q in (multi, young, watch, *pair):
            self.user_subs[q.key] = sorted({o.sub for o in self.orders if o.buyer is q})

    def upstream(self) -> None:
        """Traders and exporters buy from producers on a fixed cadence and a fixed size, early enough that they
        never sell stock they do not have (checked here, and again when the events are written)."""
        r = self.rng
        by_holder: dict[tuple, list[Order]] = defaultdict(list)
        for o in self.orders:
            if "producer" not in o.seller.kinds and o.seller.kinds != ["user"] and not o.seller.is_("individual"):
                by_holder[(o.seller.key, o.sub)].append(o)
        pmap = {p.key: p for p in self.parties}
        stockists = {p.key for p in self.traders + self.exporters}
        for (key, sub), down in sorted(by_holder.items()):
            holder = pmap[key]
            if key not in stockists:
                continue                        # the dedicated dealer's single purchase is planned with it
            down.sort(key=lambda o: o.t)
            total = sum(o.kg for o in down)
            span = max(30.0, (down[-1].t - down[0].t).total_seconds() / 86400)
            drum = PRODUCTS[sub][2]
            rate = 1.15 * total / span                      # kg a day, with a 15% margin
            period = min(56, max(self.sizes["trader_period"], math.ceil(2 * drum / rate)))
            q = max(2, math.ceil(rate * period / drum)) * drum
            producers = self.producers_of(sub)
            sups = [r.choice(producers)]
            if len(producers) > 1 and r.random() < 0.4:
                sups.append(next(p for p in producers if p is not sups[0]))
            first = down[0].t - dt.timedelta(days=20)
            lead = dt.timedelta(hours=30)
            # smallest number of extra early orders that keeps the stock ≥ 0 at every sale
            times = []
            t = first
            while t < down[-1].t:
                times.append(t)
                t += dt.timedelta(days=period)
            arrivals = [x + lead for x in times]
            deficit, i, have, sold = 0, 0, 0, 0
            for o in down:
                while i < len(arrivals) and arrivals[i] <= o.t - dt.timedelta(hours=2):
                    have += q
                    i += 1
                sold += o.kg
                deficit = max(deficit, sold - have)
            extra = math.ceil(deficit / q)
            start = first - dt.timedelta(days=period * extra)
            earliest = _d(EARLIEST, 10)
            while start < earliest:
                start += dt.timedelta(days=period)
                q += drum * 2
            t, k = start, 0
            while t < down[-1].t:
                self.orders.append(Order(t, sups[k % len(sups)], holder, sub, q, drums=q // drum, lead_h=30))
                t += dt.timedelta(days=period)
                k += 1
            holder.declared[sub] = _roundup(1.6 * q * 365 / period, 100)

    def permits(self) -> None:
        """Purchase filings per (buyer, seller, calendar year), drug proofs, transport filings, export licences;
        the permit numbers each order cites; declared annual needs."""
        r = self.rng
        per_year: dict[tuple, float] = defaultdict(float)
        yearly_kg: dict[tuple, float] = defaultdict(float)
        for o in self.orders:
            if o.buyer.domestic and not o.buyer.is_("individual") and o.sub != "W-01" and o.sub != "C1-12b":
                per_year[(o.buyer.key, o.seller.key, o.t.year, o.sub)] += o.kg
            if o.buyer.domestic and o.t.date() >= dt.date(2025, 12, 1):
                yearly_kg[(o.buyer.key, o.sub)] += o.kg
        pmap = {p.key: p for p in self.parties}
        skip = {self.scen["R15"].key, self.scen["R15b"].key}
        caps: dict[tuple, dict] = defaultdict(dict)
        for (b, s_, year, sub), kg in per_year.items():
            if b in skip:
                continue
            cap = _roundup(1.5 * kg + 2 * PRODUCTS[sub][2], 100)
            if b == self.scen["R04"].key and year == 2026:
                cap = _roundup(0.45 * kg, 100)
            caps[(b, s_, year)][sub] = cap
        r05 = self.scen["R05"]
        r01 = self.scen["R01"]
        for (b, s_, year), subs in sorted(caps.items(), key=lambda x: (x[0][0], x[0][1], x[0][2])):
            buyer, seller = pmap[b], pmap[s_]
            if buyer is r01 and seller is self.traders[0]:
                subs = {k: v for k, v in subs.items() if k != self.r01_sub}   # bought without a filing
                if not subs:
                    continue
            if buyer is self.scen["R01b"] and seller is self.scen["R03"]:
                continue                                                    # no filing for the resale either
            valid_from, valid_to = dt.date(year, 1, 1), dt.date(year, 12, 31)
            if buyer is r05 and year == 2026:
                valid_from, valid_to = dt.date(2026, 2, 1), dt.date(2027, 1, 31)
            self.add_pf(buyer, seller, subs, valid_from, valid_to)
        for p in self.parties:                  # declared annual requirement: 1.6 × the last twelve months
            for (b, sub), kg in yearly_kg.items():
                if b == p.key and sub not in p.declared:
                    p.declared[sub] = _roundup(1.6 * kg, 100)
        # the permits each order cites
        for o in self.orders:
            if not o.buyer.domestic:
                continue
            day = o.t.date()
            if o.sub == "C1-12b":
                proof = self.add_auth(number=self.auth_no("苏药监购证", day.year), type="drug_purchase_proof",
                                      holder=o.buyer, substances={"C1-12b": o.kg}, counterparty=o.seller,
                                      valid_from=day - dt.timedelta(days=r.randint(3, 10)),
                                      valid_to=day + dt.timedelta(days=80), uses_allowed=1,
                                      issuer="苏州市市场监督管理局")
                o.permits.append(proof.number)
            else:
                cited = self.filing_for(o.buyer, o.seller, o.sub, day)
                if o.buyer is r05 and day < dt.date(2026, 2, 1):
                    cited = cited or next((a for a in self.pf[(o.buyer.key, o.seller.key)]
                                           if a.valid_from.year == 2025), None)
                if cited is not None:
                    o.permits.append(cited.number)
            cross = o.seller.area[:4] != o.buyer.area[:4]
            if cross and "R07" not in o.tag:
                carrier = o.carrier or self.carriers[0]
                o.carrier = carrier
                tf = self.transport_filing(o.seller, o.buyer, o.sub, day, carrier)
                o.permits.append(tf.number)
                if "R08" in o.tag:
                    o.carrier = next(c for c in self.carriers if c is not tf.carrier)
        for o in self.export_plan:
            day = o.t.date()
            lic = self.add_auth(number=self.auth_no("商务易出", day.year), type="export_licence", holder=o.seller,
                                substances={o.sub: o.kg}, counterparty=o.buyer, destination_country=o.buyer.country,
                                valid_from=day - dt.timedelta(days=r.randint(5, 15)), valid_to=day + dt.timedelta(days=80),
                                uses_allowed=1, issuer="中华人民共和国商务部")
            o.permits.append(lic.number)
        # trade filings of traders and exporters (their substances), long-standing
        for p in self.traders + self.exporters:
            subs = {o.sub: None for o in self.orders if o.seller is p}
            subs.update({o.sub: None for o in self.orders if o.buyer is p})
            self._long_filing(p, "trade_filing", subs or {"C3-02": None}, "苏公易经备", "苏州市公安局")
        exp = self.trade_auth[self.scen["R31exp"].key]      # the KMnO4 producer's filing expires in January
        exp.valid_from, exp.valid_to = dt.date(2024, 1, 21), dt.date(2027, 1, 20)

    def add_pf(self, buyer: P, seller: P, subs: dict, valid_from: dt.date, valid_to: dt.date) -> A:
        issuer = "南京市公安局" if buyer.outside else "苏州市公安局"
        a = self.add_auth(number=self.auth_no("宁公易购备" if buyer.outside else "苏公易购备", valid_from.year),
                          type="purchase_filing", holder=buyer, substances=dict(subs), counterparty=seller,
                          valid_from=valid_from, valid_to=valid_to, issuer=issuer)
        self.pf[(buyer.key, seller.key)].append(a)
        return a

    def filing_for(self, buyer: P, seller: P, sub: str, day: dt.date) -> A | None:
        for a in self.pf.get((buyer.key, seller.key), ()):
            if sub in a.substances and a.valid_from <= day <= a.valid_to:
                return a
        return None

    def transport_filing(self, seller: P, buyer: P, sub: str, day: dt.date, carrier: P) -> A:
        half = (day.month - 1) // 6
        valid_from = dt.date(day.year, 1 + 6 * half, 1)
        valid_to = dt.date(day.year, 6, 30) if half == 0 else dt.date(day.year, 12, 31)
        for a in self.tf[(seller.key, buyer.key)]:
            if a.valid_from == valid_from and sub in a.substances:
                return a
        issuer = "南京市公安局" if seller.outside else "苏州市公安局"
        a = self.add_auth(number=self.auth_no("宁公易运备" if seller.outside else "苏公易运备", day.year),
                          type="transport_filing", holder=seller, substances={sub: None}, consignee=buyer,
                          carrier=carrier, origin_area=seller.area, destination_area=buyer.area,
                          valid_from=valid_from, valid_to=valid_to, issuer=issuer)
        self.tf[(seller.key, buyer.key)].append(a)
        return a

    def plan(self, hospitals: dict) -> None:
        self.registry(hospitals)
        self.flows()
        self.scenarios()
        self.upstream()
        self.permits()
        self.orders.sort(key=lambda o: o.t)


# ------------------------------------------------------------------------------------------- writing the events
class Writer:
    """Turns the plan into EPCIS documents (captured in batches), filings, inspections and scenario facts, keeping
    each party's stock lot by lot so counts and inspections report the book exactly."""

    def __init__(self, plan: Planner, seed: int, users: dict, registry):
        self.plan, self.users, self.registry = plan, users, registry
        self.rng = random.Random(seed * 11 + 61)
        self.seed = seed
        self.n = 0
        self.buffers: dict[str, list] = {"city": [], "province": []}
        self.captured = 0
        self.documents = 0
        self.inv: dict[tuple, deque] = defaultdict(deque)      # (party key, substance) → [[lot, kg], …]
        self.drums: dict[tuple, deque] = defaultdict(deque)    # (party key, substance) → drum SGTINs
        self.serial: dict[str, int] = defaultdict(int)
        self.lot_seq: dict[str, int] = defaultdict(int)
        self.filings: list[tuple] = []                          # (kind, party, submitted_at, reference, year, status)
        self.inspections: list[dict] = []
        self.heap: list = []
        self.seq = 0
        self.scenarios: list[dict] = []
        self.counts = defaultdict(int)
        self.thefts: dict = {}
        self.r09_done = False
        self.n_waybill = 0

    # --- helpers -----------------------------------------------------------------------------------------------
    def eid(self) -> str:
        self.n += 1
        return f"urn:uuid:{uuid.uuid5(NS, f'{self.seed}:{self.plan.scale}:{self.n}')}"

    def push(self, t: dt.datetime, kind: str, payload) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, payload))

    def emit(self, ev: dict, owner: P) -> None:
        """Queue an event of ``owner``: the city's feed captures its enterprises' events, the province exchange
        those of parties outside the city (a city office cannot capture for them)."""
        feed = "province" if owner.outside else "city"
        buffer = self.buffers[feed]
        buffer.append(ev)
        self.counts[ev["type"] + ":" + ev.get("bizStep", ev.get("disposition", ""))] += 1
        if len(buffer) >= DOC_EVENTS:
            self.flush(feed)

    def flush(self, feed: str) -> None:
        from .capture import capture

        buffer = self.buffers[feed]
        if not buffer:
            return
        doc = {"@context": [EPCIS_CONTEXT, {"jindu": JINDU_NS}], "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": AS_OF.isoformat(), "sender": f"urn:jindu:demo:{feed}", "epcisBody": {"eventList": buffer}}
        result = capture(doc, user=self.users[feed], channel="demo", run_rules=False, registry=self.registry)
        if len(result.new_ids) != len(buffer):
            raise DemoPlanError(f"capture stored {len(result.new_ids)} of {len(buffer)} events")
        self.captured += len(result.new_ids)
        self.documents += 1
        self.buffers[feed] = []

    @staticmethod
    def base(eid: str, kind: str, t: dt.datetime) -> dict:
        return {"type": kind, "eventID": eid, "eventTime": t.isoformat(timespec="seconds"),
                "eventTimeZoneOffset": "+08:00"}

    def stock(self, p: P, sub: str) -> int:
        return sum(kg for _lot, kg in self.inv[(p.key, sub)])

    def draw(self, p: P, sub: str, kg: int) -> list[tuple[str, int]]:
        q, out = self.inv[(p.key, sub)], []
        while kg > 0:
            if not q:
                raise DemoPlanError(f"{p.name} has no {sub} left ({kg} kg short)")
            lot = q[0]
            take = min(kg, lot[1])
            out.append((lot[0], take))
            lot[1] -= take
            kg -= take
            if lot[1] == 0:
                q.popleft()
        return out

    def put(self, p: P, sub: str, lots: list[tuple[str, int]]) -> None:
        q = self.inv[(p.key, sub)]
        for lot, kg in lots:
            if q and q[-1][0] == lot:
                q[-1][1] += kg
            else:
                q.append([lot, kg])

    @staticmethod
    def qty(lots) -> list[dict]:
        return [{"epcClass": lot, "quantity": kg, "uom": "KGM"} for lot, kg in lots]

    def note(self, rule: str, party: P, key: str = "", note: str = "", involved=()) -> None:
        self.scenarios.append({"rule": rule, "party": party.ident, "key_contains": key, "note": note,
                               "involved": [q.ident for q in involved]})

    # --- actions -----------------------------------------------------------------------------------------------
    def commission(self, p: P, sub: str, kg: int, t: dt.datetime) -> None:
        drum = PRODUCTS[sub][2]
        kg = max(LOT_DRUMS * drum, _roundup(kg, drum))
        self.lot_seq[p.key] += 1
        lot_no = f"{t:%y%m%d}{self.lot_seq[p.key]:03d}"
        lot = f"urn:epc:class:lgtin:{p.prefix}.{PRODUCTS[sub][0]}.{lot_no}"
        ev = self.base(self.eid(), "ObjectEvent", t)
        ev.update(action="ADD", bizStep="commissioning", disposition="active", quantityList=self.qty([(lot, kg)]),
                  readPoint={"id": p.site}, bizLocation={"id": p.site},
                  ilmd={"cbvmda:lotNumber": lot_no, "cbvmda:productionDate": t.date().isoformat(),
                        "cbvmda:itemExpirationDate": (t.date() + dt.timedelta(days=730)).isoformat()})
        self.emit(ev, p)
        self.put(p, sub, [(lot, kg)])

    def pack(self, p: P, sub: str, n: int, t: dt.datetime) -> tuple[str, list[str]]:
        key = (p.key, sub)
        if p.is_("producer") or p.kinds == ["user"]:
            drums = []
            for _ in range(n):
                self.serial[p.key] += 1
                drums.append(f"urn:epc:id:sgtin:{p.prefix}.{PRODUCTS[sub][0]}.{self.serial[p.key]}")
        else:
            if len(self.drums[key]) < n:
                raise DemoPlanError(f"{p.name} has {len(self.drums[key])} drums of {sub}, ships {n}")
            drums = [self.drums[key].popleft() for _ in range(n)]
        self.serial[p.key + "sscc"] += 1
        sscc = f"urn:epc:id:sscc:{p.prefix}.{self.serial[p.key + 'sscc']:010d}"
        ev = self.base(self.eid(), "AggregationEvent", t)
        ev.update(action="ADD", bizStep="packing", disposition="in_progress", parentID=sscc, childEPCs=drums,
                  readPoint={"id": p.site}, bizLocation={"id": p.site})
        self.emit(ev, p)
        return sscc, drums

    def ship(self, o: Order) -> None:
        seller, buyer, t = o.seller, o.buyer, o.t
        if seller.is_("producer") and o.sub in seller.produces and self.stock(seller, o.sub) < o.kg:
            self.commission(seller, o.sub, o.kg - self.stock(seller, o.sub), t - dt.timedelta(hours=3))
        lots = self.draw(seller, o.sub, o.kg)
        sscc, drums = (None, [])
        if o.drums:
            sscc, drums = self.pack(seller, o.sub, o.drums, t - dt.timedelta(minutes=50))
        self.n_waybill += 1
        waybill = o.waybill = f"WB{t:%Y%m%d}{self.n_waybill:05d}"
        eid = self.eid()
        ev = self.base(eid, "ObjectEvent", t)
        src = [{"type": "owning_party", "source": seller.ident}, {"type": "location", "source": seller.site}]
        dst = [{"type": "owning_party", "destination": buyer.ident}]
        if buyer.sites:
            dst.append({"type": "location", "destination": buyer.site})
        ev.update(action="OBSERVE", bizStep="shipping", disposition="in_transit", readPoint={"id": seller.site})
        if sscc:
            ev["epcList"] = [sscc]
        ev["quantityList"] = self.qty(lots)
        ev.update(sourceList=src, destinationList=dst,
                  bizTransactionList=[{"type": "po", "bizTransaction": f"urn:jindu:po:{buyer.prefix}-{waybill[2:]}"},
                                      {"type": "bol", "bizTransaction": f"urn:jindu:waybill:{waybill}"}])
        ev["jindu:waybillNo"] = waybill
        if o.permits:
            ev["jindu:permitNo"] = " ".join(o.permits)
        ev["jindu:paymentMethod"] = o.payment
        if o.carrier is not None:
            ev["jindu:carrier"] = o.carrier.ident
        if seller.is_("producer") and o.sub in seller.produces:
            ev["jindu:ownProduction"] = True
        if o.address_kind:
            ev["jindu:deliveryAddressKind"] = o.address_kind
        export = not buyer.domestic
        if export:
            ev["bizTransactionList"].append({"type": "jindu:export_declaration",
                                             "bizTransaction": f"urn:jindu:cusdec:{waybill}"})
            ev["jindu:destCountry"] = buyer.country
            ev["jindu:customsKg"] = o.kg
            ev["jindu:customsHS"] = PRODUCTS[o.sub][5]
        self.emit(ev, seller)
        tx = f"{eid}#{o.sub}"
        if export and buyer.country in DEMO_PEN_COUNTRIES and "R21" not in o.tag:
            # the pre-export notification, acknowledged by the importing country before dispatch (R21)
            self.filings.append(("pen", seller, t - dt.timedelta(days=12), tx, None, "acknowledged"))
        # the sales filing (domestic sales of listed substances)
        if not export and o.sub != "W-01":
            if o.sales_delay_h == -1.0:
                hours = self.rng.uniform(20, 60) if o.sub.startswith("C1") else self.rng.uniform(20, 240)
            else:
                hours = o.sales_delay_h
            if hours is not None and t + dt.timedelta(hours=hours) <= EVENT_END:
                self.filings.append(("sales_filing", seller, t + dt.timedelta(hours=hours), tx, None, "accepted"))
        if o.receive and t + dt.timedelta(hours=o.lead_h) <= EVENT_END:
            self.push(t + dt.timedelta(hours=o.lead_h), "receive", (o, lots, sscc, drums, waybill))
        self.tags(o, eid, tx)

    def tags(self, o: Order, eid: str, tx: str) -> None:
        sc = self.plan.scen
        for tag in o.tag.split():
            if tag == "R01":
                self.note("R01", o.buyer, tx, f"购买{PRODUCTS[o.sub][1]}无对应购买备案")
            elif tag == "R03":
                self.note("R03", o.seller, tx, f"使用单位转售{PRODUCTS[o.sub][1]}，无经营备案", involved=[o.buyer])
                self.note("R01", o.buyer, tx, f"向无资质单位购买{PRODUCTS[o.sub][1]}，无对应购买备案",
                          involved=[o.seller])
            elif tag == "R11out":
                self.note("R11", o.seller, f"out|{tx}", "发货后买方未收货（去向不明）", involved=[o.buyer])
                self.note("R23", o.seller, "", "托盘SSCC发货后无收货记录")
            elif tag == "R12":
                self.note("R12", o.buyer, tx, "送货至住宅地址")
            elif tag == "R13":
                self.note("R13", o.buyer, f"size|{tx}", "单笔采购量为平时8倍")
            elif tag == "R19":
                self.note("R19", o.buyer, tx, "现金支付")
            elif tag == "R07":
                self.note("R07", o.seller, tx, "跨设区的市运输丙酮无运输备案", involved=[o.buyer])
            elif tag == "R08":
                self.note("R08", o.seller, tx, "承运方与运输备案不符", involved=[o.buyer])
            elif tag == "R20":
                self.note("R20", o.seller, f"{tx}:export_licence", "向缅甸出口无出口许可证")
                self.note("R20", o.seller, f"{tx}:special_country", "向特定国家缅甸出口，无专项出口许可（演示目录）")
            elif tag == "R21":
                self.note("R21", o.seller, f"{tx}:pen",
                          f"出口至{o.buyer.country}前未收到进口国对出口前通知的确认（演示参数）")
            elif tag == "R02":
                self.note("R02", o.buyer, tx, "个人购买第二类易制毒化学品", involved=[o.seller])
                self.note("R19", o.buyer, tx, "个人现金购买醋酸酐", involved=[o.seller])
                self.note("R11", o.seller, f"out|{tx}", "卖给个人，无收货记录", involved=[o.buyer])
            elif tag == "R30":
                self.note("R30", o.buyer, tx, "购买关注清单化学品4-哌啶酮")
            elif tag == "R14":
                self.note("R14", o.buyer, f"{o.buyer.ident}|{o.sub}|", "每4天订购一次，频次骤增")
            elif tag == "R15" and o.buyer is sc["R15"]:
                self.note("R15", o.buyer, f"{o.buyer.ident}|C2-02|", "关联企业分拆购买醋酸酐，单笔均低于50 kg",
                          involved=[sc["R15b"]])
                self.note("R15", o.buyer, f"filings|{o.buyer.ident}|", "关联企业30天内分别向同一卖方办理购买备案",
                          involved=[sc["R15b"]])
            elif tag == "R16" and o.seller is sc["R16sellers"][0]:
                self.note("R16", o.buyer, f"{o.buyer.ident}|C3-02|", "90天内从3家卖方购买丙酮，超过申报需求")
                self.note("R13", o.buyer, f"alr|{o.buyer.ident}|C3-02|", "12个月购买量超过申报年需求×1.2")
            elif tag == "R17":
                self.note("R17", o.buyer, f"{o.buyer.ident}|kit0|", "30天内购买苯乙酸和醋酸酐（P-2-P路线配套）")
            elif tag == "R18":
                self.note("R18", o.buyer, f"new|{o.buyer.ident}|C2-03", "成立不足180天购买第二类易制毒化学品")
        if o.buyer is sc["R04"] and o.t.year == 2026 and not any(s["rule"] == "R04" for s in self.scenarios):
            self.note("R04", o.buyer, "", "2026年购买备案证明许可量远小于实际购买量")
        if (o.buyer is sc["R05"] and dt.date(2026, 1, 1) <= o.t.date() < dt.date(2026, 2, 1)
                and not any(s["rule"] == "R05" for s in self.scenarios)):
            self.note("R05", o.buyer, tx, "引用已过期的2025年购买备案证明")
            self.note("R01", o.buyer, tx, "2026年1月无有效购买备案")
        if o.seller is sc["R06"] and o.sales_delay_h != -1.0:
            self.note("R06", o.seller, tx, "销售备案逾期或未备案")

    def receive(self, o: Order, lots, sscc, drums, waybill, t: dt.datetime) -> None:
        buyer, seller = o.buyer, o.seller
        ev = self.base(self.eid(), "ObjectEvent", t)
        ev.update(action="OBSERVE", bizStep="receiving", disposition="in_progress", readPoint={"id": buyer.site},
                  bizLocation={"id": buyer.site})
        if sscc:
            ev["epcList"] = [sscc]
        ev["quantityList"] = self.qty(lots)
        ev.update(sourceList=[{"type": "owning_party", "source": seller.ident},
                              {"type": "location", "source": seller.site}],
                  destinationList=[{"type": "owning_party", "destination": buyer.ident},
                                   {"type": "location", "destination": buyer.site}],
                  bizTransactionList=[{"type": "po", "bizTransaction": f"urn:jindu:po:{buyer.prefix}-{waybill[2:]}"},
                                      {"type": "bol", "bizTransaction": f"urn:jindu:waybill:{waybill}"}])
        ev["jindu:waybillNo"] = waybill
        purchase = [n for n in o.permits if "购" in n]
        if purchase:
            ev["jindu:permitNo"] = purchase[0]
        self.emit(ev, buyer)
        self.put(buyer, o.sub, lots)
        theft = self.thefts.get(buyer.key)
        if theft and t.date() >= theft[0]:
            del self.thefts[buyer.key]                    # a drum stolen the night after a delivery
            self.push(t + dt.timedelta(hours=8), "loss", (buyer, o.sub, PRODUCTS[o.sub][2], theft[1]))
        if buyer is self.plan.scen["R09"] and t.date() >= dt.date(2026, 10, 1) and not self.r09_done:
            self.r09_done = True                          # a drum disappears without any record; a spot count
            self.push(t + dt.timedelta(hours=3), "spot_count", (buyer, o.sub, PRODUCTS[o.sub][2]))
        if sscc:
            un = self.base(self.eid(), "AggregationEvent", t + dt.timedelta(minutes=40))
            un.update(action="DELETE", bizStep="unpacking", disposition="in_progress", parentID=sscc,
                      childEPCs=drums, readPoint={"id": buyer.site}, bizLocation={"id": buyer.site})
            self.emit(un, buyer)
            if not buyer.is_("user") and not buyer.is_("research") and not buyer.is_("medical"):
                self.drums[(buyer.key, o.sub)].extend(drums)
        if o.batches:
            each = o.kg // o.batches
            for k in range(o.batches):
                kg = each if k < o.batches - 1 else o.kg - each * (o.batches - 1)
                when = t + dt.timedelta(days=1 + k * max(0.5, o.span_days - 1.5) / o.batches,
                                        hours=self.rng.uniform(0, 6))
                if when <= EVENT_END:
                    self.push(when, "consume", (buyer, o.sub, kg, o.no_output and k == 0))

    def consume(self, p: P, sub: str, kg: int, no_output: bool, t: dt.datetime) -> None:
        kg = min(kg, self.stock(p, sub))
        if kg <= 0:
            return
        lots = self.draw(p, sub, kg)
        ev = self.base(self.eid(), "TransformationEvent", t)
        ev.update(bizStep="commissioning", inputQuantityList=self.qty(lots))
        if no_output:                                  # a batch record with no output lot (R10)
            ev["transformationID"] = f"urn:jindu:batch:{p.prefix}:{t:%Y%m%d%H%M}"
        else:
            self.lot_seq[p.key + "out"] += 1
            out = f"urn:epc:class:lgtin:{p.prefix}.{p.product}{PRODUCTS[sub][0][-2:]}.{t:%y%m%d}{self.lot_seq[p.key + 'out']:03d}"
            ev["outputQuantityList"] = [{"epcClass": out, "quantity": kg * p.output_m, "uom": "KGM"}]
        ev.update(readPoint={"id": p.site}, bizLocation={"id": p.site})
        ev["jindu:declaredUse"] = {"pharma": "原料药合成溶剂", "coatings": "涂料稀释", "electronics": "清洗",
                                   "dye": "染料合成", "water_treatment": "水处理", "fragrance": "香料合成",
                                   "research": "科研实验", "testing_lab": "检测分析", "hospital": "临床检验"
                                   }.get(p.industry, "生产")
        self.emit(ev, p)
        if no_output:
            self.note("R10", p, ev["transformationID"], "消耗记录无对应产出批次")

    def count(self, p: P, t: dt.datetime) -> None:
        lots = [(lot, kg) for (key, _sub), q in sorted(self.inv.items()) if key == p.key for lot, kg in q if kg > 0]
        if not lots:
            return
        ev = self.base(self.eid(), "ObjectEvent", t)
        ev.update(action="OBSERVE", bizStep="cycle_counting", disposition="in_progress",
                  quantityList=self.qty(lots), readPoint={"id": p.site}, bizLocation={"id": p.site})
        self.emit(ev, p)

    def spot_count(self, p: P, sub: str, kg: int, t: dt.datetime) -> None:
        """R09: ``kg`` of ``sub`` vanish without a record; a spot count of that substance declares what is left."""
        self.draw(p, sub, min(kg, self.stock(p, sub)))
        lots = [(lot, q) for lot, q in self.inv[(p.key, sub)] if q > 0]
        if not lots:
            raise DemoPlanError(f"{p.name}: nothing left to count for R09")
        ev = self.base(self.eid(), "ObjectEvent", t)
        ev.update(action="OBSERVE", bizStep="cycle_counting", disposition="in_progress",
                  quantityList=self.qty(lots), readPoint={"id": p.site}, bizLocation={"id": p.site})
        self.emit(ev, p)
        self.note("R09", p, f"{p.ident}|{p.site}|{sub}|{t:%Y-%m}-01|gap",
                  f"{t:%m}月抽盘{PRODUCTS[sub][1]}比账面少{kg} kg")

    def loss(self, p: P, sub: str, kg: int, reported: bool, t: dt.datetime) -> None:
        kg = min(kg, self.stock(p, sub))
        if kg <= 0:
            raise DemoPlanError(f"{p.name}: nothing to steal")
        lots = self.draw(p, sub, kg)
        eid = self.eid()
        ev = self.base(eid, "ObjectEvent", t)
        ev.update(action="OBSERVE", disposition="stolen", quantityList=self.qty(lots), readPoint={"id": p.site},
                  bizLocation={"id": p.site})
        self.emit(ev, p)
        if reported:
            self.filings.append(("loss_report", p, t + dt.timedelta(hours=5), eid, None, "received"))
        else:
            self.note("R24", p, eid, f"{PRODUCTS[sub][1]}被盗未报告")

    def receipt_without_shipment(self, p: P, seller: P, sub: str, t: dt.datetime) -> None:
        lot = f"urn:epc:class:lgtin:{seller.prefix}.{PRODUCTS[sub][0]}.X{t:%y%m%d}"
        kg = PRODUCTS[sub][2] + 17                     # not a whole number of drums: it matches no shipment
        eid = self.eid()
        ev = self.base(eid, "ObjectEvent", t)
        ev.update(action="OBSERVE", bizStep="receiving", disposition="in_progress", quantityList=self.qty([(lot, kg)]),
                  readPoint={"id": p.site}, bizLocation={"id": p.site},
                  sourceList=[{"type": "owning_party", "source": seller.ident}],
                  destinationList=[{"type": "owning_party", "destination": p.ident},
                                   {"type": "location", "destination": p.site}],
                  bizTransactionList=[{"type": "bol", "bizTransaction": f"urn:jindu:waybill:WBX{t:%Y%m%d}"}])
        self.emit(ev, p)
        self.put(p, sub, [(lot, kg)])
        self.note("R11", p, f"in|{eid}#{sub}", "入库无对应出库（来源不明）", involved=[seller])

    def inspect(self, spec: dict, t: dt.datetime) -> None:
        p = spec["party"]
        counts = []
        for (key, sub), q in sorted(self.inv.items()):
            book = sum(kg for _lot, kg in q)
            if key == p.key and book > 0:
                counts.append([sub, book, book])
        if spec.get("short"):
            solid = [c for c in counts if c[0] not in ("C3-01", "C3-02", "C3-03", "C2-03", "C2-04")] or counts
            if not solid:
                raise DemoPlanError(f"{p.name}: nothing in stock at the R22 inspection")
            worst = max(solid, key=lambda c: c[2])
            drum = PRODUCTS[worst[0]][2]
            worst[1] = max(0, worst[2] - drum * max(2, math.ceil(0.02 * worst[2] / drum)))
            spec["short"] = (worst[0], worst[2] - worst[1])
            self.note("R22", p, "", f"检查盘点{PRODUCTS[worst[0]][1]}实物比账面少{spec['short'][1]} kg")
        counts = [tuple(c) for c in counts]
        spec["counts"] = counts
        spec["done_at"] = t
        self.inspections.append(spec)

    def run(self) -> None:
        plan = self.plan
        for o in plan.orders:
            if o.t <= EVENT_END:
                self.push(o.t, "order", o)
        holders = [p for p in plan.parties if p.sites and not p.is_("carrier") and not p.is_("warehouse")]
        month = dt.date(2025, 5, 1)
        while True:
            nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            end = _d(nxt - dt.timedelta(days=1), 21.5)
            if end > EVENT_END:
                break
            for p in holders:
                self.push(end, "count", p)
            month = nxt
        sc = plan.scen
        self.thefts = {sc["R24"].key: (dt.date(2026, 11, 1), False), plan.loss_control.key: (dt.date(2026, 8, 1), True)}
        sub = plan.user_subs[sc["R11in"].key][0]
        self.push(_d(dt.date(2026, 10, 26), 14.0), "receipt_only", (sc["R11in"], plan.producers_of(sub)[0], sub))
        for spec in self.plan_inspections():
            if spec.get("done_day"):
                self.push(_d(spec["done_day"], 10.0), "inspect", spec)
            else:
                self.inspections.append(spec)
        while self.heap:
            t, _seq, kind, payload = heapq.heappop(self.heap)
            if kind == "order":
                self.ship(payload)
            elif kind == "receive":
                self.receive(*payload, t)
            elif kind == "consume":
                self.consume(*payload, t)
            elif kind == "count":
                self.count(payload, t)
            elif kind == "loss":
                self.loss(*payload, t)
            elif kind == "spot_count":
                self.spot_count(*payload, t)
            elif kind == "receipt_only":
                self.receipt_without_shipment(*payload, t)
            elif kind == "inspect":
                self.inspect(payload, t)
        self.flush("city")
        self.flush("province")

    def plan_inspections(self) -> list[dict]:
        r = self.rng
        plan = self.plan
        out = []
        for p in plan.parties:
            if not p.domestic or p.is_("individual"):
                continue
            site = p.site if p.sites else None

            def inspectors(outside=p.outside):
                return "南京市公安局 刘强, 南京市公安局 孙涛" if outside else ", ".join(r.sample(POLICE, 2))

            if p.registered_on < dt.date(2025, 9, 1):
                out.append({"party": p, "site": site, "done_day": dt.date(2025, r.randint(9, 12), r.randint(1, 28)),
                            "inspectors": inspectors()})
            if p.registered_on > dt.date(2026, 1, 1):
                out.append({"party": p, "site": site, "done_day": dt.date(2026, 10, 12), "inspectors": inspectors()})
                continue
            if not p.inspect_2026:
                continue
            months = {"high": [(2, 3), (5, 6), (8, 9), (11, 11)], "medium": [(4, 5), (9, 10)]}.get(p.risk)
            if months is None:
                if r.random() < 0.12 and not p.scenario:
                    out.append({"party": p, "site": site, "planned_on": dt.date(2026, 12, r.randint(3, 20)),
                                "inspectors": inspectors()})
                    continue
                months = [(3, 11)]
            for lo, hi in months:
                d_ = dt.date(2026, r.randint(lo, hi), r.randint(1, 27))
                if d_ >= DEMO_DATE:
                    d_ = DEMO_DATE - dt.timedelta(days=3)
                out.append({"party": p, "site": site, "done_day": d_, "inspectors": inspectors()})
            if p is plan.scen["R22"]:
                out.append({"party": p, "site": site, "done_day": dt.date(2026, 9, 16), "inspectors": inspectors(),
                            "short": True})
        return out


# ----------------------------------------------------------------------------------------------- the database
def _bulk(model, objects: list, message: str) -> list:
    from core.audit import log_changes_bulk

    if not objects:
        return objects
    created = model.objects.bulk_create(objects, batch_size=1000)
    log_changes_bulk(created, "create", message=message)
    return created


def _feed_users() -> dict:
    from users.models import Role, User

    out = {}
    for feed, (username, full_name, area) in FEED_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, full_name=full_name, role=Role.objects.get(code="city_office"),
                        area_code=area, is_system_account=True)
            user.set_unusable_password()
            user.save(audit_message="demo: system account capturing precursor events")
        out[feed] = user
    return out


def _registry(plan: Planner) -> None:
    from orgs.choices import OrgType, Sector
    from orgs.models import Organization

    from .models import Party, ProductMapping, Site

    orgs = []
    for p in plan.parties:
        if p.org is not None or not p.domestic or p.outside or p.org_kind == "none":
            continue
        otype, sector = {"enterprise": (OrgType.ENTERPRISE, Sector.PRIVATE),
                         "university": (OrgType.OTHER, Sector.EDUCATION), "institute": (OrgType.OTHER, ""),
                         "hospital": (OrgType.MEDICAL, Sector.HEALTH)}[p.org_kind]
        org = Organization(name=p.name, type=otype, sector=sector, area_code=p.area, uscc=p.uscc, address=p.address,
                           contact_name=p.responsible, contact_phone=p.phone)
        org.full_clean()
        orgs.append(org)
        p.org = org
    _bulk(Organization, orgs, "demo: enterprises handling precursor chemicals")
    parties = []
    for p in plan.parties:
        party = Party(identifier=p.ident, uscc=p.uscc if p.org is None or p.org.uscc == p.uscc else None,
                      name=p.name, kinds=p.kinds, industry=p.industry, area_code=p.area, org=p.org,
                      address=p.address, legal_rep=p.legal_rep if p.domestic else "",
                      responsible_person=p.responsible if p.domestic else "", phone=p.phone if p.domestic else "",
                      registered_on=p.registered_on if p.domestic else None, changed_on=p.changed_on,
                      risk_grade=p.risk, residential_site=p.residential, declared_annual_kg=p.declared,
                      link_keys=p.link_keys if p.domestic and not p.is_("individual") else [], country=p.country)
        if p.domestic and p.uscc:
            party.full_clean(exclude=["org", "area_code"])
        parties.append(party)
    created = _bulk(Party, parties, "demo: precursor registry (一企一档)")
    for p, party in zip(plan.parties, created, strict=True):
        p.pk = party.pk
    sites = []
    for p, party in zip(plan.parties, created, strict=True):
        for sgln, name, kind, area in p.sites:
            safe = not p.residential
            sites.append(Site(party=party, identifier=sgln, name=name, kind=kind, area_code=area,
                              address=p.address, residential=p.residential, dedicated_store=safe, dual_lock=safe,
                              cctv=safe, alarm_to_police=safe and p.risk != "low"))
    _bulk(Site, sites, "demo: precursor sites")
    mappings = {}
    for p in plan.parties:
        for sub in p.produces:
            item, name, drum, package, density, _hs = PRODUCTS[sub]
            prefix = f"urn:epc:class:lgtin:{p.prefix}.{item}."
            mappings[prefix] = ProductMapping(prefix=prefix, substance_id=sub, product_name=f"{name}（{drum} kg/{package}）",
                                              concentration=1.0, density_kg_l=density)
    _bulk(ProductMapping, list(mappings.values()), "demo: product identifiers of the producers")


def _authorizations(plan: Planner) -> None:
    from .models import Authorization, Party

    pk = {p.key: p.pk for p in plan.parties}
    rows = []
    for a in plan.auths:
        status = "valid" if (a.valid_to is None or a.valid_to >= DEMO_DATE) else "expired"
        if a.uses_allowed == 1 and a.valid_to is not None and a.valid_to < DEMO_DATE:
            status = "used"
        rows.append(Authorization(number=a.number, type=a.type, holder_id=pk[a.holder.key], issuer=a.issuer,
                                  substances=a.substances,
                                  counterparty_id=pk[a.counterparty.key] if a.counterparty else None,
                                  consignee_id=pk[a.consignee.key] if a.consignee else None,
                                  carrier_id=pk[a.carrier.key] if a.carrier else None, origin_area=a.origin_area,
                                  destination_area=a.destination_area, destination_country=a.destination_country,
                                  valid_from=a.valid_from, valid_to=a.valid_to, uses_allowed=a.uses_allowed,
                                  status=status))
    # holders are fetched once so __str__ (audit repr) does not query per row
    holders = {x.pk: x for x in Party.objects.filter(pk__in={r.holder_id for r in rows})}
    for r in rows:
        r.holder = holders[r.holder_id]
    _bulk(Authorization, rows, "demo: licences, filings and permits")


def _filings(plan: Planner, writer: Writer) -> None:
    from .models import Filing, Party

    parties = {x.pk: x for x in Party.objects.all()}
    rows = []
    for kind, p, at, ref, year, status in writer.filings:
        rows.append(Filing(kind=kind, party=parties[p.pk], submitted_at=at, reference=ref, year=year, status=status))
    r = writer.rng
    for p in plan.parties:
        if not p.domestic or p.is_("individual") or p.registered_on.year >= 2026:
            continue
        if p.registered_on.year <= 2024:
            rows.append(Filing(kind="annual_report", party=parties[p.pk], year=2024, status="accepted",
                               submitted_at=_d(dt.date(2025, r.randint(1, 3), r.randint(1, 28)), 15)))
        if p.annual_report:
            rows.append(Filing(kind="annual_report", party=parties[p.pk], year=2025, status="accepted",
                               submitted_at=_d(dt.date(2026, r.randint(1, 3), r.randint(1, 25)), 15),
                               note="年度易制毒化学品生产、经营、购买、运输和进出口情况报告"))
        else:
            writer.note("R25", p, f"{p.ident}|2025", "未报送2025年度报告")
    for grade in ("high", "medium"):
        p = plan.scen[f"R26{grade}"]
        writer.note("R26", p, f"{p.ident}|2026|", f"风险等级{grade}，本年度未开展现场检查")
    writer.note("R27", plan.scen["R27"], f"{plan.scen['R27'].ident}|geo", "持有备案但注册地址为住宅")
    control = getattr(plan, "refiled", None)
    if control is not None:
        rows.append(Filing(kind="refiling", party=parties[control.pk], status="accepted",
                           submitted_at=_d(control.changed_on + dt.timedelta(days=20), 10),
                           note="法定代表人变更后重新备案"))
    writer.note("R31", plan.scen["R31"], f"refiling:{plan.scen['R31'].ident}", "变更法定代表人后未重新备案")
    exp = plan.trade_auth[plan.scen["R31exp"].key]
    writer.note("R31", plan.scen["R31exp"], f"expiry:{exp.number}", "生产备案将于2027年1月到期")
    _bulk(Filing, rows, "demo: sales filings, annual reports and loss reports")


def _inspections(plan: Planner, writer: Writer) -> None:
    from .models import Inspection, Party, Site, StockCheck
    from .services import CHECKLIST

    parties = {x.pk: x for x in Party.objects.all()}
    sites = {s.identifier: s for s in Site.objects.all()}
    r = writer.rng
    rows, checks = [], []
    for spec in writer.inspections:
        p = spec["party"]
        insp = Inspection(party=parties[p.pk], site=sites.get(spec["site"]), inspectors=spec["inspectors"])
        if spec.get("planned_on"):
            insp.planned_on, insp.status = spec["planned_on"], "planned"
        else:
            done = spec["done_at"]
            checklist = {code: "ok" for code, _label in CHECKLIST}
            insp.planned_on, insp.done_at, insp.on_site = done.date() - dt.timedelta(days=r.randint(5, 20)), done, True
            insp.status, insp.findings = "done", "现场检查未发现问题，台账与实物相符。"
            if spec.get("short"):
                checklist["ledger"] = "bad"
                insp.status, insp.rectify_by = "rectifying", done.date() + dt.timedelta(days=30)
                insp.findings = f"盘点{PRODUCTS[spec['short'][0]][1]}实物比台账少{spec['short'][1]} kg，责令说明去向并整改。"
            elif r.random() < 0.06:
                checklist["labels"] = "bad"
                insp.status, insp.rectify_by = "rechecked", done.date() + dt.timedelta(days=15)
                insp.rechecked_on, insp.recheck_passed = done.date() + dt.timedelta(days=12), True
                insp.findings = "部分包装标签未标明成分，已责令整改；复查合格。"
            insp.checklist = checklist
        rows.append(insp)
        spec["row"] = insp
    _bulk(Inspection, rows, "demo: on-site inspections")
    for spec in writer.inspections:
        for sub, counted, book in spec.get("counts", ()):
            checks.append(StockCheck(inspection=spec["row"], substance_id=sub, counted_kg=counted, book_kg=book))
    _bulk(StockCheck, checks, "demo: stock counted at inspections")


def _equipment(plan: Planner, writer: Writer) -> None:
    from .models import Equipment, EquipmentTransfer, Party, Site

    parties = {x.pk: x for x in Party.objects.all()}
    sites = {s.identifier: s for s in Site.objects.all()}
    rows = []
    models_ = [("Bruker", "AVANCE NEO 400", 400.0, False), ("JEOL", "JNM-ECZ500R", 500.0, False),
               ("Bruker", "AVANCE III HD 600", 600.0, False), ("Magritek", "Spinsolve 60", 60.0, True)]
    owners = [p for p in plan.research if p.nmr] + plan.labs
    for i, p in enumerate(owners):
        make, model, mhz, bench = models_[i % len(models_)]
        rows.append(Equipment(type="nmr", make=make, model=model, serial=f"{make[:2].upper()}{2018 + i % 6}{i:04d}",
                              field_mhz=mhz, benchtop=bench, owner=parties[p.pk], site=sites[p.site],
                              area_code=p.area, acquired_on=dt.date(2016 + i % 8, 1 + i % 12, 15),
                              purpose="结构鉴定与教学科研" if p.is_("research") else "委托检测"))
    bad = plan.scen["R28"]
    rows.append(Equipment(type="nmr", make="Nanalysis", model="60PRO", serial="NA60P2025117", field_mhz=60.0,
                          benchtop=True, owner=parties[bad.pk], site=sites[bad.site], area_code=bad.area,
                          acquired_on=dt.date(2025, 11, 17), purpose="原料质量检验"))
    writer.note("R28", bad, "", "化工贸易公司持有台式核磁共振波谱仪")
    created = _bulk(Equipment, rows, "demo: NMR registry")
    if len(owners) >= 2:                                  # one instrument moved between two universities
        e = created[0]
        _bulk(EquipmentTransfer, [EquipmentTransfer(equipment=e, date=dt.date(2024, 6, 1),
                                                    from_party=parties[owners[1].pk], to_party=e.owner,
                                                    note="院系调整，设备划转")], "demo: equipment transfer")


# R29: the vehicle-monitoring tracks of the cross-city shipments (苏州 ⇄ 南京), along 沪宁高速 (G42)
AREA_CENTRES = {  # district → approximate centre (lon, lat), WGS-84
    "320505": (120.50, 31.33), "320506": (120.63, 31.26), "320507": (120.64, 31.37), "320508": (120.62, 31.31),
    "320509": (120.64, 31.16), "320571": (120.72, 31.32), "320581": (120.75, 31.65), "320582": (120.55, 31.87),
    "320583": (120.98, 31.38), "320585": (121.13, 31.46), "320116": (118.82, 32.32), "320113": (118.91, 32.12),
    "320115": (118.84, 31.95), "320111": (118.63, 32.06), "320106": (118.77, 32.07), "320114": (118.78, 31.99),
}
G42_WAYPOINTS = [(120.31, 31.57), (119.97, 31.77), (119.58, 31.99), (119.10, 32.05)]   # 无锡 常州 丹阳 汤山: 苏州 → 南京
GPS_RETENTION_DAYS = 183      # the monitoring platform keeps six months of fixes
FIX_EVERY = dt.timedelta(minutes=5)


def _site_position(p: P) -> tuple[float, float]:
    lon, lat = AREA_CENTRES[p.district]
    jitter = random.Random(p.ident)            # the same place for a party in every shipment
    return lon + jitter.uniform(-0.03, 0.03), lat + jitter.uniform(-0.02, 0.02)


def _km(a, b) -> float:
    """Equirectangular distance: close enough to lay fixes along a route (R29 itself measures geodesically)."""
    kx = 111.32 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((b[0] - a[0]) * kx, (b[1] - a[1]) * 110.57)


def _along(route, km: float) -> tuple[float, float]:
    """The point ``km`` along the polyline (its end when beyond)."""
    for a, b in itertools.pairwise(route):
        leg = _km(a, b)
        if km <= leg:
            f = km / leg if leg else 0.0
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        km -= leg
    return route[-1]


def _drive(route, start: dt.datetime, kmh: float, rng, *, detour=None) -> tuple[list, dt.datetime]:
    """Fixes every 5 minutes along the route at ``kmh`` with ~30 m of GPS noise; ``detour`` = (at km, offset km
    north, stop minutes): the vehicle leaves the road there, stands still, and comes back."""
    total = sum(_km(a, b) for a, b in itertools.pairwise(route))
    fixes, t, done, noise = [], start, 0.0, 0.0003
    while True:
        lon, lat = _along(route, done)
        fixes.append((t, lon + rng.gauss(0, noise), lat + rng.gauss(0, noise)))
        if done >= total:
            break
        if detour and done >= detour[0]:
            _at, off, stop = detour
            base, detour = (lon, lat), None
            for k in (1, 2, 3):                                  # 15 minutes off the corridor…
                t += FIX_EVERY
                fixes.append((t, base[0] + rng.gauss(0, noise), base[1] + off / 110.57 * k / 3))
            far = fixes[-1]
            for _ in range(stop // 5):                           # …standing still…
                t += FIX_EVERY
                fixes.append((t, far[1] + rng.gauss(0, 0.0002), far[2] + rng.gauss(0, 0.0002)))
            for k in (2, 1):                                     # …and back
                t += FIX_EVERY
                fixes.append((t, base[0] + rng.gauss(0, noise), base[1] + off / 110.57 * k / 3))
        t += FIX_EVERY
        done = min(total, done + kmh * FIX_EVERY.total_seconds() / 3600)
    return fixes, t


def _demo_parameters(plan: Planner) -> None:
    """The lists R20's special-country branch and R21's PEN branch read, entered as the office would (规则参数), each
    marked as a demo assumption."""
    from .models import RuleParameter

    for name, value, note in (
            ("pen_required_countries", DEMO_PEN_COUNTRIES, "假设这些进口国依1988年公约第12条第10款(a)项要求出口前通知"),
            ("special_country_substances", plan.special_country_subs,
             "假设该品种列入向缅甸出口的特定国家（地区）出口目录")):
        RuleParameter(name=name, value=value, effective_from=dt.date(2025, 1, 1), source=DEMO_ASSUMPTION,
                      note=note).save(audit_message="demo: assumed rule parameter")


def _shipment_tracks(plan: Planner, writer: Writer, users: dict) -> int:
    """Planned route, departure, arrival and GPS fixes of every cross-city shipment of the last six months, through
    the same services the API and the Excel door use. Two are R29 scenarios: a detour with a long stop off the
    corridor, and a load that arrives lighter than it left."""
    from .models import Party, Shipment
    from .services import add_fixes

    rng = random.Random(writer.seed * 7 + 29)
    since = AS_OF - dt.timedelta(days=GPS_RETENTION_DAYS)
    eligible = [o for o in plan.orders if o.waybill and o.carrier is not None and not o.tag and o.receive
                and o.seller.district in AREA_CENTRES and o.buyer.district in AREA_CENTRES and o.t >= since
                and o.t + dt.timedelta(hours=8) <= EVENT_END]
    eligible.sort(key=lambda o: o.t)
    # the scenarios are shipped by consignors in the demo city, whose office sees the alerts
    own = [o for o in eligible if not o.seller.outside]
    detour = own[-2] if len(own) >= 4 else None
    lighter = own[-4] if len(own) >= 4 else None
    parties = {p.identifier: p for p in Party.objects.all()}
    for o in eligible:
        origin, destination = _site_position(o.seller), _site_position(o.buyer)
        middle = G42_WAYPOINTS[::-1] if o.seller.outside else G42_WAYPOINTS
        route = [origin, *middle, destination]
        departed = o.t + dt.timedelta(minutes=20)
        planned_h = sum(_km(a, b) for a, b in itertools.pairwise(route)) / 60
        fixes, arrived = _drive(route, departed, 70.0, rng,
                                detour=(90.0, 12.0, 80) if o is detour else None)
        kg = float(o.kg)
        user = users["province" if o.seller.outside else "city"]
        shipment = Shipment(waybill=o.waybill, party=parties[o.seller.ident], carrier=parties[o.carrier.ident],
                            vehicle_plate=f"苏E·{rng.randint(10000, 99999)}",
                            permit_no=next((n for n in o.permits if "运备" in n), ""),
                            planned_route=[[round(x, 6), round(y, 6)] for x, y in route], departed_at=departed,
                            eta=departed + dt.timedelta(hours=planned_h + 1), arrived_at=arrived,
                            departure_kg=kg, arrival_kg=round(kg * 0.96) if o is lighter else kg)
        shipment.save(audit_message="demo: shipment track")
        add_fixes(shipment, [(t, round(x, 6), round(y, 6)) for t, x, y in fixes], user)
        if o is detour:
            writer.note("R29", o.seller, o.waybill, "运输途中偏离规划路线约12公里并停留80分钟",
                        involved=[o.buyer, o.carrier])
        elif o is lighter:
            writer.note("R29", o.seller, o.waybill, f"到达重量比起运少4%（{PRODUCTS[o.sub][1]}）",
                        involved=[o.buyer, o.carrier])
    return len(eligible)


SURVEY_AREAS = [
    # name, district, centre (lon, lat), half-size (deg lon, deg lat), coverage (share of passes flown)
    ("横泾街道太湖沿岸果园", "320506", (120.585, 31.155), (0.006, 0.004), 1.0),
    ("阳澄湖半岛农地", "320507", (120.795, 31.415), (0.007, 0.004), 0.55),
    ("黎里镇河荡滩涂", "320509", (120.735, 31.125), (0.005, 0.003), 1.0),
]


def _patrols(user) -> None:
    from .algorithms import patrol
    from .models import PatrolFinding, SurveyArea
    from .services import add_flight

    altitude, hfov, vfov = 100.0, 84.0, 62.0
    for i, (name, district, (lon, lat), (dx, dy), share) in enumerate(SURVEY_AREAS):
        ring = [[lon - dx, lat - dy], [lon + dx * 0.9, lat - dy * 1.1], [lon + dx, lat + dy],
                [lon - dx * 1.1, lat + dy * 0.9], [lon - dx, lat - dy]]
        area = SurveyArea(name=name, area_code=district, year=2026,
                          polygon={"type": "Polygon", "coordinates": [ring]})
        area.area_m2 = patrol.area_m2(patrol.polygon_from_geojson(area.polygon))
        area.save(audit_message="demo: survey area")
        width, _h = patrol.footprint_from_fov(altitude, hfov, vfov)
        plan = patrol.lawnmower_plan(patrol.polygon_from_geojson(area.polygon), width * 0.9)
        coords = [list(c) for c in plan.path.coords]
        if share < 1:
            coords = coords[: max(2, int(len(coords) * share))]
        add_flight(area, user, kind="drone", flown_on=dt.date(2026, 4, 12 + 5 * i), pilot=f"禁毒支队无人机组{i + 1}",
                   altitude_m=altitude, hfov_deg=hfov, vfov_deg=vfov,
                   track={"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in coords]})
        if i == 0:
            PatrolFinding(area=area, area_code=district, kind="poppy", source="flight", found_on=dt.date(2026, 4, 12),
                          lon=lon + dx * 0.3, lat=lat - dy * 0.2, plants=37, eradicated=True,
                          note="农户房前屋后零星种植罂粟，已铲除并立案").save(audit_message="demo: finding")
        elif i == 1:
            PatrolFinding(area=area, area_code=district, kind="cannabis", source="tip-off", found_on=dt.date(2026, 5, 3),
                          lon=lon - dx * 0.4, lat=lat + dy * 0.1, plants=12, eradicated=True,
                          note="群众举报，大麻植株12株，已铲除").save(audit_message="demo: finding")
        else:
            PatrolFinding(area=area, area_code=district, kind="none", source="flight", found_on=dt.date(2026, 4, 22),
                          lon=lon, lat=lat, plants=0, note="未发现非法种植").save(audit_message="demo: finding")


def _enterprise_user(ctx, plan: Planner) -> None:
    from users.models import Role, User

    party = plan.traders[0]
    user = User.objects.filter(username=ENTERPRISE_USER).first()
    if user is None:
        user = User(username=ENTERPRISE_USER, full_name="易制毒化学品管理员", role=Role.objects.get(code="enterprise"),
                    org=party.org, area_code=party.org.area_code)
        user.set_password(ctx.password)
        user.save(audit_message="demo user")


# ------------------------------------------------------------------------------------------------- the builder
@demo_builder(60, "precursors")
def build(ctx):
    from geo.models import Division

    from .models import Event, Party
    from .registry import Registry
    from .rules_service import run_rules

    if Party.objects.filter(identifier=MARKER).exists():
        ctx.say("precursors: demo registry present")
        _remember_user(ctx)
        return
    streets: dict[str, list] = defaultdict(list)
    for code, name in Division.objects.filter(level="street", code__startswith="3205").order_by("code") \
            .values_list("code", "name"):
        streets[code[:6]].append((code, name))
    if not streets:
        ctx.say("precursors: no divisions of the demo city, skipped")
        return
    hospitals = {k.split(":")[1]: org for k, org in ctx.orgs.items() if k.startswith("hospital:")}
    plan = Planner(ctx.scale, ctx.seed, streets)
    plan.plan(hospitals)
    users = _feed_users()
    _registry(plan)
    _authorizations(plan)
    writer = Writer(plan, ctx.seed, users, Registry.load())
    writer.run()
    _filings(plan, writer)
    _inspections(plan, writer)
    _equipment(plan, writer)
    n_tracks = _shipment_tracks(plan, writer, users)
    _demo_parameters(plan)
    _patrols(users["city"])
    _enterprise_user(ctx, plan)
    _remember_user(ctx)
    result = run_rules(as_of=AS_OF)
    SCENARIOS[:] = _dedupe(writer.scenarios)
    ctx.ground_truth_precursors = list(SCENARIOS)
    STATS.clear()
    STATS.update(parties=len(plan.parties), authorizations=len(plan.auths), orders=len(plan.orders),
                 events=writer.captured, documents=writer.documents, filings=len(writer.filings),
                 inspections=len(writer.inspections), alerts=result["created"], hits=result["hits"],
                 shipment_tracks=n_tracks,
                 event_kinds=dict(writer.counts))
    ctx.say(f"precursors: {len(plan.parties)} parties, {len(plan.auths)} authorizations, "
            f"{Event.objects.count()} events in {writer.documents} documents, {result['created']} alerts "
            f"({len(SCENARIOS)} injected scenarios)")


def _remember_user(ctx) -> None:
    if not any(u[0] == ENTERPRISE_USER for u in ctx.users):
        ctx.users.append((ENTERPRISE_USER, "enterprise", "a precursor trader (易制毒): its ledger, events and alerts"))


def _dedupe(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for s in items:
        key = (s["rule"], s["party"], s["key_contains"])
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


__all__ = ("AS_OF", "SCENARIOS", "STATS", "build")
