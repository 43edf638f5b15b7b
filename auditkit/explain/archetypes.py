"""Archetypes: named example persons, read from YAML and scored side by side for a report.

A table of scores is abstract; "Fatima, a single mother who speaks Arabic at home, scores 0.41 and is
selected; Anna, identical except that she speaks Dutch, scores 0.12 and is not" is what readers of an
audit remember.  The file format is documented in docs/explanations.md (section "Archetypes").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError

__all__ = ["archetype_defaults", "load_archetypes", "score_archetypes"]

KEYS = ("name", "description", "features", "groups")
_EXAMPLE = "archetypes:\n  - name: Fatima\n    features: {age: 34, language: other}\n"


def load_archetypes(path: str | os.PathLike[str]) -> list[dict]:
    """Read and check an archetype file.

    Parameters
    ----------
    path : str or path-like
        YAML file with a top-level ``archetypes:`` list; each entry has ``name`` and ``features``
        and optionally ``description`` and ``groups``.

    Returns
    -------
    list of dict
        One ``{"name", "description", "features", "groups"}`` per archetype, in file order;
        ``description`` is None when absent, ``groups`` maps attribute to label text.

    Raises
    ------
    InputDataError
        The file is missing or not YAML, or an entry lacks a name or features, has an unknown
        (e.g. misspelt) key or a duplicate name; the message names the file, entry and key.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "people.yaml"
    ...     _ = path.write_text(_EXAMPLE, encoding="utf-8")
    ...     load_archetypes(path)
    [{'name': 'Fatima', 'description': None, 'features': {'age': 34, 'language': 'other'}, 'groups': {}}]
    """
    import yaml

    from .._yaml import YamlLimitError, load_yaml

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"Archetype file {str(path)!r} does not exist (or is not a file); check the path.")
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except YamlLimitError as exc:
        raise InputDataError(f"Archetype file {str(path)!r} is refused: {exc} {exc.fix}".rstrip()) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputDataError(f"Archetype file {str(path)!r} is not valid UTF-8 YAML{where}: "
                             f"{getattr(exc, 'problem', None) or exc}. Expected, for example:\n{_EXAMPLE}") from None
    entries = _top_level(path, doc)
    out = [_entry(path, i, entry) for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for i, a in enumerate(out):
        if a["name"] in seen:
            raise InputDataError(f"{path}, archetype #{i + 1}: the name {a['name']!r} is used twice; names label "
                                 f"the report's rows, so make each one unique.")
        seen.add(a["name"])
    return out


def _top_level(path: Path, doc: Any) -> list:
    keys = [str(k) for k in doc] if isinstance(doc, dict) else []
    extra = [k for k in keys if k != "archetypes"]
    if not isinstance(doc, dict) or extra:
        found = f"the key {extra[0]!r}" if extra else f"a {type(doc).__name__}"
        hint = did_you_mean(extra[0], ["archetypes"]) if extra else ""
        raise InputDataError(f"{path}: expected one top-level key 'archetypes' holding a list of persons; found "
                             f"{found}.{hint} Expected, for example:\n{_EXAMPLE}")
    entries = doc.get("archetypes")
    if not isinstance(entries, list) or not entries:
        raise InputDataError(f"{path}: 'archetypes' must be a non-empty list of persons (lines starting with "
                             f"'- name: ...'); found {type(entries).__name__}.")
    return entries


def _entry(path: Path, i: int, entry: Any) -> dict:
    where = f"{path}, archetype #{i + 1}"
    if not isinstance(entry, dict):
        raise InputDataError(f"{where}: expected a mapping with 'name' and 'features'; found "
                             f"{type(entry).__name__} {entry!r}.")
    name = entry.get("name")
    if isinstance(name, str) and name.strip():
        where += f" ({name.strip()!r})"
    unknown = [str(k) for k in entry if k not in KEYS]
    if unknown:
        raise InputDataError(f"{where}: unknown key {unknown[0]!r}; an archetype has the keys "
                             f"{list_values(KEYS)}.{did_you_mean(unknown[0], KEYS)}")
    if not isinstance(name, str) or not name.strip():
        raise InputDataError(f"{where}: key 'name' is missing or empty; give each archetype a name (text).")
    features, groups = entry.get("features"), entry.get("groups") or {}
    if not isinstance(features, dict) or not features:
        raise InputDataError(f"{where}: key 'features' must be a non-empty mapping of feature name to value, "
                             f"e.g. features: {{age: 34, language: other}}; found {features!r}.")
    for key, value in features.items():
        if isinstance(value, (dict, list)):
            raise InputDataError(f"{where}: feature {key!r} has a {type(value).__name__} value; expected one "
                                 f"value (number, text, true/false or null).")
    if not isinstance(groups, dict):
        raise InputDataError(f"{where}: key 'groups' must be a mapping of attribute to group label, e.g. "
                             f"groups: {{gender: F}}; found {groups!r}.")
    description = entry.get("description")
    return {"name": name.strip(), "description": None if description is None else str(description),
            "features": {str(k): v for k, v in features.items()},
            "groups": {str(k): str(v) for k, v in groups.items()}}


def archetype_defaults(X: pd.DataFrame) -> pd.Series:
    """Typical values to fill an archetype's missing features: median of numbers, most common value otherwise.

    The median of an integer column is rounded to a whole number (a person has 2 children, not 1.5);
    ties for the most common value go to the first in sorted order; an all-missing column gives None.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [30, 41, 50], "children": [0, 1, 2], "language": ["nl", "other", "nl"]})
    >>> archetype_defaults(X).to_dict()
    {'age': 41, 'children': 1, 'language': 'nl'}
    """
    out: dict[str, Any] = {}
    for col in X.columns:
        s = X[col].dropna()
        if s.empty:
            out[col] = None
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            median = float(s.median())
            out[col] = int(round(median)) if pd.api.types.is_integer_dtype(s) else median
        else:
            counts = s.value_counts()
            out[col] = _plain(sorted(counts.index[counts == counts.max()], key=str)[0])
    return pd.Series(out, dtype=object)


def score_archetypes(archetypes: Sequence[Mapping[str, Any]], predict: Callable[[pd.DataFrame], np.ndarray],
                     feature_names: Sequence[str], *, decide: Callable[[np.ndarray], np.ndarray] | None = None,
                     defaults: pd.Series | None = None,
                     reference_scores: Sequence[float] | np.ndarray | None = None) -> list[dict]:
    """Score each archetype with the model, side by side.

    Parameters
    ----------
    archetypes : sequence of mapping
        As returned by :func:`load_archetypes`.
    predict : callable
        DataFrame (columns ``feature_names``) -> 1-d scores; higher means more likely selected.
    feature_names : sequence of str
        The model's input features, in order.
    decide : callable, optional
        Scores -> decisions (e.g. ``lambda s: s >= threshold``), reported as ``decision``.
    defaults : pandas.Series, optional
        Values for features an archetype leaves out (e.g. :func:`archetype_defaults` of the data);
        the features filled are listed in ``filled_from_defaults``.
    reference_scores : array-like, optional
        Scores of the real population; gives each archetype's ``rank`` (1 = highest score) and
        ``percentile`` (share of reference scores at or below it, in %).

    Returns
    -------
    list of dict
        ``name``, ``description``, ``groups``, ``features`` (every value used), ``filled_from_defaults``,
        ``score``, ``decision``, ``rank``, ``percentile``, ``reference_rows`` (None when not asked for).

    Examples
    --------
    >>> people = [{"name": "Fatima", "features": {"language": 1, "age": 34}},
    ...           {"name": "Anna", "features": {"language": 0}}]
    >>> predict = lambda df: 0.1 + 0.3 * df["language"].to_numpy()
    >>> out = score_archetypes(people, predict, ["language", "age"], decide=lambda s: s >= 0.25,
    ...                        defaults=pd.Series({"age": 40}), reference_scores=[0.1, 0.2, 0.3, 0.5])
    >>> [(o["name"], round(o["score"], 2), o["decision"], o["rank"], o["filled_from_defaults"]) for o in out]
    [('Fatima', 0.4, True, 2, []), ('Anna', 0.1, False, 4, ['age'])]
    """
    names = [str(f) for f in feature_names]
    rows, filled = [], []
    for i, a in enumerate(archetypes):
        row, missing = _row(i, a, names, defaults)
        rows.append(row)
        filled.append(missing)
    frame = pd.DataFrame(rows, columns=names).infer_objects()
    scores = np.asarray(predict(frame), dtype=float).reshape(-1)
    if len(scores) != len(rows):
        raise InputDataError(f"predict returned {len(scores)} scores for {len(rows)} archetypes; it must return "
                             f"one score per row, e.g. lambda X: model.predict_proba(X)[:, 1].")
    decisions = None if decide is None else np.asarray(decide(scores)).reshape(-1)
    ref = None if reference_scores is None else np.asarray(reference_scores, dtype=float)
    ref = None if ref is None else np.sort(ref[np.isfinite(ref)])
    out = []
    for i, (a, row) in enumerate(zip(archetypes, rows)):
        score = float(scores[i]) if np.isfinite(scores[i]) else None
        rank = pct = None
        if ref is not None and len(ref) and score is not None:
            rank = int(len(ref) - np.searchsorted(ref, score, side="right") + 1)
            pct = float(100.0 * np.searchsorted(ref, score, side="right") / len(ref))
        out.append({"name": str(a["name"]), "description": a.get("description"), "groups": dict(a.get("groups") or {}),
                    "features": {k: _plain(v) for k, v in row.items()}, "filled_from_defaults": filled[i],
                    "score": score, "decision": None if decisions is None else _plain(decisions[i]),
                    "rank": rank, "percentile": pct, "reference_rows": None if ref is None else int(len(ref))})
    return out


def _row(i: int, a: Mapping[str, Any], names: list[str], defaults: pd.Series | None) -> tuple[dict, list[str]]:
    """One model row for archetype ``a``, and the features taken from ``defaults``."""
    if not isinstance(a, Mapping) or "name" not in a or not isinstance(a.get("features"), Mapping):
        raise InputDataError(f"Archetype #{i + 1} must be a mapping with 'name' and 'features' (as returned by "
                             f"load_archetypes); got {a!r}.")
    given = {str(k): v for k, v in a["features"].items()}
    for key in given:
        if key not in names:
            raise InputDataError(f"Archetype {a['name']!r} has feature {key!r}, which is not a model feature; the "
                                 f"model's features are {list_values(names)}.{did_you_mean(key, names)} Fix the "
                                 f"name in the archetype file.")
    missing = [f for f in names if f not in given]
    no_default = [f for f in missing if defaults is None or f not in defaults.index]
    if no_default:
        raise InputDataError(f"Archetype {a['name']!r} gives no value for {list_values(no_default)} and there is "
                             f"no default; add them to its features or pass defaults= (e.g. "
                             f"archetype_defaults(X)).")
    return {f: given[f] if f in given else defaults[f] for f in names}, missing  # type: ignore[index]


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
