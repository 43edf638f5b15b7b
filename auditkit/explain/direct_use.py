"""Direct use of a protected attribute: which model inputs are a protected attribute or a recoding of one.

A model can take a protected attribute without a column of that name: ``sex_male`` for ``sex``, one-hot
columns ``race_Black``, ``race=White`` for ``race``, a label-encoded or relabelled copy (``nat_code`` 0/1/2
for three nationalities).  Names are only a hint, so every candidate is checked on the data itself:

* a **recoding** is one input whose values map one to one onto the attribute's levels in the explained
  rows (each level always has the same input value, and no two levels share one);
* **indicators** are two-valued inputs each of which takes its "on" value exactly on the rows of one
  level of the attribute (one-hot or dummy columns); together they are one recoding of the attribute,
  one to one when at most one level has no column of its own (the omitted reference level).

Columns named like a recoding (the attribute's name followed by ``_``, ``=``, ``.``, ``:``, ``-`` or a
space) whose values do not map that way are reported, not tested.  The flip test then moves every person
to each level of the attribute, setting the recoded inputs consistently (:func:`recoder`), so the
counterfactual is the same person with another value of the attribute as the model sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._text import normalise_name

__all__ = ["Recoding", "attribute_values", "find_direct_use", "recoder"]

#: What may follow an attribute's name in the name of one of its recoded columns.
_SEPARATOR = re.compile(r"[_=.:\- ]")


@dataclass(frozen=True)
class Recoding:
    """Model inputs that together recode one protected attribute.

    ``how`` says, per input, what it is: "same" (the attribute itself), "recoding" (values one to one with
    the attribute's levels) or "indicator" (a two-valued column "on" for one level); ``values`` gives, per
    level of the attribute, the value of each input in ``inputs`` order (empty for an input named like the
    attribute whose values could not be matched to its levels: it is flipped by its own values);
    ``found_by`` says whether names, values or both pointed to the inputs; ``one_to_one`` is False only
    for indicators alone that leave two or more levels without a column.
    """

    attribute: str
    inputs: tuple[str, ...]
    how: tuple[str, ...]
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    found_by: tuple[str, ...] = ("values",)
    one_to_one: bool = True

    def record(self) -> dict[str, Any]:
        """JSON-ready description for the results."""
        return {"attribute": self.attribute, "inputs": list(self.inputs), "how": list(self.how),
                "found_by": list(self.found_by), "one_to_one": self.one_to_one,
                "values": {level: {c: _plain(v) for c, v in zip(self.inputs, vals)}
                           for level, vals in sorted(self.values.items())}}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def attribute_values(frame: pd.DataFrame, attribute: str) -> pd.Series:
    """The attribute as text, stripped; blank and missing values are missing (never a level to flip to)."""
    values = frame[attribute].astype("string").str.strip()
    return values.mask(values.isna() | (values == "")).astype(object).where(lambda s: s.notna(), None)


def _named_like(column: str, attribute: str) -> bool:
    col, attr = normalise_name(column), normalise_name(attribute)
    return col != attr and col.startswith(attr) and bool(_SEPARATOR.match(col[len(attr):]))


def _one_to_one(a_codes: np.ndarray, n_levels: int, column: pd.Series) -> tuple[bool, np.ndarray, Any]:
    """Whether ``column`` (on rows with the attribute known) maps one to one onto the attribute's levels."""
    c_codes, uniques = pd.factorize(column, use_na_sentinel=False)
    if len(uniques) != n_levels:
        return False, c_codes, uniques
    pairs = np.unique(a_codes.astype(np.int64) * len(uniques) + c_codes)
    return len(pairs) == n_levels, c_codes, uniques


def _indicator_of(a_codes: np.ndarray, n_levels: int, column: pd.Series) -> tuple[int, Any, Any] | None:
    """(level code, on value, off value) when a two-valued column is "on" exactly on one level's rows."""
    if column.isna().any():
        return None
    c_codes, uniques = pd.factorize(column)
    if len(uniques) != 2:
        return None
    table = np.bincount(a_codes * 2 + c_codes, minlength=2 * n_levels).reshape(n_levels, 2)
    for on in (0, 1):
        holders = np.flatnonzero(table[:, on])
        if len(holders) == 1 and table[holders[0], 1 - on] == 0:
            return int(holders[0]), uniques[on], uniques[1 - on]
    return None


def _note(col: str, attribute: str, n_levels: int, same: list[str]) -> str:
    return (f"Input {col!r} is named like {attribute!r} or a recoding of it, but its values do not map one to one "
            f"onto the {n_levels} values of {attribute!r} in the explained rows"
            + ("; it is flip-tested by its own values." if col in same else
               f"; it is not flip-tested as direct use (use --flip {col} to test it as a proxy)."))


def _for_attribute(X: pd.DataFrame, attribute: str, values: pd.Series, notes: list[str],
                   distinct: dict[str, int]) -> list[Recoding]:
    known = values.notna().to_numpy()
    every = bool(known.all())
    a_codes, levels = pd.factorize(values[known])
    n_levels = len(levels)
    same = [str(c) for c in X.columns if normalise_name(c) == normalise_name(attribute)]
    named = set(same) | {str(c) for c in X.columns if _named_like(str(c), attribute)}
    # An attribute with as many levels as rows (an identifier) would match any column with distinct values.
    if n_levels < 2 or 2 * n_levels > int(known.sum()):
        return [Recoding(attribute, (c,), ("same",), {}, ("name",)) for c in same]
    inputs: dict[str, tuple[str, dict[int, Any]]] = {}
    lit: dict[str, int] = {}  # the level each indicator is "on" for
    for col in map(str, X.columns):
        # A column with another number of values than levels (or two, for an indicator) cannot match: most
        # inputs (continuous ones) are passed over without a second look.
        if distinct[col] < 2 or (every and distinct[col] not in (n_levels, 2)):
            if col in named:
                notes.append(_note(col, attribute, n_levels, same))
            continue
        column = X[col][known].reset_index(drop=True)
        ok, c_codes, uniques = _one_to_one(a_codes, n_levels, column)
        if ok:
            lvl, at = np.unique(a_codes, return_index=True)  # each level's first row: the mapping is 1:1
            first = {int(a): uniques[int(c_codes[i])] for a, i in zip(lvl, at)}
            inputs[col] = ("same" if col in same else "recoding", first)
        elif n_levels > 2 and (hit := _indicator_of(a_codes, n_levels, column)) is not None:
            lit[col] = hit[0]
            inputs[col] = ("indicator", {lvl: hit[1] if lvl == hit[0] else hit[2] for lvl in range(n_levels)})
        elif col in named:
            notes.append(_note(col, attribute, n_levels, same))
    out = [Recoding(attribute, (c,), ("same",), {}, ("name",)) for c in same if c not in inputs]
    if inputs:
        cols = tuple(inputs)
        how = tuple(inputs[c][0] for c in cols)
        table = {str(levels[lvl]): tuple(inputs[c][1][lvl] for c in cols) for lvl in range(n_levels)}
        one_to_one = any(h != "indicator" for h in how) or n_levels - len(set(lit.values())) <= 1
        by = tuple(x for x, hit in (("name", any(c in named for c in cols)), ("values", True)) if hit)
        out.append(Recoding(attribute, cols, how, table, by, one_to_one))
    return out


def find_direct_use(X: pd.DataFrame, frame: pd.DataFrame, protected: Sequence[str]) -> tuple[list[Recoding], list[str]]:
    """Model inputs (columns of ``X``) that are a protected attribute (columns of ``frame``) or recode one.

    Parameters
    ----------
    X : DataFrame
        The model's inputs, row by row as scored.
    frame : DataFrame
        The same rows with the protected attributes.
    protected : sequence of str
        The protected attributes (columns of ``frame``).

    Returns
    -------
    (list of Recoding, list of str)
        What was found, per attribute in ``protected`` order, and notes on names that did not hold up.

    Examples
    --------
    >>> frame = pd.DataFrame({"sex": ["F", "M", "M", "F", "M"], "age": [30, 40, 50, 60, 70]})
    >>> X = pd.DataFrame({"sex_male": [0, 1, 1, 0, 1], "age": frame.age})
    >>> found, notes = find_direct_use(X, frame, ["sex"])
    >>> [(r.attribute, r.how, r.record()["values"]) for r in found]
    [('sex', ('recoding',), {'F': {'sex_male': 0}, 'M': {'sex_male': 1}})]
    """
    out: list[Recoding] = []
    notes: list[str] = []
    distinct = {str(c): int(X[c].nunique(dropna=False)) for c in X.columns}
    for attribute in dict.fromkeys(protected):
        if attribute not in frame.columns:
            continue
        out += _for_attribute(X, attribute, attribute_values(frame, attribute).reset_index(drop=True), notes,
                              distinct)
    return out, notes


def recoder(recoding: Recoding, column: str | None = None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set the recoded inputs of each row from its value of the attribute, held in the batch's ``column``
    (default: the attribute's name).

    Rows whose attribute value is missing or not a level keep their inputs as they are.
    """
    def recode(batch: pd.DataFrame) -> pd.DataFrame:
        out = batch.copy()
        level = batch[column or recoding.attribute]
        for value, inputs in recoding.values.items():
            rows = (level == value).to_numpy()
            if rows.any():
                for col, v in zip(recoding.inputs, inputs):
                    out[col] = out[col].where(~rows, v)
        return out

    return recode
