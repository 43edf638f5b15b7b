"""Designs real investigations use: the stratified view, against hand counts (process stages: test_stages.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import auditkit


def _stage_data() -> pd.DataFrame:
    # Student-finance style: every applicant is scored, some are picked by hand, some visited.
    rows = []
    for stage, counts in (("1 risk score", {"migration": (200, 40), "none": (800, 60)}),
                          ("2 manual selection", {"migration": (40, 20), "none": (60, 6)}),
                          ("3 home visit", {"migration": (20, 12), "none": (6, 2)})):
        for group, (n, selected) in counts.items():
            rows += [{"stage": stage, "background": group, "moved_on": int(i < selected)} for i in range(n)]
    return pd.DataFrame(rows)


def test_unknown_stage_in_order_is_an_error():
    """--stage-order naming a stage the column lacks says which stages exist."""
    with pytest.raises(auditkit.InputDataError, match="home visit"):
        auditkit.audit(_stage_data(), protected=("background",), decision="moved_on", stage="stage",
                       stage_order=("1 risk score", "visit"))


def test_cdd_and_mh_from_rows_equal_count_table_input():
    """The stratified results from rows equal those from the same data given as a count table."""
    df = _stage_data()
    counts = df.groupby(["stage", "background", "moved_on"]).size().reset_index(name="count")
    kw = dict(protected=("background",), strata=("stage",), references={"background": "none"})
    from_rows = auditkit.audit(df, decision="moved_on", **kw).results["stratified"]
    from_counts = auditkit.audit(counts, decision="moved_on", count_column="count", **kw).results["stratified"]
    assert from_rows == from_counts
    (s,) = from_rows
    # Hand computation of CDD: per stage, share of 'migration' among moved on minus among not moved on.
    dd = {"1 risk score": (40 / 100 - 160 / 900, 1000), "2 manual selection": (20 / 26 - 20 / 74, 100),
          "3 home visit": (12 / 14 - 8 / 12, 26)}
    cdd = sum(v * n for v, n in dd.values()) / sum(n for _, n in dd.values())
    assert s["conditional_demographic_disparity"] == pytest.approx(cdd, abs=1e-12)
