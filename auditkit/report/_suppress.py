"""Which counts and rates a report may publish: small-cell suppression.

Primary suppression: every printed count of 1 to ``min_count - 1`` people is withheld, and a group that
small is shown as "<10" with no figure at all.  A rate k/n is published only when both of its counts are,
so a withheld count also withholds every rate, ratio and test built on it.

Complementary suppression keeps every small count — printed or not, such as n - selected — from being
recovered from what is printed.  The counts are tied together by linear *relations*:

* within a group (``_WITHIN``): n = selected + not selected, selected = selected with a known outcome +
  selected with an unknown one, tp + fp = selected with a known outcome, tp + fn = positives, ...;
* across groups: the groups of one attribute add up to the population (whose n, selected, not selected,
  unknown-outcome count and random-sample and model-selection sizes the report prints, so those totals are
  known and the others are unknowns), and a group is the sum of its intersections with one more attribute;
* the zero cells are taken as known (so selected *is* selected with a known outcome when no selected case
  has an unknown one), and a count of the decisions equal to a count of the random sample or the model's
  selection of the same group is taken to be the same people.

The *attacker* derives every count that is the only unknown of a relation, repeatedly, and then solves
the rest of the equations (Gauss–Jordan), which finds what only a combination of relations gives back
(a 2 × 2 table from its four margins and tp + tn).  For each small count it recovers, one more printed
count that the recovery rests on is withheld, the least important one: first counts the report does
not print at all (fpr's fp and neg when fpr is not compared), then outcome counts (tp, fp, ... and the
hit rates on them), then the random-sample and model-selection sizes, and only last n and selected,
which selection-rate findings rest on; within a tier the count fewest comparisons rest on (not a
reference group's), then the smallest.  Finally each complementary withholding is undone again, most
important first, whenever undoing it lets the attacker recover nothing small.

Selection counts are withheld only when a small count cannot be protected otherwise: n - selected small,
or a small selected count that would follow from the other groups' selected counts and the printed total.
This is the protection a statistical office applies with a linear-programming cell-suppression solver,
done greedily; its limits (rounded rates, bounds from non-negativity) are in docs/reports.md.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ._attacker import Equations

__all__ = ["RATE_QUANTITIES", "Suppressor"]

Key = tuple[str, str]
Cell = tuple[Key, str]
TOTAL: Key = ("", "(all)")  # the population, as a group of its own

#: The counts (numerator, denominator) each rate is made of; None: the denominator is a grand total.
RATE_QUANTITIES: dict[str, tuple[str, str | None]] = {
    "selection_rate": ("selected", "n"), "share_of_population": ("n", None), "share_of_selected": ("selected", None),
    "base_rate": ("pos", "known"), "tpr": ("tp", "pos"), "fnr": ("fn", "pos"), "fpr": ("fp", "neg"),
    "tnr": ("tn", "neg"), "ppv": ("tp", "sel_known"), "fdr": ("fp", "sel_known"), "npv": ("tn", "nsel_known"),
    "for": ("fn", "nsel_known"), "accuracy": ("correct", "known"),
    "share_of_random_sample": ("random_n", None), "share_of_model_selection": ("model_n", None),
    "base_rate_random_sample": ("random_pos", "random_known"),
    "hit_rate_model_selection": ("model_pos", "model_known"),
}

#: Within one group: (total, parts) — the parts add up to the total.  Names not in RATE_QUANTITIES are
#: complements the report never prints (not_selected, the cases with an unknown outcome, ...); they are
#: protected all the same, since subtraction gives them back.
_WITHIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n", ("selected", "not_selected")),
    ("n", ("known", "unknown")),
    ("unknown", ("sel_unknown", "nsel_unknown")),
    ("selected", ("sel_known", "sel_unknown")),
    ("not_selected", ("nsel_known", "nsel_unknown")),
    ("sel_known", ("tp", "fp")),
    ("nsel_known", ("tn", "fn")),
    ("pos", ("tp", "fn")),
    ("neg", ("fp", "tn")),
    ("known", ("pos", "neg")),
    ("known", ("sel_known", "nsel_known")),
    ("known", ("correct", "wrong")),
    ("correct", ("tp", "tn")),
    ("wrong", ("fp", "fn")),
    ("random_n", ("random_known", "random_unknown")),
    ("random_known", ("random_pos", "random_neg")),
    ("model_n", ("model_known", "model_unknown")),
    ("model_known", ("model_pos", "model_neg")),
)

#: How much a count matters to readers: the last ones withheld.  Counts the report prints on other
#: rates rank 1, counts it does not print 0.
_TIER = {"n": 3, "selected": 3, "random_n": 2, "model_n": 2}
_SELECTION_METHOD_METRICS = ("share_of_random_sample", "share_of_model_selection", "base_rate_random_sample",
                             "hit_rate_model_selection")


def _source(q: str) -> str:
    """Which table a count belongs to: the decision's, the random sample's or the model selection's.
    Within one table the relations say which counts are the same people (selected and selected with
    a known outcome, when no selected case has an unknown one); across tables only equal values can."""
    return q.split("_")[0] if q.startswith(("random_", "model_")) else ""


def _point(rec: Any) -> tuple[Any, Any] | None:
    if not isinstance(rec, Mapping) or rec.get("bounds") or rec.get("numerator_max") is not None:
        return None
    num, den = rec.get("numerator"), rec.get("denominator")
    if isinstance(num, (int, float)) and isinstance(den, (int, float)):
        return num, den
    return None


class Suppressor:
    """Decisions about publishing, for one results document and one minimum count.

    ``hidden[key]``: the printed counts of a group that are withheld; ``primary``: the small ones among
    them; ``exposed``: small counts the rules could not protect (empty unless a total itself gives a small
    count away, e.g. an attribute with one group).
    """

    def __init__(self, results: Mapping[str, Any], min_count: int) -> None:
        self.k = max(int(min_count), 0)
        self.values: dict[Key, dict[str, float]] = defaultdict(dict)
        self.printed: dict[Key, set[str]] = defaultdict(set)
        self.hidden: dict[Key, set[str]] = defaultdict(set)
        self.tiny: set[Key] = set()
        self.withheld_cells: set[str] = set()
        self.exposed: set[Cell] = set()
        self.primary: set[Cell] = set()
        records = [(g, g) for g in results.get("groups", [])]
        records += [(m, m) for m in results.get("selection_method", [])]
        for owner, rec in records:
            self._add(owner, rec)
        self._complete()
        sets = self._constraint_sets(results.get("groups", []))
        self._add_totals(sets)
        shown = {"selection_rate", *(str(c.get("metric")) for c in results.get("comparisons", []))}
        if results.get("selection_method"):
            shown |= set(_SELECTION_METHOD_METRICS)
        self._shown = {q for m in shown for q in RATE_QUANTITIES.get(m, ()) if q}
        self._uses: dict[Cell, int] = defaultdict(int)  # how many comparisons rest on a count
        for c in results.get("comparisons", []):
            for group in (c.get("group"), c.get("reference")):
                for q in RATE_QUANTITIES.get(str(c.get("metric")), ()):
                    if q:
                        self._uses[((str(c.get("attribute")), str(group)), q)] += 1
        for m in results.get("selection_method", []):
            key = (str(m.get("attribute")), str(m.get("group")))
            for q in ("random_n", "model_n", "random_pos", "random_known", "model_pos", "model_known"):
                self._uses[(key, q)] += 1
        # a relation of zeros only tells the attacker nothing (zeros are known and never withheld), and
        # a table without outcomes has a dozen such per group: leave them out
        relations = [r for r in self._relations(sets) if not all(self._zero(c) for c in r[0])]
        # the cells as numbers 0 .. n - 1 in sorted order, for the attacker (:mod:`._attacker`)
        self._cell = sorted({c for rel, _ in relations for c in rel}
                            | {c for c in self._cells_of_values() if not self._zero(c)})
        number = {c: j for j, c in enumerate(self._cell)}
        self.eq = Equations([(tuple(number[c] for c in rel), coefs) for rel, coefs in relations], len(self._cell))
        self._val = [self.values[key].get(q, 0) for key, q in self._cell]
        self._tiers = [_TIER.get(q, 1 if q in self._shown else 0) for _, q in self._cell]
        self._hide = [key != TOTAL and bool(v) for (key, _), v in zip(self._cell, self._val)]
        self._costs = [(t, self._uses.get(c, 0), v, j)
                       for j, (c, t, v) in enumerate(zip(self._cell, self._tiers, self._val))]
        self._protect()

    def small(self, count: Any) -> bool:
        """A count of 1 to k - 1 (never 0, never None)."""
        return isinstance(count, (int, float)) and not isinstance(count, bool) and 0 < count < self.k

    # the cells and their relations ----------------------------------------------------------------

    def _add(self, owner: Mapping[str, Any], rec: Mapping[str, Any]) -> None:
        key = (str(owner.get("attribute")), str(owner.get("group")))
        if "n" in rec and not (rec.get("bounds") or {}).get("n") and self.small(rec.get("n")):
            self.tiny.add(key)
        for metric, (num_name, den_name) in RATE_QUANTITIES.items():
            point = _point(rec.get(metric))
            if point is None:
                continue
            num, den = point
            self.values[key][num_name] = num
            self.printed[key].add(num_name)
            if den_name:
                self.values[key][den_name] = den
                self.printed[key].add(den_name)

    def _complete(self) -> None:
        """Fill in the complements (n - selected, ...) that the relations within a group determine."""
        for values in self.values.values():
            changed = True
            while changed:
                changed = False
                for total, parts in _WITHIN:
                    names = (total, *parts)
                    missing = [q for q in names if q not in values]
                    if len(missing) != 1:
                        continue
                    q = missing[0]
                    if q == total:
                        values[q] = sum(values[p] for p in parts)
                    else:
                        values[q] = values[total] - sum(values[p] for p in parts if p != q)
                    changed = True

    def _constraint_sets(self, groups: list[Mapping[str, Any]]) -> list[tuple[Key, list[Key]]]:
        """(whole, parts): the population and the groups of one attribute; a group and its intersections
        with one more attribute."""
        by_attr: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for g in groups:
            by_attr[str(g.get("attribute"))].append(g)
        sets = [(TOTAL, [(a, str(g.get("group"))) for g in gs]) for a, gs in by_attr.items()]
        parts = {tuple(gs[0].get("attributes") or [a]): a for a, gs in by_attr.items()}
        for attr, gs in by_attr.items():
            names = list(gs[0].get("attributes") or [attr])
            for drop in names if len(names) > 1 else []:
                parent = parts.get(tuple(n for n in names if n != drop))
                if parent is None:
                    continue
                children: dict[tuple, list[Key]] = defaultdict(list)
                for g in gs:
                    levels = g.get("levels") or {}
                    children[tuple(str(levels.get(n)) for n in names if n != drop)].append((attr, str(g["group"])))
                for p in by_attr[parent]:
                    levels = p.get("levels") or {}
                    wanted = tuple(str(levels.get(n)) for n in names if n != drop)
                    sets.append(((parent, str(p["group"])), children.get(wanted, [])))
        return sets

    def _add_totals(self, sets: list[tuple[Key, list[Key]]]) -> None:
        """The population's counts: the sum over the groups of an attribute that all have the count.  The
        report prints n, selected, not selected and the cases with an unknown outcome (method section)
        and the random sample's and the model selection's sizes (share denominators)."""
        totals = self.values[TOTAL]
        for whole, members in sets:
            if whole != TOTAL:
                continue
            for q in {q for m in members for q in self.values.get(m, {})}:
                if q not in totals and all(q in self.values.get(m, {}) for m in members):
                    totals[q] = sum(self.values[m][q] for m in members)
        self._complete()
        self.printed[TOTAL] = {"n", "selected", "not_selected", "unknown", "random_n", "model_n"} & set(totals)

    def _relations(self, sets: list[tuple[Key, list[Key]]]) -> list[tuple[tuple[Cell, ...], tuple[int, ...]]]:
        """(cells, coefficients): linear equations whose constant is known (zero), so that any one of the
        cells follows from the others.  A cell without a value (a count the source suppressed) is an
        unknown like any other."""
        out: list[tuple[tuple[Cell, ...], tuple[int, ...]]] = []
        for key, values in self.values.items():
            for total, parts in _WITHIN:
                if all(q in values for q in (total, *parts)):
                    out.append((tuple((key, q) for q in (total, *parts)), (1, *(-1 for _ in parts))))
            by_value: dict[float, list[str]] = defaultdict(list)
            for q, v in values.items():
                if v:
                    by_value[v].append(q)
            for same in by_value.values():  # equal counts of the decision, the random sample and the
                out += [(((key, a), (key, b)), (1, -1)) for a, b in itertools.combinations(same, 2)
                        if _source(a) != _source(b)]  # model's selection may be the same people
            out += self._split(key, values)
        for whole, members in sets:
            if not members:
                continue
            count: dict[str, int] = defaultdict(int)
            for key in (whole, *members):
                for q in self.values.get(key, ()):
                    count[q] += 1
            for q in sorted(q for q, c in count.items() if c > 1):
                out.append((((whole, q), *((m, q) for m in members)), (1, *itertools.repeat(-1, len(members)))))
        return out

    def _split(self, key: Key, values: Mapping[str, float]) -> list[tuple[tuple[Cell, ...], tuple[int, ...]]]:
        """A count of the decisions that is the sum of the random sample's and the model selection's
        counts of the same name (selected = random sample + model's picks, when the sampled cases are
        selected too), in this group and in the population alike: the attacker takes them to be the
        same people, as it does equal counts."""
        totals, out = self.values.get(TOTAL, {}), []
        for a in (q for q in values if q.startswith("random_")):
            b = "model_" + a[len("random_"):]
            if b not in values:
                continue
            for q in (q for q in values if not _source(q)):
                if (values[q] and values[q] == values[a] + values[b] and q in totals and a in totals
                        and b in totals and totals[q] == totals[a] + totals[b]):
                    out.append((((key, q), (key, a), (key, b)), (1, -1, -1)))
        return out

    # the repair ----------------------------------------------------------------------------------

    def _zero(self, c: Cell) -> bool:
        """A count of zero people (known: the source did not suppress it)."""
        return self.values.get(c[0], {}).get(c[1]) == 0

    def _cells_of_values(self) -> set[Cell]:
        return {(key, q) for key, values in self.values.items() for q in values}

    def _hideable(self, c: int) -> bool:
        """A printed count complementary suppression may withhold: not a zero, not a population total
        (the summary and the method section print those)."""
        return self._hide[c]

    def _cost(self, c: int) -> tuple:
        """Least important first: by tier, then by how many comparisons rest on it (a reference group's
        count carries every comparison of its attribute), then the smallest."""
        return self._costs[c]

    def _leaks(self, known: set[int], protected: set[int], *, linear: bool = True) -> dict[int, set[int]]:
        """Protected cells the attacker gets back: cell -> the printed counts to withhold one of."""
        eq = self.eq
        state = eq.attack(known)
        derived = state.derived
        found = {c: eq.support([c], derived, known, self._hideable) for c in derived if c in protected}
        if linear and not any(found.values()):  # nothing left to repair by subtraction
            for c in sorted(eq.solve(state.have, protected)):
                found[c] = eq.support(eq.near(c, state.have, self._hideable), derived, known, self._hideable)
        return found

    def _repair(self, known: set[int], protected: set[int], complementary: set[int]) -> None:
        """Withhold one more count for each recovered small cell until none is recovered."""
        for _ in range(len(self._cell) + 1):
            added: set[int] = set()
            for c, support in sorted(self._leaks(known, protected).items()):
                if support and not support & added:
                    added.add(min(support, key=self._cost))
            if not added:
                return
            known -= added
            complementary |= added

    def _undo(self, known: set[int], protected: set[int], complementary: set[int], tier: int, *,
              linear: bool) -> None:
        """Publish again each complementary count of at least ``tier``, most important first, whose
        publication gives nothing more away (by subtraction; with ``linear`` also by any combination).
        The attacker's state is updated cell by cell rather than rerun, so this costs about one attack."""
        eq = self.eq
        state = eq.attack(known)
        exposed = {c for c in state.derived if c in protected}
        if linear:
            exposed |= eq.solve(state.have, protected)
        for c in sorted(complementary, key=self._cost, reverse=True):
            if self._tiers[c] < tier:
                continue
            log = eq.learn(state, c)
            ok = not any(x in protected and x not in exposed for x in log)
            if ok and linear and eq.solve(state.have, protected) - exposed:
                ok = False
            if ok:
                known.add(c)
                complementary.discard(c)
                state.derived.pop(c, None)
            else:
                eq.forget(state, log)

    def _protect(self) -> None:
        cells = range(len(self._cell))
        protected = {c for c in cells if self.small(self._val[c])}
        printed = [q in self.printed[key] for key, q in self._cell]
        primary = {c for c in protected if printed[c]}
        known = {c for c in cells if printed[c] and c not in primary}
        known |= {c for c in cells if self._val[c] == 0 and self._cell[c][1] in self.values.get(self._cell[c][0], {})}
        complementary: set[int] = set()
        self._repair(known, protected, complementary)
        # undo what is not needed, the most important counts first (checked by subtraction, which is
        # quick; the repair after it adds back what a linear combination would still give away), and
        # the selection counts once more, fully checked
        self._undo(known, protected, complementary, 1, linear=False)
        self._repair(known, protected, complementary)
        self._undo(known, protected, complementary, 2, linear=True)
        for c in primary | complementary:
            key, q = self._cell[c]
            self.hidden[key].add(q)
        self.primary = {self._cell[c] for c in primary}
        self.exposed = {self._cell[c] for c in self._leaks(known, protected)}

    # questions the builders ask ------------------------------------------------------------------

    def note(self, where: str) -> None:
        """Remember that a figure at ``where`` was withheld (counted in the limitations)."""
        self.withheld_cells.add(where)

    def group_hidden(self, attr: str, group: str) -> bool:
        """The group has fewer than k people: nothing about it is published but '<k'."""
        return (str(attr), str(group)) in self.tiny

    def count_hidden(self, attr: str, group: str, metric: str, part: str) -> bool:
        """The numerator ('num') or denominator ('den') of a group's rate is withheld."""
        key = (str(attr), str(group))
        names = RATE_QUANTITIES.get(metric)
        if key in self.tiny:
            return True
        if names is None:
            return False
        name = names[0] if part == "num" else names[1]
        return name is not None and name in self.hidden.get(key, set())

    def rate_ok(self, rec: Mapping[str, Any] | None) -> bool:
        """A rate record with no owner (flip tests, clusters): its cells are 0 or at least k."""
        point = _point(rec)
        if point is None:
            return True
        num, den = point
        return not (self.small(num) or self.small(den) or self.small(den - num))

    def group_rate_ok(self, attr: str, group: str, metric: str, rec: Mapping[str, Any] | None = None) -> bool:
        """A group's rate may be published: neither of its counts is withheld."""
        if metric not in RATE_QUANTITIES:
            return not self.group_hidden(attr, group) and self.rate_ok(rec)
        return not (self.count_hidden(attr, group, metric, "num") or self.count_hidden(attr, group, metric, "den"))

    def comparison_ok(self, c: Mapping[str, Any]) -> bool:
        """Both rates of a comparison may be published."""
        attr, metric = str(c.get("attribute")), str(c.get("metric"))
        return (self.group_rate_ok(attr, str(c.get("group")), metric, c.get("group_rate"))
                and self.group_rate_ok(attr, str(c.get("reference")), metric, c.get("reference_rate")))

    def counts_ok(self, counts: Iterable[Any]) -> bool:
        """None of the counts is small."""
        return not any(self.small(c) for c in counts)
