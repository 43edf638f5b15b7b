"""When the protected attribute is not in the data: estimates from area composition, each with its assumption.

An agency's decision file often has an area (neighbourhood, postcode, municipality), a decision and an
outcome, but no nationality or migration background.  A statistics office can say how many people of
each group live in (or receive a benefit in) each area.  Three estimates follow, each valid under a
different assumption, and none of them a measurement of individuals:

1. **Bounds that assume nothing** (Duncan & Davis 1953; Manski's partial identification).  In area ``a``
   with ``n_a`` people of whom ``S_a`` were selected and ``n_ag`` belong to group ``g``, the group's
   selected count lies in ``[max(0, S_a − (n_a − n_ag)), min(S_a, n_ag)]``.  Summed over areas this
   bounds the group's selection rate sharply; the ratio between two groups is bounded (not sharply) by
   dividing the extremes.
2. **The area-weighted estimator** (surrogate membership weights; Chen, Kallus, Mao, Svacha & Udell 2019):
   each person counts for group ``g`` with the weight ``n_ag / n_a`` of their area, so
   ``rate_g = Σ_a w_ag S_a / Σ_a w_ag n_a``.  Valid if, *within* an area, selection does not depend on
   group; if it does, the estimate is pulled towards the area's overall rate and understates the
   disparity.  Interval: a seeded bootstrap over areas.
3. **Ecological regression** (Goodman 1953): the areas' selection rates regressed on their group shares
   (weighted least squares, no intercept): each coefficient is a group's rate *if every group's rate is
   the same in every area* (King 1997).  Diagnostics of how strongly the data contradict that: estimates
   outside [0, 1], and the Pearson dispersion of the areas around the fit (about 1 when the assumption
   and binomial variation explain the areas; much larger means the rates vary between areas).

The people per area and group (``n_ag``) come from the composition table scaled to the decision file's
people per area: the table must describe the same population as the decision file (e.g. benefit
recipients per neighbourhood by migration background), or the scaling adds that assumption.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import warnings

import numpy as np

from ._stats import z_value

__all__ = ["area_estimates", "bounds", "ecological", "outer_bounds", "weighted"]


def bounds(n: np.ndarray, s: np.ndarray, n_g: np.ndarray) -> dict[str, Any]:
    """Sharp bounds on each group's selection rate from area totals; ``n_g`` is areas × groups."""
    n, s, n_g = (np.asarray(x, dtype=float) for x in (n, s, n_g))
    low = np.maximum(0.0, s[:, None] - (n[:, None] - n_g))
    high = np.minimum(s[:, None], n_g)
    people = n_g.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"selected_low": low.sum(axis=0), "selected_high": high.sum(axis=0), "people": people,
                "rate_low": low.sum(axis=0) / people, "rate_high": high.sum(axis=0) / people,
                "per_area_rate_low": low / n_g, "per_area_rate_high": high / n_g}


def outer_bounds(n: np.ndarray, s: np.ndarray, n_g_low: np.ndarray, n_g_high: np.ndarray) -> dict[str, Any]:
    """Bounds when each area's group sizes are known only within ``[n_g_low, n_g_high]`` (suppressed cells).

    A group's selected count in an area is at least ``max(0, S − n + n_g)`` and at most ``min(S, n_g)``,
    both increasing in ``n_g``; so the lowest count over every size allowed is at the low size and the
    highest at the high size, and the rate lies in ``[Σ low / Σ n_g_high, Σ high / Σ n_g_low]``.  Valid,
    and equal to :func:`bounds` when nothing is suppressed; not sharp otherwise.
    """
    lo, hi = bounds(n, s, n_g_low), bounds(n, s, n_g_high)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"selected_low": lo["selected_low"], "selected_high": hi["selected_high"],
                "rate_low": lo["selected_low"] / hi["people"], "rate_high": hi["selected_high"] / lo["people"],
                "people_low": lo["people"], "people_high": hi["people"],
                "per_area_rate_low": lo["per_area_rate_low"], "per_area_rate_high": hi["per_area_rate_high"]}


def weighted(n: np.ndarray, s: np.ndarray, n_g: np.ndarray) -> np.ndarray:
    """Area-weighted selection rate per group: Σ_a w_ag S_a / Σ_a w_ag n_a with w_ag = n_ag / n_a."""
    n, s, n_g = (np.asarray(x, dtype=float) for x in (n, s, n_g))
    w = n_g / n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w * s[:, None]).sum(axis=0) / (w * n[:, None]).sum(axis=0)


def ecological(n: np.ndarray, s: np.ndarray, n_g: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Goodman's regression of area rates on group shares (WLS, weights n_a), with sandwich intervals."""
    n, s, n_g = (np.asarray(x, dtype=float) for x in (n, s, n_g))
    keep = n > 0
    n, s, n_g = n[keep], s[keep], n_g[keep]
    X = n_g / n[:, None]
    y = s / n
    sw = np.sqrt(n)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    fitted = X @ beta
    resid = y - fitted
    bread = np.linalg.pinv((X * n[:, None]).T @ X)
    meat = (X * (n * resid)[:, None]).T @ (X * (n * resid)[:, None])
    cov = bread @ meat @ bread  # HC0 sandwich: statsmodels' WLS(...).fit(cov_type="HC0")
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    p = np.clip(fitted, 1e-9, 1 - 1e-9)
    df = max(len(n) - X.shape[1], 1)
    dispersion = float(np.sum(n * resid**2 / (p * (1 - p))) / df)
    z = z_value(level)
    return {"rate": beta, "ci_low": beta - z * se, "ci_high": beta + z * se, "cov": cov, "dispersion": dispersion,
            "areas": int(len(n)), "outside_unit_interval": bool(np.any((beta < 0) | (beta > 1)))}


def _bootstrap(n: np.ndarray, s: np.ndarray, n_g: np.ndarray, replicates: int, seed: int,
               level: float, ref: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Percentile intervals of the weighted rates and of their ratios to the reference, areas resampled."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(n), size=(replicates, len(n)))
    est = np.array([weighted(n[d], s[d], n_g[d]) for d in draws]).reshape(replicates, n_g.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = est / est[:, [ref]]
    ratio[~np.isfinite(ratio)] = np.nan
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group with no finite replicate: NaN, reported as None
        return (np.nanquantile(est, alpha, axis=0), np.nanquantile(est, 1 - alpha, axis=0),
                np.nanquantile(ratio, alpha, axis=0), np.nanquantile(ratio, 1 - alpha, axis=0))


def _eco_ratio_ci(eco: dict[str, Any], j: int, ref: int, level: float) -> list[float | None]:
    """Delta-method interval of the ratio of two regression coefficients, on the log scale (both positive)."""
    b, v = eco["rate"], eco["cov"]
    if b[j] <= 0 or b[ref] <= 0:
        return [None, None]
    var = v[j, j] / b[j] ** 2 + v[ref, ref] / b[ref] ** 2 - 2 * v[j, ref] / (b[j] * b[ref])
    half = z_value(level) * np.sqrt(max(var, 0.0))
    centre = np.log(b[j] / b[ref])
    return [float(np.exp(centre - half)), float(np.exp(centre + half))]


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _ratio(rate: np.ndarray, ref: int) -> list[float | None]:
    return [None if not np.isfinite(r / rate[ref]) or rate[ref] == 0 else float(r / rate[ref]) for r in rate]


def area_estimates(areas: Sequence[str], n: np.ndarray, s: np.ndarray, n_g: np.ndarray, groups: Sequence[str],
                   reference: str, *, level: float = 0.95, replicates: int = 1000, seed: int = 0,
                   n_g_low: np.ndarray | None = None, n_g_high: np.ndarray | None = None) -> dict[str, Any]:
    """All three estimates per group, JSON-ready, with the assumption of each stated in words.

    ``n_g_low``/``n_g_high`` give the range of each area's group sizes when the composition has
    suppressed cells: the bounds then hold over the whole range (:func:`outer_bounds`); the two
    point estimates use ``n_g``.
    """
    n, s, n_g = (np.asarray(x, dtype=float) for x in (n, s, n_g))
    ref = list(groups).index(reference)
    b = outer_bounds(n, s, n_g if n_g_low is None else np.asarray(n_g_low, dtype=float),
                     n_g if n_g_high is None else np.asarray(n_g_high, dtype=float))
    b["people"] = n_g.sum(axis=0)
    w = weighted(n, s, n_g)
    w_low, w_high, wr_low, wr_high = _bootstrap(n, s, n_g, replicates, seed, level, ref)
    eco = ecological(n, s, n_g, level)
    out_groups = []
    for j, group in enumerate(groups):
        lo_r, hi_r = b["rate_low"][ref], b["rate_high"][ref]
        ratio_low = b["rate_low"][j] / hi_r if hi_r > 0 else None
        ratio_high = b["rate_high"][j] / lo_r if lo_r > 0 else None
        out_groups.append({
            "group": group, "people": float(b["people"][j]), "is_reference": j == ref,
            "bounds": {"rate": [_f(b["rate_low"][j]), _f(b["rate_high"][j])],
                       "selected": [float(b["selected_low"][j]), float(b["selected_high"][j])],
                       "ratio": None if j == ref else [None if ratio_low is None else float(ratio_low),
                                                       None if ratio_high is None else float(ratio_high)],
                       "ratio_note": None if j == ref or ratio_high is not None else
                       "no upper bound: the reference group's rate may be 0"},
            "weighted": {"rate": _f(w[j]), "ci": [_f(w_low[j]), _f(w_high[j])],
                         "ratio": None if j == ref else _ratio(w, ref)[j],
                         "ratio_ci": None if j == ref else [_f(wr_low[j]), _f(wr_high[j])]},
            "ecological": {"rate": _f(eco["rate"][j]), "ci": [_f(eco["ci_low"][j]), _f(eco["ci_high"][j])],
                           "ratio": None if j == ref else _ratio(eco["rate"], ref)[j],
                           "ratio_ci": None if j == ref else _eco_ratio_ci(eco, j, ref, level)},
        })
    return {
        "areas": len(areas), "people": float(n.sum()), "selected": float(s.sum()), "reference": reference,
        "groups": out_groups,
        "assumptions": {
            "bounds": "none: every split of each area's selections between its groups that the area totals allow",
            "weighted": "within an area, selection does not depend on group; if it does, the estimate is pulled "
                        "towards each area's overall rate and understates the disparity",
            "ecological": "each group's selection rate is the same in every area (homogeneity)",
        },
        "diagnostics": {"ecological_dispersion": eco["dispersion"],
                        "ecological_outside_unit_interval": eco["outside_unit_interval"],
                        "bootstrap": {"replicates": replicates, "seed": seed, "over": "areas"}},
        "caveat": "Area-based estimates, not measurements of individuals: no person's group is known.",
    }
