"""Proxy detection: how much each model input reveals about each protected attribute.

A proxy carries information about a protected ground (nationality, gender, ...), so a model that uses
it can treat groups differently without ever seeing the ground.  Two measures per feature × attribute:

* **Mutual information** I(feature; attribute) (Cover & Thomas 2006), in bits and as a share of the
  attribute's entropy H(attribute) (Theil's uncertainty coefficient).  sklearn's
  ``mutual_info_classif`` gives the plug-in estimate for discrete features and the k-nearest-neighbour
  estimate for continuous ones (Kraskov et al. 2004; Ross 2014).  The plug-in estimate is biased
  upward for features with many levels (an ID column "explains" everything), so the MI a feature
  gets by chance alone is estimated by shuffling the attribute (the permutation analogue of the
  expected MI of Vinh et al. 2010) and subtracted before the share is compared with ``strong_mi``.
* **Cross-validated ROC AUC** of a classifier that sees only this feature (one-vs-rest macro AUC for
  attributes with more than two groups): out-of-sample, so not fooled by many levels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._text import normalise_name
from ..exceptions import InputDataError

__all__ = ["proxy_scan"]

#: Numeric features with at most this many distinct values are treated as discrete (e.g. children).
DISCRETE_LEVELS = 20
#: Shuffles of the attribute used to estimate the MI of a discrete feature by chance.
CHANCE_SHUFFLES = 10
MISSING_HANDLING = ("missing values are their own category (discrete features) or a value below the minimum "
                    "(continuous features), so missingness itself counts as information")


@dataclass
class _Attribute:
    name: str
    labels: pd.Series  # str labels, NaN where unknown
    known: np.ndarray  # rows with a known label
    codes: np.ndarray  # label codes of the known rows
    entropy_bits: float
    folds: list[tuple[np.ndarray, np.ndarray]]  # positions within the known rows kept for the AUC
    auc_rows: np.ndarray  # positions within the known rows used for the AUC
    left_out: list[str]
    reason: str | None


def proxy_scan(X: pd.DataFrame, groups: pd.DataFrame, *, cv: int = 5, seed: int = 0, strong_auc: float = 0.7,
               strong_mi: float = 0.1, max_rows: int = 50_000) -> list[dict]:
    """Score every feature × protected attribute pair for how well the feature reveals the attribute.

    Parameters
    ----------
    X : pandas.DataFrame
        Model inputs; numeric, boolean, string or categorical columns, missing values allowed.
    groups : pandas.DataFrame
        Protected attributes (group labels), same rows in the same order as ``X``.
    cv : int
        Folds of the seeded StratifiedKFold for the AUC.  Groups with fewer rows than ``cv`` are left
        out of the AUC (listed in ``auc_levels_left_out``).
    seed : int
        Seeds the row sample, the folds, the classifiers, the MI estimator and the shuffles.
    strong_auc, strong_mi : float
        ``strong`` is true when the AUC reaches ``strong_auc`` or the chance-corrected MI share reaches
        ``strong_mi``.
    max_rows : int
        Larger inputs are reduced to a seeded random sample of this many rows.

    Returns
    -------
    list of dict
        One JSON-ready record per feature × attribute, sorted by AUC (highest first, undefined last).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> nationality = rng.choice(["NL", "non-EU"], 400)
    >>> postcode = np.where(rng.random(400) < 0.9, nationality, "other").astype(object) + "-area"
    >>> X = pd.DataFrame({"postcode": postcode, "noise": rng.normal(size=400)})
    >>> out = proxy_scan(X, pd.DataFrame({"nationality": nationality}))
    >>> [(r["feature"], r["strong"], round(r["auc"], 2)) for r in out]
    [('postcode', True, 1.0), ('noise', False, 0.55)]
    """
    _check(X, groups, cv, max_rows)
    n_data = len(X)
    if n_data > max_rows:  # a seeded simple random sample keeps the run time bounded
        rows = np.sort(np.random.default_rng(seed).choice(n_data, size=max_rows, replace=False))
        X, groups = X.iloc[rows], groups.iloc[rows]
    X, groups = X.reset_index(drop=True), groups.reset_index(drop=True)
    records: list[dict] = []
    for attr in groups.columns:
        a = _attribute(str(attr), groups[attr], cv, seed)
        records.extend({**_pair(X[f], str(f), a, seed, strong_auc, strong_mi), "rows_in_data": n_data}
                       for f in X.columns)
    return sorted(records, key=lambda r: (r["auc"] is None, -(r["auc"] or 0.0), -(r["mi_share"] or 0.0),
                                          r["feature"], r["attribute"]))


def _check(X: pd.DataFrame, groups: pd.DataFrame, cv: int, max_rows: int) -> None:
    for name, frame in (("X", X), ("groups", groups)):
        if not isinstance(frame, pd.DataFrame):
            raise InputDataError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}.")
    if len(X) != len(groups):
        raise InputDataError(f"groups has {len(groups)} rows but X has {len(X)}; pass the protected attributes "
                             f"of the same rows, in the same order.")
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise InputDataError(f"cv must be a whole number of folds, at least 2; got {cv!r}.")
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 2:
        raise InputDataError(f"max_rows must be a whole number, at least 2; got {max_rows!r}.")


def _attribute(name: str, column: pd.Series, cv: int, seed: int) -> _Attribute:
    """Labels, entropy and (once per attribute, so every feature gets the same folds) the CV splits."""
    from scipy.stats import entropy
    from sklearn.model_selection import StratifiedKFold

    labels = column.where(column.isna(), column.astype(str))
    known = labels.notna().to_numpy()
    codes, levels = pd.factorize(labels[known], sort=True)
    counts = np.bincount(codes, minlength=len(levels))
    a = _Attribute(name, labels, known, codes, float(entropy(counts, base=2)) if len(counts) else 0.0,
                   [], np.array([], dtype=int), [], None)
    if len(levels) < 2:
        found = f"one group ({levels[0]!r})" if len(levels) else "no known group"
        a.reason = f"attribute {name!r} has {found} among rows with a known value; there is nothing to predict."
        return a
    small = counts < cv
    a.left_out = [f"{levels[int(i)]} ({counts[i]} rows)" for i in np.flatnonzero(small)]
    a.auc_rows = np.flatnonzero(~small[codes])
    if (~small).sum() < 2:
        a.reason = f"fewer than two groups of {name!r} have at least cv={cv} rows; the AUC is undefined."
        return a
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    a.folds = list(splitter.split(np.zeros(len(a.auc_rows)), codes[a.auc_rows]))
    return a


def _feature_values(x: pd.Series) -> tuple[str, np.ndarray]:
    """Feature type and numbers for the estimators (codes for discrete, values for continuous)."""
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if not numeric or x.nunique(dropna=True) <= DISCRETE_LEVELS:
        codes, _ = pd.factorize(x, use_na_sentinel=False, sort=False)  # NaN is a code of its own
        return ("categorical" if not numeric else "discrete numeric"), codes.astype(float)
    values = x.to_numpy(dtype=float, na_value=np.nan)
    lo, hi = np.nanmin(values), np.nanmax(values)
    return "continuous", np.where(np.isnan(values), lo - (hi - lo) - 1.0, values)


def _pair(x: pd.Series, feature: str, a: _Attribute, seed: int, strong_auc: float, strong_mi: float) -> dict:
    kind, values = _feature_values(x)
    xk = values[a.known]
    protected = _protected_reason(x, feature, a)
    rec: dict = {"feature": feature, "attribute": a.name, "feature_type": kind, "auc": None,
                 "auc_model": None, "cv_folds": None, "auc_levels_left_out": a.left_out,
                 "mi_bits": None, "mi_chance_bits": None, "mi_share": None,
                 "attribute_entropy_bits": a.entropy_bits, "strong": False, "reasons": [],
                 "is_protected_attribute": protected is not None, "missing_values": int(x.isna().sum()),
                 "missing_handling": MISSING_HANDLING, "rows_used": int(a.known.sum()), "seed": seed,
                 "note": None}
    if protected:
        rec["reasons"].append(f"the protected ground is itself a model input: {protected}")
    if a.entropy_bits == 0.0:  # fewer than two known groups
        return {**rec, "note": a.reason}
    if len(np.unique(xk)) <= 1:
        return {**rec, "auc": 0.5, "mi_bits": 0.0, "mi_chance_bits": 0.0, "mi_share": 0.0,
                "note": "constant feature (on rows with a known attribute): it carries no information."}
    rec.update(_mutual_information(xk, kind, a, seed))
    if a.reason is None:
        rec.update(_cv_auc(xk, kind, a, seed))
    else:
        rec["note"] = a.reason
    if rec["auc"] is not None and rec["auc"] >= strong_auc:
        rec["reasons"].append(f"cross-validated AUC {rec['auc']:.3f} ≥ {strong_auc}: the feature alone predicts "
                              f"{a.name!r} well")
    if rec["mi_share"] >= strong_mi:
        rec["reasons"].append(f"it carries {rec['mi_share']:.0%} of the information in {a.name!r} (beyond "
                              f"chance), ≥ {strong_mi:.0%}")
    rec["strong"] = any(not r.startswith("the protected ground") for r in rec["reasons"])
    return rec


def _protected_reason(x: pd.Series, feature: str, a: _Attribute) -> str | None:
    if normalise_name(feature) == normalise_name(a.name):
        return f"the feature is named like the attribute {a.name!r}"
    if a.entropy_bits == 0.0 or x.isna().to_numpy()[a.known].any():
        return None
    pairs = pd.DataFrame({"x": x.astype(str), "y": a.labels})[a.known]
    if (pairs["x"] == pairs["y"]).all():
        return f"its values are identical to {a.name!r}"
    if len(pairs.drop_duplicates()) == pairs["x"].nunique() == pairs["y"].nunique():
        return f"its values are a one-to-one recoding of {a.name!r}"
    return None


def _mutual_information(xk: np.ndarray, kind: str, a: _Attribute, seed: int) -> dict:
    """MI in bits (sklearn), its chance level (shuffled attribute, discrete features) and the corrected share."""
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    discrete = kind != "continuous"
    mi = float(mutual_info_classif(xk.reshape(-1, 1), a.codes, discrete_features=[discrete], n_neighbors=3,
                                   random_state=seed)[0]) / np.log(2)
    chance = 0.0  # the k-NN estimator is close to unbiased under independence (Kraskov et al. 2004)
    if discrete:
        rng = np.random.default_rng(seed)
        chance = float(np.mean([mutual_info_score(xk, rng.permutation(a.codes))
                                for _ in range(CHANCE_SHUFFLES)])) / np.log(2)
    share = max(0.0, mi - chance) / a.entropy_bits
    return {"mi_bits": mi, "mi_chance_bits": chance, "mi_share": float(min(1.0, share))}


def _cv_auc(xk: np.ndarray, kind: str, a: _Attribute, seed: int) -> dict:
    """Mean over folds of the out-of-fold ROC AUC of a one-feature classifier (one-vs-rest macro)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score

    x, y = xk[a.auc_rows].reshape(-1, 1), a.codes[a.auc_rows]
    classes = np.unique(y)
    aucs = []
    for train, test in a.folds:
        model, label = _single_feature_model(kind, len(train), seed)
        with warnings.catch_warnings():
            # a not fully converged L2 logistic regression still ranks the rows; the AUC only needs a ranking
            warnings.simplefilter("ignore", ConvergenceWarning)
            proba = model.fit(x[train], y[train]).predict_proba(x[test])
        if len(classes) == 2:
            aucs.append(roc_auc_score(y[test], proba[:, 1]))
        else:
            aucs.append(roc_auc_score(y[test], proba, multi_class="ovr", average="macro", labels=classes))
    return {"auc": float(np.mean(aucs)), "auc_model": label, "cv_folds": len(a.folds)}


def _single_feature_model(kind: str, n: int, seed: int) -> tuple[Any, str]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    if kind == "continuous":
        leaf = max(5, n // 100)
        return (DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=seed),
                f"decision tree (depth 3, min {leaf} rows per leaf), seeded stratified CV")
    return (make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1000)),
            "one-hot + L2 logistic regression (C=1), seeded stratified CV")
