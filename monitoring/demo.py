"""Demo data for the monitoring pillar, with known ground truth for tests and for a first look:

* 23 plants (two per district, three in the three most populous), 104 weeks of weekly 24-h composites of five residues with a
  seasonal pattern and small multiplicative noise; outbreaks injected at known dates (OUTBREAKS);
* monthly hair screening of two population groups per district, with a positivity spike in 昆山;
* forensic identifications with a cluster of new psychoactive substances in 虎丘;
* controlled-medicine dispensing with known flagged patients (monitoring.algorithms.pdmp);
* alert definitions, and one early-warning run so the inbox has the outbreaks in it.

District populations are the 2020 census figures as recalled (approximate; a deployment loads the
statistics bureau's figures into the division table).
"""

import datetime as dt
import math

import numpy as np

from core.demo import demo_builder
from geo.models import Division
from orgs.models import Organization

from . import alerting, models, services

DISTRICT_POPULATION = {  # 七普 2020, recalled and rounded; demo only
    "320505": 833_000, "320506": 1_390_000, "320507": 892_000, "320508": 957_000, "320509": 1_545_000,
    "320571": 1_133_000, "320581": 1_677_000, "320582": 1_433_000, "320583": 2_093_000, "320585": 831_000,
}
PLANT_CODES = {"320505": "HQ", "320506": "WZ", "320507": "XC", "320508": "GS", "320509": "WJ", "320571": "YQ",
               "320581": "CS", "320582": "ZJG", "320583": "KS", "320585": "TC"}
# residue → (typical PNL mg/d/1000 inh, seasonal amplitude)
BASELINE = {"methamphetamine": (35.0, 0.10), "ketamine": (4.0, 0.15), "morphine": (8.0, 0.05),
            "benzoylecgonine": (1.5, 0.10), "mdma": (0.8, 0.20)}
FIRST_WEEK = dt.date(2024, 12, 2)  # a Monday
WEEKS = 104
NOISE_SD = 0.06  # multiplicative (log-scale) noise of the demo series
# Known injected outbreaks: (plant code, residue, first week, weeks, multiplier)
OUTBREAKS = [("GS01", "methamphetamine", dt.date(2026, 6, 1), 3, 3.0),
             ("KS02", "ketamine", dt.date(2026, 9, 7), 3, 4.0),
             ("WJ01", "methamphetamine", dt.date(2026, 10, 19), 2, 2.5)]
SCREENING_SPIKE = ("320583", dt.date(2026, 9, 1), 0.06)  # 昆山, month, positivity
NPS_CLUSTER = ("320505", dt.date(2026, 10, 1), 9)  # 虎丘, month, identifications
DEMO_NOW = FIRST_WEEK + dt.timedelta(weeks=WEEKS - 1)


def outbreak_weeks() -> set[tuple[str, str, dt.date]]:
    return {(code, residue, start + dt.timedelta(weeks=i)) for code, residue, start, n, _m in OUTBREAKS
            for i in range(n)}


@demo_builder(50, "monitoring")
def build(ctx):
    if models.TreatmentPlant.objects.filter(code="GS01").exists():
        ctx.say("monitoring: demo data present")
        return
    rng = np.random.default_rng(ctx.seed)
    for code, population in DISTRICT_POPULATION.items():
        Division.objects.filter(code=code, population__isnull=True).update(population=population)
    lab = Organization.objects.filter(type="lab").first()
    plants = _plants(ctx, rng)
    _samples(plants, rng, lab)
    services.refresh_estimates(models.Measurement.objects.all(), draws=2000)
    _screening(rng, lab)
    _forensic(rng, lab)
    _dispensing(ctx)
    _definitions(plants)
    alerting.run_pdmp_rules()
    created = alerting.evaluate_all(end=DEMO_NOW)
    ctx.say(f"monitoring: {len(plants)} plants, {models.Measurement.objects.count()} measurements, "
            f"{models.Alert.objects.count()} alerts ({len(created)} from signals)")


def _plants(ctx, rng):
    plants = []
    for district, population in DISTRICT_POPULATION.items():
        streets = list(Division.objects.filter(parent_id=district).order_by("code").values_list("code", flat=True))
        if not streets:
            continue
        count = 3 if population > 1_500_000 else 2
        for i in range(1, count + 1):
            served = streets[i - 1::count] or streets[:1]
            share = population / count * float(rng.uniform(0.75, 0.95))
            plant = models.TreatmentPlant(code=f"{PLANT_CODES[district]}{i:02d}",
                                          name=f"{Division.objects.get(code=district).name}第{i}污水处理厂",
                                          area_code=served[0], served_area_codes=served,
                                          design_capacity_m3_d=round(share * 0.25, -3),
                                          design_population=int(round(share * 1.15, -3)), domestic_fraction=0.8)
            plant.save(audit_message="demo")
            models.PopulationEstimate(plant=plant, method="census", population=int(round(share, -2)),
                                      valid_from=dt.date(2020, 11, 1), is_default=True,
                                      source="demo: share of the 2020 census population").save()
            models.PopulationEstimate(plant=plant, method="design", population=plant.design_population,
                                      valid_from=dt.date(2020, 11, 1), is_default=False,
                                      source="demo: design population").save()
            plants.append((plant, share))
    return plants


def _samples(plants, rng, lab):
    outbreaks = {(code, residue, start): (n, m) for code, residue, start, n, m in OUTBREAKS}
    samples, measurements = [], []
    for plant, population in plants:
        level = {r: base * float(rng.lognormal(0, 0.35)) for r, (base, _amp) in BASELINE.items()}
        flow_base = population * 0.25
        for week in range(WEEKS):
            day = FIRST_WEEK + dt.timedelta(weeks=week)
            flow = flow_base * float(rng.lognormal(0, 0.05))
            samples.append(models.Sample(plant=plant, sample_date=day, flow_m3_d=round(flow), lab=lab))
    samples = services.bulk_create_audited(samples, "demo: weekly 24-h composites")
    by_key = {(s.plant.code, s.sample_date): s for s in samples}
    for plant, population in plants:
        level = {r: base * float(np.exp(rng.normal(0, 0.35))) for r, (base, _amp) in BASELINE.items()}
        for residue, (_base, amplitude) in BASELINE.items():
            for week in range(WEEKS):
                day = FIRST_WEEK + dt.timedelta(weeks=week)
                season = 1 + amplitude * math.sin(2 * math.pi * (day.timetuple().tm_yday / 365.25))
                pnl = level[residue] * season * float(np.exp(rng.normal(0, NOISE_SD)))
                for (code, res, start), (n, multiplier) in outbreaks.items():
                    if code == plant.code and res == residue and start <= day < start + dt.timedelta(weeks=n):
                        pnl *= multiplier
                sample = by_key[(plant.code, day)]
                concentration = pnl * population / sample.flow_m3_d  # PNL = C × Q / P
                loq = 0.5
                measurements.append(models.Measurement(
                    sample=sample, residue=residue, loq_ng_l=loq,
                    concentration_ng_l=round(concentration, 2) if concentration >= loq else None))
    services.bulk_create_audited(measurements, "demo: laboratory results")


def _screening(rng, lab):
    spike_area, spike_month, spike_rate = SCREENING_SPIKE
    for district in DISTRICT_POPULATION:
        for month_index in range(24):
            month = (FIRST_WEEK.replace(day=1) + dt.timedelta(days=31 * month_index)).replace(day=1)
            for group, tested_mean, rate in (("drivers", 180, 0.006), ("venue_staff", 90, 0.02)):
                tested = int(rng.poisson(tested_mean))
                if district == spike_area and month == spike_month:
                    rate = spike_rate
                positive = int(rng.binomial(tested, rate))
                batch = models.ScreeningBatch(reference=f"{district}-{month:%Y%m}-{group}", area_code=district,
                                              lab=lab, population_group=group, sample_type="hair",
                                              collected_on=month + dt.timedelta(days=9), tested=tested)
                batch.save(audit_message="demo")
                meth = int(rng.binomial(positive, 0.7)) if positive else 0
                for drug, count in (("甲基苯丙胺", meth), ("氯胺酮", positive - meth)):
                    models.ScreeningResult(batch=batch, drug=drug, positive=count).save(audit_message="demo")


NPS_NAMES = ["依托咪酯", "合成大麻素 MDMB-4en-PINACA", "α-PVP", "氟胺酮", "3-MMC"]


def _forensic(rng, lab):
    cluster_area, cluster_month, cluster_n = NPS_CLUSTER
    rows = []
    for month_index in range(24):
        month = (FIRST_WEEK.replace(day=1) + dt.timedelta(days=31 * month_index)).replace(day=1)
        for district in DISTRICT_POPULATION:
            for _i in range(int(rng.poisson(2.0))):
                rows.append((district, month, "甲基苯丙胺", "synthetic", False))
            if rng.random() < 0.15:
                rows.append((district, month, NPS_NAMES[int(rng.integers(len(NPS_NAMES)))], "nps", True))
        if month == cluster_month:
            for i in range(cluster_n):
                rows.append((cluster_area, month, NPS_NAMES[i % 2], "nps", True))
    objects = [models.ForensicIdentification(area_code=area, lab=lab, identified_on=month + dt.timedelta(days=12),
                                             substance=substance, category=category, is_nps=nps,
                                             case_reference=f"JD{month:%Y%m}{i:04d}")
               for i, (area, month, substance, category, nps) in enumerate(rows)]
    services.bulk_create_audited(objects, "demo: forensic identifications")


def _dispensing(ctx):
    """Synthetic dispensing with known flagged patients (pdmp.synthetic_dispensing); returns them."""
    from .algorithms import pdmp

    synthetic = pdmp.synthetic_dispensing(400, ctx.seed)
    areas = list(DISTRICT_POPULATION)
    objects = []
    for r in synthetic.to_records():
        indication = "cancer_pain" if r.cancer_pain else "chronic_pain" if r.chronic_pain else \
            "adhd" if r.adhd else ""
        objects.append(models.Dispensing(
            patient_key=r.patient_key, patient_age=r.patient_age, prescriber_code=r.prescriber_id,
            pharmacy_code=r.pharmacy_id, area_code=areas[sum(map(ord, r.patient_key)) % len(areas)], drug=r.drug,
            drug_class=r.drug_class, control_category=r.control_category, dosage_form=r.dosage_form,
            strength=r.strength, quantity=r.quantity, days_supply=r.days_supply, dispensed_on=r.dispensed_on,
            setting=r.setting, indication=indication, reason_noted=r.reason_noted))
    services.bulk_create_audited(objects, "demo: controlled-medicine dispensing")
    return synthetic.flagged


def _definitions(plants):
    for plant, _population in plants:
        for residue in ("methamphetamine", "ketamine"):
            models.AlertDefinition(
                name=f"{plant.code} {residue} EARS C2", indicator=f"wbe_pnl:{residue}", area_code=plant.area_code,
                plant=plant, method="ears_c2", severity="high" if residue == "methamphetamine" else "medium",
                params={"transform": "log", "alpha": 0.001, "baseline": 8, "min_sigma": 0.15, "evaluate_last": 52},
            ).save(audit_message="demo")
    for district in DISTRICT_POPULATION:
        models.AlertDefinition(name=f"{district} 毛发筛查阳性 EARS C1", indicator="screening_positive:*",
                               area_code=district, method="ears_c1", severity="medium",
                               params={"alpha": 0.001, "baseline": 6, "min_sigma": 2.0, "evaluate_last": 12},
                               ).save(audit_message="demo")
        models.AlertDefinition(name=f"{district} 新精神活性物质 EARS C1", indicator="forensic_nps",
                               area_code=district, method="ears_c1", severity="medium",
                               params={"alpha": 0.001, "baseline": 6, "min_sigma": 1.0, "evaluate_last": 12},
                               ).save(audit_message="demo")
