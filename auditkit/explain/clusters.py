"""Bias clusters without naming a group first: hierarchical bias-aware clustering.

In the style of HBAC (Misztal-Radecka & Indurkhya 2021, "Bias-aware hierarchical
clustering for detecting the discriminated groups of users in recommendation
systems", Inf. Process. Manag. 58(3)) as used by Algorithm Audit's unsupervised
bias detection tool (Holstege et al. 2025, arXiv:2502.01713): k-means bisections
of the feature space, always splitting the cluster whose bias deviates most,
found on one part of the data and confirmed on held-out rows.  Clusters are
leads for a human to examine, described in words by their features.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from auditkit._text import list_values
from auditkit.exceptions import InputDataError
from auditkit.measure._stats import chi2_p, holm_adjust, newcombe_difference_interval

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

__all__ = ["bias_clusters"]

MAX_CATEGORIES = 20  # one-hot columns per categorical feature; rarer levels pooled as "(other)"
MISSING, OTHER = "(missing)", "(other)"
NOTEWORTHY = 0.2  # |standardised difference| worth naming in a description (Cohen's "small")
IMPUTATION = (
    "Numeric features: missing values imputed with the training median, plus a 0/1 'missing' indicator "
    "where the training rows have any; then standardised with training mean and sd. Categorical features: "
    f"missing is its own category '{MISSING}'; one-hot on the training categories (at most {MAX_CATEGORIES} "
    f"per feature, rarer ones pooled as '{OTHER}'); categories unseen in training get all zeros.")
METHOD = (
    "Hierarchical bias-aware clustering (after HBAC, Misztal-Radecka & Indurkhya 2021; Algorithm Audit's "
    "unsupervised bias detection). On a seeded training split the cluster whose mean bias deviates most "
    "from the rest is bisected by k-means (k=2, n_init=10, seeded) on standardised numeric and one-hot "
    "categorical features; a split is kept when both parts have at least min_cluster_size training rows and "
    "one part deviates at least as much as its parent, up to max_depth bisections deep. Held-out rows "
    "follow the same bisections (the nearer of the two k-means centres at each split) and each cluster's "
    "mean bias is tested against the rest of the held-out rows ({test}), Holm-adjusted across clusters. A "
    "cluster is confirmed when p_holm < alpha and the held-out difference has the training sign.")


def _check(X: pd.DataFrame, bias: np.ndarray, holdout: float, min_cluster_size: float | int, max_depth: int,
           alpha: float) -> np.ndarray:
    if not isinstance(X, pd.DataFrame) or X.empty or X.shape[1] == 0:
        raise InputDataError("X must be a non-empty pandas DataFrame of features (rows x columns); found "
                             f"{type(X).__name__} of shape {getattr(X, 'shape', None)}.")
    dates = [str(c) for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])
             or pd.api.types.is_timedelta64_dtype(X[c])]
    if dates:
        raise InputDataError(f"Columns {list_values(dates)} hold dates or durations, which k-means cannot use "
                             "as they are. Convert them to numbers first (e.g. age in years, days since "
                             "the application) or drop them.")
    if isinstance(bias, pd.Series) and pd.api.types.is_numeric_dtype(bias):  # nullable dtypes: NA -> NaN
        bias = bias.to_numpy(dtype=float, na_value=np.nan)
    y = np.asarray(bias)
    if y.shape != (len(X),) or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise InputDataError(f"bias must hold one number per row of X ({len(X)} rows); found {y.dtype} values "
                             f"of shape {y.shape}. Pass e.g. the 0/1 'selected' column as a numpy array.")
    y = y.astype(float)
    if not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y))
        raise InputDataError(f"bias is missing or infinite in {bad.size} rows (positions "
                             f"{list_values(bad.tolist(), 5)}); drop those rows from X and bias, or fill them in.")
    for name, val, ok in (("holdout", holdout, 0 < holdout < 1), ("alpha", alpha, 0 < alpha < 1)):
        if not ok:
            raise InputDataError(f"{name} must be between 0 and 1 (exclusive); found {val!r}.")
    if isinstance(max_depth, bool) or not isinstance(max_depth, Integral) or max_depth < 1:
        raise InputDataError(f"max_depth must be a whole number >= 1 (bisections); found {max_depth!r}.")
    is_int = isinstance(min_cluster_size, Integral) and not isinstance(min_cluster_size, bool)
    if not (is_int and min_cluster_size >= 1) and not (
            not is_int and isinstance(min_cluster_size, Real) and 0 < min_cluster_size <= 0.5):
        raise InputDataError("min_cluster_size must be a fraction of the training rows in (0, 0.5] or a whole "
                             f"number of rows >= 1; found {min_cluster_size!r}.")
    return y


# --------------------------------------------------------------------------- features

def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _floats(col: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing (and for +-inf, treated as missing)."""
    x = col.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(x), x, np.nan)


def _as_text(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), MISSING).astype(str)


def _fit_encoding(train: pd.DataFrame) -> list[tuple]:
    """Per column: ("num", median, mean, sd, has_missing) or ("cat", kept categories)."""
    spec: list[tuple] = []
    for name in train.columns:
        col = train[name]
        if _is_numeric(col):
            x = _floats(col)
            med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
            filled = np.where(np.isnan(x), med, x)
            sd = float(filled.std())
            spec.append(("num", name, med, float(filled.mean()), sd if sd > 0 else 1.0, bool(np.isnan(x).any())))
        else:
            counts = _as_text(col).value_counts(sort=False)
            top = counts.sort_values(ascending=False, kind="mergesort").index[:MAX_CATEGORIES]
            spec.append(("cat", name, sorted(top), len(counts) > MAX_CATEGORIES))
    return spec


def _encode(frame: pd.DataFrame, spec: list[tuple]) -> np.ndarray:
    parts = []
    for entry in spec:
        if entry[0] == "num":
            _, name, med, mean, sd, has_missing = entry
            x = _floats(frame[name])
            parts.append(((np.where(np.isnan(x), med, x) - mean) / sd)[:, None])
            if has_missing:
                parts.append(np.isnan(x).astype(float)[:, None])
        else:
            _, name, cats, pooled = entry
            text = _as_text(frame[name])
            parts.append((text.to_numpy()[:, None] == np.asarray(cats, dtype=object)[None, :]).astype(float))
            if pooled:
                parts.append((~text.isin(cats)).to_numpy(dtype=float)[:, None])
    return np.hstack(parts)


# --------------------------------------------------------------------------- clustering

def _kmeans(Z: np.ndarray, seed: int) -> KMeans:
    """Seeded 2-means; single-threaded below 20,000 rows, where OpenMP start-up and spin-waiting cost
    more than they save (measured 30x slower on a busy 2-core machine) and the result is the same."""
    try:  # scikit-learn is an optional extra; keep `import auditkit.explain` cheap
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("bias_clusters needs scikit-learn: pip install 'auditkit[explain]'.") from err
    model = KMeans(n_clusters=2, n_init=10, random_state=seed)
    if len(Z) >= 20_000:
        return model.fit(Z)
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.fit(Z)


def _grow(Z: np.ndarray, y: np.ndarray, min_rows: int, max_depth: int, seed: int) -> list[dict]:
    """Bisect the training rows; return the tree's nodes (leaves have ``model`` None)."""
    total, n = float(y.sum()), len(y)

    def deviation(rows: np.ndarray) -> float:  # cluster mean minus the mean of all other rows
        if len(rows) == n:
            return 0.0  # HBAC: the whole data set deviates by 0
        return float(y[rows].mean() - (total - y[rows].sum()) / (n - len(rows)))

    nodes: list[dict[str, Any]] = [
        {"rows": np.arange(n), "depth": 0, "deviation": 0.0, "model": None, "children": None, "open": True}]
    while True:
        open_ = [i for i, nd in enumerate(nodes) if nd["open"] and nd["depth"] < max_depth]
        if not open_:
            return nodes
        i = max(open_, key=lambda j: nodes[j]["deviation"])  # first (lowest id) among ties
        node, rows = nodes[i], nodes[i]["rows"]
        node["open"] = False
        if len(rows) < 2 * min_rows or np.ptp(Z[rows], axis=0).max() == 0:
            continue
        km = _kmeans(Z[rows], seed)
        parts = [rows[km.labels_ == k] for k in (0, 1)]
        devs = [deviation(p) for p in parts]
        if min(len(p) for p in parts) < min_rows or max(devs) < node["deviation"]:
            continue
        node["model"], node["children"] = km, (len(nodes), len(nodes) + 1)
        for p, d in zip(parts, devs):
            nodes.append({"rows": p, "depth": node["depth"] + 1, "deviation": d, "model": None,
                          "children": None, "open": True})


def _assign(nodes: list[dict], Z: np.ndarray) -> np.ndarray:
    """Node id of the leaf each row reaches by following the bisections."""
    leaf = np.zeros(len(Z), dtype=int)
    stack = [(0, np.arange(len(Z)))]
    while stack:
        i, rows = stack.pop()
        if nodes[i]["model"] is None:
            leaf[rows] = i
            continue
        side = nodes[i]["model"].predict(Z[rows]) if len(rows) else np.zeros(0, dtype=int)
        stack += [(nodes[i]["children"][k], rows[side == k]) for k in (0, 1)]
    return leaf


# --------------------------------------------------------------------------- tests and descriptions

def _compare(inside: np.ndarray, rest: np.ndarray, binary: bool, level: float) -> tuple[float, float, float]:
    """Difference of means with interval and p: pooled two-proportion z (binary) or Welch's t."""
    n1, n0 = len(inside), len(rest)
    if binary:
        if not n1 or not n0:
            return math.nan, math.nan, math.nan
        k1, k0 = inside.sum(), rest.sum()
        low, high = newcombe_difference_interval(k1, n1, k0, n0, level)
        return float(low), float(high), float(chi2_p(k1, n1 - k1, k0, n0 - k0))  # chi2 == pooled z test
    if n1 < 2 or n0 < 2:
        return math.nan, math.nan, math.nan
    v1, v0 = inside.var(ddof=1) / n1, rest.var(ddof=1) / n0
    if v1 + v0 == 0:
        return math.nan, math.nan, math.nan
    diff, se = inside.mean() - rest.mean(), math.sqrt(v1 + v0)
    df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1))  # Welch-Satterthwaite
    half = float(stats.t.isf((1 - level) / 2, df)) * se
    return diff - half, diff + half, float(2 * stats.t.sf(abs(diff) / se, df))


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2g}"  # "age mean 31 vs 44"


def _numeric_features(name: str, x: np.ndarray, inside: np.ndarray) -> list[dict]:
    out, miss = [], np.isnan(x)
    if miss.any():
        out.append(_share_feature(name, "missing", None, miss, inside))
    a, b = x[inside & ~miss], x[~inside & ~miss]
    if len(a) and len(b) and np.isin(x[~miss], (0.0, 1.0)).all():  # a 0/1 flag reads better as a share
        out.append(_share_feature(name, "flag", "1", x == 1, inside & ~miss, ~inside & ~miss))
    elif len(a) and len(b):
        sd = float(np.nanstd(x))
        d = (a.mean() - b.mean()) / sd if sd > 0 else 0.0
        out.append({"feature": str(name), "kind": "numeric", "category": None, "cluster": float(a.mean()),
                    "rest": float(b.mean()), "standardised_difference": float(d),
                    "text": f"{name} mean {_fmt(a.mean())} vs {_fmt(b.mean())}"})
    return out


def _share_feature(name: str, kind: str, category: str | None, hit: np.ndarray, inside: np.ndarray,
                   rest: np.ndarray | None = None) -> dict:
    rest = ~inside if rest is None else rest
    p1, p0, p = hit[inside].mean(), hit[rest].mean(), hit[inside | rest].mean()
    d = (p1 - p0) / math.sqrt(p * (1 - p)) if 0 < p < 1 else 0.0  # difference in sd units of the indicator
    label = f"{name} missing" if kind == "missing" else f"{name} = {category}"
    return {"feature": str(name), "kind": kind, "category": category, "cluster": float(p1), "rest": float(p0),
            "standardised_difference": float(d), "text": f"{label} ({p1:.0%} vs {p0:.0%})"}


def _describe(train: pd.DataFrame, inside: np.ndarray, top: int = 5) -> tuple[str, list[dict]]:
    """Features ranked by |standardised difference| between the cluster and the other training rows."""
    if inside.all():
        return "all rows (no split was made)", []
    feats = []
    for name in train.columns:
        col = train[name]
        if _is_numeric(col):
            feats += _numeric_features(name, _floats(col), inside)
            continue
        text = _as_text(col).to_numpy()
        cands = [_share_feature(name, "category", c, text == c, inside) for c in pd.unique(text)]
        feats.append(max(cands, key=lambda f: f["standardised_difference"]))  # most over-represented
    feats.sort(key=lambda f: -abs(f["standardised_difference"]))
    named = [f["text"] for f in feats[:3] if abs(f["standardised_difference"]) >= NOTEWORTHY]
    words = "; ".join(named) or f"no feature stands out (all standardised differences < {NOTEWORTHY})"
    return words, feats[:top]


# --------------------------------------------------------------------------- entry point

def _split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into training and held-out row positions."""
    perm = np.random.default_rng(seed).permutation(n)
    n_hold = int(round(holdout * n))
    if n_hold < 2 or n - n_hold < 2:
        raise InputDataError(f"holdout={holdout!r} of {n} rows leaves {n - n_hold} training and {n_hold} held-out "
                             "rows; each part needs at least 2. Use more rows or a holdout nearer 0.3.")
    return np.sort(perm[n_hold:]), np.sort(perm[:n_hold])


def _cluster(node: dict, inside_h: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, yh: np.ndarray, binary: bool,
             level: float) -> dict:
    inside_t = np.zeros(len(yt), dtype=bool)
    inside_t[node["rows"]] = True
    low, high, p = _compare(yh[inside_h], yh[~inside_h], binary, level)
    mean_h = float(yh[inside_h].mean()) if inside_h.any() else None
    rest_h = float(yh[~inside_h].mean()) if (~inside_h).any() else None
    words, feats = _describe(Xt, inside_t)
    nan_none = lambda v: None if v is None or not math.isfinite(v) else float(v)  # noqa: E731
    return {"size_train": int(inside_t.sum()), "size_holdout": int(inside_h.sum()), "depth": node["depth"],
            "bias_train": float(yt[inside_t].mean()), "deviation_train": float(node["deviation"]),
            "bias_holdout": mean_h, "bias_rest_holdout": rest_h,
            "difference": None if mean_h is None or rest_h is None else mean_h - rest_h,
            "ci": {"low": nan_none(low), "high": nan_none(high), "level": level}, "p_value": nan_none(p),
            "p_holm": None, "confirmed": False, "description": words, "features": feats}


def bias_clusters(X: pd.DataFrame, bias: np.ndarray, *, holdout: float = 0.3,
                  min_cluster_size: float | int = 0.05, max_depth: int = 4, alpha: float = 0.05,
                  seed: int = 0) -> dict:
    """Find groups of similar rows whose bias differs, without naming a group first.

    On a seeded training split (``1 - holdout`` of the rows) the rows are
    bisected by k-means (k=2, ``n_init=10``, ``random_state=seed``), always
    splitting the cluster whose mean bias deviates most from the other rows,
    while both parts keep ``min_cluster_size`` rows and one part deviates at
    least as much as its parent (HBAC), up to ``max_depth`` bisections deep.
    Held-out rows follow the same bisections; each cluster's held-out mean
    bias is compared with the other held-out rows (0/1 bias: pooled
    two-proportion z-test and Newcombe interval; otherwise Welch's t-test and
    interval), Holm-adjusted across clusters.  Only clusters confirmed on the
    held-out rows count; they are leads to examine, not findings.

    Parameters
    ----------
    X : DataFrame
        Features: numeric columns are standardised, others one-hot encoded;
        missing values are imputed (median plus indicator; own category).
    bias : array of float
        One number per row, higher = worse (e.g. selected for a check 0/1, or
        an error indicator).
    holdout : float
        Share of rows held out for confirmation.
    min_cluster_size : float or int
        Smallest cluster: a fraction of the training rows, or a number of rows.
    max_depth : int
        Most bisections from the whole data to a cluster (at most 2**max_depth clusters).
    alpha : float
        Family-wise error rate (Holm); intervals are at level ``1 - alpha``.
    seed : int
        Seeds the split and k-means.

    Returns
    -------
    dict
        JSON-ready: ``method``, ``seed``, ``train_rows``, ``holdout_rows``,
        ``clusters`` (sorted by training deviation, highest first) and the
        settings used.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": np.r_[rng.normal(30, 3, 300), rng.normal(60, 3, 700)]})
    >>> bias = np.r_[rng.random(300) < 0.5, rng.random(700) < 0.1].astype(int)
    >>> top = bias_clusters(X, bias, max_depth=1)["clusters"][0]
    >>> top["confirmed"], top["description"]
    (True, 'age mean 30 vs 60')
    """
    y = _check(X, bias, holdout, min_cluster_size, max_depth, alpha)
    train, hold = _split(len(X), holdout, seed)
    Xt, Xh = X.iloc[train].reset_index(drop=True), X.iloc[hold].reset_index(drop=True)
    spec = _fit_encoding(Xt)
    yt, yh, binary, level = y[train], y[hold], bool(np.isin(y, (0.0, 1.0)).all()), 1.0 - alpha
    min_rows = int(min_cluster_size) if isinstance(min_cluster_size, Integral) else max(
        1, math.ceil(min_cluster_size * len(train)))
    nodes = _grow(_encode(Xt, spec), yt, min_rows, max_depth, seed)
    leaf_h = _assign(nodes, _encode(Xh, spec))
    leaves = sorted((i for i, nd in enumerate(nodes) if nd["model"] is None), key=lambda i: -nodes[i]["deviation"])
    clusters = [_cluster(nodes[i], leaf_h == i, Xt, yt, yh, binary, level) for i in leaves]
    adjusted = holm_adjust([math.nan if c["p_value"] is None else c["p_value"] for c in clusters])
    for k, (c, p) in enumerate(zip(clusters, adjusted), start=1):
        c["id"], c["p_holm"] = k, None if math.isnan(p) else float(p)
        c["confirmed"] = bool(c["p_holm"] is not None and c["p_holm"] < alpha and c["difference"] is not None
                              and c["difference"] * c["deviation_train"] > 0)
    test = "two_proportion_z" if binary else "welch_t"
    return {"method": METHOD.format(test="pooled two-proportion z-test" if binary else "Welch's t-test"),
            "seed": int(seed), "train_rows": len(train), "holdout_rows": len(hold), "test": test,
            "alpha": float(alpha), "min_cluster_size_rows": min_rows, "max_depth": int(max_depth),
            "imputation": IMPUTATION, "bias_mean_train": float(yt.mean()), "bias_mean_holdout": float(yh.mean()),
            "clusters": [{"id": c.pop("id"), **c} for c in clusters]}
