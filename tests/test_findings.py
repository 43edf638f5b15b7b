"""Findings: plain statements that carry the number, its interval and the group sizes, with stable ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import auditkit
from auditkit.exceptions import TemplateError
from auditkit.expr import ExpressionError
from auditkit.findings import build_findings

RULE = {
    "id": "selection-rate-disparity", "severity": "high",
    "when": "metric == 'selection_rate' and status == 'difference_detected' and ratio_ci[0] > 1",
    "statement": {"en": "{group} were selected {ratio} times as often as {reference} ({level}% CI {ratio_ci_low}–"
                        "{ratio_ci_high}; {n_group} and {n_reference} applicants).",
                  "nl": "{group} werden {ratio} keer zo vaak geselecteerd als {reference} ({level}%-BI "
                        "{ratio_ci_low}–{ratio_ci_high}; {n_group} en {n_reference} aanvragers)."},
    "recommendation": {"en": "Ask the agency why.", "nl": "Vraag de instantie waarom."},
    "rights": ["non-discrimination"], "provisions": ["ECHR art. 14"],
}


def _data(n_b: int = 2000, rate_b: float = 0.3) -> pd.DataFrame:
    k = int(n_b * rate_b)
    return pd.DataFrame({"g": ["a"] * 4000 + ["b"] * n_b + ["c"] * 12,
                         "d": [1] * 400 + [0] * 3600 + [1] * k + [0] * (n_b - k) + [1] * 6 + [0] * 6})


def test_statement_carries_number_interval_and_sizes_in_both_languages():
    """The finding states ratio, interval and both n, in English and in Dutch with decimal commas."""
    r = auditkit.audit(_data(), protected=("g",), decision="d", references={"g": "a"}).results
    (f,) = [f for f in build_findings(r, [RULE]) if f["kind"] == "disparity"]
    c = next(c for c in r["comparisons"] if c["group"] == "b")
    assert f["statement"]["en"] == (f"b were selected 3.00 times as often as a (95% CI {c['ratio_ci'][0]:.2f}–"
                                    f"{c['ratio_ci'][1]:.2f}; 2,000 and 4,000 applicants).")
    assert "3,00 keer" in f["statement"]["nl"] and "2.000 en 4.000" in f["statement"]["nl"]
    assert f["evidence"] == ["comparisons/g/b/selection_rate"] and f["severity"] == "high"
    assert f["population"]["en"].startswith("6,012 cases") and "not a test" in f["screening_band"]


def test_ids_are_stable_across_runs_and_data_changes():
    """The same rule on the same group keeps its id when the audit is re-run, even on other figures."""
    one = build_findings(auditkit.audit(_data(), protected=("g",), decision="d").results, [RULE])
    two = build_findings(auditkit.audit(_data(2500, 0.35), protected=("g",), decision="d").results, [RULE])
    assert [f["id"] for f in one] == [f["id"] for f in two]


def test_small_groups_get_insufficient_evidence_not_a_rule_verdict():
    """A group under the minimum size yields an 'insufficient evidence' finding and never the rule's."""
    r = auditkit.audit(_data(), protected=("g",), decision="d", references={"g": "a"}).results
    findings = build_findings(r, [{**RULE, "when": "metric == 'selection_rate'"}])
    small = [f for f in findings if "c" in f["evidence"][0].split("/")]
    assert [f["kind"] for f in small] == ["insufficient_evidence"]
    assert "not evidence of equal treatment" in small[0]["statement"]["en"]


def test_simpson_reversal_is_a_finding():
    """Berkeley 1973: the reversal between crude and stratified results becomes a finding."""
    path = Path(__file__).parents[1] / "datasets" / "berkeley" / "admissions.csv"
    r = auditkit.audit(path, protected=("gender",), count_column="count", decision="decision",
                       positive=("Admitted",), strata=("department",), references={"gender": "Male"},
                       selection_is="beneficial").results
    (f,) = [f for f in build_findings(r, []) if f["kind"] == "stratified_reversal"]
    assert "Simpson" in f["statement"]["en"] and f["evidence"] == ["stratified/gender/Female"]


def test_bounded_ratio_is_stated_as_a_range(tmp_path):
    """A ratio that depends on suppressed cells is stated as 'between L and U', never as a point."""
    path = tmp_path / "t.csv"
    path.write_text("g,d,n\na,1,300\na,0,2700\nb,1,900\nb,0,<10\n")
    r = auditkit.audit(path, protected=("g",), decision="d", count_column="n", suppressed=("<10",),
                       references={"g": "a"}).results
    (f,) = [f for f in build_findings(r, [RULE]) if f["kind"] == "disparity"]
    assert "between 9.90 and 10.00 times" in f["statement"]["en"] and "tussen 9,90 en 10,00" in f["statement"]["nl"]


def test_bad_rules_are_template_errors():
    """An unknown placeholder, a missing language and an invalid condition are TemplateErrors with the rule id."""
    r = auditkit.audit(_data(), protected=("g",), decision="d").results
    with pytest.raises(TemplateError, match="selection-rate-disparity.*placeholder"):
        build_findings(r, [{**RULE, "statement": {"en": "{gruop}", "nl": "x"}}])
    with pytest.raises(TemplateError, match="'nl'"):
        build_findings(r, [{**RULE, "statement": {"en": "x"}}])
    with pytest.raises(ExpressionError):
        build_findings(r, [{**RULE, "when": "__import__('os')"}])


def test_tiny_p_value_reads_less_than_not_equals_less_than() -> None:
    """'Holm p = {p_holm}' with p below 0.0001 reads 'p < 0.0001' (never 'p = < 0.0001'), in both languages."""
    from auditkit.findings import _format, _p

    for lang, expected in (("en", "Holm p < 0.0001)"), ("nl", "Holm p < 0,0001)")):
        text = _format("(Holm p = {p_holm})", {"p_holm": _p(1e-12, lang)}, "rule")
        assert text.endswith(expected) and "= <" not in text
    assert _format("p = {p}", {"p": _p(0.0312, "en")}, "rule") == "p = 0.0312"
