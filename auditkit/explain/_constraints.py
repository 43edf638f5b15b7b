"""Impossible combinations for counterfactual rows: read, check and apply constraint entries.

Giving every row each value of one attribute can make rows that cannot exist (a Dutch national with
a temporary residence permit).  A constraint entry names them: a row matching every ``if`` condition
and any ``then_not`` condition is dropped from the flip test.  A column that does not exist or a value
that never occurs is an error, not an empty match: it is almost always a typo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from auditkit._text import did_you_mean, list_values
from auditkit.exceptions import InputDataError

__all__ = ["bind_constraints", "check_constraints", "load_constraints", "violations"]


def load_constraints(path: str | Path) -> list[dict]:
    """Read impossible-combination constraints from a YAML file.

    The file holds a list (or a mapping with key ``constraints`` holding the
    list); each entry has ``if`` and ``then_not``, mappings from column to a
    value or a list of values, and an optional ``note``.  See
    :func:`flip_test` and docs/explanations-flips-clusters.md.

    Raises
    ------
    InputDataError
        Naming the file, the entry (1-based) and the key that is wrong.
    """
    path = Path(path)
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError(f"Reading {str(path)!r} needs PyYAML: pip install 'auditkit[explain]'.") from err
    if not path.is_file():
        raise InputDataError(f"Constraint file {str(path)!r} does not exist. Check the path.")
    from .._yaml import YamlLimitError, load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except YamlLimitError as err:
        raise InputDataError(f"Constraint file {str(path)!r} is refused: {err} {err.fix}".rstrip()) from err
    except UnicodeDecodeError as err:
        raise InputDataError(f"Constraint file {str(path)!r} is not UTF-8 text (byte {err.start}); save it as "
                             "UTF-8.") from err
    except yaml.YAMLError as err:
        raise InputDataError(f"Constraint file {str(path)!r} is not valid YAML: {err}") from err
    if isinstance(data, Mapping) and set(data) == {"constraints"}:
        data = data["constraints"]
    return check_constraints(data, f"constraint file {str(path)!r}")


def _condition(entry: Mapping, key: str, where: str) -> dict:
    cond = entry.get(key)
    if not isinstance(cond, Mapping) or not cond:
        raise InputDataError(f"{where}, key {key!r}: expected a mapping of column to value(s), e.g. "
                             f"{{'nationality': 'Dutch'}}; found {cond!r}.")
    out = {}
    for column, vals in cond.items():
        vals = list(vals) if isinstance(vals, (list, tuple)) else [vals]
        if not vals or any(isinstance(v, (Mapping, list, tuple)) or v is None for v in vals):
            raise InputDataError(f"{where}, key {key!r}, column {column!r}: expected a value or a list of "
                                 f"values; found {cond[column]!r}. Quote values in YAML ('no', 'on', '01').")
        out[column] = vals
    return out


def check_constraints(entries: object, source: str = "constraints") -> list[dict]:
    """Validate and normalise constraint entries to ``{"if", "then_not", "note"}``.

    >>> check_constraints([{"if": {"nationality": "Dutch"}, "then_not": {"permit": "temporary"}}])
    [{'if': {'nationality': ['Dutch']}, 'then_not': {'permit': ['temporary']}, 'note': None}]
    """
    if not isinstance(entries, (list, tuple)):
        raise InputDataError(f"{source}: expected a list of constraints (each with 'if' and 'then_not'); "
                             f"found {type(entries).__name__}.")
    out = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}, entry {i}"
        if not isinstance(entry, Mapping):
            raise InputDataError(f"{where}: expected a mapping with keys 'if' and 'then_not'; found {entry!r}.")
        extra = [k for k in entry if k not in ("if", "then_not", "note")]
        if extra:
            hint = did_you_mean(str(extra[0]), ["if", "then_not", "note"])
            raise InputDataError(f"{where}: unknown key {extra[0]!r}; expected 'if', 'then_not' and optionally "
                                 f"'note'.{hint}")
        out.append({"if": _condition(entry, "if", where), "then_not": _condition(entry, "then_not", where),
                    "note": None if entry.get("note") is None else str(entry["note"])})
    return out


def bind_constraints(constraints: Sequence[Mapping], X: pd.DataFrame) -> list[dict]:
    """Check every column exists and every value occurs (a value that never occurs is a typo)."""
    checked = check_constraints(list(constraints), "constraints")
    for i, entry in enumerate(checked, start=1):
        for key in ("if", "then_not"):
            for column, vals in entry[key].items():
                where = f"constraints, entry {i}, key {key!r}"
                if column not in X.columns:
                    raise InputDataError(f"{where}: no column {column!r} in X.{did_you_mean(str(column), X.columns)} "
                                         f"Columns: {list_values(X.columns)}.")
                seen = set(X[column].dropna().unique().tolist())
                bad = [v for v in vals if v not in seen]
                if bad:
                    raise InputDataError(
                        f"{where}: column {column!r} never holds {list_values(bad)}; it holds "
                        f"{list_values(sorted(seen, key=str))}.{did_you_mean(str(bad[0]), map(str, seen))} "
                        "Fix the value (mind text vs number) or remove the entry.")
    return checked


def violations(frame: pd.DataFrame, constraints: list[dict]) -> np.ndarray:
    """Rows matching every 'if' condition and any 'then_not' condition."""
    bad = np.zeros(len(frame), dtype=bool)
    for entry in constraints:
        when = np.logical_and.reduce([frame[c].isin(v).to_numpy() for c, v in entry["if"].items()])
        hit = np.logical_or.reduce([frame[c].isin(v).to_numpy() for c, v in entry["then_not"].items()])
        bad |= when & hit
    return bad
