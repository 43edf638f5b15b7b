"""Process stages per person: each person counted once, each step measured on those who reached it.

Hand-counted process (1,000 people): migration 200 / none 800 enter the risk score; 40 / 60 are marked
and go on to manual selection; 20 / 6 of those are selected for a home visit; 12 / 2 are found there.
Every figure is checked against the hand counts and scipy / statsmodels on the same 2x2 tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import fisher_exact
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import proportion_confint

import auditkit
from auditkit import AuditSpec, InputDataError, UsageError
from auditkit.cli import main
from auditkit.datasets import generate
from auditkit.datasets.registry import example_path
from auditkit.findings import build_findings

STAGES = ("1 risk score", "2 manual selection", "3 home visit")
#: group -> people entering, then selected at each stage (the selected at one stage enter the next).
PROCESS = {"migration": (200, 40, 20, 12), "none": (800, 60, 6, 2)}


def _people() -> pd.DataFrame:
    """One row per person per stage reached: 'moved_on' says whether they were selected there."""
    rows = []
    for group, (n, *selected) in PROCESS.items():
        for i in range(n):
            for s, k in enumerate(selected):
                rows.append({"person": f"{group[:3]}{i:04d}", "stage": STAGES[s], "background": group,
                             "moved_on": int(i < k)})
                if i >= k:
                    break
    return pd.DataFrame(rows)


def _reached(frame: pd.DataFrame) -> pd.DataFrame:
    """The same people as one row each: the furthest stage and whether they were selected there."""
    last = frame.groupby("person", sort=True).tail(1)
    return last.rename(columns={"stage": "stage_reached"}).reset_index(drop=True)


def _audit(frame: pd.DataFrame, **kw) -> dict:
    fields = dict(protected=("background",), decision="moved_on", stage="stage", stage_order=STAGES,
                  references={"background": "none"})
    return auditkit.audit(frame, **{**fields, **kw}).results


def _stage(results: dict, stage: str, group: str) -> dict:
    return next(r for r in results["stages"] if (r["stage"], r["group"]) == (stage, group))


def test_each_step_is_measured_on_the_people_who_reached_it():
    """Entering and leaving counts and shares, conditional and cumulative rates match the hand counts."""
    r = _audit(_people(), person="person")
    assert r["population"]["people"] == 1000 and r["population"]["rows_audited"] == 1000 + 100 + 26
    for s, stage in enumerate(STAGES):
        entering = {g: PROCESS[g][s] for g in PROCESS}
        leaving = {g: PROCESS[g][s + 1] for g in PROCESS}
        for g in PROCESS:
            rec = _stage(r, stage, g)
            assert rec["stage_index"] == s and rec["next_stage"] == (STAGES[s + 1] if s < 2 else None)
            assert rec["entering"]["n"] == entering[g] and rec["leaving"]["n"] == leaving[g]
            assert rec["entering"]["share"]["value"] == pytest.approx(entering[g] / sum(entering.values()))
            assert rec["leaving"]["share"]["value"] == pytest.approx(leaving[g] / sum(leaving.values()))
            rate = rec["selection_rate"]
            assert rate["value"] == pytest.approx(leaving[g] / entering[g])
            assert (rate["ci_low"], rate["ci_high"]) == pytest.approx(
                proportion_confint(leaving[g], entering[g], method="wilson"))
            cumulative = rec["cumulative_selection_rate"]
            assert (cumulative["numerator"], cumulative["denominator"]) == (leaving[g], PROCESS[g][0])
    assert [r_["stage"] for r_ in r["stages"]] == [s for s in STAGES for _ in PROCESS]


def test_each_step_has_its_own_test_and_interval_in_the_family():
    """Per step: Katz ratio interval and Fisher's exact test on that step's 2x2 table of people; Holm over all."""
    r = _audit(_people(), person="person")
    for s, stage in enumerate(STAGES):
        k1, n1 = PROCESS["migration"][s + 1], PROCESS["migration"][s]
        k2, n2 = PROCESS["none"][s + 1], PROCESS["none"][s]
        c = _stage(r, stage, "migration")["comparison"]
        assert _stage(r, stage, "none")["comparison"] is None and _stage(r, stage, "none")["is_reference"]
        assert c["stage"] == stage and c["ratio"] == pytest.approx((k1 / n1) / (k2 / n2))
        assert c["p_value"] == pytest.approx(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1])
        if min(n1, n2) >= 30:
            t = Table2x2(np.array([[k1, n1 - k1], [k2, n2 - k2]]))
            assert c["ratio_ci"] == pytest.approx(list(t.riskratio_confint()))
            assert c["status"] in ("difference_detected", "no_difference_detected")
        else:
            assert c["status"] == "insufficient_evidence"  # 20 and 6 people reached the home visit
    # The family: one end-to-end comparison and the two steps with enough people.
    assert r["multiple_testing"]["family_size"] == 3
    p = sorted([r["comparisons"][0]["p_value"]] + [_stage(r, s, "migration")["comparison"]["p_value"]
                                                   for s in STAGES[:2]])
    holm = np.minimum(1, np.maximum.accumulate([(3 - i) * x for i, x in enumerate(p)]))
    got = sorted([r["comparisons"][0]["p_holm"]] + [_stage(r, s, "migration")["comparison"]["p_holm"]
                                                    for s in STAGES[:2]])
    assert got == pytest.approx(list(holm))


def test_cumulative_comparison_is_a_ratio_with_an_interval():
    """Cumulative rate from the start: selected at the step among everyone who entered the process."""
    r = _audit(_people(), person="person")
    c = _stage(r, "2 manual selection", "migration")["cumulative_comparison"]
    t = Table2x2(np.array([[20, 180], [6, 794]]))
    assert c["ratio"] == pytest.approx((20 / 200) / (6 / 800))
    assert c["ratio_ci"] == pytest.approx(list(t.riskratio_confint()))


def test_no_figure_pools_the_rows_of_several_stages():
    """Groups and comparisons are end to end: each person once, selected = selected at the last step."""
    r = _audit(_people(), person="person")
    groups = {g["group"]: g for g in r["groups"]}
    assert groups["migration"]["n"] == 200 and groups["none"]["n"] == 800
    assert groups["migration"]["selected"] == 12 and groups["none"]["selected"] == 2
    (c,) = r["comparisons"]
    assert c["ratio"] == pytest.approx((12 / 200) / (2 / 800))
    assert c["p_value"] == pytest.approx(fisher_exact([[12, 188], [2, 798]])[1])
    assert "end to end" in r["population"]["stages"]["comparisons"]
    assert r["design"]["rows"] == 1000


def test_a_file_of_stages_reached_gives_the_same_stages():
    """One row per person with the furthest stage reached equals one row per person per stage."""
    per_stage = _audit(_people(), person="person")
    reached = _audit(_reached(_people()), stage="stage_reached")
    assert reached["stages"] == per_stage["stages"]
    assert reached["comparisons"] == per_stage["comparisons"]
    assert reached["notes"] == []


def test_a_published_count_table_per_stage_gives_the_same_stages():
    """An agency's counts per stage (people at each stage, selected there) give the same transitions."""
    frame = _people()
    counts = frame.groupby(["stage", "background", "moved_on"]).size().reset_index(name="count")
    from_counts = _audit(counts, count_column="count")
    from_rows = _audit(frame, person="person")
    assert from_counts["stages"] == from_rows["stages"]
    assert from_counts["population"]["people"] == 1000
    c_counts, c_rows = from_counts["comparisons"][0], from_rows["comparisons"][0]
    assert c_counts["ratio"] == c_rows["ratio"] and c_counts["p_value"] == c_rows["p_value"]


def test_reading_person_stage_rows_without_person_is_flagged():
    """Without --person a per-stage file is read as one row per person; the note says to pass --person."""
    r = _audit(_people())
    assert any("pass --person COL" in n for n in r["notes"])
    assert not any("pass --person" in n for n in _audit(_people(), person="person")["notes"])


def test_unusual_people_are_counted_and_noted():
    """A missing earlier stage and a 'not selected' before the furthest stage are counted, with notes."""
    frame = _people()
    gap = frame[(frame["person"] == "mig0000") & (frame["stage"] == "2 manual selection")].index
    frame = frame.drop(gap)
    frame.loc[(frame["person"] == "mig0001") & (frame["stage"] == "1 risk score"), "moved_on"] = 0
    r = _audit(frame, person="person")
    assert any("1 person has no row at some stage" in n for n in r["notes"])
    assert any("1 person is marked not selected at a stage before" in n for n in r["notes"])
    assert _stage(r, "3 home visit", "migration")["entering"]["n"] == 20


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(person=f["person"].where(f.index != 3, "")), "1 row has no value in person column"),
    (lambda f: pd.concat([f, f.iloc[[0]]]), "1 person has more than one row at the same stage .*'mig0000'"),
    (lambda f: f.assign(background=f["background"].where(f.index != 1, "none")),
     "1 person has rows with different values of 'background' .*'mig0000'"),
    (lambda f: f.assign(stage=f["stage"].where(f.index != 0, " ")), "1 row has no value in stage column"),
    (lambda f: f.assign(stage=f["stage"].replace("3 home visit", "4 sanction")), "does not occur|--stage-order names"),
])
def test_inconsistent_process_files_are_refused(change, message):
    """Rows without a person, a stage twice, a group that changes, a blank or unknown stage: clear errors."""
    with pytest.raises(InputDataError, match=message):
        _audit(change(_people()), person="person")


def test_a_stage_outside_the_order_is_refused():
    """Every stage needs its place: a stage the order leaves out is an error, not silently last."""
    with pytest.raises(InputDataError, match="does not place"):
        _audit(_people(), person="person", stage_order=("1 risk score", "3 home visit"))


@pytest.mark.parametrize("fields, message", [
    (dict(person="person", stage=None, stage_order=None), "needs --stage"),
    (dict(person="person", decision=None, score="s", top=10), "--top/--top-n rank every row"),
    (dict(stage=None), "--stage-order orders"),
    (dict(stage_order=("a", "a")), "names 'a' twice"),
])
def test_stage_options_that_cannot_work_together(fields, message):
    """--person without --stage, top-k over a person's stages, an order without a stage column."""
    base = dict(protected=("g",), decision="d", stage="stage", stage_order=STAGES)
    with pytest.raises(UsageError, match=message):
        AuditSpec(**{**base, **fields})
    with pytest.raises(UsageError, match="count table has no people"):
        AuditSpec(protected=("g",), decision="d", count_column="n", stage="stage", person="p")


def test_stage_findings_name_the_stage_and_stay_apart():
    """A rule on 'stages' gives one finding per step, with the step in its text, evidence and id."""
    r = _audit(_people(), person="person")
    rule = {"id": "S", "applies_to": "stages", "when": "status == 'difference_detected'",
            "statement": {"en": "At {stage}: {group} {ratio}", "nl": "Bij {stage}: {group} {ratio}"}}
    found = [f for f in build_findings(r, [rule]) if f["rule"] == "S"]
    assert {f["evidence"][0] for f in found} == {"stages/background/migration/1 risk score",
                                                 "stages/background/migration/2 manual selection"}
    assert len({f["id"] for f in found}) == 2
    assert any(f["statement"]["en"].startswith("At 2 manual selection: migration 5.00") for f in found)
    cautions = [f for f in build_findings(r, []) if f["rule"] == "insufficient-evidence-stage"]
    assert [f["evidence"][0] for f in cautions] == ["stages/background/migration/3 home visit"]
    assert "At stage 3 home visit" in cautions[0]["statement"]["en"]
    assert "1,000 cases" in found[0]["population"]["en"]  # people, not the 1,126 rows


def test_planted_bias_at_one_step_is_named_at_that_step():
    """The shipped file where bias enters at manual selection: only step 2 has a detected difference."""
    path = example_path("student-finance-reached")
    result = CliRunner().invoke(main, ["audit", str(path), "--template", "student-finance-control",
                                       "--stage", "stage_reached", "--stage-order", ",".join(STAGES), "--json", "-",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    import json

    r = json.loads(result.output)
    detected = {(s["attribute"], s["group"], s["stage"]) for s in r["stages"]
                if s["comparison"] and s["comparison"]["status"] == "difference_detected"}
    assert detected == {("migration_background", "non-European", "2 manual selection")}
    rec = next(s for s in r["stages"] if (s["group"], s["stage"]) == ("non-European", "2 manual selection"))
    low, high = rec["comparison"]["ratio_ci"]
    assert low <= 3.0 <= high  # the planted ratio


def test_planted_step_is_found_across_draws():
    """Over 10 fresh draws step 2 is detected in most; a difference at another step stays rare (chance)."""
    hits, elsewhere = 0, 0
    for seed in range(10):
        data = generate("student-finance-reached", 4000, seed)
        r = auditkit.audit(data.frame, **data.audit, max_depth=1).results
        found = {(s["group"], s["stage"]) for s in r["stages"]
                 if s["comparison"] and s["comparison"]["status"] == "difference_detected"}
        hits += ("non-European", "2 manual selection") in found
        elsewhere += bool(found - {("non-European", "2 manual selection")})
    # Power at this size is high (the shipped draw's z is above 6); Holm keeps any false step near 5%.
    assert hits >= 9 and elsewhere <= 2, (hits, elsewhere)


def test_the_template_counts_each_student_once():
    """student-finance-control on the per-step file: 8,000 students, not 9,040 rows, in every figure."""
    result = CliRunner().invoke(main, ["audit", str(example_path("student-finance")), "--template",
                                       "student-finance-control", "--json", "-", "--quiet"])
    assert result.exit_code == 0, result.output
    import json

    r = json.loads(result.output)
    assert r["population"]["people"] == 8000 and r["population"]["rows_audited"] == 9040
    assert sum(g["n"] for g in r["groups"] if g["attribute"] == "gender") == 8000
    first = [s for s in r["stages"] if s["stage"] == "1 risk score" and s["attribute"] == "gender"]
    assert sum(s["entering"]["n"] for s in first) == 8000


def _report(tmp_path, frame: pd.DataFrame, *options: str) -> str:
    """The English Markdown report of an audit of ``frame`` (written to a CSV file)."""
    frame.to_csv(tmp_path / "process.csv", index=False)
    args = ["audit", str(tmp_path / "process.csv"), "--protected", "background", "--decision", "moved_on",
            "--stage", "stage", "--stage-order", ",".join(STAGES), "--reference", "background=none",
            "--out", str(tmp_path / "b"), "--quiet", "--no-report", *options]
    assert CliRunner().invoke(main, args).exit_code == 0
    done = CliRunner().invoke(main, ["report", str(tmp_path / "b"), "--format", "md", "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    return (tmp_path / "r" / "report.en.md").read_text(encoding="utf-8")


def test_report_headline_is_end_to_end_and_counts_people(tmp_path):
    """Ten times the hand process: the headline names the whole process; the population is people."""
    frame = pd.concat([_people().assign(person=lambda f, i=i: f["person"] + f"-{i}") for i in range(10)],
                      ignore_index=True)
    text = _report(tmp_path, frame, "--person", "person")
    assert "Evidence report on 10,000 people in process.csv" in text
    assert ("Over the whole process, from 1 risk score to 3 home visit, people in group migration (background) "
            "were selected at the last step 24.00 times as often") in text


def test_report_withholds_stage_shares_that_reveal_a_small_count(tmp_path):
    """2 people of 'none' are found at the home visit: the leaving shares there are withheld for every group,
    and a detected difference that may not lead never reads as 'no difference'."""
    text = _report(tmp_path, _people(), "--person", "person")
    visit = [line for line in text.splitlines() if line.startswith("| 3 home visit |")]
    assert len(visit) == 2 and all(line.split(" | ")[4] == "withheld" for line in visit)
    first = [line for line in text.splitlines() if line.startswith("| 1 risk score |")]
    assert all("withheld" not in line.split(" | ")[4] for line in first)
    assert "No comparison showed a difference" not in text
    assert "Differences were detected after adjusting" in text
