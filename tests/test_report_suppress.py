"""Small-cell suppression in reports: selection counts stay published, small cells stay unrecoverable.

The attackers below are written independently of auditkit.report._suppress.  ``attack`` models every
group as six disjoint cells of people (tp, fp and selected-with-unknown-outcome; tn, fn and not-selected-
with-unknown-outcome), plus three for the random sample and three for the model's selection, and works by
subtraction only, from what the Suppressor lets the report print (every count it does not withhold, on
every rate, printed or not) and the population totals the report prints.  ``linear_attack`` takes any
linear combination of the same counts.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from auditkit.report import build_document, load_bundle
from auditkit.report._document import FindingBlock
from auditkit.report._suppress import Suppressor
from conftest import run_cli
from test_report import make_bundle

WELFARE = Path(__file__).resolve().parents[1] / "datasets" / "welfare" / "decisions.csv"

# --- a results document by hand, mirroring the welfare example --------------------------------------

#: (tp, fp, selected with unknown outcome, tn, fn, not selected with unknown outcome) per nationality × gender.
#: Outcomes are known for every selected case and few others (selective labels); fraud is found in fewer
#: than 10 of the selected in every non-Dutch cell, EU × M has no fraud found at all (so fp == selected).
CELLS = {
    ("Dutch", "F"): (27, 192, 0, 58, 6, 2165), ("Dutch", "M"): (13, 127, 0, 56, 4, 1903),
    ("EU", "F"): (6, 46, 0, 9, 0, 261), ("EU", "M"): (0, 29, 0, 8, 1, 214),
    ("non-EU", "F"): (5, 68, 0, 10, 1, 405), ("non-EU", "M"): (4, 53, 0, 3, 1, 325),
}
ATOMS = ("tp", "fp", "su", "tn", "fn", "nu")


def _rate(num: int, den: int) -> dict:
    return {"value": num / den if den else None, "ci_low": None, "ci_high": None, "numerator": num,
            "denominator": den}


def _group(attribute: str, names: list[str], levels: dict, cells: list[tuple], total: int, selected_total: int,
           reference: bool) -> dict:
    tp, fp, su, tn, fn, nu = (sum(c[i] for c in cells) for i in range(6))
    n, sel = tp + fp + su + tn + fn + nu, tp + fp + su
    return {"attribute": attribute, "attributes": names, "group": " × ".join(levels[a] for a in names),
            "levels": {a: levels[a] for a in names}, "is_reference": reference, "n": n, "selected": sel,
            "not_selected": n - sel, "tp": tp, "fp": fp, "tn": tn, "fn": fn, "n_outcome_unknown": su + nu,
            "selection_rate": _rate(sel, n), "share_of_population": _rate(n, total),
            "share_of_selected": _rate(sel, selected_total), "base_rate": _rate(tp + fn, tp + fp + tn + fn),
            "tpr": _rate(tp, tp + fn), "fnr": _rate(fn, tp + fn), "fpr": _rate(fp, fp + tn), "tnr": _rate(tn, fp + tn),
            "ppv": _rate(tp, tp + fp), "fdr": _rate(fp, tp + fp), "npv": _rate(tn, tn + fn), "for": _rate(fn, tn + fn),
            "accuracy": _rate(tp + tn, tp + fp + tn + fn)}


def welfare_like(cells: dict | None = None) -> dict:
    """Results with nationality, gender and their intersection; selection rate and hit rate (ppv) compared."""
    CELLS = cells or globals()["CELLS"]  # noqa: N806
    total = sum(sum(c) for c in CELLS.values())
    selected_total = sum(sum(c[:3]) for c in CELLS.values())
    refs = {"nationality": "Dutch", "gender": "M", "nationality × gender": "Dutch × M"}
    groups, attributes = [], []
    for names in (["nationality"], ["gender"], ["nationality", "gender"]):
        attr = " × ".join(names)
        keys = sorted({tuple(k[i] for i in (0, 1) if ("nationality", "gender")[i] in names) for k in CELLS})
        for key in keys:
            levels = dict(zip(names, key))
            cells = [c for (nat, gen), c in CELLS.items()
                     if all({"nationality": nat, "gender": gen}[a] == levels[a] for a in names)]
            label = " × ".join(key)
            groups.append(_group(attr, names, levels, cells, total, selected_total, label == refs[attr]))
        attributes.append({"attribute": attr, "attributes": names, "reference": refs[attr],
                           "reference_rule": "given explicitly (--reference)", "groups": len(keys)})
    comparisons = []
    for g in groups:
        if g["is_reference"]:
            continue
        ref = next(r for r in groups if r["attribute"] == g["attribute"] and r["is_reference"])
        for metric in ("selection_rate", "ppv"):
            a, b = g[metric], ref[metric]
            ratio = a["value"] / b["value"] if b["value"] else None
            comparisons.append({"attribute": g["attribute"], "group": g["group"], "reference": ref["group"],
                                "metric": metric, "group_rate": a, "reference_rate": b, "ratio": ratio,
                                "ratio_ci": [ratio * 0.8, ratio * 1.25] if ratio else [None, None],
                                "difference": a["value"] - b["value"], "difference_ci": [None, None],
                                "p_holm": 0.001, "status": "difference_detected"})
    return {"schema_version": "1", "attributes": attributes, "groups": groups, "comparisons": comparisons,
            "population": {"rows_audited": total, "source": "hand-built"},
            "design": {"rows": total, "selected": selected_total, "not_selected": total - selected_total},
            "parameters": {"level": 0.95, "min_group_size": 30}, "multiple_testing": {"family_size": 16}}


# --- the attacker ------------------------------------------------------------------------------------

#: Every count the attacker knows by name, as the set of disjoint cells it adds up (per universe).
MAIN = {"n": set(ATOMS), "selected": {"tp", "fp", "su"}, "not_selected": {"tn", "fn", "nu"},
        "sel_known": {"tp", "fp"}, "nsel_known": {"tn", "fn"}, "pos": {"tp", "fn"}, "neg": {"fp", "tn"},
        "known": {"tp", "fp", "tn", "fn"}, "correct": {"tp", "tn"}, "wrong": {"fp", "fn"}, "unknown": {"su", "nu"},
        **{a: {a} for a in ATOMS}}
SIDE = {"all": {"pos", "neg", "unk"}, "known": {"pos", "neg"}, "pos": {"pos"}, "neg": {"neg"}, "unk": {"unk"}}
NAMED = {**{("main", q): s for q, s in MAIN.items()},
         **{(u, q): s for u in ("random", "model") for q, s in SIDE.items()}}
ORDER = {"main": ATOMS, "random": ("pos", "neg", "unk"), "model": ("pos", "neg", "unk")}
#: metric -> (numerator, denominator) as named counts; None: a grand total.
METRICS = {"selection_rate": ("selected", "n"), "share_of_population": ("n", None),
           "share_of_selected": ("selected", None), "base_rate": ("pos", "known"), "tpr": ("tp", "pos"),
           "fnr": ("fn", "pos"), "fpr": ("fp", "neg"), "tnr": ("tn", "neg"), "ppv": ("tp", "sel_known"),
           "fdr": ("fp", "sel_known"), "npv": ("tn", "nsel_known"), "for": ("fn", "nsel_known"),
           "accuracy": ("correct", "known")}
SIDE_METRICS = {"share_of_random_sample": ("random", "all", None),
                "base_rate_random_sample": ("random", "pos", "known"),
                "share_of_model_selection": ("model", "all", None),
                "hit_rate_model_selection": ("model", "pos", "known")}


def _mask(universe: str, cells: set[str]) -> tuple[str, int]:
    return universe, sum(1 << ORDER[universe].index(c) for c in cells)


def _truth(results: dict) -> dict:
    """The value of every sum of cells of every group (from the records: what the attacker is after)."""
    atoms: dict = defaultdict(dict)
    for g in results["groups"]:
        key = (g["attribute"], g["group"])
        tp, fp, tn, fn = (g.get(a) or 0 for a in ("tp", "fp", "tn", "fn"))  # no outcome: all unknown
        atoms[key]["main"] = (tp, fp, g["selected"] - tp - fp, tn, fn, g["n"] - g["selected"] - tn - fn)
    for m in results.get("selection_method", []):
        key = (m["attribute"], m["group"])
        for universe, share, rate in (("random", "share_of_random_sample", "base_rate_random_sample"),
                                      ("model", "share_of_model_selection", "hit_rate_model_selection")):
            k, n_known, n_all = m[rate]["numerator"], m[rate]["denominator"], m[share]["numerator"]
            atoms[key][universe] = (k, n_known - k, n_all - n_known)
    first = results["groups"][0]["attribute"]  # the population: the sum over one attribute's groups
    for u in ORDER:
        parts = [by_u[u] for (a, _), by_u in atoms.items() if a == first and u in by_u]
        if parts:
            atoms[ALL][u] = tuple(map(sum, zip(*parts)))
    return {key: {(u, mask): sum(v for i, v in enumerate(values) if mask >> i & 1)
                  for u, values in by_u.items() for mask in range(1, 1 << len(values))}
            for key, by_u in atoms.items()}


NAMED_MASKS = {_mask(u, cells): (u, q) for (u, q), cells in NAMED.items()}
ALL = ("", "(all)")
#: The population counts the report prints: rows, selected, not selected, cases with an unknown outcome
#: (summary and method section), the random sample and the model's selection (share denominators).
PRINTED_TOTALS = [("main", {"tp", "fp", "su", "tn", "fn", "nu"}), ("main", {"tp", "fp", "su"}),
                  ("main", {"tn", "fn", "nu"}), ("main", {"su", "nu"}), ("random", {"pos", "neg", "unk"}),
                  ("model", {"pos", "neg", "unk"})]


def _printed(results: dict, sup: Suppressor) -> dict:
    """What the report may print, by group: {mask: value} for every count the Suppressor does not withhold."""
    known: dict = defaultdict(dict)
    for g in results["groups"]:
        key = (g["attribute"], g["group"])
        for metric, (num, den) in METRICS.items():
            rec = g.get(metric) or {}
            for part, name in (("num", num), ("den", den)):
                if name and "numerator" in rec and not sup.count_hidden(*key, metric, part):
                    known[key][_mask("main", MAIN[name])] = rec["numerator" if part == "num" else "denominator"]
    for m in results.get("selection_method", []):
        key = (m["attribute"], m["group"])
        for metric, (universe, num, den) in SIDE_METRICS.items():
            rec = m.get(metric) or {}
            for part, name in (("num", num), ("den", den)):
                if name and "numerator" in rec and not sup.count_hidden(*key, metric, part):
                    known[key][_mask(universe, SIDE[name])] = rec["numerator" if part == "num" else "denominator"]
    truth = _truth(results)
    for universe, cells in PRINTED_TOTALS:
        if _mask(universe, cells) in truth[ALL]:
            known[ALL][_mask(universe, cells)] = truth[ALL][_mask(universe, cells)]
    return known


def _sets(results: dict) -> list[list[tuple[str, str]]]:
    """A whole and its parts: the population and one attribute's groups; a group and its intersections."""
    by_attr = defaultdict(list)
    for g in results["groups"]:
        by_attr[g["attribute"]].append(g)
    sets = [[ALL, *((a, g["group"]) for g in gs)] for a, gs in by_attr.items()]
    for attr, gs in by_attr.items():
        names = gs[0]["attributes"]
        for drop in names if len(names) > 1 else []:
            rest = [n for n in names if n != drop]
            parent = next((a for a, ps in by_attr.items() if ps[0]["attributes"] == rest), None)
            for p in by_attr.get(parent, []):
                kids = [(attr, g["group"]) for g in gs if all(g["levels"][n] == p["levels"][n] for n in rest)]
                sets.append([(parent, p["group"]), *kids])  # parent = sum of kids: same subtraction
    return sets


def attack(results: dict, sup: Suppressor, *, equal_means_same: bool = True, all_totals: bool = False) -> dict:
    """Everything subtraction recovers from the printed counts: {group: {mask: value}}.

    Within a group: a known count minus a known part of it is known, and two known disjoint counts add up
    (so a total minus its other published parts gives the last one); zero cells are taken as known; with
    ``equal_means_same`` a count of one table (decisions, random sample, model's selection) equal to a known
    count of another table of the same group is taken to be the same people (the model's selection may be
    the decisions' selection); within one table, which counts are the same people follows from the zero
    cells (selected == selected with a known outcome when no selected case has an unknown one).
    Across groups: a count known for all but one of a whole and its parts (the population and one
    attribute's groups; a group and its intersections) is known for that one too.  The population's counts
    are known as far as the report prints them (PRINTED_TOTALS) or, with ``all_totals``, all of them.
    """
    truth, known = _truth(results), _printed(results, sup)
    if all_totals:
        known[ALL] = dict(truth[ALL])
    for key, values in truth.items():
        for universe, order in ORDER.items():
            for i, atom in enumerate(order):
                if values.get((universe, 1 << i)) == 0:
                    known[key][(universe, 1 << i)] = 0
    sets = _sets(results)
    changed = True
    while changed:
        changed = False
        for key, have in known.items():
            grew = True
            while grew:
                grew = False
                for (ua, a), (ub, b) in itertools.product(list(have), repeat=2):
                    if ua != ub or a == b:
                        continue
                    new = None
                    if a & b == a:
                        new = ((ua, b & ~a), have[(ub, b)] - have[(ua, a)])
                    elif a & b == 0:
                        new = ((ua, a | b), have[(ua, a)] + have[(ub, b)])
                    if new and new[0][1] and new[0] not in have:
                        have[new[0]] = new[1]
                        grew = changed = True
                if equal_means_same:
                    named = {(m[0], have[m]) for m in have if m in NAMED_MASKS}
                    for mask, value in truth[key].items():
                        if (mask in NAMED_MASKS and mask not in have and value
                                and any(u != mask[0] and v == value for u, v in named)):
                            have[mask] = value
                            grew = changed = True
        for members in sets:
            masks = {m for key in members for m in known[key]}
            for mask in masks:
                missing = [key for key in members if mask not in known[key]]
                if len(missing) == 1 and mask in truth.get(missing[0], {}):
                    known[missing[0]][mask] = truth[missing[0]][mask]
                    changed = True
    for key, have in known.items():  # the attacker's arithmetic must be right
        for mask, value in have.items():
            if mask in truth[key]:
                assert truth[key][mask] == value, (key, mask)
    return known


def recovered_small(results: dict, sup: Suppressor, **kw) -> list:
    """Small named counts (1 to k - 1: tp, n - selected, ...) of a group that the attacker knows."""
    truth, known = _truth(results), attack(results, sup, **kw)
    return sorted((key, NAMED_MASKS[mask], truth[key][mask]) for key in truth if key != ALL
                  for mask in known[key] if mask in NAMED_MASKS and sup.small(truth[key][mask]))


def linear_attack(results: dict, sup: Suppressor) -> list:
    """A stronger attacker: any linear combination of the printed counts, zero cells and printed totals.

    Unknowns are the six cells of every intersection (the finest groups); each printed count of a group
    is a known sum of them.  A small count is recovered when its vector lies in the span of the known ones.
    """
    finest = [g for g in results["groups"] if len(g["attributes"]) == max(len(h["attributes"])
                                                                          for h in results["groups"])]
    column = {(g["group"], a): 6 * j + i for j, g in enumerate(finest) for i, a in enumerate(ATOMS)}
    truth = _truth(results)

    def vector(g: dict, cells: set[str]) -> np.ndarray:
        v = np.zeros(len(column))
        for h in finest:
            if all(h["levels"][a] == g["levels"][a] for a in g["attributes"]):
                for c in cells:
                    v[column[(h["group"], c)]] = 1
        return v

    whole = {"attributes": [], "levels": {}}
    rows = [vector(whole, cells) for u, cells in PRINTED_TOTALS if u == "main"]
    rows += [vector(whole, {a}) for a in ATOMS if truth[ALL][_mask("main", {a})] == 0]
    for g in results["groups"]:
        key = (g["attribute"], g["group"])
        rows += [vector(g, {a}) for a in ATOMS if truth[key][_mask("main", {a})] == 0]
        for metric, (num, den) in METRICS.items():
            rec = g.get(metric) or {}
            rows += [vector(g, MAIN[name]) for part, name in (("num", num), ("den", den))
                     if name and "numerator" in rec and not sup.count_hidden(*key, metric, part)]
    known = np.array(rows)
    rank = np.linalg.matrix_rank(known)
    return sorted((g["group"], q, truth[(g["attribute"], g["group"])][_mask("main", cells)])
                  for g in results["groups"] for q, cells in MAIN.items()
                  if sup.small(truth[(g["attribute"], g["group"])][_mask("main", cells)])
                  and np.linalg.matrix_rank(np.vstack([known, vector(g, cells)])) == rank)


# --- tests -------------------------------------------------------------------------------------------

def test_selection_rates_stay_published_while_small_hit_counts_are_withheld():
    """Fewer than 10 fraud-found cases withhold the hit rate, not the selection counts beside them."""
    results = welfare_like()
    sup = Suppressor(results, 10)
    for c in results["comparisons"]:
        if c["metric"] == "selection_rate":
            assert sup.comparison_ok(c), (c["group"], sup.hidden[(c["attribute"], c["group"])])
    for g in results["groups"]:
        if 0 < g["tp"] < 10:
            assert sup.count_hidden(g["attribute"], g["group"], "ppv", "num"), g["group"]
            assert not sup.group_rate_ok(g["attribute"], g["group"], "ppv")
    # EU × M: no fraud found, so fp == selected == 29, next to tn = 8: the old rules withheld fp for the
    # sake of tn and then selected as fp's twin; fp (29) is no small cell, tn is protected without it
    assert sup.count_hidden("nationality × gender", "EU × M", "npv", "num")
    assert not sup.count_hidden("nationality × gender", "EU × M", "selection_rate", "num")
    assert sup.exposed == set()
    assert recovered_small(results, sup) == []
    assert linear_attack(results, sup) == []


def test_the_attacker_finds_what_the_old_rules_would_give_away():
    """The attacker is not toothless: with only the small cells withheld, it recovers some of them."""
    results = welfare_like()
    sup = Suppressor(results, 10)
    for key in list(sup.hidden):
        sup.hidden[key] = {q for q in sup.hidden[key] if (key, q) in sup.primary}
    leaked = recovered_small(results, sup)
    assert (("nationality × gender", "non-EU × M"), ("main", "tp"), 4) in leaked  # M − Dutch × M − EU × M


def test_selection_counts_are_withheld_when_they_would_give_a_small_cell_back():
    """n − selected below 10 is a small cell: then a selection count must go, and nothing small is recovered."""
    cells = {**CELLS, ("EU", "M"): (0, 29, 200, 3, 1, 0)}  # 229 of 233 selected: 4 not selected
    results = welfare_like(cells)
    sup = Suppressor(results, 10)
    assert not sup.group_rate_ok("nationality × gender", "EU × M", "selection_rate")
    assert sup.exposed == set()
    assert recovered_small(results, sup) == []


def test_a_lone_small_group_is_protected_against_the_total(tmp_path):
    """The small bundle of test_report (group d of 6 people): the attacker cannot get d's counts back."""
    results = json.loads((make_bundle(tmp_path / "b") / "results.json").read_text(encoding="utf-8"))
    sup = Suppressor(results, 10)
    assert sup.group_hidden("g", "d")
    assert recovered_small(results, sup) == []
    assert recovered_small(results, Suppressor(results, 30)) == []


@pytest.fixture(scope="module")
def welfare_bundle(tmp_path_factory) -> Path:
    """The README's example: `auditkit audit datasets/welfare/decisions.csv --template welfare-fraud-risk`."""
    out = tmp_path_factory.mktemp("welfare") / "audit"
    result = run_cli("audit", WELFARE, "--template", "welfare-fraud-risk", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def test_no_small_cell_of_the_welfare_example_can_be_recovered(welfare_bundle):
    """The attacker, run on the example's own results at its threshold (10), recovers nothing small."""
    bundle = load_bundle(welfare_bundle)
    assert bundle.min_count == 10
    sup = Suppressor(bundle.results, bundle.min_count)
    assert sup.exposed == set()
    assert recovered_small(bundle.results, sup) == []
    assert linear_attack(bundle.results, sup) == []
    assert all(sup.comparison_ok(c) for c in bundle.results["comparisons"] if c["metric"] == "selection_rate")
    for k in (5, 20, 50):  # and at other thresholds
        other = Suppressor(bundle.results, k)
        assert recovered_small(bundle.results, other) == [] and linear_attack(bundle.results, other) == [], k


def test_the_welfare_report_shows_its_high_selection_rate_findings(welfare_bundle):
    """Every high finding of the example is published; only the hit-rate findings resting on 7 and 6
    fraud-found cases in the random sample (primary small cells) are withheld."""
    bundle = load_bundle(welfare_bundle)
    doc = build_document(bundle, "en")
    blocks = {}

    def walk(section):
        for b in section.blocks:
            if isinstance(b, FindingBlock):
                blocks[b.id] = b
        for s in section.subsections:
            walk(s)

    for s in doc.sections:
        walk(s)
    findings = {f["id"]: f for f in bundle.findings}
    withheld = {fid for fid, b in blocks.items() if b.withheld}
    assert all(not blocks[fid].withheld for fid, f in findings.items() if f["severity"] == "high")
    assert all("hit_rate_comparison" in findings[fid]["evidence"][0] for fid in withheld)
    assert len(withheld) <= 2
    html = (welfare_bundle / "report.en.html").read_text(encoding="utf-8")
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    # EU × F against Dutch × F, the reference within the same gender (--intersection-reference within)
    assert "selected 1.81 times as often" in text and "322 and 2,448" in text
    count = int(re.search(r"(\d+) figures in this report are withheld", text).group(1))
    assert count <= 50  # intersections are compared within the other attribute: two comparison tables each


def test_the_hand_built_report_renders_selection_findings(tmp_path):
    """The hand-built document renders; its selection-rate finding is published, its EU × F hit rate withheld."""
    findings = [{"id": "F-00000001", "rule": "selection-rate-disparity", "kind": "disparity", "severity": "high",
                 "statement": {"en": "EU × F were selected 2.43 times as often as Dutch × M."},
                 "evidence": ["comparisons/nationality × gender/EU × F/selection_rate"]},
                {"id": "F-00000002", "rule": "hit-rate-disparity", "kind": "disparity", "severity": "medium",
                 "statement": {"en": "Fraud was found in 6 of 52 selected EU × F."},
                 "evidence": ["comparisons/nationality × gender/EU × F/ppv"]}]
    folder = make_bundle(tmp_path / "b", results=json.loads(json.dumps(welfare_like())), findings=findings,
                         checklist=None)
    doc = build_document(folder, "en")
    blocks = [b for s in doc.sections for b in s.blocks if isinstance(b, FindingBlock)]
    state = {b.id: b.withheld for b in blocks}
    assert state == {"F-00000001": False, "F-00000002": True}


def test_a_2x2_table_is_given_back_by_its_margins_and_its_diagonal():
    """Why the Suppressor also solves the equations: withhold tp, fp, tn, fn in every group and print every
    sum of them (the four margins and tp + tn, the accuracy numerator); no subtraction gives Dutch × F's
    fn = 6 back, but a linear combination of the printed counts does."""
    results = welfare_like()
    sup = Suppressor(results, 10)
    for g in results["groups"]:
        sup.hidden[(g["attribute"], g["group"])] = {"tp", "fp", "tn", "fn"}
    by_subtraction = {(key[1], name[1]) for key, name, _ in recovered_small(results, sup)}
    assert ("Dutch × F", "fn") not in by_subtraction
    assert ("Dutch × F", "fn", 6) in linear_attack(results, sup)


def test_a_stratified_comparison_is_withheld_with_the_selection_counts_it_is_made_of(tmp_path):
    """The crude odds ratio and n give a withheld selected count back: the row goes with it."""
    results = welfare_like({**CELLS, ("EU", "M"): (0, 29, 200, 3, 1, 0)})
    row = {"attribute": "nationality × gender", "reference": "Dutch × M", "strata": ["household"],
           "crude_odds_ratio": 2.0, "mh_odds_ratio": 2.1, "mh_odds_ratio_ci": [1.5, 2.9], "p_holm": 0.001,
           "conditional_demographic_disparity": 0.05, "status": "difference_detected", "direction_reversed": False}
    results["stratified"] = [{**row, "group": "EU × M"}, {**row, "group": "Dutch × F"}]
    findings = [{"id": f"F-0000000{i}", "rule": "stratified", "kind": "disparity", "severity": "high",
                 "statement": {"en": f"{g} odds ratio 2.1."}, "evidence": [f"stratified/nationality × gender/{g}"]}
                for i, g in enumerate(("EU × M", "Dutch × F"))]
    doc = build_document(make_bundle(tmp_path / "b", results=results, findings=findings, checklist=None), "en")
    state = {b.id: b.withheld for s in doc.sections for b in s.blocks if isinstance(b, FindingBlock)}
    assert state == {"F-00000000": True, "F-00000001": False}


@pytest.mark.parametrize("seed", range(4))
def test_no_small_cell_of_random_documents_can_be_recovered(seed):
    """Random tables in the welfare layout, many cells below 10: neither attacker recovers one."""
    rng = np.random.default_rng(seed)
    for _ in range(6):
        cells = {key: (int(rng.integers(0, 10 if rng.random() < 0.5 else 60)), int(rng.integers(1, 80)),
                       int(rng.integers(0, 3)) * (rng.random() < 0.3), int(rng.integers(0, 15)),
                       int(rng.integers(0, 8)), int(rng.integers(0, 400 if rng.random() > 0.1 else 5)))
                 for key in CELLS}
        results = welfare_like(cells)
        sup = Suppressor(results, 10)
        assert sup.exposed == set(), cells
        assert recovered_small(results, sup) == [], cells
        assert linear_attack(results, sup) == [], cells
