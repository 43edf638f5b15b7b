"""Group records and reference groups for one attribute or intersection."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from ._counts import MISSING, CountTable
from .rates import Rate, balanced_accuracy, cell_counts, group_rates

__all__ = ["GroupTable", "choose_reference", "group_table", "rate_record"]


@dataclass(frozen=True)
class GroupTable:
    """The groups of one attribute subset with their counts and rates (flattened over groups)."""

    attributes: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    low: np.ndarray
    high: np.ndarray
    rates: dict[str, Rate]
    balanced: tuple[np.ndarray, ...]

    @property
    def name(self) -> str:
        """Attribute name; intersections are joined with ' × '."""
        return " × ".join(self.attributes)

    def label(self, i: int) -> str:
        """Group label; intersections are joined with ' × '."""
        return " × ".join(self.labels[i])

    def n(self, i: int, high: bool = False) -> float:
        """Rows in group ``i`` (upper bound with ``high``)."""
        return float((self.high if high else self.low)[i].sum())


def group_table(table: CountTable, attributes: tuple[str, ...], level: float) -> GroupTable:
    """Marginal of ``table`` over ``attributes``, every combination of levels kept (empty ones too)."""
    m = table.marginal(attributes)
    labels = tuple(product(*(d.levels for d in m.dims)))
    low = m.low.reshape(-1, 2, 3)
    high = m.high.reshape(-1, 2, 3)
    rates = group_rates(low, high, level)
    return GroupTable(attributes, labels, low, high, rates, balanced_accuracy(rates, level))


def choose_reference(gt: GroupTable, explicit: dict[str, str], rule: str, min_size: int,
                     selection_is: str) -> tuple[int, str]:
    """Index of the reference group and the sentence that says how it was chosen."""
    if all(a in explicit for a in gt.attributes):
        wanted = tuple(explicit[a] for a in gt.attributes)
        if wanted not in gt.labels:
            from ..exceptions import InputDataError
            from .._text import did_you_mean, list_values

            known = [" × ".join(lab) for lab in gt.labels]
            raise InputDataError(
                f"Reference {' × '.join(wanted)!r} is not a group of {gt.name!r}; its groups are "
                f"{list_values(known)}.{did_you_mean(' × '.join(wanted), known)}")
        return gt.labels.index(wanted), "given explicitly (--reference)"
    n = gt.low.sum(axis=(1, 2))
    usable = np.array([MISSING not in lab for lab in gt.labels]) & (n > 0)
    if rule == "most-favourable":
        eligible = usable & (n >= max(min_size, 1))
        if eligible.any():
            rate = gt.rates["selection_rate"].lower
            key = np.where(eligible, rate if selection_is == "adverse" else -rate, np.inf)
            order = np.lexsort((-n, key))
            kind = "lowest" if selection_is == "adverse" else "highest"
            return int(order[0]), (f"most favourable: the {kind} selection rate among groups of at least "
                                   f"{min_size} rows (selection is {selection_is})")
    if not usable.any():
        return -1, "none: every group is empty or missing"
    best = int(np.argmax(np.where(usable, n, -1)))
    note = "largest group (most rows)"
    if rule == "most-favourable":
        note += f", because no group reached {min_size} rows for the most-favourable rule"
    return best, note


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def rate_record(r: Rate, i: int, undefined: str | None = None) -> dict:
    """JSON record of rate ``r`` for group ``i``: value (or bounds), interval, numerator, denominator.

    Every key is always there: ``reason`` is null unless the rate is undefined; ``bounds``,
    ``numerator_max`` and ``denominator_max`` are null unless the rate rests on suppressed cells.
    """
    reason = undefined or r.reason(i)
    bounded = bool(r.bounded[i])
    return {"value": None if reason or bounded else _num(r.lower[i]), "reason": reason,
            "bounds": [_num(r.lower[i]), _num(r.upper[i])] if bounded and not reason else None,
            "ci_low": None if reason else _num(r.ci_low[i]), "ci_high": None if reason else _num(r.ci_high[i]),
            "numerator": int(r.k_low[i]), "denominator": int(r.n_low[i]),
            "numerator_max": int(r.k_high[i]) if bounded else None,
            "denominator_max": int(r.n_high[i]) if bounded else None}


def count_record(gt: GroupTable, i: int, has_truth: bool) -> dict:
    """Cell counts of group ``i`` (lower bounds); suppressed counts get ``[low, high]`` under ``bounds``.

    Outcome cells (tp, fp, tn, fn, n_outcome_unknown) are null without an outcome column; ``bounds``
    is null when no count of the group is suppressed.
    """
    def counts(block: np.ndarray) -> dict[str, float]:
        c = cell_counts(block)
        out = {"n": block.sum(), "selected": block[1].sum(), "not_selected": block[0].sum()}
        if has_truth:
            out.update({k: c[k] for k in ("tp", "fp", "tn", "fn")})
            out["n_outcome_unknown"] = c["selected_unknown"] + c["not_selected_unknown"]
        return out

    lo, hi = counts(gt.low[i]), counts(gt.high[i])
    rec: dict = {k: int(v) for k, v in lo.items()}
    if not has_truth:
        rec.update(dict.fromkeys(("tp", "fp", "tn", "fn", "n_outcome_unknown")))
    bounds = {k: [int(lo[k]), int(hi[k])] for k in lo if hi[k] != lo[k]}
    rec["bounds"] = bounds or None
    return rec
