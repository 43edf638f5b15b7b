"""Which SHAP explainer explains a model, and the explainers.

Tree ensembles get TreeSHAP and linear models shap's ``LinearExplainer``; anything else, or a model
those cannot explain (the reason is kept in the notes), gets interventional SHAP by permutation
sampling over ``predict``.  An explanation is accepted only if it adds up: each row's SHAP values
plus the base value reproduce the model's output (:data:`ADDITIVITY_TOLERANCE`), which is what makes
the gap decomposition in :mod:`auditkit.explain.shap_groups` exact.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._shap_adapters import (
    Predict,
    Unsupported,
    default_predict,
    final_step,
    model_inputs,
    output_on_scale,
    positive_class,
    raw_scale,
    score_rows,
    type_name,
)

__all__ = ["ADDITIVITY_TOLERANCE", "PERMUTATIONS", "Explanation", "explain"]

#: Accept an explanation only if SHAP sums reproduce the model output this closely (float32 tree
#: ensembles reach ~1e-6); otherwise fall back to the next explainer setting.
ADDITIVITY_TOLERANCE = 1e-3
#: Antithetic pairs of feature orders per row for the model-agnostic explainer.  Every order adds up
#: exactly (Štrumbelj & Kononenko 2014), so few orders only add per-row noise, which averages out
#: over the rows of a group; antithetic pairs are exact when features interact only pairwise.
PERMUTATIONS = 5
_TREES = ("sklearn.tree.", "sklearn.ensemble._forest.", "sklearn.ensemble._gb.",
          "sklearn.ensemble._hist_gradient_boosting.", "xgboost.", "lightgbm.")


@dataclass
class Explanation:
    """One explainer's SHAP values for the explained rows, with what it takes to check and report them."""

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


def explain(estimator: Any, predict: Predict | None, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray,
            rng: np.random.Generator) -> Explanation:
    """SHAP values of ``X.iloc[rows]``: an exact explainer where the model allows, else permutation SHAP."""
    notes: list[str] = []
    if estimator is not None:
        try:
            return _explain_model(estimator, X, rows, bg)
        except Unsupported as exc:
            notes.append(f"{exc} Fell back to the model-agnostic permutation explainer.")
    predict, scale = (predict, "raw score") if predict is not None else default_predict(estimator)
    ex = _explain_agnostic(predict, X, rows, bg, rng, scale)
    ex.notes[:0] = notes
    return ex


def _explain_model(estimator: Any, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray) -> Explanation:
    model, pre = final_step(estimator)
    name, classes = type_name(model), getattr(model, "classes_", None)
    if classes is not None and len(classes) > 2:
        raise Unsupported(f"{type(model).__name__} has {len(classes)} classes; the exact explainers explain one score.")
    linear = name.startswith(("sklearn.linear_model.", "sklearn.svm.")) and hasattr(model, "coef_")
    if not (linear or name.startswith(_TREES)):
        raise Unsupported(f"{type(model).__name__} is neither a tree ensemble nor a linear model.")
    dense_rows, background, fold = model_inputs(pre, X, rows, bg)
    output = (lambda scale, limit=None: output_on_scale(model, estimator, X.iloc[rows[:limit]], scale))
    ex = (_explain_linear if linear else _explain_tree)(model, dense_rows, background, output)
    if fold is not None:
        fold_values(ex, fold)
    return ex


def _explain_tree(model: Any, rows: Any, background: Any, output: Callable[..., np.ndarray]) -> Explanation:
    """Interventional TreeSHAP on the predict scale if it adds up, else the raw margin (Lundberg et al. 2020).

    Interventional SHAP explains the model itself ("true to the model", Chen et al. 2020; Janzing et al.
    2020); the path-dependent variant, which needs no background but mixes in the training data's
    correlations, is the fallback.
    """
    import shap

    raw = raw_scale(model)
    candidates, failures = _tree_settings(model, rows, raw)
    for model_output, perturbation in candidates:
        setting = f"TreeExplainer(model_output={model_output!r}, feature_perturbation={perturbation!r})"
        scale = "probability" if model_output == "probability" else raw
        try:
            with _quiet():
                explainer = shap.TreeExplainer(model, background if perturbation == "interventional" else None,
                                               model_output=model_output, feature_perturbation=perturbation)
                for limit in (20, None):  # a pilot on 20 rows finds settings shap cannot honour
                    values, base = positive_class(explainer.shap_values(rows[:limit], check_additivity=False),
                                                  explainer.expected_value)
                    ex = Explanation("TreeExplainer", scale, values, base, output(scale, limit),
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
    raise Unsupported(" ".join(failures))


def _tree_settings(model: Any, rows: Any, raw: str) -> tuple[list[tuple[str, str]], list[str]]:
    """TreeExplainer's (model_output, feature_perturbation) settings to try, best first, and why any are left out."""
    candidates, failures = [("raw", "tree_path_dependent")], []
    numeric = not isinstance(rows, pd.DataFrame) or all(pd.api.types.is_numeric_dtype(t) for t in rows.dtypes)
    if not numeric:  # shap handles categorical splits only path-dependently (ExplainerError otherwise)
        failures.append("Interventional TreeSHAP needs numeric inputs; this model has categorical ones.")
    elif not type_name(model).startswith("sklearn.ensemble._hist_gradient_boosting."):
        # shap 0.51's interventional TreeSHAP does not add up for HistGradientBoosting (errors of 0.07-0.9)
        candidates[:0] = [("probability", "interventional")] * (raw == "log-odds") + [("raw", "interventional")]
    return candidates, failures


def _explain_linear(model: Any, rows: Any, background: Any, output: Callable[..., np.ndarray]) -> Explanation:
    import shap

    try:
        with _quiet():
            explainer = shap.LinearExplainer(model, np.asarray(background, dtype=float))
            values = explainer.shap_values(np.asarray(rows, dtype=float))
    except Exception as exc:  # e.g. text inputs
        raise Unsupported(f"shap.LinearExplainer failed: {type(exc).__name__}: {exc}.") from None
    values, base = positive_class(values, explainer.expected_value)
    scale = raw_scale(model)
    return Explanation("LinearExplainer", scale, values, base, output(scale), len(background), "interventional")


def _explain_agnostic(predict: Predict, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray,
                      rng: np.random.Generator, scale: str) -> Explanation:
    """Interventional SHAP by antithetic permutation sampling (Štrumbelj & Kononenko 2014; Mitchell et al. 2022).

    For each row and a random order of the features (its own order per row, so the sampling noise
    averages out over a group), features are switched from the background rows to the row's own
    values one at a time; each is credited with the change in the mean score.  Every order is also
    walked backwards.  This is what ``shap.PermutationExplainer`` with an Independent masker computes,
    done here on DataFrames so that text and categorical columns keep their dtypes, and without shap's
    numba compilation (~15 s per process) or its seeding of numpy's global random state.
    """
    background, explained = X.iloc[bg].reset_index(drop=True), X.iloc[rows].reset_index(drop=True)
    base, output = float(score_rows(predict, background).mean()), score_rows(predict, explained)
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
    return Explanation("PermutationSHAP", scale, values / (2 * PERMUTATIONS), base, output, len(bg),
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
            current = score_rows(predict, mixed).reshape(m, k).mean(axis=1)
        phi[at, order[:, step]] = current - previous
        previous = current
    return phi


def fold_values(ex: Explanation, fold: np.ndarray) -> None:
    unmapped = fold.sum(axis=1) == 0  # constant on the rows used, so they must carry no SHAP value
    if np.abs(ex.values[:, unmapped]).max(initial=0.0) > 1e-9:
        raise Unsupported("Some transformed columns could not be traced to an input feature.")
    ex.values = ex.values @ fold
    ex.notes.append(f"SHAP values were computed on the pipeline's {fold.shape[0]} transformed columns and summed "
                    f"back to the {fold.shape[1]} features each column is made from (exact for a linear model, "
                    f"the usual approximation for trees).")
