"""Counterfactual flip tests: does the model use an input directly?

Every row is copied once per value of one input column (a protected attribute or
a named proxy) with everything else held fixed, scored and decided by the
caller's fixed rule, and compared with the observed decisions.  Decisions of
the same person under two values are *paired*, so they are compared with
McNemar's test and a paired-difference interval, never with an independence
test (Fisher / chi-square of two groups), which assumes two independent samples
and gets the variance wrong for paired data (Agresti 2013, sec. 11.1); the tests
are in :mod:`auditkit.measure._paired`, the constraints on impossible
combinations in :mod:`auditkit.explain._constraints`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditkit._text import did_you_mean, list_values
from auditkit.exceptions import InputDataError
from auditkit.explain._constraints import bind_constraints, load_constraints, violations
from auditkit.explain._constraints import check_constraints  # noqa: F401 - re-exported, part of this module's API
from auditkit.measure._paired import EXACT_BELOW, mcnemar_test, paired_difference_interval
from auditkit.measure._stats import holm_adjust, newcombe_difference_interval, wilson_interval

__all__ = ["flip_test", "load_constraints", "mcnemar_test", "paired_difference_interval"]

DECISION_RULE_NOTE = (
    "Counterfactual rows are judged by the caller's decide(), exactly as the observed rows. It must be a "
    "fixed row-by-row rule: for a top-k rule pass a threshold equal to the observed cut-off score "
    "(decide = lambda s: (s >= cutoff).astype(int)), so that every counterfactual row is held to the same "
    "bar; a rule that re-ranks each batch would move the bar with the data. Checked: rows given their own "
    "value reproduce their observed decisions.")

METHOD = (
    "Each row is copied once per value of the attribute, everything else held fixed, and scored in batches. "
    "Flips vs the observed decisions and vs the baseline value are paired comparisons: McNemar's test "
    f"(exact binomial when discordant pairs < {EXACT_BELOW}, else chi-square without continuity correction), "
    "Holm-adjusted across the values; no independence test is used on paired decisions. Direct effect: "
    "selection rate of everyone given value v minus everyone given the baseline, with Newcombe's (1998) "
    "paired hybrid-score interval (method 10). Observed disparity: actual groups' selection rates, Newcombe "
    "(1998) method 10 interval for independent groups. 'remaining' = observed disparity minus direct effect: "
    "what the direct use of the attribute does not account for, not a causal decomposition.")


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars to Python, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rate(k: int, n: int, level: float) -> dict:
    low, high = wilson_interval(k, n, level)
    return {"value": _plain(k / n if n else math.nan), "ci_low": _plain(float(low)),
            "ci_high": _plain(float(high))}


# --------------------------------------------------------------------------- scoring

def _decide(predict: Callable, decide: Callable, frame: pd.DataFrame) -> np.ndarray:
    scores = np.asarray(predict(frame), dtype=float)
    if scores.shape != (len(frame),):
        raise InputDataError(f"predict returned shape {scores.shape} for {len(frame)} rows; expected 1-d scores "
                             "of that length (for a classifier: lambda X: model.predict_proba(X)[:, 1]).")
    out = np.asarray(decide(scores))
    if out.shape != (len(frame),) or not np.isin(out, (0, 1)).all():
        raise InputDataError(f"decide returned {out.shape} values in {list_values(np.unique(out)[:5].tolist())}; "
                             "expected one 0/1 decision per score, e.g. lambda s: (s >= cutoff).astype(int).")
    return out.astype(np.int8)


def _counterfactual(predict: Callable, decide: Callable, X: pd.DataFrame, attribute: str, cell: pd.Series,
                    constraints: list[dict], batch_size: int, recode: Callable | None = None) -> np.ndarray:
    """Decisions with every row given the value in ``cell``; -1 where a constraint drops the row.
    ``recode`` then sets the inputs that recode the attribute (:func:`auditkit.explain.direct_use.recoder`)."""
    out = np.full(len(X), -1, dtype=np.int8)
    for start in range(0, len(X), batch_size):
        batch = X.iloc[start:start + batch_size].copy()
        # Repeat the observed cell (not a Python scalar) so the column keeps its dtype (category, string).
        batch[attribute] = cell.iloc[np.zeros(len(batch), dtype=np.intp)].array
        if recode is not None:
            batch = recode(batch)
        keep = ~violations(batch, constraints) if constraints else np.ones(len(batch), dtype=bool)
        if keep.all():
            out[start:start + len(batch)] = _decide(predict, decide, batch)
        elif keep.any():
            out[start:start + len(batch)][keep] = _decide(predict, decide, batch[keep])
    return out


def _check_fixed_rule(cf: np.ndarray, observed: np.ndarray, holds_value: np.ndarray, attribute: str,
                      value: Any) -> None:
    """Rows given the value they already hold must get their observed decisions back."""
    own = holds_value & (cf >= 0)
    if (cf[own] != observed[own]).any():
        raise InputDataError(
            f"{int((cf[own] != observed[own]).sum())} rows whose {attribute!r} already is {value!r} got a "
            "different decision when scored again: predict/decide is not a fixed row-by-row rule (e.g. a "
            "top-k taken per batch, or a random score). Pass decide with a fixed threshold at the observed "
            "cut-off score.")


def _values(X: pd.DataFrame, attribute: str, values: Sequence | None, baseline: Any) -> tuple[list, dict, Any]:
    """Values to set, the row holding each value's first occurrence, and the baseline."""
    codes, uniques = pd.factorize(X[attribute])  # code -1 marks a missing value
    present, first = np.unique(codes, return_index=True)
    first_pos = {_plain(uniques[int(c)]): int(i) for c, i in zip(present, first) if c >= 0}
    freq = dict(zip(first_pos, np.bincount(codes[codes >= 0], minlength=len(uniques))[present[present >= 0]]))
    chosen = sorted(first_pos, key=str) if values is None else [_plain(v) for v in values]
    if not chosen:
        raise InputDataError(f"Column {attribute!r} holds no values (all missing); nothing to set.")
    for v in chosen + ([] if baseline is None else [_plain(baseline)]):
        if v not in first_pos:
            raise InputDataError(
                f"Value {v!r} does not occur in column {attribute!r}, which holds "
                f"{list_values(sorted(first_pos, key=str))}.{did_you_mean(str(v), map(str, first_pos))} "
                "Counterfactual values must be observed values (mind text vs number).")
    if len(set(chosen)) < len(chosen):
        raise InputDataError(f"values for {attribute!r} repeat an entry: {list_values(chosen)}. List each once.")
    if baseline is None:
        baseline = max(chosen, key=lambda v: freq[v])  # first in order among ties
    elif _plain(baseline) not in chosen:
        raise InputDataError(f"baseline {baseline!r} is not among values {list_values(chosen)}; add it.")
    return chosen, first_pos, _plain(baseline)


# --------------------------------------------------------------------------- report

def _tally(x: np.ndarray, y: np.ndarray) -> tuple[int, int, int, int]:
    """Paired 2x2 counts (a: both 1, b: x only, c: y only, d: neither) over rows kept in both."""
    keep = (x >= 0) & (y >= 0)
    x, y = x[keep], y[keep]
    a, b = int(np.count_nonzero(x & y)), int(np.count_nonzero(x > y))
    c = int(np.count_nonzero(x < y))
    return a, b, c, int(keep.sum()) - a - b - c


def _with_holm(rows: list[dict]) -> list[dict]:
    """Fill p_holm: Holm (1979) across the rows' p-values (one family per attribute)."""
    p = [math.nan if r["p_value"] is None else r["p_value"] for r in rows]
    for row, adj in zip(rows, holm_adjust(p) if rows else []):
        row["p_holm"] = _plain(float(adj))
    return rows


def _per_value(decisions: dict, observed: np.ndarray, level: float) -> list[dict]:
    rows = []
    for value, cf in decisions.items():
        a, b, c, d = _tally(cf, observed)
        n = a + b + c + d
        stat, p, test = mcnemar_test(b, c) if n else (math.nan, math.nan, None)  # n = 0: all dropped
        rows.append({"value": value, "n": n, "selection_rate": _rate(a + b, n, level),
                     "flips_to_selected": b, "flips_to_not_selected": c, "discordant": b + c,
                     "mcnemar_statistic": _plain(stat), "p_value": _plain(p), "p_holm": None, "test": test,
                     "dropped_impossible": int(np.count_nonzero(cf < 0))})
    return _with_holm(rows)


def _direct_effect(decisions: dict, baseline: Any, level: float, members: np.ndarray | None = None) -> list[dict]:
    """Paired difference of selection rates, value v vs the baseline, for the same people."""
    rows, base = [], decisions[baseline]
    for value, cf in decisions.items():
        if value == baseline:
            continue
        x, y = (cf, base) if members is None else (cf[members], base[members])
        a, b, c, d = _tally(x, y)
        n = a + b + c + d
        low, high = paired_difference_interval(a, b, c, d, level)
        stat, p, test = mcnemar_test(b, c) if n else (math.nan, math.nan, None)  # n = 0: all dropped
        rows.append({"value": value, "baseline": baseline, "n": n,
                     "rate": _plain((a + b) / n if n else math.nan),
                     "rate_baseline": _plain((a + c) / n if n else math.nan),
                     "difference": _plain((b - c) / n if n else math.nan), "ci_low": _plain(low),
                     "ci_high": _plain(high), "flips_to_selected": b, "flips_to_not_selected": c,
                     "mcnemar_statistic": _plain(stat), "p_value": _plain(p), "p_holm": None, "test": test})
    return _with_holm(rows)


def _observed_disparity(groups: pd.Series, observed: np.ndarray, baseline: Any, level: float) -> list[dict]:
    """Actual groups' selection rates vs the baseline group (independent groups: Newcombe method 10)."""
    frame = pd.DataFrame({"g": groups.astype(object).map(_plain), "d": observed}).dropna()
    counts = frame.groupby("g", sort=False)["d"].agg(["size", "sum"])
    labels = sorted(counts.index, key=str)
    ref = baseline if baseline in counts.index else max(labels, key=lambda g: counts.loc[g, "size"])
    n0, k0 = int(counts.loc[ref, "size"]), int(counts.loc[ref, "sum"])
    rows = []
    for g in labels:
        n1, k1 = int(counts.loc[g, "size"]), int(counts.loc[g, "sum"])
        low, high = newcombe_difference_interval(k1, n1, k0, n0, level)
        rows.append({"group": g, "reference": ref, "n": n1, "selected": k1, "selection_rate": _rate(k1, n1, level),
                     "difference": _plain(k1 / n1 - k0 / n0), "ci_low": _plain(float(low)),
                     "ci_high": _plain(float(high))})
    return rows


def _remaining(observed: list[dict], direct: list[dict], decisions: dict, groups: pd.Series, baseline: Any,
               level: float) -> list[dict]:
    """Observed disparity minus direct effect, overall and for the group's own members."""
    by_value = {r["value"]: r for r in direct}
    rows = []
    for obs in observed:
        g = obs["group"]
        if g not in by_value or obs["reference"] != baseline:
            continue
        members = groups.astype(object).map(_plain).eq(g).to_numpy()
        inside = _direct_effect({g: decisions[g], baseline: decisions[baseline]}, baseline, level, members)[0]
        diff, dir_all, dir_in = obs["difference"], by_value[g]["difference"], inside["difference"]
        rows.append({"group": g, "baseline": baseline, "observed_difference": diff, "direct_effect": dir_all,
                     "remaining": _plain(diff - dir_all) if None not in (diff, dir_all) else None,
                     "direct_effect_in_group": dir_in,
                     "remaining_in_group": _plain(diff - dir_in) if None not in (diff, dir_in) else None})
    return rows


# --------------------------------------------------------------------------- entry point

def _rows(X: pd.DataFrame, attribute: str, level: float, sample: int | None, seed: int,
          batch_size: int) -> np.ndarray | None:
    """Validate the arguments; return the sampled row positions (None: every row)."""
    if not isinstance(X, pd.DataFrame) or X.empty:
        raise InputDataError(f"X must be a non-empty pandas DataFrame of model inputs; found {type(X).__name__} "
                             f"with {len(X) if hasattr(X, '__len__') else 0} rows.")
    if attribute not in X.columns:
        raise InputDataError(f"No column {attribute!r} in X.{did_you_mean(str(attribute), X.columns)} The "
                             f"attribute must be a model input; X has {list_values(X.columns)}.")
    if not 0 < level < 1:
        raise InputDataError(f"level must be between 0 and 1 (e.g. 0.95); found {level!r}.")
    for name, val in (("batch_size", batch_size), ("sample", 1 if sample is None else sample)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InputDataError(f"{name} must be a positive whole number of rows; found {val!r}.")
    if sample is None or sample >= len(X):
        return None
    return np.sort(np.random.default_rng(seed).choice(len(X), size=int(sample), replace=False))


def _groups(groups: pd.Series | None, X: pd.DataFrame, attribute: str, idx: np.ndarray | None) -> pd.Series:
    g = X[attribute] if groups is None else pd.Series(groups)
    if len(g) != len(X):
        raise InputDataError(f"groups has {len(g)} entries but X has {len(X)} rows; pass one actual "
                             f"{attribute!r} value per row of X (matched by position).")
    return (g if idx is None else g.iloc[idx]).reset_index(drop=True)


def flip_test(predict: Callable[[pd.DataFrame], np.ndarray], decide: Callable[[np.ndarray], np.ndarray],
              X: pd.DataFrame, attribute: str, *, values: Sequence | None = None, baseline: Any = None,
              constraints: Sequence[Mapping] | None = None, groups: pd.Series | None = None,
              level: float = 0.95, sample: int | None = None, seed: int = 0,
              batch_size: int = 100_000, recode: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> dict:
    """Counterfactual flip test: decisions when every row is given each value of ``attribute``.

    Each row (or a seeded sample of ``sample`` rows) is copied once per value,
    everything else held fixed, scored by ``predict`` and decided by
    ``decide`` in batches of ``batch_size`` rows.  ``decide`` must be a fixed
    row-by-row rule: for a top-k rule pass a threshold equal to the observed
    cut-off score, so counterfactual rows are judged by the same bar (checked:
    rows given their own value must reproduce their observed decisions).

    Decisions of one person under two values are paired; they are compared
    with McNemar's test (exact binomial below 25 discordant pairs, else
    chi-square without correction), Holm-adjusted across the values, and
    never with an independence test such as Fisher's or a two-group
    chi-square, which would treat the copies as different people.

    Parameters
    ----------
    predict, decide : callable
        ``predict(frame) -> 1-d float scores``; ``decide(scores) -> 0/1``.
    X : DataFrame
        Model inputs; ``attribute`` must be one of its columns.
    values : sequence, optional
        Observed values to set (default: every observed value, sorted as text).
    baseline : optional
        Reference value (default: the most common of ``values`` in X).
    constraints : list of mapping, optional
        Impossible combinations, ``{"if": {col: value(s)}, "then_not": {col:
        value(s)}}`` (see :func:`load_constraints`): a counterfactual row
        matching every ``if`` and any ``then_not`` condition is dropped.
    groups : Series, optional
        Actual attribute values per row (by position; default ``X[attribute]``),
        for the observed disparity.
    level : float
        Confidence level of the intervals.
    sample, seed : int
        Use a seeded random sample of ``sample`` rows (stated in the output).
    batch_size : int
        Rows scored per call, bounding memory.
    recode : callable, optional
        Applied to each counterfactual batch after ``attribute`` is set, before constraints and scoring:
        sets the model inputs that recode the attribute (``sex_male`` for ``sex``), see
        :mod:`auditkit.explain.direct_use`.

    Returns
    -------
    dict
        JSON-ready: ``per_value`` (flips vs the observed decisions),
        ``direct_effect`` (paired difference vs the baseline, same people),
        ``observed_disparity`` (actual groups), ``remaining_disparity``
        (observed minus direct: what direct use does not account for, not a
        causal decomposition); see docs/explanations-flips-clusters.md.

    Examples
    --------
    >>> X = pd.DataFrame({"nationality": ["NL", "NL", "TR", "MA"] * 5, "debts": [0, 1, 0, 1] * 5})
    >>> predict = lambda f: 0.5 * (f["nationality"] != "NL").to_numpy() + 0.3 * f["debts"].to_numpy()
    >>> decide = lambda s: (s >= 0.7).astype(int)
    >>> r = flip_test(predict, decide, X, "nationality")
    >>> r["baseline"], [(d["value"], d["difference"]) for d in r["direct_effect"]]
    ('NL', [('MA', 0.5), ('TR', 0.5)])
    """
    idx = _rows(X, attribute, level, sample, seed, batch_size)
    Xs = (X if idx is None else X.iloc[idx]).reset_index(drop=True)
    chosen, first_pos, base = _values(X, attribute, values, baseline)
    bound = bind_constraints(constraints, X) if constraints else []
    grp = _groups(groups, X, attribute, idx)
    observed = np.concatenate([_decide(predict, decide, Xs.iloc[s:s + batch_size])
                               for s in range(0, len(Xs), batch_size)])
    decisions = {}
    for v in chosen:
        cf = _counterfactual(predict, decide, Xs, attribute, X[attribute].iloc[[first_pos[v]]], bound, batch_size,
                             recode)
        _check_fixed_rule(cf, observed, Xs[attribute].isin([v]).to_numpy(), attribute, v)
        decisions[v] = cf
    direct = _direct_effect(decisions, base, level)
    observed_rows = _observed_disparity(grp, observed, base, level)
    return {"attribute": str(attribute), "baseline": base, "values": chosen, "rows_total": len(X),
            "rows_used": len(Xs), "sample_seed": None if idx is None else int(seed), "level": float(level),
            "decision_rule_note": DECISION_RULE_NOTE, "constraints": len(bound),
            "per_value": _per_value(decisions, observed, level), "direct_effect": direct,
            "observed_disparity": observed_rows,
            "remaining_disparity": _remaining(observed_rows, direct, decisions, grp, base, level),
            "method": METHOD}
