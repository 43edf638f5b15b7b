"""auditkit in a notebook: tidy frames, the HTML view, findings, bundles and reports from Python."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy.stats import fisher_exact

import auditkit
from conftest import run_cli


@pytest.fixture(scope="module")
def result():
    """Group b selected 24 of 60, reference a 6 of 60; a group named like markup."""
    df = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 60 + ["<b>x</b>"] * 40,
                       "d": [1] * 6 + [0] * 54 + [1] * 24 + [0] * 36 + [1] * 5 + [0] * 35})
    return auditkit.audit(df, protected=("g",), decision="d", references={"g": "a"})


def test_to_frame_is_tidy_and_matches_a_hand_count(result):
    """One row per comparison with the rates, ratio and test as counted by hand and by scipy; one row per group
    and rate for 'groups'."""
    comps = result.to_frame()
    b = comps[(comps.group == "b") & (comps.metric == "selection_rate")].iloc[0]
    assert (b.group_numerator, b.group_denominator, b.reference_numerator, b.reference_denominator) == (24, 60, 6, 60)
    assert b.ratio == pytest.approx((24 / 60) / (6 / 60)) and b.difference == pytest.approx(0.3)
    assert b.p_value == pytest.approx(fisher_exact([[24, 36], [6, 54]])[1])
    groups = result.to_frame("groups")
    rate = groups[(groups.group == "b") & (groups.metric == "selection_rate")].iloc[0]
    assert (rate.numerator, rate.denominator, rate.value) == (24, 60, pytest.approx(0.4))
    assert list(groups.columns[:5]) == ["attribute", "group", "is_reference", "n", "metric"]
    with pytest.raises(ValueError, match="'kind' parameter of to_frame must be"):
        result.to_frame("rows")


def test_jupyter_shows_a_compact_escaped_table(result):
    """_repr_html_ heads the table with the headline and escapes every name from the data."""
    view = result._repr_html_()
    assert "headline: b (g) selection_rate ratio 4.00" in view
    assert "<b>x</b>" not in view and "&lt;b&gt;x&lt;/b&gt;" in view
    assert view.count("<tr>") == 3  # the header and two comparisons


def test_findings_bundle_and_report_from_python(result, tmp_path):
    """auditkit.findings gives what the bundle holds; write_bundle makes a bundle verify accepts;
    auditkit.report renders into it (listed) or into another folder."""
    found = auditkit.findings(result)
    assert [f["rule"] for f in found] == ["SEL-HIGHER"] and found[0]["evidence"] == ["comparisons/g/b/selection_rate"]
    bundle = result.write_bundle(tmp_path / "b")
    assert json.loads((bundle / "findings.json").read_text(encoding="utf-8")) == found
    written = auditkit.report(bundle, lang="nl", format=["md"])
    assert [p.name for p in written] == ["report.nl.md"]
    assert run_cli("verify", str(bundle)).exit_code == 0
    elsewhere = auditkit.report(bundle, format="brief", out=tmp_path / "brief")
    assert [p.name for p in elsewhere] == ["brief.en.pdf", "brief.en.png"]
    from auditkit.report import render_report  # the package still works as a package

    assert callable(render_report)
