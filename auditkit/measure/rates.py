"""Per-group rates from count tables, each with its numerator, denominator and interval.

Every rate is ``k / (k + c)`` for a set of numerator cells and a set of
complement cells of decision x outcome.  With suppressed cells the rate is
only known within bounds: smallest with the numerator at its lower bound and
the complement at its upper bound, largest the other way round; the Wilson
interval is taken from the lower corner's lower end to the upper corner's upper
end, so that it covers every table the published counts allow.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._stats import wilson_interval

__all__ = ["CELLS", "RATE_CELLS", "Rate", "cell_counts", "rate", "group_rates"]

# Cell positions in the (decision, outcome) block of a count table.
CELLS = {
    "tp": (1, 1), "fp": (1, 0), "fn": (0, 1), "tn": (0, 0),
    "selected_unknown": (1, 2), "not_selected_unknown": (0, 2),
}

#: For each rate: (numerator cells, complement cells).  Rate = k / (k + complement).
RATE_CELLS = {
    "selection_rate": (("tp", "fp", "selected_unknown"), ("fn", "tn", "not_selected_unknown")),
    "base_rate": (("tp", "fn"), ("fp", "tn")),
    "tpr": (("tp",), ("fn",)),
    "fpr": (("fp",), ("tn",)),
    "fnr": (("fn",), ("tp",)),
    "tnr": (("tn",), ("fp",)),
    "ppv": (("tp",), ("fp",)),
    "npv": (("tn",), ("fn",)),
    "fdr": (("fp",), ("tp",)),
    "for": (("fn",), ("tn",)),
    "accuracy": (("tp", "tn"), ("fp", "fn")),
}

_DENOMINATOR_WORDS = {
    "selection_rate": "rows", "base_rate": "rows with a known outcome",
    "tpr": "rows with a positive outcome (tp + fn)", "fnr": "rows with a positive outcome (tp + fn)",
    "fpr": "rows with a negative outcome (fp + tn)", "tnr": "rows with a negative outcome (fp + tn)",
    "ppv": "selected rows with a known outcome (tp + fp)", "fdr": "selected rows with a known outcome (tp + fp)",
    "npv": "non-selected rows with a known outcome (tn + fn)",
    "for": "non-selected rows with a known outcome (tn + fn)", "accuracy": "rows with a known outcome",
    "share_of_selected": "selected rows in any group (nobody was selected)",
}


@dataclass(frozen=True)
class Rate:
    """A rate for each group: bounds, interval, numerator and denominator (arrays)."""

    name: str
    k_low: np.ndarray
    n_low: np.ndarray
    k_high: np.ndarray
    n_high: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray

    @functools.cached_property
    def bounded(self) -> np.ndarray:
        """Where the rate is known only within bounds (computed once: record building asks per group)."""
        return ~np.isclose(self.lower, self.upper, rtol=0, atol=1e-15, equal_nan=True)

    def reason(self, i: int) -> str | None:
        """Why the rate of group ``i`` is undefined, or None."""
        if self.n_high.flat[i] == 0:
            words = _DENOMINATOR_WORDS.get(self.name, "rows")
            return f"undefined: there are no {words} (denominator 0)" if self.name.startswith("share") else \
                f"undefined: the group has no {words} (denominator 0)"
        return None


def cell_counts(block: np.ndarray) -> dict[str, np.ndarray]:
    """Named cell counts from an array whose last two axes are decision x outcome."""
    return {name: block[..., d, o] for name, (d, o) in CELLS.items()}


def rate(name: str, k_low: np.ndarray, c_low: np.ndarray, k_high: np.ndarray, c_high: np.ndarray,
         level: float) -> Rate:
    """Rate ``k / (k + c)`` with suppression bounds and a Wilson interval covering both corners."""
    lo_k, lo_n = k_low, k_low + c_high
    hi_k, hi_n = k_high, k_high + c_low
    # A corner with no rows leaves the rate undefined there, not the range: with c = 0 throughout, every
    # defined completion has the rate 1 (least interval end at k = 1); with k = 0 throughout, the rate 0.
    k_low, k_high, c_low, c_high = (np.asarray(x) for x in (k_low, k_high, c_low, c_high))
    lo_k = np.where((lo_n == 0) & (k_high > 0), 1, lo_k)
    lo_n = np.where((lo_n == 0) & (k_high > 0), 1, lo_n)
    hi_n = np.where((hi_n == 0) & (c_high > 0), 1, hi_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(lo_n > 0, lo_k / np.where(lo_n > 0, lo_n, 1), np.nan)
        upper = np.where(hi_n > 0, hi_k / np.where(hi_n > 0, hi_n, 1), np.nan)
    ci_low, _ = wilson_interval(lo_k, lo_n, level)
    _, ci_high = wilson_interval(hi_k, hi_n, level)
    return Rate(name, lo_k, lo_n, hi_k, hi_n, lower, upper, np.asarray(ci_low), np.asarray(ci_high))


def _sum(cells: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    return sum((cells[n] for n in names), start=np.zeros_like(cells[names[0]]))


def group_rates(low: np.ndarray, high: np.ndarray, level: float) -> dict[str, Rate]:
    """Every rate in :data:`RATE_CELLS`, plus group shares, for arrays shaped (..., G, 2, 3).

    ``share_of_population`` is each group's share of all rows over the G groups,
    ``share_of_selected`` its share of the selected rows.
    """
    lo, hi = cell_counts(low), cell_counts(high)
    out = {}
    for name, (num, comp) in RATE_CELLS.items():
        out[name] = rate(name, _sum(lo, num), _sum(lo, comp), _sum(hi, num), _sum(hi, comp), level)
    n_lo, n_hi = low.sum(axis=(-1, -2)), high.sum(axis=(-1, -2))
    s_lo, s_hi = low[..., 1, :].sum(axis=-1), high[..., 1, :].sum(axis=-1)
    tot_lo, tot_hi = n_lo.sum(axis=-1, keepdims=True), n_hi.sum(axis=-1, keepdims=True)
    stot_lo, stot_hi = s_lo.sum(axis=-1, keepdims=True), s_hi.sum(axis=-1, keepdims=True)
    # the other groups' counts are the complement (its low end: total low - own low); a share is least
    # with the group at its low end and the others at their high end, and largest the other way round
    out["share_of_population"] = rate("share_of_population", n_lo, tot_lo - n_lo, n_hi, tot_hi - n_hi, level)
    out["share_of_selected"] = rate("share_of_selected", s_lo, stot_lo - s_lo, s_hi, stot_hi - s_hi, level)
    return out


def balanced_accuracy(rates: dict[str, Rate], level: float) -> tuple[np.ndarray, ...]:
    """Mean of TPR and TNR, with bounds and a normal interval from their two independent binomials.

    TPR and TNR are estimated on disjoint rows (positives and negatives), so the
    variance of their mean is (var_tpr + var_tnr) / 4; the interval is clipped to [0, 1].
    """
    from ._stats import z_value

    tpr, tnr = rates["tpr"], rates["tnr"]
    lower, upper = (tpr.lower + tnr.lower) / 2, (tpr.upper + tnr.upper) / 2
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_lo = np.sqrt(tpr.lower * (1 - tpr.lower) / tpr.n_low + tnr.lower * (1 - tnr.lower) / tnr.n_low) / 2
        se_hi = np.sqrt(tpr.upper * (1 - tpr.upper) / tpr.n_high + tnr.upper * (1 - tnr.upper) / tnr.n_high) / 2
    return lower, upper, np.clip(lower - z * se_lo, 0, 1), np.clip(upper + z * se_hi, 0, 1)
