"""A published specification as a scikit-learn model, so that it audits like any model file.

A linear or logistic specification and a points scorecard become a two-step scikit-learn
:class:`~sklearn.pipeline.Pipeline`: :class:`PublishedDesign` turns the data's columns into the
specification's design matrix (one column per numeric variable after its cap and transformation, one
indicator per listed level or band), and a ``LinearRegression`` or ``LogisticRegression`` carries the
published weights as its ``coef_`` and ``intercept_``.  Nothing is fitted: the weights are the agency's.
The explanations are then exact: SHAP's linear explainer gives each variable's contribution
``w × (x − mean x)`` (for logistic models on the log-odds scale), the model card reads the weights.
An ordered rule list becomes :class:`PublishedRules`, a classifier whose probability is 1 for a
flagged case and 0 otherwise.

Values the specification does not cover are errors, never silent zeros: a level that is neither listed
nor the reference, a value outside every band, a blank where no weight for blanks is given, text in a
numeric variable, the logarithm of a number that is not positive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ._spec import Bands, Condition, Levels, ModelSpec, Numeric

__all__ = ["PublishedDesign", "PublishedRules", "build_estimator", "level_label"]


def level_label(value: Any) -> str:
    """A category as text: 2.0 and 2 are the same level '2'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


def _blank(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object)
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())
                     for v in values], dtype=bool) if values.dtype == object else column.isna().to_numpy()


class PublishedDesign(TransformerMixin, BaseEstimator):
    """The design matrix of a published specification: the data's columns as the weights expect them."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.feature_names_in_ = np.array(spec.variables, dtype=object)
        self.n_features_in_ = len(spec.variables)
        self.seen_levels_: dict[str, set[str]] = {}
        self.implied_reference_: dict[str, str] = {}

    def fit(self, X: Any = None, y: Any = None) -> PublishedDesign:
        """Nothing to learn: the weights are the agency's."""
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """One name per design column: ``age``, ``nationality=non-EU``, ``months[12, 24)``, ``age (blank)``."""
        names: list[str] = []
        for term in self.spec.terms:
            if isinstance(term, Numeric):
                names.append(term.variable)
            elif isinstance(term, Levels):
                names += [f"{term.variable}={level}" for level, _ in term.weights]
            else:
                names += [f"{term.variable}[{_edge(lo)}, {_edge(hi)})" for lo, hi, _ in term.bands]
            if term.missing is not None:
                names.append(f"{term.variable} (blank)")
        return np.array(names, dtype=object)

    def weights(self) -> np.ndarray:
        """The published weight of each design column, in :meth:`get_feature_names_out` order."""
        out: list[float] = []
        for term in self.spec.terms:
            if isinstance(term, Numeric):
                out.append(term.weight)
            elif isinstance(term, Levels):
                out += [w for _, w in term.weights]
            else:
                out += [w for _, _, w in term.bands]
            if term.missing is not None:
                out.append(term.missing)
        return np.array(out, dtype=float)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The design matrix of ``X`` (a DataFrame with the specification's columns)."""
        parts = [self._columns(term, X[term.variable]) for term in self.spec.terms]
        return np.column_stack(parts) if parts else np.empty((len(X), 0))

    def _columns(self, term: Numeric | Levels | Bands, column: pd.Series) -> np.ndarray:
        blank = _blank(column)
        if blank.any() and term.missing is None:
            raise InputDataError(
                f"Column {term.variable!r} has {int(blank.sum()):,} blank value(s) (first at data row "
                f"{int(np.flatnonzero(blank)[0]) + 1:,} of this batch), and {self.spec.source!r} gives no weight for a "
                f"blank {term.variable}. Add 'missing: WEIGHT' to the term (YAML) if the agency documents one, or "
                f"leave those rows out with --exclude.")
        if isinstance(term, Levels):
            cols = self._levels(term, column, blank)
        else:
            x = self._numbers(term.variable, column, blank)
            cols = (self._numeric(term, x, blank) if isinstance(term, Numeric) else self._bands(term, x, blank))
        if term.missing is not None:
            cols = np.column_stack([cols, blank.astype(float)])
        return cols

    def _numbers(self, name: str, column: pd.Series, blank: np.ndarray) -> np.ndarray:
        if pd.api.types.is_bool_dtype(column.dtype):
            return column.to_numpy(dtype=float)
        x = pd.to_numeric(column.where(~blank), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(x) & ~blank
        if bad.any():
            examples = list(dict.fromkeys(column[bad].astype(str)))[:5]
            raise InputDataError(f"Column {name!r} is a numeric variable in {self.spec.source!r}, but {int(bad.sum()):,} "
                                 f"value(s) are not numbers, e.g. {list_values(examples)}. Convert the column to "
                                 "numbers (decimal point, no thousands separators) or correct the specification.")
        return np.where(blank, 0.0, x)

    def _numeric(self, term: Numeric, x: np.ndarray, blank: np.ndarray) -> np.ndarray:
        if term.cap is not None:
            low, high = term.cap
            x = np.clip(x, -np.inf if low is None else low, np.inf if high is None else high)
        if term.transform is not None:
            small = (x <= (0 if term.transform == "log" else -1)) & ~blank
            if small.any():
                raise InputDataError(
                    f"Column {term.variable!r}: {term.transform} is undefined for {int(small.sum()):,} value(s) such "
                    f"as {x[small][0]:g}. Give the term a 'cap' with a positive low bound if the agency caps it.")
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(blank, 0.0, np.log(x) if term.transform == "log" else np.log1p(x))
        return np.where(blank, 0.0, x)

    def _bands(self, term: Bands, x: np.ndarray, blank: np.ndarray) -> np.ndarray:
        cols = np.column_stack([(x >= lo) & (x < hi) & ~blank for lo, hi, _ in term.bands]).astype(float)
        outside = (cols.sum(axis=1) == 0) & ~blank
        if outside.any():
            ranges = ", ".join(f"[{_edge(lo)}, {_edge(hi)})" for lo, hi, _ in term.bands)
            raise InputDataError(f"Column {term.variable!r}: {int(outside.sum()):,} value(s) fall in no band of "
                                 f"{self.spec.source!r}, e.g. {x[outside][0]:g}; its bands are {ranges}.")
        return cols

    def _levels(self, term: Levels, column: pd.Series, blank: np.ndarray) -> np.ndarray:
        labels = np.array([level_label(v) for v in column.to_numpy(dtype=object)], dtype=object)
        listed = [level for level, _ in term.weights]
        present = set(labels[~blank])
        self.seen_levels_.setdefault(term.variable, set()).update(present)
        unknown = sorted(present - set(listed) - ({term.reference} if term.reference is not None else set()))
        implied = self.implied_reference_.get(term.variable)
        if term.reference is None and len(unknown) == 1 and implied in (None, unknown[0]):
            self.implied_reference_[term.variable] = unknown[0]
        elif unknown:
            known = listed + [term.reference or implied or ""]
            shown = sorted(set(unknown) | ({implied} if implied else set()))
            hint = did_you_mean(unknown[0], [k for k in known if k])
            raise InputDataError(
                f"Column {term.variable!r} holds level(s) {list_values(shown)} that {self.spec.source!r} does not "
                f"list.{hint} The omitted level of a column is its reference (weight 0), so exactly one level may be "
                f"unlisted; name it with 'reference:' (YAML), add the others with their weights, or correct the "
                f"spelling in the data or the specification.")
        return np.column_stack([labels == level for level in listed]).astype(float)

    def unseen_levels(self) -> list[str]:
        """Notes on listed levels (and the implied references) as the scored data showed them."""
        notes = []
        for term in self.spec.terms:
            if not isinstance(term, Levels) or term.variable not in self.seen_levels_:
                continue
            missing = [level for level, _ in term.weights if level not in self.seen_levels_[term.variable]]
            if missing:
                notes.append(f"Level(s) {list_values(missing)} of column {term.variable!r} are weighted in "
                             f"{self.spec.source!r} but do not occur in the data; check their spelling.")
            if term.variable in self.implied_reference_:
                notes.append(f"Column {term.variable!r}: the level {self.implied_reference_[term.variable]!r} is not "
                             f"listed in {self.spec.source!r} and was taken as the reference (weight 0).")
        return notes


def _edge(x: float) -> str:
    return "-inf" if x == -math.inf else "inf" if x == math.inf else f"{x:g}"


class PublishedRules(ClassifierMixin, BaseEstimator):
    """An ordered rule list: the first rule whose conditions all hold decides; else the default."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.feature_names_in_ = np.array(spec.variables, dtype=object)
        self.n_features_in_ = len(spec.variables)
        self.classes_ = np.array([0, 1])

    def fit(self, X: Any = None, y: Any = None) -> PublishedRules:
        """Nothing to learn: the rules are the agency's."""
        return self

    def rule_of(self, X: pd.DataFrame) -> np.ndarray:
        """The index of the rule that decides each case (-1: no rule, the default applies)."""
        decided = np.full(len(X), -1)
        for i, rule in enumerate(self.spec.rules):
            holds = np.ones(len(X), dtype=bool)
            for cond in rule.conditions:
                holds &= self._test(cond, X[cond.column])
            decided[(decided == -1) & holds] = i
        return decided

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Column 1 is 1.0 for a flagged case, 0.0 otherwise."""
        decided = self.rule_of(X)
        flags = np.array([r.flag for r in self.spec.rules] + [self.spec.default_flag], dtype=float)
        p = flags[decided]
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 for a flagged case, 0 otherwise."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)

    def _test(self, cond: Condition, column: pd.Series) -> np.ndarray:
        blank = _blank(column)
        if cond.op in ("missing", "not missing"):
            return blank if cond.op == "missing" else ~blank
        if cond.op in ("<", "<=", ">", ">="):
            x = pd.to_numeric(column.where(~blank), errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(x) & ~blank
            if bad.any():
                raise InputDataError(f"Column {cond.column!r} is compared with {cond.op} {cond.value:g} in "
                                     f"{self.spec.source!r}, but holds value(s) that are not numbers, e.g. "
                                     f"{list_values(list(dict.fromkeys(column[bad].astype(str)))[:5])}.")
            with np.errstate(invalid="ignore"):
                out = {"<": x < cond.value, "<=": x <= cond.value, ">": x > cond.value, ">=": x >= cond.value}[cond.op]
            return out & ~blank
        labels = np.array([level_label(v) for v in column.to_numpy(dtype=object)], dtype=object)
        wanted = {level_label(v) for v in (cond.value if cond.op in ("in", "not in") else (cond.value,))}
        hit = np.isin(labels, list(wanted)) & ~blank
        return hit if cond.op in ("==", "in") else ~hit & ~blank


def build_estimator(spec: ModelSpec) -> Any:
    """The scikit-learn model that computes ``spec``: a pipeline for weights and points, else the rule list."""
    if spec.kind == "rules":
        est: Any = PublishedRules(spec)
    else:
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.pipeline import Pipeline

        design = PublishedDesign(spec)
        weights = design.weights()
        final: Any = LogisticRegression() if spec.link == "logistic" else LinearRegression()
        final.coef_ = weights.reshape(1, -1) if spec.link == "logistic" else weights
        final.intercept_ = np.array([spec.intercept]) if spec.link == "logistic" else float(spec.intercept)
        final.n_features_in_ = len(weights)
        if spec.link == "logistic":
            final.classes_ = np.array([0, 1])
        est = Pipeline([("published", design), ("weights", final)])
    est.auditkit_spec_ = spec
    return est
