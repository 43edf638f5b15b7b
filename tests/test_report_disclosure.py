"""No small cell recoverable from what a report publishes, by an attacker stronger than the Suppressor's own.

The attacker here is written independently of auditkit.report._suppress.  It knows every count the report
prints; every printed percentage with its rounding and its printed interval (which, with the published
denominator, leave one numerator: shown below with statsmodels' Wilson interval); that counts are whole
and never negative; and that the cases sampled at random are among the selected (selected = random sample
+ the model's picks).  It solves for the least and the largest value of every withheld small count by
linear programming (scipy) over the finest cells; a count is recovered when one whole number is left.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from scipy.optimize import linprog
from statsmodels.stats.proportion import proportion_confint

from auditkit.report._suppress import Suppressor
from conftest import run_cli
from test_report_suppress import _group

# finest cells: nationality × gender; atoms per cell: selected by the model or sampled at random, each
# with the outcome (p), without (n) or unknown (u); not selected: tn, fn, unknown.
ATOMS = ("mp", "mn", "mu", "rp", "rn", "ru", "tn", "fn", "nu")
NAMED = {"n": set(ATOMS), "selected": {"mp", "mn", "mu", "rp", "rn", "ru"}, "not_selected": {"tn", "fn", "nu"},
         "tp": {"mp", "rp"}, "fp": {"mn", "rn"}, "tn": {"tn"}, "fn": {"fn"},
         "sel_known": {"mp", "mn", "rp", "rn"}, "nsel_known": {"tn", "fn"}, "pos": {"mp", "rp", "fn"},
         "neg": {"mn", "rn", "tn"}, "known": {"mp", "mn", "rp", "rn", "tn", "fn"}, "correct": {"mp", "rp", "tn"},
         "random_n": {"rp", "rn", "ru"}, "random_known": {"rp", "rn"}, "random_pos": {"rp"},
         "model_n": {"mp", "mn", "mu"}, "model_known": {"mp", "mn"}, "model_pos": {"mp"}}
RATES = {"selection_rate": ("selected", "n"), "share_of_population": ("n", None),
         "share_of_selected": ("selected", None), "base_rate": ("pos", "known"), "tpr": ("tp", "pos"),
         "fnr": ("fn", "pos"), "fpr": ("fp", "neg"), "tnr": ("tn", "neg"), "ppv": ("tp", "sel_known"),
         "fdr": ("fp", "sel_known"), "npv": ("tn", "nsel_known"), "for": ("fn", "nsel_known"),
         "accuracy": ("correct", "known")}
SIDE = {"share_of_random_sample": ("random_n", None), "share_of_model_selection": ("model_n", None),
        "base_rate_random_sample": ("random_pos", "random_known"),
        "hit_rate_model_selection": ("model_pos", "model_known")}
TOTALS = ("n", "selected", "not_selected", "random_n", "model_n")  # the population counts a report prints


def _rec(num: int, den: int) -> dict:
    return {"value": num / den if den else None, "ci_low": None, "ci_high": None, "numerator": num, "denominator": den}


def document(cells: dict) -> dict:
    """Results of nationality, gender and their intersection with a random sample among the selected."""
    def total(key, names):
        return sum(sum(c[ATOMS.index(a)] for a in names) for k, c in cells.items() if _in(k, key))

    everyone = {"attributes": [], "levels": {}}
    grand = {q: total(everyone, names) for q, names in NAMED.items()}
    groups, comparisons, method = [], [], []
    for names in (["nationality"], ["gender"], ["nationality", "gender"]):
        attr = " × ".join(names)
        keys = sorted({tuple(k[i] for i, a in enumerate(("nationality", "gender")) if a in names) for k in cells})
        for j, key in enumerate(keys):
            levels = dict(zip(names, key))
            g = {"attributes": names, "levels": levels}
            six = [(total(g, {"mp", "rp"}), total(g, {"mn", "rn"}), total(g, {"mu", "ru"}), total(g, {"tn"}),
                    total(g, {"fn"}), total(g, {"nu"}))]
            groups.append(_group(attr, names, levels, six, grand["n"], grand["selected"], j == 0))
            method.append({"attribute": attr, "group": " × ".join(key),
                           "share_of_random_sample": _rec(total(g, NAMED["random_n"]), grand["random_n"]),
                           "share_of_model_selection": _rec(total(g, NAMED["model_n"]), grand["model_n"]),
                           "base_rate_random_sample": _rec(total(g, {"rp"}), total(g, {"rp", "rn"})),
                           "hit_rate_model_selection": _rec(total(g, {"mp"}), total(g, {"mp", "mn"}))})
        ref = next(g for g in groups if g["attribute"] == attr and g["is_reference"])
        for g in groups:
            if g["attribute"] == attr and not g["is_reference"]:
                for metric in ("selection_rate", "ppv"):
                    comparisons.append({"attribute": attr, "group": g["group"], "reference": ref["group"],
                                        "metric": metric, "group_rate": g[metric], "reference_rate": ref[metric],
                                        "status": "no_difference_detected"})
    return {"groups": groups, "comparisons": comparisons, "selection_method": method,
            "parameters": {"level": 0.95}}


def _in(finest: tuple, g: dict) -> bool:
    full = dict(zip(("nationality", "gender"), finest))
    return all(full[a] == v for a, v in g["levels"].items())


def lp_attack(cells: dict, results: dict, sup: Suppressor) -> list[tuple]:
    """Small counts of any group pinned to one whole number by what is printed and non-negativity."""
    finest = sorted(cells)
    column = {(k, a): i for i, (k, a) in enumerate((k, a) for k in finest for a in ATOMS)}

    def vector(g: dict, names: set[str]) -> np.ndarray:
        v = np.zeros(len(column))
        for k in finest:
            if _in(k, g):
                for a in names:
                    v[column[(k, a)]] = 1
        return v

    truth = np.array([cells[k][ATOMS.index(a)] for k in finest for a in ATOMS], dtype=float)
    rows = [vector({"levels": {}}, NAMED[q]) for q in TOTALS]
    records = {(g["attribute"], g["group"]): g for g in results["groups"]}
    for m in results["selection_method"]:
        g = records[(m["attribute"], m["group"])]
        for table, metrics in ((g, RATES), (m, SIDE)):
            for metric, (num, den) in metrics.items():
                for part, name in (("num", num), ("den", den)):
                    if name and metric in table and not sup.count_hidden(g["attribute"], g["group"], metric, part):
                        rows.append(vector(g, NAMED[name]))
    a_eq = np.array(rows)
    b_eq = a_eq @ truth
    found = []
    for g in results["groups"]:
        for q, names in NAMED.items():
            v = vector(g, names)
            value = v @ truth
            if not 0 < value < sup.k:
                continue
            lo = linprog(v, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            hi = linprog(-v, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            assert lo.status == 0 and hi.status == 0
            if np.ceil(lo.fun - 1e-6) == np.floor(-hi.fun + 1e-6):
                found.append((g["group"], q, int(value)))
    return found


CELLS = {("Dutch", "F"): (180, 900, 40, 20, 60, 12, 70, 9, 2400), ("Dutch", "M"): (150, 800, 30, 15, 50, 10, 60, 6, 2100),
         ("EU", "F"): (20, 90, 0, 9, 3, 0, 12, 0, 300), ("EU", "M"): (0, 30, 5, 2, 25, 0, 11, 1, 250),
         ("non-EU", "F"): (25, 70, 0, 4, 30, 1, 13, 2, 420), ("non-EU", "M"): (12, 60, 0, 3, 8, 0, 9, 1, 330)}


def test_the_attacker_recovers_what_only_the_small_cells_withheld_would_leave():
    """Not toothless: with only the primary small cells withheld, linear programming pins some of them."""
    results = document(CELLS)
    sup = Suppressor(results, 10)
    for key in list(sup.hidden):
        sup.hidden[key] = {q for q in sup.hidden[key] if (key, q) in sup.primary}
    assert lp_attack(CELLS, results, sup)


def test_nothing_small_is_pinned_in_the_hand_built_document():
    """The Suppressor's decisions leave every small count of the document at two or more whole values."""
    results = document(CELLS)
    sup = Suppressor(results, 10)
    assert sup.exposed == set()
    assert lp_attack(CELLS, results, sup) == []


@pytest.mark.parametrize("seed", range(6))
def test_no_small_cell_of_random_small_documents_is_pinned(seed):
    """A randomised search: documents with many cells below 10, a random sample among the selected."""
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        cells = {key: tuple(int(rng.integers(0, hi)) for hi in (40, 120, 12, 12, 30, 4, 20, 8, 500))
                 for key in CELLS}
        results = document(cells)
        sup = Suppressor(results, 10)
        assert lp_attack(cells, results, sup) == [], cells


# --- the leak of the issue: a share printed to one decimal with its interval gives its count back -------

def wilson_candidates(text: str, total: int, level: float = 0.95) -> list[int]:
    """Numerators k of k/total that print as ``text`` ('21.1% (17.9–24.6)'), by statsmodels' Wilson interval."""
    m = re.fullmatch(r"([\d.]+)% \(([\d.]+)–([\d.]+)\)", text)
    assert m, text
    p, lo, hi = (float(x) for x in m.groups())
    out = []
    for k in range(total + 1):
        a, b = proportion_confint(k, total, alpha=1 - level, method="wilson")
        if (f"{100 * k / total:.1f}", f"{100 * a:.1f}", f"{100 * b:.1f}") == (f"{p:.1f}", f"{lo:.1f}", f"{hi:.1f}"):
            out.append(k)
    return out


def test_a_printed_share_and_its_interval_leave_one_count():
    """The issue's leak: the model's selection share of group B (21.1%, 17.9–24.6, of 570) is 120 only,
    so with B's 129 selected its random-sample count is 9."""
    assert wilson_candidates("21.1% (17.9–24.6)", 570) == [120]


def _leak_data(path) -> None:
    spec = {"A": (3000, 300, 60, 40, 6), "B": (800, 120, 9, 20, 2), "C": (1200, 150, 31, 25, 4)}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nationality", "selected", "method", "fraud"])
        for g, (n, model, sampled, fraud_model, fraud_sampled) in spec.items():
            for i in range(n):
                if i < model:
                    w.writerow([g, "Ja", "model", "Ja" if i < fraud_model else "Nee"])
                elif i < model + sampled:
                    w.writerow([g, "Ja", "random", "Ja" if i - model < fraud_sampled else "Nee"])
                else:
                    w.writerow([g, "Nee", "", ""])


def test_the_issue_leak_is_closed(tmp_path):
    """Group B: 129 selected of whom 9 at random.  The Markdown report withholds B's shares (and C's, which
    with the totals would give B's back), and the printed shares of A pin only A's own counts."""
    _leak_data(tmp_path / "d.csv")
    r = run_cli("audit", tmp_path / "d.csv", "--protected", "nationality", "--decision", "selected", "--positive",
                "Ja", "--truth", "fraud", "--truth-positive", "Ja", "--selection-method", "method", "--random",
                "random", "--out", tmp_path / "b", "--quiet")
    assert r.exit_code == 0, r.output
    r = run_cli("report", tmp_path / "b", "--format", "md", "--out", tmp_path / "md")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "md" / "report.en.md").read_text(encoding="utf-8")
    shares = md[md.index("**Share of each nationality group"):md.index("**Outcome rate by nationality")]
    rows = {m.group(1): m.group(2).split(" | ") for m in re.finditer(r"^\| ([ABC]) \| (.*) \|$", shares, re.M)}
    assert rows["B"][:2] == ["withheld", "withheld"] and rows["C"][:2] == ["withheld", "withheld"]
    assert wilson_candidates(rows["A"][1], 570) == [300]  # what is printed is pinned, as the Suppressor assumes
    # everything else printed about B and C: their selected counts; with A's 300 of 570 and 60 of 100 and
    # the totals, B's random-sample count can still be anything from 0 to 40
    sampled_b = [x for x in range(0, 130) if 0 <= 40 - x and 0 <= 129 - x and 0 <= 181 - (40 - x)]
    assert len(sampled_b) > 1 and 9 in sampled_b
    assert "| B | 800 | 129 |" in md
