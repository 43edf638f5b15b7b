"""A model card: what kind of model a file holds, how big it is, whether a person can read it, and which of
its inputs are protected attributes or proxies for them.

A pure function of a loaded model: it reads the model object's own attributes and does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from .._text import normalise_name
from ._learning import learning_of
from .model import LoadedModel, OnnxModel, n_inputs

__all__ = ["model_card"]

#: The deepest single tree auditkit calls readable: at most this many yes/no questions lead to a score.
MAX_READABLE_DEPTH = 4

_LINEAR_FAMILIES = {"LogisticRegression": "logistic regression", "LogisticRegressionCV": "logistic regression",
                    "LinearRegression": "linear regression", "Ridge": "linear regression (ridge)",
                    "RidgeClassifier": "linear classifier (ridge)", "Lasso": "linear regression (lasso)",
                    "ElasticNet": "linear regression (elastic net)", "LinearSVC": "linear support vector machine",
                    "SGDClassifier": "linear classifier (SGD)", "Perceptron": "linear classifier (perceptron)",
                    "LinearDiscriminantAnalysis": "linear discriminant analysis"}


def model_card(model: LoadedModel, *, protected: Sequence[str] = (), proxies: Sequence[str] = ()) -> dict:
    """Describe a loaded model for an audit report.

    Keys: ``file``, ``format``, ``sha256``, ``class``, ``family`` (e.g. "logistic regression",
    "gradient boosting (trees)", "pipeline: StandardScaler → LogisticRegression"), ``n_inputs``,
    ``inputs`` (each with ``tag`` "protected", "proxy" or "other", names matched case-insensitively),
    ``input_names_recorded``, ``protected_not_inputs`` and ``proxies_not_inputs`` (named attributes the
    model does not take directly), ``complexity`` (trees, depth, leaves, coefficients, parameters, nodes),
    ``readable`` ("rules", "weights" or "opaque") with ``readable_reason``, ``coefficients`` (linear
    models: weight per input name, and the intercept), ``learning`` (``model``: "online", "batch" or
    "unknown", with the ``evidence``; :mod:`auditkit.load._learning`) and ``trusted``.

    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "Nationality_NL": [1.0, 0.0, 1.0, 0.0]})
    >>> est = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> model = LoadedModel(est, "pickle", "m.pkl", "ab12", None, False, feature_names=("age", "Nationality_NL"))
    >>> card = model_card(model, protected=["nationality_nl"])
    >>> card["family"], card["readable"], [i["tag"] for i in card["inputs"]]
    ('logistic regression', 'weights', ['other', 'protected'])
    >>> sorted(card["coefficients"]["weights"])
    ['Nationality_NL', 'age']
    """
    est = model.estimator
    if getattr(type(est), "remote", False):  # the model lives in auditkit's model worker: described there
        return est.card(list(protected), list(proxies), model.feature_names, getattr(model, "names_given", False))
    names = model.feature_names
    count = len(names) if names is not None else n_inputs(est)
    shown = list(names) if names is not None else [f"x{i}" for i in range(count or 0)]
    described = _describe(est, shown)
    wanted = {normalise_name(p): "proxy" for p in proxies}
    wanted.update({normalise_name(p): "protected" for p in protected})
    inputs = [{"name": n, "tag": wanted.get(normalise_name(n), "other")} for n in shown]
    present = {normalise_name(n) for n in shown} if names is not None else set()
    return {
        "file": PurePath(model.path).name, "format": model.format, "sha256": model.sha256,
        "class": _class_name(est), "family": described["family"], "n_inputs": count, "inputs": inputs,
        "input_names_recorded": names is not None,
        "protected_not_inputs": [p for p in protected if normalise_name(p) not in present],
        "proxies_not_inputs": [p for p in proxies if normalise_name(p) not in present],
        "complexity": described["complexity"], "readable": described["readable"],
        "readable_reason": described["reason"], "coefficients": described.get("coefficients"),
        "learning": learning_of(est) if not isinstance(est, OnnxModel) else {
            "model": "unknown", "evidence": ["An ONNX graph holds a fitted model only; retraining is not in the file."]},
        "trusted": model.trusted,
    }


def _class_name(est: object) -> str:
    return "ONNX graph" if isinstance(est, OnnxModel) else f"{type(est).__module__}.{type(est).__qualname__}"


def _describe(est: Any, names: list[str]) -> dict:
    """family, complexity, readable, reason (and coefficients) for one model object."""
    kind = type(est).__name__
    if isinstance(est, OnnxModel):
        return _onnx(est)
    if getattr(est, "auditkit_spec_", None) is not None:
        from ._spec_card import published_card

        return published_card(est)
    if hasattr(est, "steps") and isinstance(est.steps, list):
        return _pipeline(est, names)
    if type(est).__module__.startswith(("xgboost", "lightgbm")):
        trees = _xgboost_trees(est) if type(est).__module__.startswith("xgboost") else _lightgbm_trees(est)
        family = "random forest (trees)" if "RF" in kind else "gradient boosting (trees)"
        return _ensemble(family, trees)
    if hasattr(est, "coef_") and not hasattr(est, "coefs_"):
        return _linear(est, names)
    if hasattr(est, "tree_"):
        return _single_tree(est.get_depth(), est.get_n_leaves())
    if hasattr(est, "_predictors"):  # HistGradientBoosting: nodes record their depth and whether they are leaves
        trees = [(int(p.nodes["depth"].max()), int(p.nodes["is_leaf"].sum())) for it in est._predictors for p in it]
        return _ensemble("gradient boosting (trees)", trees)
    if hasattr(est, "estimators_"):
        members = list(getattr(est.estimators_, "flat", est.estimators_))
        if members and all(hasattr(t, "tree_") for t in members):
            trees = [(t.get_depth(), t.get_n_leaves()) for t in members]
            family = ("gradient boosting (trees)" if "Boosting" in kind else "random forest" if "Forest" in kind
                      else "extra trees" if "Trees" in kind else f"tree ensemble ({kind})")
            return _ensemble(family, trees)
    if hasattr(est, "coefs_"):
        params = sum(w.size for w in est.coefs_) + sum(b.size for b in est.intercepts_)
        return _opaque("neural network (multi-layer perceptron)", {"layers": len(est.coefs_), "parameters": params},
                       f"{params} weights across {len(est.coefs_)} layers combine the inputs non-linearly")
    return _opaque(f"other ({kind})", {}, f"auditkit does not know how to read a {kind}")


def _opaque(family: str, complexity: dict, why: str) -> dict:
    return {"family": family, "complexity": complexity, "readable": "opaque",
            "reason": f"{why}: no single rule or weight explains a score; compare outcomes and explanations by group"}


def _single_tree(depth: int, leaves: int) -> dict:
    complexity = {"trees": 1, "max_depth": int(depth), "leaves": int(leaves)}
    if depth <= MAX_READABLE_DEPTH:
        return {"family": "decision tree", "complexity": complexity, "readable": "rules",
                "reason": f"a single tree of depth {depth}: each score follows from at most {depth} yes/no "
                          "questions about the inputs, which can be read and checked"}
    return _opaque("decision tree", complexity, f"a single tree of depth {depth} with {leaves} leaves is too deep "
                   "to read as rules")


def _ensemble(family: str, trees: list[tuple[int, int]]) -> dict:
    depth = max((d for d, _ in trees), default=0)
    complexity = {"trees": len(trees), "max_depth": int(depth), "leaves": int(sum(n for _, n in trees))}
    if len(trees) == 1:
        return {**_single_tree(depth, complexity["leaves"]), "family": family}
    return _opaque(family, complexity, f"{len(trees)} trees (depth up to {depth}) add up to each score")


def _linear(est: Any, names: list[str]) -> dict:
    import numpy as np

    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(getattr(est, "intercept_", 0.0), dtype=float))
    labels = names if len(names) == coef.shape[1] else [f"x{i}" for i in range(coef.shape[1])]

    def weights(row: np.ndarray) -> dict:
        return {name: float(w) for name, w in zip(labels, row)}

    if coef.shape[0] == 1:
        coefficients: dict = {"weights": weights(coef[0]), "intercept": float(intercept[0])}
    else:
        classes = [str(c) for c in getattr(est, "classes_", range(coef.shape[0]))]
        coefficients = {"weights": {c: weights(r) for c, r in zip(classes, coef)},
                        "intercept": {c: float(b) for c, b in zip(classes, intercept)}}
    family = _LINEAR_FAMILIES.get(type(est).__name__, "linear model")
    return {"family": family, "complexity": {"coefficients": int(coef.size), "intercepts": int(intercept.size)},
            "readable": "weights", "coefficients": coefficients,
            "reason": "the score is a weighted sum of the inputs: each weight shows how far one unit of that "
                      "input moves the score"}


def _pipeline(est: Any, names: list[str]) -> dict:
    steps = [step for _, step in est.steps if step not in (None, "passthrough")]
    shown = [_step_name(step) for step in steps]
    inner_names = names
    if len(steps) > 1:
        try:
            inner_names = [str(n) for n in est[:-1].get_feature_names_out()]
        except Exception:  # noqa: BLE001 - not every transformer can name its outputs
            inner_names = []
    final = _describe(steps[-1], inner_names) if steps else _opaque("empty pipeline", {}, "no steps")
    reason = final["reason"]
    if len(steps) > 1 and final["readable"] != "opaque":
        reason += " (for the final step, on the inputs as the earlier steps transform them)"
    complexity = {"steps": len(steps), **final["complexity"]}
    return {**final, "family": "pipeline: " + " → ".join(shown), "complexity": complexity, "reason": reason}


def _step_name(step: Any) -> str:
    inner = getattr(step, "transformers", None)
    if isinstance(inner, list):
        parts = [type(t).__name__ if not isinstance(t, str) else t for _, t, _ in inner]
        return f"{type(step).__name__}({', '.join(parts)})"
    return type(step).__name__


def _onnx(est: OnnxModel) -> dict:
    ops = set(est.op_types)
    if any(op.startswith("TreeEnsemble") for op in ops):
        family = "tree ensemble (ONNX graph)"
    elif ops & {"LinearClassifier", "LinearRegressor"}:
        family = "linear model (ONNX graph)"
    elif ops & {"MatMul", "Gemm", "Conv"}:
        family = "neural network (ONNX graph)"
    else:
        family = "ONNX graph"
    complexity = {"nodes": est.nodes, "parameters": est.parameters, "operators": sorted(ops)}
    return _opaque(family, complexity, f"an ONNX graph of {est.nodes} operations, whose weights auditkit does "
                   "not map back to named inputs (ask the agency for the coefficients or rules)")


def _depth(node: dict, children: Any) -> int:
    kids = children(node)
    return 1 + max(_depth(k, children) for k in kids) if kids else 0


def _xgboost_trees(est: Any) -> list[tuple[int, int]]:
    booster = est.get_booster() if hasattr(est, "get_booster") else est
    trees = [json.loads(text) for text in booster.get_dump(dump_format="json")]

    def leaves(node: dict) -> int:
        return sum(leaves(k) for k in node["children"]) if "children" in node else 1

    return [(_depth(t, lambda n: n.get("children", [])), leaves(t)) for t in trees]


def _lightgbm_trees(est: Any) -> list[tuple[int, int]]:
    booster = getattr(est, "booster_", est)
    info = booster.dump_model()["tree_info"]
    kids = lambda n: [n[k] for k in ("left_child", "right_child") if k in n]  # noqa: E731
    return [(_depth(t["tree_structure"], kids), int(t["num_leaves"])) for t in info]
