"""Planted-bias recovery: the audit finds what the generators plant, at its true size, and nothing on the controls."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binom

import auditkit
from auditkit import Filter
from auditkit.datasets import GENERATORS, PlantedDisparity, generate

#: Rows per generator for the recovery runs: enough that every designed disparity is found.
RECOVERY_ROWS = {"welfare": 30000, "childcare-benefit": 30000, "student-finance": 40000, "police-stops": 20000,
                 "recidivism": 12000, "student-finance-reached": 20000}
#: The disparities each generator is designed to plant, which must all be detected: (attribute, group, metric, step).
DESIGNED = {
    "welfare": [("nationality", "non-EU", "selection_rate", None), ("nationality", "EU", "selection_rate", None),
                ("gender", "F", "selection_rate", None)],
    "childcare-benefit": [("nationality", "non-EU", "selection_rate", None), ("nationality", "EU", "selection_rate", None)],
    # European at the manual selection (ratio 1.5) is planted but not designed to be found: with about 390
    # against 3,100 people reaching that stage its minimum detectable ratio (alpha 0.05, 80% power) is 1.67,
    # before the multiple-testing adjustment; it was found at one seed and missed at others.
    "student-finance": [("migration_background", "non-European", "selection_rate", "1 risk score"),
                        ("migration_background", "non-European", "selection_rate", "2 manual selection")],
    "student-finance-reached": [("migration_background", "non-European", "selection_rate", "2 manual selection")],
    "police-stops": [("officer_defined_ethnicity", "Black", "ppv", None),
                     ("officer_defined_ethnicity", "Asian", "ppv", None)],
    "recidivism": [("race", "African-American", m, None) for m in ("fpr", "fnr", "selection_rate", "base_rate")],
}
CONTROL_SEEDS = range(20)
CONTROL_ROWS = 3000


def _runs(data, level: float) -> dict[tuple, dict]:
    """Audit the data once per process step named in its planted records; results by step.

    A file of one row per person per step (``person``) is also audited one step at a time: its rows
    at a step are the people who reached it, so each intersection is measured there too.  A file of
    one row per person with the step reached is audited once; its ``stages`` records carry each step.
    """
    out = {}
    for where in sorted({p.where for p in data.planted}):
        fields = dict(data.audit, level=level)
        if where and fields.get("person"):
            for key in ("stage", "stage_order", "person"):
                fields.pop(key)
            fields["filters"] = tuple(Filter(column, (value,)) for column, value in where)
        out[where] = auditkit.audit(data.frame, **fields).results
    return out


def _record(results: dict, planted: PlantedDisparity) -> tuple[dict, tuple[int, int, int, int]]:
    """The results record that measures ``planted``, and its counts (k1, n1, k2, n2)."""
    if planted.record == "comparisons" and planted.where and results["stages"]:
        stage = dict(planted.where)[results["population"]["stages"]["column"]]
        row = next(s for s in results["stages"] if (s["attribute"], s["group"], s["stage"])
                   == (planted.attribute, planted.group, stage))
        rec = row["comparison"]
        g, r = rec["group_rate"], rec["reference_rate"]
    elif planted.record == "comparisons":
        rec = next(c for c in results["comparisons"] if (c["attribute"], c["group"], c["reference"], c["metric"])
                   == (planted.attribute, planted.group, planted.reference, planted.metric))
        g, r = rec["group_rate"], rec["reference_rate"]
    else:
        row = next(m for m in results["selection_method"] if (m["attribute"], m["group"])
                   == (planted.attribute, planted.group))
        rec = row[planted.record]
        g, r = ((row["share_of_model_selection"], row["share_of_random_sample"]) if planted.record == "share_comparison"
                else (row["hit_rate_model_selection"], row["base_rate_random_sample"]))
    return rec, (g["numerator"], g["denominator"], r["numerator"], r["denominator"])


def _z(planted: PlantedDisparity, counts: tuple[int, int, int, int]) -> float:
    """How many standard errors of the log ratio the true ratio lies from 1 (Katz's standard error)."""
    k1, n1, k2, n2 = counts
    if min(k1, k2) == 0 or min(n1, n2) == 0:
        return 0.0
    return abs(math.log(planted.ratio)) / math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_audit_recovers_every_planted_disparity(name):
    """Simultaneous intervals cover every true ratio; every disparity 5 SE from 1 (and each designed one) is found."""
    data = generate(name, RECOVERY_ROWS[name], seed=11)
    # One interval per planted ratio: Bonferroni's level makes the whole family cover with 95% probability.
    level = 1 - 0.05 / len(data.planted)
    runs = _runs(data, level)
    found = set()
    for planted in data.planted:
        rec, counts = _record(runs[planted.where], planted)
        low, high = rec["ratio_ci"]
        assert low <= planted.ratio <= high, (planted, rec["ratio_ci"])
        detected = rec["status"] == "difference_detected"
        if planted.planted and _z(planted, counts) >= 5:
            assert detected, (planted, rec)
        if detected:
            found.add((planted.attribute, planted.group, planted.metric, next(iter(dict(planted.where).values()), None)))
    assert set(DESIGNED[name]) <= found


def _statuses(results: dict) -> list[str]:
    """Every status in the family of adjusted tests: comparisons, strata, random-sample design."""
    out = [c["status"] for c in results["comparisons"]]
    out += [s["status"] for s in results["stratified"] if "status" in s]
    out += [m[k]["status"] for m in results["selection_method"] for k in ("share_comparison", "hit_rate_comparison")]
    out += [s["comparison"]["status"] for s in results["stages"] if s["comparison"]]
    return out


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_planted_none_control_reports_differences_no_more_than_chance(name):
    """Across 20 seeds of the control, runs with any detection stay within Binomial(20, 0.05)."""
    runs_with_detection, misses = 0, {}
    for seed in CONTROL_SEEDS:
        data = generate(name, CONTROL_ROWS, seed, planted=False)
        assert all(abs(p.ratio - 1) < 1e-9 for p in data.planted)
        # Single attributes only (max_depth=1), to keep 100 audits fast; intersections are checked above.
        results = auditkit.audit(data.frame, **data.audit, max_depth=1).results
        runs_with_detection += "difference_detected" in _statuses(results)
        for c in results["comparisons"]:
            if c.get("ratio_ci") and None not in c["ratio_ci"]:
                key = (c["attribute"], c["group"], c["metric"])
                misses[key] = misses.get(key, 0) + (not c["ratio_ci"][0] <= 1 <= c["ratio_ci"][1])
    # Holm keeps the chance of any false detection in a run at or below 5%; 5 or more of 20 runs has
    # probability below 0.3% under that rate.
    assert runs_with_detection <= binom.ppf(0.997, len(CONTROL_SEEDS), 0.05), runs_with_detection
    # Each 95% interval misses the true ratio 1 in about 1 run in 20; 6 or more misses has probability 0.03%.
    worst = max(misses.values())
    assert worst <= binom.ppf(0.9997, len(CONTROL_SEEDS), 0.05), (worst, misses)


def test_interval_coverage_of_planted_ratios_across_seeds():
    """On the welfare generator, each planted ratio's 95% interval covers it in about 19 of 20 seeds."""
    misses: dict[PlantedDisparity, int] = {}
    for seed in CONTROL_SEEDS:
        data = generate("welfare", 4000, 100 + seed)
        fields = {k: v for k, v in data.audit.items() if k != "strata"}
        results = auditkit.audit(data.frame, **fields, max_depth=1).results
        for planted in (p for p in data.planted if " × " not in p.attribute):
            rec, _ = _record(results, planted)
            low, high = rec["ratio_ci"]
            if low is not None and high is not None:
                key = planted.__class__(**{**planted.__dict__, "ratio": round(planted.ratio, 9)})
                misses[key] = misses.get(key, 0) + (not low <= planted.ratio <= high)
    assert misses and max(misses.values()) <= binom.ppf(0.9997, len(CONTROL_SEEDS), 0.05), misses
    assert sum(misses.values()) <= binom.ppf(0.999, len(CONTROL_SEEDS) * len(misses), 0.05) + 5
