"""Casework indicators K01–K13 for a period and the areas in a user's scope.

The formulas are the pure functions of casework.rules.kpi (research §5); this module reads the
facts the user may see, groups them by district (the person's managing area), and rolls districts
up by summing numerators and denominators, never by averaging rates. Every figure keeps the ids of
the units behind it, so a number drills down to its persons.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from .rules import kpi
from .rules.dates import Period

from . import models

TRIGGER_KIND = {"C20-1": "serious_violation", "C20-2": "serious_violation", "C20-3": "serious_violation",
                "C21-P": "positive_test", "C14-R": "missed_report", "L01": "lost_contact",
                "C21-H": "needs_police_review"}


def parse_period(text: str) -> tuple[Period, str]:
    """"2026-10" (month), "2026-Q3" (quarter) or "2026" (year)."""
    text = (text or "").strip()
    if "-Q" in text:
        year, quarter = text.split("-Q")
        return Period.quarter(int(year), int(quarter)), text
    if "-" in text:
        year, month = text.split("-")
        return Period.month(int(year), int(month)), text
    if text:
        return Period.year(int(text)), text
    today = dt.date.today()
    last = (today.replace(day=1) - dt.timedelta(days=1))
    return Period.month(last.year, last.month), f"{last:%Y-%m}"


@dataclass
class Figure:
    numerator: frozenset
    denominator: frozenset

    @property
    def rate(self):
        return len(self.numerator) / len(self.denominator) if self.denominator else None


class Facts:
    """Everything K01–K13 need, read once for the persons a user may see."""

    def __init__(self, persons_qs):
        self.person_area = dict(persons_qs.values_list("pk", "owner_area_code"))
        ids = list(self.person_area)
        statuses = defaultdict(list)
        for person_id, on, status in models.StatusChange.objects.filter(person_id__in=ids).values_list(
                "person_id", "on", "to_status"):
            statuses[person_id].append((on, status))
        uses = defaultdict(list)
        for person_id, on in models.DrugTest.objects.filter(person_id__in=ids, result="positive").values_list(
                "person_id", "collected_on"):
            uses[person_id].append(on)
        # on the register since the police first found them (or the first status), not since data entry
        self.persons = [kpi.Person(id=pk, registered_on=min([d for d in (first, *(on for on, _s in statuses[pk]))
                                                             if d] or [created.date()]),
                                   statuses=tuple(statuses[pk]), first_found_on=first, use_findings=tuple(uses[pk]))
                        for pk, created, first in persons_qs.values_list("pk", "created", "first_found_on")]
        measures = list(models.Measure.objects.filter(person_id__in=ids).values(
            "pk", "person_id", "kind", "served_on", "decided_on", "reported_on", "agreement_signed_on", "ended_on",
            "state", "start_on"))
        self.orders = [kpi.Order(id=m["pk"], person_id=m["person_id"], kind=m["kind"],
                                 ordered_on=m["served_on"] or m["decided_on"] or m["start_on"] or dt.date.min,
                                 served_on=m["served_on"], reported_on=m["reported_on"],
                                 agreement_signed_on=m["agreement_signed_on"],
                                 lawfully_terminated_on=m["ended_on"] if m["state"] == "terminated" else None)
                       for m in measures]
        aftercare_start = defaultdict(list)
        for m in measures:
            if m["kind"] == "aftercare" and m["start_on"]:
                aftercare_start[m["person_id"]].append(m["start_on"])
        self.follow_ups = [kpi.FollowUp(id=m["pk"], person_id=m["person_id"], start_on=m["start_on"],
                                        relapse_dates=tuple(d for d in uses[m["person_id"]] if d >= m["start_on"]))
                           for m in measures if m["kind"] == "aftercare" and m["start_on"]]
        self.releases = [kpi.Release(id=m["pk"], person_id=m["person_id"], released_on=m["ended_on"],
                                     aftercare_on=min((d for d in aftercare_start[m["person_id"]]
                                                       if d >= m["ended_on"]), default=None))
                         for m in measures if m["kind"] == "compulsory_isolation" and m["ended_on"]]
        self.verifications = [kpi.Verification(person_id=p, on=on, face_to_face=k in ("checkin", "home_visit", "talk"))
                              for p, on, k in models.ContactEvent.objects.filter(
                                  person_id__in=ids, outcome="met").values_list("person_id", "occurred_on", "kind")]
        self.assessments = [kpi.AssessmentRec(person_id=p, assessed_on=a, next_review_on=n)
                            for p, a, n in models.RiskAssessment.objects.filter(person_id__in=ids).values_list(
                                "person_id", "assessed_on", "next_review_on")]
        self.planned_qs = models.PlannedEvent.objects.filter(person_id__in=ids)
        self.triggers = [kpi.TriggerRec(id=pk, kind=TRIGGER_KIND.get(rule, "serious_violation"), on=on,
                                        police_report_due=due, reported_on=reported)
                         for pk, rule, on, due, reported in models.PoliceReportTask.objects.filter(
                             person_id__in=ids).values_list("pk", "rule_id", "triggered_on", "due_on", "reported_on")]
        self.trigger_person = dict(models.PoliceReportTask.objects.filter(person_id__in=ids).values_list("pk",
                                                                                                      "person_id"))
        self.transfers = [kpi.TransferRec(id=pk, person_id=p, initiated_on=req,
                                          accepted_on=dec if status == "accepted" else None, reported_on=rep,
                                          cancelled=status == "rejected")
                          for pk, p, req, dec, rep, status in models.Transfer.objects.filter(
                              person_id__in=ids).values_list("pk", "person_id", "requested_on", "decided_on",
                                                             "reported_on", "status")]
        referrals = list(models.Referral.objects.filter(person_id__in=ids).values_list(
            "person_id", "referred_on", "status", "done_on"))
        self.needs = [kpi.Need(person_id=p, identified_on=on) for p, on, _s, _d in referrals]
        self.assistance = [kpi.Assistance(person_id=p, status=s, done_on=d) for p, _on, s, d in referrals]

    def planned_in(self, period: Period):
        return [kpi.PlannedRec(id=pk, person_id=p, kind=k, due_on=due, done_on=done)
                for pk, p, k, due, done in self.planned_qs.filter(due_on__gte=period.start, due_on__lt=period.end)
                .values_list("pk", "person_id", "kind", "due_on", "done_on")]



AREA_WIDTH = {"district": 6, "street": 9}   # GB/T 2260 district; 统计用区划代码 street (乡镇/街道)


def compute(user, period: Period, *, area_prefix: str = "", level: str = "district") -> dict:
    """{"rows": [{"district", "figures": {code: Figure}}], "total": {code: Figure}}, in the user's scope. A row is
    a district, or with ``level="street"`` a street (the ``district`` key then holds the street's code); the
    total sums the rows' numerators and denominators."""
    width = AREA_WIDTH[level]
    persons = models.Person.objects.restrict(user, "view")
    if area_prefix:
        persons = persons.filter(owner_area_code__startswith=area_prefix)
    facts = Facts(persons)
    person_of = {
        "order": {o.id: o.person_id for o in facts.orders},
        "planned_event": None,
        "follow_up": {f.id: f.person_id for f in facts.follow_ups},
        "release": {r.id: r.person_id for r in facts.releases},
        "trigger": facts.trigger_person,
        "transfer": {t.id: t.person_id for t in facts.transfers},
    }
    planned = facts.planned_in(period)
    person_of["planned_event"] = {p.id: p.person_id for p in planned}
    results = {
        "K01": kpi.k01_ids(facts.orders, period), "K02": kpi.k02_ids(facts.orders, period),
        "K03": kpi.k03_ids(facts.persons, period), "K04": kpi.k04_ids(facts.persons, facts.verifications, period),
        "K05": kpi.k05_ids(facts.persons, facts.assessments, period), "K06": kpi.k06_ids(planned, period),
        "K07": kpi.k07_ids(facts.persons, period), "K08": kpi.k08_ids(facts.follow_ups, period),
        "K09": kpi.k09_ids(facts.persons, period), "K10": kpi.k10_ids(facts.releases, period),
        "K11": kpi.k11_ids(facts.triggers, period), "K12": kpi.k12_ids(facts.transfers, period),
        "K13": kpi.k13_ids(facts.needs, facts.assistance, period),
    }
    results.update(_k14_k15(user, facts, persons, period))
    by_district = defaultdict(dict)
    total = {}
    for code, (numerator, denominator) in results.items():
        unit = EXTRA_UNITS.get(code) or kpi.KPIS[code][3]
        mapping = person_of.get(unit)
        if unit == "person":
            district_of = lambda ident: (facts.person_area.get(ident) or "")[:width]  # noqa: E731
        elif unit == "incident":
            district_of = lambda ident: facts.incident_area.get(ident, "")[:width]  # noqa: E731
        else:
            district_of = lambda ident, m=mapping: (facts.person_area.get(m.get(ident)) or "")[:width]  # noqa: E731
        split = defaultdict(lambda: (set(), set()))
        for ident in denominator:
            split[district_of(ident)][1].add(ident)
        for ident in numerator:
            split[district_of(ident)][0].add(ident)
        for district, (num, den) in split.items():
            by_district[district][code] = Figure(frozenset(num), frozenset(den))
        total[code] = Figure(frozenset(numerator), frozenset(denominator))
    rows = [{"district": d, "figures": figs} for d, figs in sorted(by_district.items())]
    return {"rows": rows, "total": total, "person_of": person_of}


EXTRA = {"K14": "35岁以下占比", "K14N": "新发现吸毒人员", "K15": "肇事肇祸(严重以上)"}
EXTRA_UNITS = {"K14": "person", "K14N": "person", "K15": "incident"}


def _k14_k15(user, facts, persons, period: Period) -> dict:
    """The person parts of K14 and K15 (research §5): current users at period end and the share under
    35; users newly found in the period; incidents in the period, serious or major over all."""
    last = period.last
    current = {p.id for p in facts.persons if kpi._social_under_control(p, last)}
    births = dict(persons.values_list("pk", "birth_date"))
    under_35 = {pk for pk in current if births.get(pk) and (last - births[pk]).days < 35 * 365.25}
    new = {p.id for p in facts.persons if period.contains(p.first_found_on)}
    incidents = models.Incident.objects.restrict(user, "view").filter(occurred_on__gte=period.start,
                                                                     occurred_on__lt=period.end)
    all_incidents = set(incidents.values_list("pk", flat=True))
    serious = set(incidents.filter(severity__in=["serious", "major"]).values_list("pk", flat=True))
    facts.incident_area = {pk: area for pk, area in incidents.values_list("pk", "area_code")}
    return {"K14": (frozenset(under_35), frozenset(current)), "K14N": (frozenset(new), frozenset(new)),
            "K15": (frozenset(serious), frozenset(all_incidents))}


def drill_persons(result: dict, code: str, part: str, district: str = "") -> list:
    """The person ids behind one figure (numerator or denominator), optionally of one district."""
    figures = result["total"] if not district else next((r["figures"] for r in result["rows"]
                                                         if r["district"] == district), {})
    figure = figures.get(code)
    if figure is None:
        return []
    ids = figure.numerator if part == "numerator" else figure.denominator
    unit = EXTRA_UNITS.get(code) or kpi.KPIS[code][3]
    if unit == "person":
        return sorted(ids)
    if unit == "incident":
        return sorted(models.Person.objects.filter(incidents__pk__in=ids).values_list("pk", flat=True).distinct())
    mapping = result["person_of"].get(unit) or {}
    return sorted({mapping[i] for i in ids if i in mapping})
