"""The precursor demo (issue 3 item 10): every injected scenario raises its alert for its party, the lawful
background raises none, every event came through capture, and a second build adds nothing.

One test builds the small demo once (platform part plus this builder, as casework's demo test does): the event
table is append-only (database triggers), so the data lives in the test's transaction and is rolled back."""

import random

from core.context import acting_as


def _build(ctx):
    from precursors import demo as precursors_demo

    with acting_as(username="command:jindu_demo", channel="command"):
        precursors_demo.build(ctx)


def test_demo_scenarios_fire_and_the_background_stays_quiet(db):
    from core import demo
    from core.models import ChangeLog
    from geo.management.commands.load_divisions import DEFAULT_FILE
    from precursors import demo as precursors_demo
    from precursors.models import (
        Alert,
        Authorization,
        CaptureBatch,
        Equipment,
        Event,
        Filing,
        Inspection,
        Party,
        RuleParameter,
        Shipment,
        ShipmentFix,
        SurveyArea,
        SurveyFlight,
    )
    from users.models import User

    ctx = demo.DemoContext(scale="small", seed=2023, password="Demo-pass-2026", rng=random.Random(2023))
    with acting_as(username="command:jindu_demo", channel="command"):
        demo.build_divisions(ctx, DEFAULT_FILE)
        demo.build_orgs(ctx)
        demo.build_users(ctx)
    _build(ctx)

    scenarios = precursors_demo.SCENARIOS
    stats = precursors_demo.STATS
    assert ctx.ground_truth_precursors == scenarios

    # the registry and the supply chain at small scale
    parties = Party.objects.count()
    assert 50 <= parties <= 90
    assert stats["events"] >= 8_000
    assert Authorization.objects.filter(type="purchase_filing").exists()
    assert Authorization.objects.filter(type="transport_filing").exists()
    assert Authorization.objects.filter(type="export_licence").exists()
    assert Filing.objects.filter(kind="sales_filing").count() > 1_000
    assert Inspection.objects.filter(status="planned").exists()
    assert Inspection.objects.filter(done_at__year=2026).values("party").distinct().count() >= parties * 0.6
    assert Equipment.objects.filter(type="nmr").count() >= 3
    assert SurveyArea.objects.count() == 3 and SurveyFlight.objects.count() == 3
    assert all(0 < a.covered_fraction <= 1 and a.area_m2 > 0 for a in SurveyArea.objects.all())
    assert all(f.footprint and f.swath_m > 0 for f in SurveyFlight.objects.all())
    # R29's GPS tracks: every cross-city shipment of the last six months, a fix every five minutes
    assert Shipment.objects.count() == stats["shipment_tracks"] >= 6
    assert ShipmentFix.objects.count() >= 20 * Shipment.objects.count()
    enterprise = User.objects.get(username=precursors_demo.ENTERPRISE_USER)
    assert enterprise.role.code == "enterprise" and enterprise.check_password("Demo-pass-2026")
    assert Party.objects.filter(org=enterprise.org).exists()
    assert any(u[0] == precursors_demo.ENTERPRISE_USER for u in ctx.users)

    # every event went through capture (one batch per document, channel "demo")
    batches = CaptureBatch.objects.all()
    assert {b.channel for b in batches} == {"demo"}
    assert Event.objects.count() == sum(b.n_new for b in batches) == stats["events"]
    assert batches.count() == stats["documents"]

    # every injected scenario raised its alert for its party
    rules = {s["rule"] for s in scenarios}
    assert {"R01", "R02", "R04", "R05", "R06", "R07", "R09", "R11", "R13", "R15", "R17", "R19", "R20", "R22",
            "R21", "R24", "R25", "R26", "R28", "R29"} <= rules
    # R20's special-country branch and R21 fire on the lists the demo enters as marked assumptions
    assert Alert.objects.filter(rule_id="R20", dedup_key__endswith=":special_country").count() == 1
    assert Alert.objects.filter(rule_id="R21").count() == 1
    assert {p.source for p in RuleParameter.objects.all()} == {precursors_demo.DEMO_ASSUMPTION}
    r29 = Alert.objects.filter(rule_id="R29")
    assert r29.count() == 2 and {a.severity for a in r29} == {"H"}
    assert all(a.area_code.startswith("3205") for a in r29)          # the demo city's office sees them
    alerts = list(Alert.objects.values_list("rule_id", "party_identifier", "dedup_key"))
    missing = []
    for s in scenarios:
        found = [k for rule, party, k in alerts if rule == s["rule"] and party == s["party"]]
        if not found or (s["key_contains"] and not any(s["key_contains"] in k for k in found)):
            missing.append((s["rule"], s["note"], s["party"], s["key_contains"]))
    assert not missing, missing

    # …and the lawful background raised nothing (no rule at all, not only the scenario rules)
    involved = {s["party"] for s in scenarios} | {p for s in scenarios for p in s["involved"]}
    background = [(rule, party, key) for rule, party, key in alerts if party not in involved]
    assert not background, background[:20]
    assert Party.objects.exclude(identifier__in=involved).count() >= 30

    # a second build adds nothing
    counts = (Party.objects.count(), Event.objects.count(), Alert.objects.count(), Filing.objects.count(),
              Authorization.objects.count(), User.objects.count(), ChangeLog.objects.count())
    _build(ctx)
    assert (Party.objects.count(), Event.objects.count(), Alert.objects.count(), Filing.objects.count(),
            Authorization.objects.count(), User.objects.count(), ChangeLog.objects.count()) == counts
