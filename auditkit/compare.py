"""Compare two audits: did the disparity change between a before and an after, two model versions, two agencies?

Agencies answer an audit with "that was the old model" or "we have since corrected it".  This step takes
two evidence bundles (A, the earlier or original; B, the later or changed one), checks that each is
intact, lists every difference in how they were made (population, filters, decision rule, outcome,
template, data file) *before* any figure, matches their comparisons by attribute, group, reference and
metric, and for each gives the two rates, the two ratios, the **ratio of ratios** ``ratio_b / ratio_a``
with its interval, and a test that the ratio changed.

Method: for independent samples the log ratios' variances add; each is Katz's
``1/k1 − 1/n1 + 1/k2 − 1/n2`` from the bundle's own counts (with 0.5 added to every count of a
comparison that has a zero numerator, as the audit's own ratio intervals do), so
``z = (log r_B − log r_A) / sqrt(v_A + v_B)``.  The p-values are adjusted together by Holm.  When both
bundles come from the same data file (two model versions scored on the same people) the samples are not
independent: the test is then conservative (the log ratios are positively correlated), and the paired
analysis is ``auditkit assess MODEL_A --compare-model MODEL_B`` (:mod:`auditkit._assess_compare`).
The comparison's own evidence bundle and report: :mod:`auditkit.compare_bundle`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from ._json import parse_json
from .exceptions import InputDataError
from .measure._stats import holm_adjust, newcombe_difference_interval, z_value

__all__ = ["compare_bundles"]

#: What must be the same for two audits to measure the same thing; each difference is listed first.
_DEFINITION_KEYS = ("decision", "positive", "score", "threshold", "top", "top_n", "truth", "truth_positive",
                    "truth_negative", "filters", "min_group_size", "level", "alpha", "test", "adjust",
                    "selection_method", "random", "strata", "stage")


def _results(bundle: Path) -> tuple[dict, dict]:
    from .bundle import read_manifest, verify_bundle

    report = verify_bundle(bundle)
    if not report.ok:
        named = (report.problems + [f"{f} edited" for f in report.edited] + [f"{f} missing" for f in report.missing]
                 + [f"{f} not listed" for f in report.unlisted] + [f"{f} is a link" for f in report.links])
        problems = "; ".join(str(p) for p in named[:3])
        raise InputDataError(f"{str(bundle)!r} does not verify ({problems or 'see auditkit verify'}); a comparison "
                             f"of a bundle that may have been altered proves nothing. Run `auditkit verify {bundle}`.")
    manifest = read_manifest(bundle)
    try:
        results = parse_json((bundle / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputDataError(f"{bundle / 'results.json'}: cannot be read ({err}).") from None
    if not isinstance(results, dict) or not isinstance(results.get("comparisons"), list):
        raise InputDataError(f"{bundle / 'results.json'} holds no comparisons: is {str(bundle)!r} an audit bundle?")
    return results, manifest


def _definition(results: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    params = results.get("parameters") or {}
    out = {f"parameters.{k}": params.get(k) for k in _DEFINITION_KEYS}
    population = results.get("population") or {}
    out["population.rows_audited"] = population.get("rows_audited", population.get("people"))
    out["population.filters"] = [f.get("step", f.get("column")) if isinstance(f, dict) else f
                                 for f in population.get("filters", [])]
    out["population.decision_rule"] = (population.get("decision_rule") or {}).get("rule")
    out["template"] = (results.get("template") or {}).get("name")
    inputs = {i.get("role"): i.get("sha256") for i in manifest.get("inputs", []) if isinstance(i, dict)}
    out["data file (sha256)"] = inputs.get("data")
    out["model file (sha256)"] = inputs.get("model")
    return out


def _what(results: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit examined: its data source and, for a model assessment, the model file's name."""
    source = (results.get("input") or {}).get("source") or (results.get("population") or {}).get("source")
    model = ((results.get("input") or {}).get("model") or {}).get("file")
    return {"source": None if source is None else str(source), "model": None if model is None else str(model)}


def _labels(res_a: Mapping[str, Any], res_b: Mapping[str, Any]) -> dict[str, Any]:
    """The templates' labels of attributes and groups (B's where both give one), in the form
    :func:`auditkit.locale.label` reads, so the comparison's findings and report print labels, not codes."""
    protected: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for res in (res_a, res_b):
        template = res.get("template")
        given = template.get("protected") if isinstance(template, Mapping) else None
        if isinstance(given, Mapping):
            protected.update(given)
        for a in res.get("attributes") or []:
            if isinstance(a, Mapping) and isinstance(a.get("attributes"), list) and len(a["attributes"]) > 1:
                attributes[str(a.get("attribute"))] = [str(x) for x in a["attributes"]]
    return {"template": {"protected": protected},
            "attributes": [{"attribute": k, "attributes": v} for k, v in sorted(attributes.items())]}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict]:
    return [{"what": key, "a": a[key], "b": b[key]} for key in a if a[key] != b.get(key)]


def _log_ratio(rec: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """log(ratio) and its Katz variance from a comparison's own counts (0.5 added where a numerator is 0)."""
    g, r = rec.get("group_rate") or {}, rec.get("reference_rate") or {}
    try:
        k1, n1, k2, n2 = (float(x) for x in (g["numerator"], g["denominator"], r["numerator"], r["denominator"]))
    except (KeyError, TypeError, ValueError):
        return None, None
    if min(n1, n2) <= 0 or rec.get("bounds") or rec.get("suppressed"):
        return None, None
    h = 0.5 if (k1 == 0 or k2 == 0) else 0.0
    k1, n1, k2, n2 = k1 + h, n1 + h, k2 + h, n2 + h
    return math.log(k1 / n1) - math.log(k2 / n2), 1 / k1 - 1 / n1 + 1 / k2 - 1 / n2


def _counts(rec: Mapping[str, Any]) -> dict[str, list | None]:
    """The group's and the reference's numerator and denominator (what a report needs to withhold small cells)."""
    def pair(rate: Any) -> list | None:
        rate = rate if isinstance(rate, Mapping) else {}
        k, n = rate.get("numerator"), rate.get("denominator")
        return [k, n] if isinstance(k, (int, float)) and isinstance(n, (int, float)) else None
    return {"group": pair(rec.get("group_rate")), "reference": pair(rec.get("reference_rate"))}


def _key(rec: Mapping[str, Any]) -> tuple:
    return rec.get("attribute"), rec.get("group"), rec.get("reference"), rec.get("metric")


def _record(ra: Mapping[str, Any], rb: Mapping[str, Any], level: float) -> dict[str, Any]:
    la, va = _log_ratio(ra)
    lb, vb = _log_ratio(rb)
    ga, gb = ra.get("group_rate") or {}, rb.get("group_rate") or {}
    out: dict[str, Any] = {"attribute": ra.get("attribute"), "group": ra.get("group"), "reference": ra.get("reference"),
                           "metric": ra.get("metric"), "value_a": ga.get("value"), "value_b": gb.get("value"),
                           "n_a": ga.get("denominator"), "n_b": gb.get("denominator"),
                           "ratio_a": ra.get("ratio"), "ratio_b": rb.get("ratio"), "status_a": ra.get("status"),
                           "status_b": rb.get("status"), "ratio_of_ratios": None, "ratio_of_ratios_ci": None,
                           "p_value": None, "change_in_rate": None, "change_in_rate_ci": None, "reason": None,
                           "counts_a": _counts(ra), "counts_b": _counts(rb)}
    if None not in (ga.get("value"), gb.get("value")):
        low, high = newcombe_difference_interval(gb["numerator"], gb["denominator"], ga["numerator"],
                                                 ga["denominator"], level)
        out.update(change_in_rate=gb["value"] - ga["value"], change_in_rate_ci=[float(low), float(high)])
    if la is None or lb is None:
        out["reason"] = "undefined: a ratio rests on suppressed or missing counts, or a group is empty"
        return out
    diff, se, z = lb - la, math.sqrt(va + vb), z_value(level)
    out.update(ratio_of_ratios=math.exp(diff), ratio_of_ratios_ci=[math.exp(diff - z * se), math.exp(diff + z * se)],
               p_value=2 * NormalDist().cdf(-abs(diff) / se) if se > 0 else None)
    return out


def compare_bundles(a: str | Path, b: str | Path, *, level: float = 0.95, alpha: float = 0.05,
                    metrics: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare bundle ``b`` with bundle ``a``: differences in definition first, then one record per match.

    Returns a JSON-ready dict: ``a`` and ``b`` (folder and manifest hash), ``differences``,
    ``same_data`` (whether both audited the same data file), ``method``, ``records`` (per attribute,
    group, reference and metric: ``value_a``, ``value_b``, ``ratio_a``, ``ratio_b``, ``ratio_of_ratios``
    = ratio_b / ratio_a with ``ratio_of_ratios_ci``, ``p_value``, ``p_holm``, ``change``), and
    ``unmatched`` (comparisons found in only one bundle).
    """
    from .bundle import MANIFEST_FILE, manifest_hash

    a, b = Path(a), Path(b)
    (res_a, man_a), (res_b, man_b) = _results(a), _results(b)
    def_a, def_b = _definition(res_a, man_a), _definition(res_b, man_b)
    wanted = set(metrics) if metrics else None
    index_a = {_key(r): r for r in res_a["comparisons"] if isinstance(r, dict)}
    index_b = {_key(r): r for r in res_b["comparisons"] if isinstance(r, dict)}
    keys = sorted((k for k in index_a if k in index_b and (wanted is None or k[3] in wanted)), key=lambda k: tuple(map(str, k)))
    records = [_record(index_a[k], index_b[k], level) for k in keys]
    tested = [i for i, r in enumerate(records) if r["p_value"] is not None]
    adjusted = holm_adjust(np.array([records[i]["p_value"] for i in tested])) if tested else []
    for r in records:
        r["p_holm"] = None
    for i, p in zip(tested, adjusted):
        records[i]["p_holm"] = float(p)
    for r in records:
        r["change"] = ("undefined" if r["p_holm"] is None else
                       "ratio_changed" if r["p_holm"] < alpha else "no_change_detected")
    same = def_a["data file (sha256)"] is not None and def_a["data file (sha256)"] == def_b["data file (sha256)"]
    return {
        "kind": "comparison of two audits",
        "labels": _labels(res_a, res_b),
        "a": {"bundle": a.name, "manifest_sha256": manifest_hash((a / MANIFEST_FILE).read_bytes()), **_what(res_a)},
        "b": {"bundle": b.name, "manifest_sha256": manifest_hash((b / MANIFEST_FILE).read_bytes()), **_what(res_b)},
        "differences": _differences(def_a, def_b),
        "same_data": same,
        "data_sha256": {"a": def_a["data file (sha256)"], "b": def_b["data file (sha256)"]},
        "method": {"ratio_of_ratios": "ratio_b / ratio_a; log-scale interval with the Katz variances of both added "
                   "(independent samples)", "test": "z-test of log ratio_b − log ratio_a", "adjust": "holm",
                   "alpha": alpha, "level": level,
                   "caveat": ("both bundles audited the same data file, so the samples are not independent and "
                              "the test is conservative") if same else None},
        "records": records,
        "unmatched": {"only_a": [list(map(str, k)) for k in sorted(set(index_a) - set(index_b), key=str)],
                      "only_b": [list(map(str, k)) for k in sorted(set(index_b) - set(index_a), key=str)]},
    }
