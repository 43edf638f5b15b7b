"""The public surface: exported names are pinned, results are schema-versioned and reproducible."""

from __future__ import annotations

import json

import pandas as pd

import auditkit
from auditkit.results import to_json


def test_exported_members_are_pinned():
    """auditkit.__all__ is sorted and lists exactly the public names (httpx-style pin)."""
    assert auditkit.__all__ == sorted(auditkit.__all__)
    assert set(auditkit.__all__) == {
        "METRICS", "SCHEMA_VERSION", "AuditResult", "AuditSpec", "AuditkitError", "CountTable", "Dimension",
        "EngineError", "Filter", "InputDataError", "TemplateError", "UnsafeModelError", "UsageError",
        "__version__", "audit", "findings", "measure", "minimum_detectable_ratio", "report", "sample_size",
    }
    for name in auditkit.__all__:
        assert hasattr(auditkit, name)


def test_results_document_has_the_promised_keys():
    """Group and comparison records carry the keys other features depend on."""
    df = pd.DataFrame({"g": ["a", "b"] * 60, "d": [1, 0, 0] * 40, "y": [1, 1, 0, 0] * 30})
    r = auditkit.audit(df, protected=("g",), decision="d", truth="y").results
    assert r["schema_version"] == auditkit.SCHEMA_VERSION
    for key in ("population", "design", "parameters", "attributes", "groups", "comparisons", "multiple_testing"):
        assert key in r
    g = r["groups"][0]
    for key in ("attribute", "group", "n", "tp", "fp", "tn", "fn", "selected", "not_selected"):
        assert key in g
    for rate in ("selection_rate", "base_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv", "fdr", "for", "accuracy"):
        assert {"value", "ci_low", "ci_high", "numerator", "denominator"} <= set(g[rate])
    c = r["comparisons"][0]
    for key in ("attribute", "group", "reference", "metric", "ratio", "ratio_ci", "difference", "difference_ci",
                "p_value", "p_holm", "p_bh", "status"):
        assert key in c
    json.loads(to_json(r))


def test_same_inputs_same_bytes():
    """Two runs on the same data give byte-identical JSON (no clocks, sorted levels, fixed seeds)."""
    df = pd.DataFrame({"g": ["b", "a", "c"] * 50, "d": [1, 0] * 75})
    one = to_json(auditkit.audit(df, protected=("g",), decision="d", bootstrap=50).results)
    two = to_json(auditkit.audit(df.iloc[::-1].reset_index(drop=True), protected=("g",), decision="d",
                                 bootstrap=50).results)
    assert one == two
