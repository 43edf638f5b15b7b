"""SHAP values summarised by protected group, and each group's gap in mean score split by feature.

Why the split is exact: SHAP values are additive ("local accuracy", Lundberg & Lee 2017): for every
row, ``f(x) = base + sum_j phi_j(x)``.  Averaging over the rows of group g gives
``mean_g f = base + sum_j mean_g phi_j``; the base value is the same for every row, so
``mean_g f - mean_r f = sum_j (mean_g phi_j - mean_r phi_j)``.  The difference of feature j's mean
SHAP value between a group and its reference is feature j's part of the gap in mean model output
(Lundberg 2020, "Explaining quantitative measures of fairness", shap documentation).  What is left
over (``unexplained``) is the explainer's additivity error, reported so it can be checked.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError

__all__ = ["shap_by_group"]

MISSING = "(missing)"
#: Accept an explanation only if SHAP sums reproduce the model output this closely (float32 tree
#: ensembles reach ~1e-6); otherwise fall back to the next explainer setting.
ADDITIVITY_TOLERANCE = 1e-3
#: Antithetic pairs of feature orders per row for the model-agnostic explainer.  Every order adds up
#: exactly (Štrumbelj & Kononenko 2014), so few orders only add per-row noise, which averages out
#: over the rows of a group; antithetic pairs are exact when features interact only pairwise.
PERMUTATIONS = 5
_BOOSTERS = ("xgboost.core.Booster", "lightgbm.basic.Booster")
_TREES = ("sklearn.tree.", "sklearn.ensemble._forest.", "sklearn.ensemble._gb.",
          "sklearn.ensemble._hist_gradient_boosting.", "xgboost.", "lightgbm.")

Predict = Callable[[pd.DataFrame], np.ndarray]


class _Unsupported(Exception):
    """The exact explainers cannot explain this model; the message says why."""


@dataclass
class _Explanation:
    explainer: str
    scale: str
    values: np.ndarray  # (rows, features), on the explained scale
    base: float
    output: np.ndarray  # the model's output for the explained rows, on the explained scale
    background_rows: int | None
    perturbation: str
    notes: list[str] = field(default_factory=list)

    @property
    def additivity_error(self) -> float:
        """Max |sum(SHAP) + base - model output| over the explained rows."""
        return float(np.max(np.abs(self.values.sum(axis=1) + self.base - self.output), initial=0.0))


def shap_by_group(estimator: Any, X: pd.DataFrame, groups: pd.DataFrame, *, predict: Predict | None = None,
                  reference_groups: Mapping[str, str] | None = None, sample: int | None = 2000,
                  background: int = 200, seed: int = 0) -> dict:
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
    X = _check_inputs(estimator, X, sample, background)
    labels = _group_labels(groups, len(X))
    references = _references(labels, reference_groups)
    rows_rng, background_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    rows, sampling = _stratified_rows(labels, sample, rows_rng)
    bg = np.sort(background_rng.choice(len(X), size=min(background, len(X)), replace=False))
    ex = _explain(estimator, predict, X, rows, bg, order_rng)
    check = _predict_check(predict, X, rows, ex)
    return {"explainer": ex.explainer, "output_scale": ex.scale, "feature_perturbation": ex.perturbation,
            "rows_explained": int(len(rows)), "rows_in_data": int(len(X)), "sample_seed": seed,
            "sampling": sampling, "background_rows": ex.background_rows,
            "permutations": PERMUTATIONS if ex.explainer == "PermutationSHAP" else None,
            "base_value": _num(ex.base), "additivity_max_error": _num(ex.additivity_error),
            "predict_check": check, "notes": ex.notes,
            **_summaries(ex, list(X.columns), labels, rows, references)}


# --- rows and groups ------------------------------------------------------------------------------

def _check_inputs(estimator: Any, X: pd.DataFrame, sample: int | None, background: int) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame) or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputDataError(f"X must be a non-empty pandas DataFrame of the model's input features; got "
                             f"{type(X).__name__} of shape {getattr(X, 'shape', None)}.")
    for name, value in (("sample", 1 if sample is None else sample), ("background", background)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputDataError(f"{name} must be a whole number of rows, at least 1; got {value!r}.")
    X = X.set_axis([str(c) for c in X.columns], axis=1)
    return X if estimator is None else _align_features(estimator, X)


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


# --- explainers -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep shap silent: library code never prints.

    shap's C++ TreeSHAP writes a progress bar to sys.stderr after 10 s (``print_progress_bar`` in
    tree_shap.h), and shap warns about its own output format (e.g. "LightGBM binary classifier with
    TreeExplainer shap values output has changed to a list of ndarray").  Neither bears on the values:
    their shape is normalised here and their additivity is checked explicitly.
    """
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _explain(estimator: Any, predict: Predict | None, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray,
             rng: np.random.Generator) -> _Explanation:
    notes: list[str] = []
    if estimator is not None:
        try:
            return _explain_model(estimator, X, rows, bg)
        except _Unsupported as exc:
            notes.append(f"{exc} Fell back to the model-agnostic permutation explainer.")
    predict, scale = (predict, "raw score") if predict is not None else _default_predict(estimator)
    ex = _explain_agnostic(predict, X, rows, bg, rng, scale)
    ex.notes[:0] = notes
    return ex


def _explain_model(estimator: Any, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray) -> _Explanation:
    model, pre = _final_step(estimator)
    name, classes = _name(model), getattr(model, "classes_", None)
    if classes is not None and len(classes) > 2:
        raise _Unsupported(f"{type(model).__name__} has {len(classes)} classes; the exact explainers explain one score.")
    linear = name.startswith(("sklearn.linear_model.", "sklearn.svm.")) and hasattr(model, "coef_")
    if not (linear or name.startswith(_TREES)):
        raise _Unsupported(f"{type(model).__name__} is neither a tree ensemble nor a linear model.")
    dense_rows, background, fold = _model_inputs(pre, X, rows, bg)
    output = (lambda scale, limit=None: _model_output(model, estimator, X.iloc[rows[:limit]], scale))
    ex = (_explain_linear if linear else _explain_tree)(model, dense_rows, background, output)
    if fold is not None:
        _fold_values(ex, fold)
    return ex


def _explain_tree(model: Any, rows: Any, background: Any, output: Callable[..., np.ndarray]) -> _Explanation:
    """Interventional TreeSHAP on the predict scale if it adds up, else the raw margin (Lundberg et al. 2020).

    Interventional SHAP explains the model itself ("true to the model", Chen et al. 2020; Janzing et al.
    2020); the path-dependent variant, which needs no background but mixes in the training data's
    correlations, is the fallback.
    """
    import shap

    raw = _raw_scale(model)
    candidates, failures = [("raw", "tree_path_dependent")], []
    numeric = not isinstance(rows, pd.DataFrame) or all(pd.api.types.is_numeric_dtype(t) for t in rows.dtypes)
    if not numeric:  # shap handles categorical splits only path-dependently (ExplainerError otherwise)
        failures.append("Interventional TreeSHAP needs numeric inputs; this model has categorical ones.")
    elif not _name(model).startswith("sklearn.ensemble._hist_gradient_boosting."):
        # shap 0.51's interventional TreeSHAP does not add up for HistGradientBoosting (errors of 0.07-0.9)
        candidates[:0] = [("probability", "interventional")] * (raw == "log-odds") + [("raw", "interventional")]
    for model_output, perturbation in candidates:
        setting = f"TreeExplainer(model_output={model_output!r}, feature_perturbation={perturbation!r})"
        scale = "probability" if model_output == "probability" else raw
        try:
            with _quiet():
                explainer = shap.TreeExplainer(model, background if perturbation == "interventional" else None,
                                               model_output=model_output, feature_perturbation=perturbation)
                for limit in (20, None):  # a pilot on 20 rows finds settings shap cannot honour
                    values, base = _positive_class(explainer.shap_values(rows[:limit], check_additivity=False),
                                                   explainer.expected_value)
                    ex = _Explanation("TreeExplainer", scale, values, base, output(scale, limit),
                                      len(background) if perturbation == "interventional" else None, perturbation)
                    if ex.additivity_error > ADDITIVITY_TOLERANCE:
                        break
        except Exception as exc:  # shap raises many types for models it cannot parse
            failures.append(f"{setting} failed: {type(exc).__name__}: {exc}.")
            continue
        if ex.additivity_error > ADDITIVITY_TOLERANCE:
            failures.append(f"{setting} does not add up (error {ex.additivity_error:.3g}).")
            continue
        ex.notes.extend(failures)
        if scale != "probability" and raw == "log-odds":
            ex.notes.append("Explained on the log-odds (raw margin) scale, not the probability that predict returns.")
        return ex
    raise _Unsupported(" ".join(failures))


def _explain_linear(model: Any, rows: Any, background: Any, output: Callable[..., np.ndarray]) -> _Explanation:
    import shap

    try:
        with _quiet():
            explainer = shap.LinearExplainer(model, np.asarray(background, dtype=float))
            values = explainer.shap_values(np.asarray(rows, dtype=float))
    except Exception as exc:  # e.g. text inputs
        raise _Unsupported(f"shap.LinearExplainer failed: {type(exc).__name__}: {exc}.") from None
    values, base = _positive_class(values, explainer.expected_value)
    scale = _raw_scale(model)
    return _Explanation("LinearExplainer", scale, values, base, output(scale), len(background), "interventional")


def _explain_agnostic(predict: Predict, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray,
                      rng: np.random.Generator, scale: str) -> _Explanation:
    """Interventional SHAP by antithetic permutation sampling (Štrumbelj & Kononenko 2014; Mitchell et al. 2022).

    For each row and a random order of the features (its own order per row, so the sampling noise
    averages out over a group), features are switched from the background rows to the row's own
    values one at a time; each is credited with the change in the mean score.  Every order is also
    walked backwards.  This is what ``shap.PermutationExplainer`` with an Independent masker computes,
    done here on DataFrames so that text and categorical columns keep their dtypes, and without shap's
    numba compilation (~15 s per process) or its seeding of numpy's global random state.
    """
    background, explained = X.iloc[bg].reset_index(drop=True), X.iloc[rows].reset_index(drop=True)
    base, output = float(_scores(predict, background).mean()), _scores(predict, explained)
    values = np.zeros(explained.shape)
    chunk = max(1, 50_000 // len(bg))  # rows per call of predict: chunk × background rows
    for start in range(0, len(explained), chunk):
        part = slice(start, start + chunk)
        both = pd.concat([explained.iloc[part], background], ignore_index=True)
        m = len(both) - len(bg)
        for _ in range(PERMUTATIONS):
            order = rng.permuted(np.tile(np.arange(X.shape[1]), (m, 1)), axis=1)
            for walk in (order, order[:, ::-1]):
                values[part] += _walk(predict, both, m, walk, base, output[part])
    note = (f"SHAP values estimated from {PERMUTATIONS} antithetic pairs of random feature orders per row over "
            f"{len(bg)} background rows: they add up exactly, but each row's split between features is an "
            f"estimate (its noise averages out over a group's rows).")
    return _Explanation("PermutationSHAP", scale, values / (2 * PERMUTATIONS), base, output, len(bg),
                        "interventional", [note])


def _walk(predict: Predict, both: pd.DataFrame, m: int, order: np.ndarray, base: float,
          output: np.ndarray) -> np.ndarray:
    """Credit of each feature along one feature order per row (rows 0..m-1 of ``both``; background after)."""
    k, p = len(both) - m, order.shape[1]
    own = np.zeros((m, p), dtype=bool)
    phi, previous, at = np.zeros((m, p)), np.full(m, base), np.arange(m)
    from_row, from_bg = np.repeat(at, k), m + np.tile(np.arange(k), m)
    for step in range(p):
        own[at, order[:, step]] = True
        if step == p - 1:
            current = output  # every feature the row's own: the model's score of the row
        else:
            mixed = pd.DataFrame({c: both[c].array.take(np.where(np.repeat(own[:, j], k), from_row, from_bg))
                                  for j, c in enumerate(both.columns)})
            current = _scores(predict, mixed).reshape(m, k).mean(axis=1)
        phi[at, order[:, step]] = current - previous
        previous = current
    return phi


def _predict_check(predict: Predict | None, X: pd.DataFrame, rows: np.ndarray, ex: _Explanation) -> dict | None:
    """Does ``predict`` give the scores of the model that was explained?"""
    if predict is None or ex.explainer == "PermutationSHAP":
        return None
    given = _scores(predict, X.iloc[rows])
    explained = 1.0 / (1.0 + np.exp(-ex.output)) if ex.scale == "log-odds" else ex.output
    diff = float(np.max(np.abs(given - explained)))
    if diff > 1e-5:
        ex.notes.append(f"predict's scores differ from the explained model's output by up to {diff:.3g}: the SHAP "
                        f"values explain the estimator, not predict.")
    return {"compared_on": "probability" if ex.scale in ("log-odds", "probability") else ex.scale,
            "max_abs_difference": _num(diff), "matches": diff <= 1e-5}


# --- model adapters -------------------------------------------------------------------------------

def _name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__name__}"


def _align_features(estimator: Any, X: pd.DataFrame) -> pd.DataFrame:
    """X's columns in the model's order (by position when the model knows none of X's names)."""
    if hasattr(estimator, "feature_names_in_"):
        names = estimator.feature_names_in_
    elif _name(estimator).startswith("xgboost."):
        names = (estimator.get_booster() if hasattr(estimator, "get_booster") else estimator).feature_names
    elif _name(estimator).startswith("lightgbm."):
        names = estimator.feature_name_ if hasattr(estimator, "feature_name_") else estimator.feature_name()
    else:
        return X
    names = [] if names is None else [str(n) for n in names]
    missing = [n for n in names if n not in X.columns]
    if not missing:
        return X[names] if names else X
    if len(names) == X.shape[1] and len(missing) == len(names):
        return X  # trained on an array (generated names such as f0, Column_0) or renamed by LightGBM
    raise InputDataError(f"The model was trained on feature {missing[0]!r}, which is not a column of X; X has "
                         f"{list_values(X.columns)}.{did_you_mean(missing[0], X.columns)} Pass X with the "
                         f"model's input features, named as in training.")


def _final_step(estimator: Any) -> tuple[Any, Any]:
    if _name(estimator) == "sklearn.pipeline.Pipeline" and len(estimator.steps) > 1:
        return estimator.steps[-1][1], estimator[:-1]
    return (estimator.steps[-1][1] if _name(estimator) == "sklearn.pipeline.Pipeline" else estimator), None


def _raw_scale(model: Any) -> str:
    """What the model's raw (margin) output is: 'log-odds', 'probability' (forests) or 'raw score'."""
    name = _name(model)
    if name == "xgboost.core.Booster":
        objective = json.loads(model.save_config())["learner"]["objective"]["name"]
        return "log-odds" if objective in ("binary:logistic", "reg:logistic") else "raw score"
    if name == "lightgbm.basic.Booster":
        line = next((ln for ln in model.model_to_string(num_iteration=1).splitlines() if ln.startswith("objective=")), "")
        return "log-odds" if line[10:].split(" ")[0] in ("binary", "cross_entropy", "xentropy") else "raw score"
    if not hasattr(model, "classes_"):
        return "raw score"
    if name.startswith(("sklearn.tree.", "sklearn.ensemble._forest.")):
        return "probability"  # leaves hold class fractions
    if name.startswith(("sklearn.linear_model.", "sklearn.svm.")):
        return "log-odds" if "Logistic" in name or getattr(model, "loss", None) == "log_loss" else "raw score"
    return "log-odds"


def _as_fitted(model: Any, rows: pd.DataFrame) -> Any:
    """An array for a scikit-learn-style model fitted on an array (a DataFrame would make it warn)."""
    return rows.to_numpy() if hasattr(model, "n_features_in_") and not hasattr(model, "feature_names_in_") else rows


def _model_output(model: Any, caller: Any, rows: pd.DataFrame, scale: str) -> np.ndarray:
    """Output of ``model`` (the final step of ``caller``, a pipeline or the model itself) on one scale."""
    name, margin, rows = _name(model), scale != "probability", _as_fitted(caller, rows)
    if name == "xgboost.core.Booster":
        import xgboost

        out = model.predict(xgboost.DMatrix(rows, enable_categorical=True), output_margin=margin)
    elif name.startswith("lightgbm.") and (margin or name in _BOOSTERS):
        out = caller.predict(rows, raw_score=margin)
    elif name.startswith("xgboost.") and margin:
        out = caller.predict(rows, output_margin=True)
    elif not margin or _raw_scale(model) == "probability":
        out = caller.predict_proba(rows)
    else:
        out = caller.decision_function(rows) if hasattr(caller, "decision_function") else caller.predict(rows)
    out = np.asarray(out, dtype=float)
    return out[:, 1] if out.ndim == 2 else out


def _default_predict(estimator: Any) -> tuple[Predict, str]:
    if estimator is None:
        raise InputDataError("shap_by_group needs the model: pass estimator= (a fitted model) or predict= "
                             "(a function from a DataFrame of features to 1-d scores).")
    if _name(estimator) in _BOOSTERS:
        scale = "probability" if _raw_scale(estimator) == "log-odds" else "raw score"
        return (lambda df: _model_output(estimator, estimator, df, scale)), scale
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "predict_proba"):
        return (lambda df: estimator.predict(_as_fitted(estimator, df))), "raw score"
    if len(classes) != 2:
        raise InputDataError(f"{type(estimator).__name__} has {len(classes)} classes ({list_values(classes)}); "
                             f"shap_by_group explains one score: pass predict= returning the score of the "
                             f"selected class, e.g. lambda X: model.predict_proba(X)[:, k].")
    return (lambda df: estimator.predict_proba(_as_fitted(estimator, df))[:, 1]), "probability"


def _scores(predict: Predict, frame: pd.DataFrame) -> np.ndarray:
    out = np.asarray(predict(frame), dtype=float)
    out = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if out.shape != (len(frame),):
        raise InputDataError(f"predict must return one score per row (1-d, length {len(frame)}); it returned "
                             f"shape {out.shape}. For a classifier return the selected class's probability, "
                             f"e.g. lambda X: model.predict_proba(X)[:, 1].")
    return out


def _positive_class(values: Any, expected: Any) -> tuple[np.ndarray, float]:
    """shap gives one output per class for some classifiers (a list or a last axis); keep classes_[1]."""
    values = np.asarray(values[-1] if isinstance(values, list) else values, dtype=float)
    return (values[:, :, -1] if values.ndim == 3 else values), float(np.atleast_1d(expected)[-1])


def _dense(data: Any) -> np.ndarray:
    return data.toarray() if hasattr(data, "toarray") else np.asarray(data, dtype=float)


def _model_inputs(pre: Any, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray) -> tuple[Any, Any, np.ndarray | None]:
    """Explained rows and background as the final step sees them, and the column → feature map."""
    if pre is None:
        return X.iloc[rows], X.iloc[bg], None
    union = np.union1d(rows, bg)  # transform only the rows needed, not all of X
    sub = X.iloc[union]
    try:
        dense = _dense(pre.transform(sub))
        fold = np.zeros((dense.shape[1], sub.shape[1]))
        for j, col in enumerate(sub.columns):  # shift one input by a row and see which columns move
            moved = sub.assign(**{col: sub[col].iloc[np.roll(np.arange(len(sub)), 1)].set_axis(sub.index)})
            after = _dense(pre.transform(moved))
            fold[:, j] = ~((after == dense) | (np.isnan(after) & np.isnan(dense))).all(axis=0)
    except Exception as exc:  # e.g. a transformer that outputs text
        raise _Unsupported(f"The pipeline's preprocessing gave no numeric matrix ({type(exc).__name__}: {exc}).")
    if (fold.sum(axis=1) > 1).any():
        raise _Unsupported("The pipeline's preprocessing makes columns out of several input features, so SHAP "
                           "values of its columns cannot be summed back to features.")
    return dense[np.searchsorted(union, rows)], dense[np.searchsorted(union, bg)], fold


def _fold_values(ex: _Explanation, fold: np.ndarray) -> None:
    unmapped = fold.sum(axis=1) == 0  # constant on the rows used, so they must carry no SHAP value
    if np.abs(ex.values[:, unmapped]).max(initial=0.0) > 1e-9:
        raise _Unsupported("Some transformed columns could not be traced to an input feature.")
    ex.values = ex.values @ fold
    ex.notes.append(f"SHAP values were computed on the pipeline's {fold.shape[0]} transformed columns and summed "
                    f"back to the {fold.shape[1]} features each column is made from (exact for a linear model, "
                    f"the usual approximation for trees).")


# --- summaries ------------------------------------------------------------------------------------

def _num(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _feature_means(features: list[str], values: np.ndarray) -> list[dict]:
    means, abs_means = values.mean(axis=0), np.abs(values).mean(axis=0)
    order = sorted(range(len(features)), key=lambda j: (-abs_means[j], features[j]))
    return [{"feature": features[j], "mean_abs_shap": _num(abs_means[j]), "mean_shap": _num(means[j])} for j in order]


def _summaries(ex: _Explanation, features: list[str], labels: pd.DataFrame, rows: np.ndarray,
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


def _gap(ex: _Explanation, features: list[str], attr: str, group: str, mask: np.ndarray, ref: str,
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
