"""Which counts and rates a report may publish: small-cell suppression.

Primary suppression: a group of 1 to ``min_count - 1`` people is shown as "<10" with no figure at all;
a rate k/n is published only when k, n and n - k are each 0 or at least ``min_count`` (otherwise the
rate and the published n give the small cell back). A comparison is published only when both of its
rates are.

Complementary suppression: published totals give a withheld cell back by subtraction (the population
minus the other groups; a group of one attribute minus its intersections with another).  So every count
belongs to *constraint sets* whose sum is known — the groups of one attribute (they add up to the
total), and a group together with its intersections with one more attribute (they add up to it) — and
whenever exactly one count of a set is withheld, the smallest other non-zero count of the set is withheld
too, until no set has exactly one.  Two counts of one group that are equal are withheld together.  This
is the rule statistical offices apply by hand; it does not solve every linear combination of margins
(a full cell-suppression solver would), as docs/reports.md says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["RATE_QUANTITIES", "Suppressor"]

Key = tuple[str, str]

#: The counts (numerator, denominator) each rate is made of; None: the denominator is a grand total.
RATE_QUANTITIES: dict[str, tuple[str, str | None]] = {
    "selection_rate": ("selected", "n"), "share_of_population": ("n", None), "share_of_selected": ("selected", None),
    "base_rate": ("pos", "known"), "tpr": ("tp", "pos"), "fnr": ("fn", "pos"), "fpr": ("fp", "neg"),
    "tnr": ("tn", "neg"), "ppv": ("tp", "sel_known"), "fdr": ("fp", "sel_known"), "npv": ("tn", "nsel_known"),
    "for": ("fn", "nsel_known"), "accuracy": ("correct", "known"),
    "share_of_random_sample": ("random_n", None), "share_of_model_selection": ("model_n", None),
    "base_rate_random_sample": ("random_pos", "random_n"), "hit_rate_model_selection": ("model_pos", "model_n"),
}
_MAX_ROUNDS = 50


def _point(rec: Any) -> tuple[Any, Any] | None:
    if not isinstance(rec, Mapping) or rec.get("bounds") or rec.get("numerator_max") is not None:
        return None
    num, den = rec.get("numerator"), rec.get("denominator")
    if isinstance(num, (int, float)) and isinstance(den, (int, float)):
        return num, den
    return None


class Suppressor:
    """Decisions about publishing, for one results document and one minimum count."""

    def __init__(self, results: Mapping[str, Any], min_count: int) -> None:
        self.k = max(int(min_count), 0)
        self.values: dict[Key, dict[str, float]] = defaultdict(dict)
        self.hidden: dict[Key, set[str]] = defaultdict(set)
        self.tiny: set[Key] = set()
        self.withheld_cells: set[str] = set()
        records = [(g, g) for g in results.get("groups", [])]
        records += [(m, m) for m in results.get("selection_method", [])]
        for owner, rec in records:
            self._add(owner, rec)
        self._close(self._constraint_sets(results.get("groups", [])))

    def small(self, count: Any) -> bool:
        """A count of 1 to k - 1 (never 0, never None)."""
        return isinstance(count, (int, float)) and not isinstance(count, bool) and 0 < count < self.k

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
            if den_name:
                self.values[key][den_name] = den
                if self.small(den):
                    self.hidden[key] |= {num_name, den_name}
            if self.small(num) or (den_name and self.small(den - num)):
                self.hidden[key].add(num_name)

    def _constraint_sets(self, groups: list[Mapping[str, Any]]) -> list[list[Key]]:
        by_attr: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for g in groups:
            by_attr[str(g.get("attribute"))].append(g)
        sets = [[(a, str(g.get("group"))) for g in gs] for a, gs in by_attr.items()]
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
                    sets.append([(parent, str(p["group"])), *children.get(wanted, [])])
        return sets

    def _close(self, sets: list[list[Key]]) -> None:
        names = {q for values in self.values.values() for q in values}
        for _ in range(_MAX_ROUNDS):
            changed = False
            for q in sorted(names):
                for members in sets:
                    have = [m for m in members if q in self.values.get(m, {})]
                    hidden = [m for m in have if q in self.hidden[m] or m in self.tiny]
                    others = sorted((m for m in have if m not in hidden and self.values[m][q] > 0),
                                    key=lambda m: (self.values[m][q], m))
                    if len(hidden) == 1 and others:
                        self.hidden[others[0]].add(q)
                        changed = True
            for key, values in self.values.items():
                for q in list(self.hidden[key]):
                    twins = {p for p, v in values.items()
                             if q in values and v == values[q] and p not in self.hidden[key]}
                    if twins:
                        self.hidden[key] |= twins
                        changed = True
            if not changed:
                return

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
