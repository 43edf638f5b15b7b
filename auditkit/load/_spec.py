"""Models as agencies publish them: a table of weights, a points scorecard, an ordered rule list.

Under freedom-of-information law agencies rarely hand over a model file; they publish the variables and
their weights (France's family-benefits risk score, a logistic regression), a points scorecard (Austria's
job-chance model was rebuilt by journalists from its published coefficients) or a list of risk rules.
This module reads such a specification, checks it, and describes it as a :class:`ModelSpec`;
:mod:`auditkit.load._spec_model` turns that into a scorer that audits like any model file.

Three forms:

* a CSV with the columns ``term,weight``: the term ``(Intercept)``, numeric variables by column name,
  categorical levels as ``column=level`` (the omitted level of each column is its reference, weight 0);
  the link (``logistic`` or ``identity``) is given with ``--link``, never guessed;
* YAML ``kind: linear`` (or ``logistic``) for everything richer: transformations (``log``, ``log1p``,
  ``cap``), bins with a weight each, categorical levels with a named reference, a weight for missing values;
* YAML ``kind: scorecard`` (points per band or level, base points, a ``cutoff``) and ``kind: rules``
  (ordered ``if`` conditions, the first that holds decides).

A specification is data, not code: no expression in it is evaluated as Python.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError

__all__ = ["LINKS", "Bands", "Condition", "Levels", "ModelSpec", "Numeric", "Rule", "is_spec_file", "read_spec"]

LINKS = ("logistic", "identity")
KINDS = ("linear", "logistic", "scorecard", "rules")
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "missing", "not missing")
TRANSFORMS = ("log", "log1p")
_MAX_BYTES = 2_000_000
_MAX_TERMS = 10_000
INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class Numeric:
    """A numeric variable: ``weight × transform(cap(x))``; ``missing`` is the contribution of a blank."""

    variable: str
    weight: float
    transform: str | None = None
    cap: tuple[float | None, float | None] | None = None
    missing: float | None = None


@dataclass(frozen=True)
class Levels:
    """A categorical variable: a weight per level; the reference level weighs 0."""

    variable: str
    weights: tuple[tuple[str, float], ...]
    reference: str | None = None
    missing: float | None = None


@dataclass(frozen=True)
class Bands:
    """A numeric variable cut into bands ``[low, high)``, a weight (or points) per band."""

    variable: str
    bands: tuple[tuple[float, float, float], ...]
    missing: float | None = None


@dataclass(frozen=True)
class Condition:
    """One test on one column of a case: ``column op value``."""

    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Rule:
    """If every condition holds (the first such rule decides), the case is flagged or not."""

    name: str
    conditions: tuple[Condition, ...]
    flag: bool


@dataclass(frozen=True)
class ModelSpec:
    """A published model, checked: what it computes, in the agency's own terms."""

    kind: str  # linear | scorecard | rules
    link: str  # logistic | identity
    source: str
    intercept: float = 0.0
    terms: tuple[Numeric | Levels | Bands, ...] = ()
    cutoff: float | None = None
    rules: tuple[Rule, ...] = ()
    default_flag: bool = False
    title: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def variables(self) -> tuple[str, ...]:
        """The data columns the model reads, in the order they first appear in the specification."""
        names = [t.variable for t in self.terms] + [c.column for r in self.rules for c in r.conditions]
        return tuple(dict.fromkeys(names))


def is_spec_file(path: Path) -> bool:
    """True for a CSV or YAML file: the suffixes a published specification is read from."""
    return path.suffix.lower() in (".csv", ".yaml", ".yml")


def read_spec(path: str | os.PathLike, link: str | None = None) -> ModelSpec:
    """Read and check a published model specification (CSV ``term,weight`` or YAML).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
    ...     _ = fh.write("term,weight\\n(Intercept),-2.0\\nage,0.01\\nnationality=non-EU,1.2\\n")
    >>> spec = read_spec(fh.name, link="logistic")
    >>> spec.kind, spec.link, spec.intercept, spec.variables
    ('linear', 'logistic', -2.0, ('age', 'nationality'))
    """
    path = Path(path)
    label = path.name
    raw = _read_text(path)
    if link is not None and link not in LINKS:
        raise InputDataError(f"--link must be one of {list_values(LINKS)}; got {link!r}.{did_you_mean(link, LINKS)}")
    if path.suffix.lower() == ".csv":
        return _from_csv(raw, label, link)
    return _from_yaml(raw, label, link)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise InputDataError(f"Model specification {path.name!r} is {size:,} bytes; a published specification "
                                 f"is at most {_MAX_BYTES:,} bytes. Is this a data file rather than the model?")
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputDataError(f"Model specification {path.name!r} is not UTF-8 text (byte {err.start}); save it as "
                             "UTF-8 (in a spreadsheet: 'CSV UTF-8').") from None
    except OSError as err:
        raise InputDataError(f"Model specification {path.name!r} cannot be read ({err.strerror}).") from None


# --------------------------------------------------------------------------------------------------
# CSV: term,weight


def _from_csv(text: str, label: str, link: str | None) -> ModelSpec:
    if link is None:
        raise InputDataError(
            f"{label!r} is a table of weights: say how the weighted sum becomes the score with --link logistic "
            "(a logistic regression: the score is the probability 1/(1+exp(-sum))) or --link identity (the sum "
            "itself, e.g. a linear risk score). The agency's documentation says which.")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:  # e.g. a stray carriage return inside a field
        raise InputDataError(f"Model specification {label!r} is not a readable CSV table ({err}); save it again as "
                             "CSV with one 'term,weight' row per line.") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InputDataError(f"Model specification {label!r} is empty; expected a header 'term,weight' and one "
                             "row per term.")
    header = [h.strip().lower() for h in rows[0]]
    if "term" not in header or "weight" not in header:
        raise InputDataError(f"Model specification {label!r} must have the columns 'term' and 'weight'; its header "
                             f"is {list_values(rows[0])}. Rename the columns (e.g. 'variable'/'coefficient' to "
                             "'term'/'weight').")
    it, iw = header.index("term"), header.index("weight")
    if len(rows) - 1 > _MAX_TERMS:
        raise InputDataError(f"Model specification {label!r} has {len(rows) - 1:,} terms; at most {_MAX_TERMS:,}.")
    intercept: float | None = None
    numeric: dict[str, float] = {}
    levels: dict[str, dict[str, float]] = {}
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        term = row[it].strip() if it < len(row) else ""
        weight = _number(row[iw] if iw < len(row) else "", f"{label!r} line {line} (term {term!r})", "weight")
        if not term:
            raise InputDataError(f"{label!r} line {line}: the term is blank; every row names a term.")
        if term in seen:
            raise InputDataError(f"{label!r} line {line}: the term {term!r} is listed twice (also on line "
                                 f"{seen[term]}); each term has one weight.")
        seen[term] = line
        if term.lower() in ("(intercept)", "intercept", "const", "constant"):
            intercept = weight
        elif "=" in term:
            column, level = (part.strip() for part in term.split("=", 1))
            levels.setdefault(column, {})[level] = weight
        else:
            numeric[term] = weight
    both = sorted(set(numeric) & set(levels))
    if both:
        raise InputDataError(f"{label!r}: {both[0]!r} is listed both as a numeric variable and with levels "
                             f"({both[0]}=...); a column is one or the other.")
    notes = () if intercept is not None else (f"{label!r} lists no (Intercept); it was taken as 0.",)
    terms = tuple(Numeric(v, w) for v, w in numeric.items()) + tuple(
        Levels(v, tuple(ws.items())) for v, ws in levels.items())
    return ModelSpec("linear", link, label, intercept or 0.0, terms, notes=notes)


def _number(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool):
        raise InputDataError(f"{where}: the {what} must be a number; got {value!r}.")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u2212", "-")
        try:
            number = float(text)
        except ValueError:
            hint = " Write decimals with a point (0.5), not a comma." if "," in text else ""
            raise InputDataError(f"{where}: the {what} must be a number; got {value!r}.{hint}") from None
    if not math.isfinite(number):
        raise InputDataError(f"{where}: the {what} must be a finite number; got {value!r}.")
    return number


# --------------------------------------------------------------------------------------------------
# YAML


def _from_yaml(text: str, label: str, link: str | None) -> ModelSpec:
    from ._spec_yaml import parse_yaml_spec

    return parse_yaml_spec(text, label, link)
