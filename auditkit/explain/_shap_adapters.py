"""Model adapters for SHAP: what kind of model this is, its output on a chosen scale, and its inputs.

scikit-learn estimators and pipelines, XGBoost and LightGBM (their scikit-learn wrappers and their
native ``Booster``) name their input features, give their output and state what that output is
(probability, log-odds or a raw score) in different ways; these functions hide the differences from
the explainers in :mod:`auditkit.explain._shap_explainers`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError

__all__ = ["Predict", "Unsupported", "align_columns", "default_predict", "final_step", "model_inputs",
           "output_on_scale", "positive_class", "raw_scale", "score_rows", "type_name"]

_BOOSTERS = ("xgboost.core.Booster", "lightgbm.basic.Booster")

Predict = Callable[[pd.DataFrame], np.ndarray]


class Unsupported(Exception):
    """The exact explainers cannot explain this model; the message says why."""


def type_name(model: Any) -> str:
    """``module.Class`` of a model: what the adapters tell models apart by, without importing their libraries."""
    return f"{type(model).__module__}.{type(model).__name__}"


def align_columns(estimator: Any, X: pd.DataFrame) -> pd.DataFrame:
    """X's columns in the model's order (by position when the model knows none of X's names)."""
    if hasattr(estimator, "feature_names_in_"):
        names = estimator.feature_names_in_
    elif type_name(estimator).startswith("xgboost."):
        names = (estimator.get_booster() if hasattr(estimator, "get_booster") else estimator).feature_names
    elif type_name(estimator).startswith("lightgbm."):
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


def final_step(estimator: Any) -> tuple[Any, Any]:
    """The model a pipeline ends in, and the pipeline's steps before it (None for a bare model)."""
    if type_name(estimator) == "sklearn.pipeline.Pipeline" and len(estimator.steps) > 1:
        return estimator.steps[-1][1], estimator[:-1]
    return (estimator.steps[-1][1] if type_name(estimator) == "sklearn.pipeline.Pipeline" else estimator), None


def raw_scale(model: Any) -> str:
    """What the model's raw (margin) output is: 'log-odds', 'probability' (forests) or 'raw score'."""
    name = type_name(model)
    if name == "xgboost.core.Booster":
        objective = json.loads(model.save_config())["learner"]["objective"]["name"]
        return "log-odds" if objective in ("binary:logistic", "reg:logistic") else "raw score"
    if name == "lightgbm.basic.Booster":
        lines = model.model_to_string(num_iteration=1).splitlines()
        line = next((ln for ln in lines if ln.startswith("objective=")), "")
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


def output_on_scale(model: Any, caller: Any, rows: pd.DataFrame, scale: str) -> np.ndarray:
    """Output of ``model`` (the final step of ``caller``, a pipeline or the model itself) on one scale."""
    name, margin, rows = type_name(model), scale != "probability", _as_fitted(caller, rows)
    if name == "xgboost.core.Booster":
        import xgboost

        out = model.predict(xgboost.DMatrix(rows, enable_categorical=True), output_margin=margin)
    elif name.startswith("lightgbm.") and (margin or name in _BOOSTERS):
        out = caller.predict(rows, raw_score=margin)
    elif name.startswith("xgboost.") and margin:
        out = caller.predict(rows, output_margin=True)
    elif not margin or raw_scale(model) == "probability":
        out = caller.predict_proba(rows)
    else:
        out = caller.decision_function(rows) if hasattr(caller, "decision_function") else caller.predict(rows)
    out = np.asarray(out, dtype=float)
    return out[:, 1] if out.ndim == 2 else out


def default_predict(estimator: Any) -> tuple[Predict, str]:
    """The score to explain when no ``predict`` is given, and its scale."""
    if estimator is None:
        raise InputDataError("shap_by_group needs the model: pass estimator= (a fitted model) or predict= "
                             "(a function from a DataFrame of features to 1-d scores).")
    if type_name(estimator) in _BOOSTERS:
        scale = "probability" if raw_scale(estimator) == "log-odds" else "raw score"
        return (lambda df: output_on_scale(estimator, estimator, df, scale)), scale
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "predict_proba"):
        return (lambda df: estimator.predict(_as_fitted(estimator, df))), "raw score"
    if len(classes) != 2:
        raise InputDataError(f"{type(estimator).__name__} has {len(classes)} classes ({list_values(classes)}); "
                             f"shap_by_group explains one score: pass predict= returning the score of the "
                             f"selected class, e.g. lambda X: model.predict_proba(X)[:, k].")
    return (lambda df: estimator.predict_proba(_as_fitted(estimator, df))[:, 1]), "probability"


def score_rows(predict: Predict, frame: pd.DataFrame) -> np.ndarray:
    """``predict`` on ``frame``, checked to give one score per row."""
    out = np.asarray(predict(frame), dtype=float)
    out = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if out.shape != (len(frame),):
        raise InputDataError(f"predict must return one score per row (1-d, length {len(frame)}); it returned "
                             f"shape {out.shape}. For a classifier return the selected class's probability, "
                             f"e.g. lambda X: model.predict_proba(X)[:, 1].")
    return out


def positive_class(values: Any, expected: Any) -> tuple[np.ndarray, float]:
    """shap gives one output per class for some classifiers (a list or a last axis); keep classes_[1]."""
    values = np.asarray(values[-1] if isinstance(values, list) else values, dtype=float)
    return (values[:, :, -1] if values.ndim == 3 else values), float(np.atleast_1d(expected)[-1])


def _dense(data: Any) -> np.ndarray:
    return data.toarray() if hasattr(data, "toarray") else np.asarray(data, dtype=float)


def model_inputs(pre: Any, X: pd.DataFrame, rows: np.ndarray, bg: np.ndarray) -> tuple[Any, Any, np.ndarray | None]:
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
        raise Unsupported(f"The pipeline's preprocessing gave no numeric matrix ({type(exc).__name__}: {exc}).")
    if (fold.sum(axis=1) > 1).any():
        raise Unsupported("The pipeline's preprocessing makes columns out of several input features, so SHAP "
                          "values of its columns cannot be summed back to features.")
    return dense[np.searchsorted(union, rows)], dense[np.searchsorted(union, bg)], fold
