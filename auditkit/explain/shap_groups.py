"""SHAP values summarised by protected group, and each group's gap in mean score split by feature.

Why the split is exact: SHAP values are additive ("local accuracy", Lundberg & Lee 2017): for every
row, ``f(x) = base + sum_j phi_j(x)``.  Averaging over the rows of group g gives
``mean_g f = base + sum_j mean_g phi_j``; the base value is the same for every row, so
``mean_g f - mean_r f = sum_j (mean_g phi_j - mean_r phi_j)``.  The difference of feature j's mean
SHAP value between a group and its reference is feature j's part of the gap in mean model output
(Lundberg 2020, "Explaining quantitative measures of fairness", shap documentation).  What is left
over (``unexplained``) is the explainer's additivity error, reported so it can be checked.

This module samples and groups the rows and builds the summaries; the explainers are in
:mod:`auditkit.explain._shap_explainers`, the model adapters in :mod:`auditkit.explain._shap_adapters`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ._shap_adapters import Predict, align_columns, score_rows
from ._shap_explainers import ADDITIVITY_TOLERANCE  # noqa: F401 - re-exported, documented with the method
from ._shap_explainers import PERMUTATIONS, Explanation, explain

__all__ = ["shap_by_group"]

MISSING = "(missing)"


def shap_by_group(estimator: Any, X: pd.DataFrame, groups: pd.DataFrame, *, predict: Predict | None = None,
                  reference_groups: Mapping[str, str] | None = None, sample: int | None = 2000,
                  background: int = 200, seed: int = 0, explainer: Explainer | None = None) -> dict:
    """SHAP values of a scoring model, averaged per protected group, and each group's score gap by feature.

    Parameters
    ----------
    estimator : fitted model or None
        scikit-learn estimator or pipeline, xgboost ``XGBModel``/``Booster``, lightgbm
        ``LGBMModel``/``Booster``.  Trees get ``shap.TreeExplainer``, linear models
        ``shap.LinearExplainer``; anything else (or ``None``) sampled permutation SHAP over ``predict``
        (the algorithm of ``shap.PermutationExplainer``).
    X : pandas.DataFrame
        The model's input features, matched to the model by column name.
    groups : pandas.DataFrame
        Protected attributes, same rows in the same order as ``X``; need not be model inputs.
    predict : callable, optional
        DataFrame -> 1-d scores.  Used by the model-agnostic explainer, and otherwise compared with
        the explained model's output (``predict_check``).  Default: the probability of
        ``classes_[1]`` for classifiers, ``predict`` for regressors.
    reference_groups : mapping, optional
        Attribute -> reference group for the gap decomposition; default the largest group.
    sample : int or None
        Rows explained: a seeded sample stratified by the groups (proportional allocation), or all
        rows when ``X`` has fewer or ``sample`` is None.
    background : int
        Rows, sampled with ``seed``, that stand for "feature unknown" in interventional SHAP.
    seed : int
        Seeds both samples and the feature orders; the same inputs and seed give the same result.
    explainer : callable, optional
        Where the model is explained: ``explainer(X, rows, background_rows, seed)`` returns what
        :func:`explain_model` returns.  auditkit passes one that runs :func:`explain_model` in its model
        worker (the model never runs in auditkit's process); default :func:`explain_model` here.

    Returns
    -------
    dict
        JSON-ready: ``explainer``, ``output_scale``, ``feature_perturbation``, ``rows_explained``,
        ``rows_in_data``, ``sample_seed``, ``sampling``, ``background_rows``, ``permutations``,
        ``base_value``, ``additivity_max_error``, ``predict_check``, ``notes``, ``overall``,
        ``by_group`` and ``gap_decomposition`` (see docs/explanations.md).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"language": rng.integers(0, 2, 300), "age": rng.normal(40, 10, 300)})
    >>> groups = pd.DataFrame({"nationality": np.where(X["language"] == 1, "non-EU", "NL")})
    >>> y = (rng.random(300) < 0.2 + 0.4 * X["language"]).astype(int)
    >>> res = shap_by_group(LogisticRegression().fit(X, y), X, groups, sample=200, background=50,
    ...                     reference_groups={"nationality": "NL"})
    >>> res["explainer"], res["output_scale"], res["rows_explained"], res["additivity_max_error"] < 1e-9
    ('LinearExplainer', 'log-odds', 200, True)
    >>> gap = res["gap_decomposition"][0]
    >>> gap["group"], gap["reference"], gap["features"][0]["feature"], round(gap["features"][0]["share_of_gap"], 1)
    ('non-EU', 'NL', 'language', 1.0)
    """
    X = _check_inputs(X, sample, background)
    labels = _group_labels(groups, len(X))
    references = _references(labels, reference_groups)
    rows_rng, background_rng, _ = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    rows, sampling = _stratified_rows(labels, sample, rows_rng)
    bg = np.sort(background_rng.choice(len(X), size=min(background, len(X)), replace=False))
    if explainer is None:
        ex, features, check = explain_model(estimator, predict, X, rows, bg, seed)
    else:
        ex, features, check = explainer(X, rows, bg, seed)
    return {"explainer": ex.explainer, "output_scale": ex.scale, "feature_perturbation": ex.perturbation,
            "rows_explained": int(len(rows)), "rows_in_data": int(len(X)), "sample_seed": seed,
            "sampling": sampling, "background_rows": ex.background_rows,
            "permutations": PERMUTATIONS if ex.explainer == "PermutationSHAP" else None,
            "base_value": _num(ex.base), "additivity_max_error": _num(ex.additivity_error),
            "predict_check": check, "notes": ex.notes,
            **_summaries(ex, features, labels, rows, references)}


#: ``(X, rows, background rows, seed) -> (explanation, feature names in the model's order, predict check)``
Explainer = Callable[[pd.DataFrame, np.ndarray, np.ndarray, int], tuple[Explanation, list[str], Any]]


def explain_model(estimator: Any, predict: Predict | None, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray,
                  seed: int) -> tuple[Explanation, list[str], dict | None]:
    """The part of :func:`shap_by_group` that runs the model: SHAP values of ``X.iloc[rows]`` with background
    ``X.iloc[bg]`` (feature orders from ``seed``), the inputs in the model's order, and the predict check.

    auditkit's model worker runs this and sends back arrays; the summaries are made from them."""
    if estimator is not None:
        X = align_columns(estimator, X)
    order_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    ex = explain(estimator, predict, X, rows, bg, order_rng)
    return ex, list(X.columns), _predict_check(predict, X, rows, ex)


# --- rows and groups ------------------------------------------------------------------------------

def _check_inputs(X: pd.DataFrame, sample: int | None, background: int) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame) or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputDataError(f"X must be a non-empty pandas DataFrame of the model's input features; got "
                             f"{type(X).__name__} of shape {getattr(X, 'shape', None)}.")
    for name, value in (("sample", 1 if sample is None else sample), ("background", background)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputDataError(f"{name} must be a whole number of rows, at least 1; got {value!r}.")
    return X.set_axis([str(c) for c in X.columns], axis=1)


def _group_labels(groups: pd.DataFrame, n: int) -> pd.DataFrame:
    if not isinstance(groups, pd.DataFrame):
        raise InputDataError(f"groups must be a pandas DataFrame with one column per protected attribute; "
                             f"got {type(groups).__name__}.")
    if len(groups) != n:
        raise InputDataError(f"groups has {len(groups)} rows but X has {n}; pass the protected attributes of "
                             f"the same rows, in the same order.")
    return pd.DataFrame({str(c): [MISSING if pd.isna(v) else str(v) for v in groups[c]] for c in groups.columns})


def _references(labels: pd.DataFrame, given: Mapping[str, str] | None) -> dict[str, tuple[str, str]]:
    given = {str(k): str(v) for k, v in (given or {}).items()}
    for attr in given:
        if attr not in labels.columns:
            raise InputDataError(f"reference_groups names {attr!r}, which is not a column of groups; groups has "
                                 f"{list_values(labels.columns)}.{did_you_mean(attr, labels.columns)}")
    out: dict[str, tuple[str, str]] = {}
    for attr in labels.columns:
        counts = labels[attr].value_counts()
        if attr not in given:  # the largest group with a known label; ties by name, so runs agree
            out[attr] = (str(min(counts.items(), key=lambda kv: (kv[0] == MISSING, -kv[1], str(kv[0])))[0]),
                         "largest group")
        elif given[attr] in counts.index:
            out[attr] = (given[attr], "given (reference_groups)")
        else:
            levels = sorted(counts.index)
            raise InputDataError(f"Reference group {given[attr]!r} for {attr!r} does not occur in groups; its "
                                 f"groups are {list_values(levels)}.{did_you_mean(given[attr], levels)}")
    return out


def _stratified_rows(labels: pd.DataFrame, sample: int | None, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Seeded sample, allocated to every combination of groups in proportion (largest remainder)."""
    n = len(labels)
    if sample is None or sample >= n:
        return np.arange(n), "all rows"
    cells = (labels.groupby(list(labels.columns), sort=True).ngroup().to_numpy()
             if labels.shape[1] else np.zeros(n, dtype=int))
    counts = np.bincount(cells)
    quota = counts * sample / n
    alloc = np.floor(quota).astype(int)
    alloc[np.lexsort((np.arange(len(counts)), alloc - quota))[: sample - alloc.sum()]] += 1
    members = np.split(np.argsort(cells, kind="stable"), np.cumsum(counts)[:-1])
    picked = [rng.choice(idx, size=k, replace=False) for idx, k in zip(members, alloc) if k]
    by = " × ".join(labels.columns) if labels.shape[1] else "nothing (no protected attributes)"
    return np.sort(np.concatenate(picked)), f"random sample stratified by {by}, proportional allocation"


# --- predict vs the explained model ---------------------------------------------------------------

def _predict_check(predict: Predict | None, X: pd.DataFrame, rows: np.ndarray, ex: Explanation) -> dict | None:
    """Does ``predict`` give the scores of the model that was explained?"""
    if predict is None or ex.explainer == "PermutationSHAP":
        return None
    given = score_rows(predict, X.iloc[rows])
    explained = 1.0 / (1.0 + np.exp(-ex.output)) if ex.scale == "log-odds" else ex.output
    diff = float(np.max(np.abs(given - explained)))
    if diff > 1e-5:
        ex.notes.append(f"predict's scores differ from the explained model's output by up to {diff:.3g}: the SHAP "
                        f"values explain the estimator, not predict.")
    return {"compared_on": "probability" if ex.scale in ("log-odds", "probability") else ex.scale,
            "max_abs_difference": _num(diff), "matches": diff <= 1e-5}


# --- summaries ------------------------------------------------------------------------------------

def _num(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _feature_means(features: list[str], values: np.ndarray) -> list[dict]:
    means, abs_means = values.mean(axis=0), np.abs(values).mean(axis=0)
    order = sorted(range(len(features)), key=lambda j: (-abs_means[j], features[j]))
    return [{"feature": features[j], "mean_abs_shap": _num(abs_means[j]), "mean_shap": _num(means[j])} for j in order]


def _summaries(ex: Explanation, features: list[str], labels: pd.DataFrame, rows: np.ndarray,
               references: dict[str, tuple[str, str]]) -> dict:
    by_group: list[dict] = []
    gaps: list[dict] = []
    for attr in labels.columns:
        in_data, explained = labels[attr].value_counts(), labels[attr].to_numpy()[rows]
        masks = {g: explained == g for g in sorted(in_data.index)}
        for g, mask in masks.items():
            n = int(mask.sum())
            by_group.append({"attribute": attr, "group": g, "n": n, "n_in_data": int(in_data[g]),
                             "mean_score": _num(ex.output[mask].mean()) if n else None,
                             "features": _feature_means(features, ex.values[mask]) if n else []})
        ref, rule = references[attr]
        gaps.extend(_gap(ex, features, attr, g, masks[g], ref, masks[ref], rule) for g in masks if g != ref)
    return {"overall": _feature_means(features, ex.values), "by_group": by_group, "gap_decomposition": gaps}


def _gap(ex: Explanation, features: list[str], attr: str, group: str, mask: np.ndarray, ref: str,
         ref_mask: np.ndarray, rule: str) -> dict:
    """Gap in mean output (group − reference) = sum over features of the gap in mean SHAP value."""
    out: dict = {"attribute": attr, "group": group, "reference": ref, "reference_rule": rule,
                 "n": int(mask.sum()), "n_reference": int(ref_mask.sum())}
    if not out["n"] or not out["n_reference"]:
        return {**out, "mean_score_gap": None, "features": [], "unexplained": None,
                "reason": "no explained rows in the group or its reference; explain more rows (sample=)"}
    gap = ex.output[mask].mean() - ex.output[ref_mask].mean()
    contrib = ex.values[mask].mean(axis=0) - ex.values[ref_mask].mean(axis=0)
    order = sorted(range(len(features)), key=lambda j: (-abs(contrib[j]), features[j]))
    return {**out, "mean_score_gap": _num(gap),
            "features": [{"feature": features[j], "contribution": _num(contrib[j]),
                          "share_of_gap": _num(contrib[j] / gap) if abs(gap) > 1e-12 else None} for j in order],
            "unexplained": _num(gap - contrib.sum())}
