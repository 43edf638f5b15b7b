"""Names for the inputs of a model that records none.

An ONNX file exported with one input tensor (the default of skl2onnx and
tf2onnx), or a scikit-learn model fitted on a numpy array, knows how many inputs
it takes but not what they are.  Fed the whole data file it would take the
protected attribute, the outcome and the case number as inputs.  So the order
of the inputs is given (``--features COL,COL,...`` or a file listing them), or,
when the data's columns without the protected, outcome and id columns are
exactly as many as the model takes, those columns are used in the file's order,
with a note listing them.  Anything else is an error that shows the count the
model expects and the candidate columns.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError, UsageError
from ._loaded import LoadedModel, n_inputs

__all__ = ["name_inputs", "read_features"]

#: Column names that identify a case rather than describe it (compared case-insensitively).
_ID = re.compile(r"^(id|index|row|rownr|nr|bsn|case|case[ _]?(id|nr|number)|dossier([ _]?(id|nr|nummer))?|"
                 r"client[ _]?(id|nr)|.*[ _]id|id[ _].*)$", re.IGNORECASE)


def read_features(value: str | os.PathLike | Sequence[str] | None) -> tuple[str, ...] | None:
    """``--features``: 'a,b,c', or a YAML list / a mapping with a 'features' list / a CSV or text file with
    one name per line (or one header row).

    >>> read_features("age, income")
    ('age', 'income')
    """
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        return tuple(str(v).strip() for v in value if str(v).strip()) or None
    path = Path(value)
    if path.suffix.lower() in (".yaml", ".yml", ".csv", ".txt") or path.is_file():
        if not path.is_file():
            raise UsageError(f"--features {value}: no such file. Give the file listing the model's inputs, or "
                             "the names themselves: --features COL,COL,...")
        names = _from_file(path)
    else:
        names = [n.strip() for n in str(value).split(",")]
    names = [n for n in names if n]
    if not names:
        raise UsageError(f"--features {value}: no column names found.")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--features names {list_values(twice)} more than once; each input is one column.")
    return tuple(names)


def _from_file(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        from .._yaml import YamlLimitError, load_yaml

        try:
            data = load_yaml(text, aliases=False)
        except (yaml.YAMLError, YamlLimitError) as err:
            raise UsageError(f"--features {path.name}: not valid YAML ({err}).") from None
        if isinstance(data, dict):
            data = data.get("features", data.get("inputs"))
        if not isinstance(data, list):
            raise UsageError(f"--features {path.name}: expected a list of column names (or 'features: [...]').")
        return [str(v).strip() for v in data]
    import csv
    import io

    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if len(rows) == 1:  # a header row, as a CSV of the training data would start
        return [c.strip() for c in rows[0]]
    return [r[0].strip() for r in rows]


def name_inputs(model: LoadedModel, columns: Sequence[str], fields: dict[str, Any],
                features: Sequence[str] | None) -> tuple[LoadedModel, list[str]]:
    """``model`` with its input names set (from ``features``, or the candidate columns), and notes.

    A model that records its names is returned as it is (``features`` must then be those names).
    """
    label = Path(model.path).name
    expected = n_inputs(model.estimator)
    columns = [str(c) for c in columns]
    if model.feature_names is not None:
        if features is not None and set(features) != set(model.feature_names):
            raise UsageError(f"The model in {label!r} records its input names ({list_values(model.feature_names)}); "
                             "--features is for models that do not. Drop --features.")
        return model, []
    if features is not None:
        missing = [f for f in features if f not in columns]
        if missing:
            raise InputDataError(f"--features names {missing[0]!r}, which is not a column of the data."
                                 f"{did_you_mean(missing[0], columns)} The columns are {list_values(columns, 30)}.")
        if expected is not None and len(features) != expected:
            raise InputDataError(f"The model in {label!r} takes {expected} inputs; --features names "
                                 f"{len(features)}: {list_values(features, 30)}.")
        return _named(model, features), [f"The model in {label!r} does not record its input names; --features "
                                         f"gave them, in this order: {list_values(features, 40)}."]
    candidates = _candidates(columns, fields)
    if expected is None or len(candidates) != expected:
        raise InputDataError(
            f"The model in {label!r} does not record its input names"
            + (f" and takes {expected} inputs" if expected is not None else " nor how many it takes")
            + f"; the data has {len(candidates)} candidate column(s) besides the protected, outcome and id "
            f"columns: {list_values(candidates, 40)}. Give the inputs in the model's order: --features "
            "COL,COL,... (or a YAML or CSV file listing them); ask the agency for the list of inputs in order."
        )
    return _named(model, candidates), [
        f"The model in {label!r} does not record its input names; it was given the data's {len(candidates)} "
        f"columns besides the protected, outcome and id columns, in the file's order: "
        f"{list_values(candidates, 40)}. Check that this is the order the model was trained on (or give it "
        "with --features)."]


def _candidates(columns: list[str], fields: dict[str, Any]) -> list[str]:
    protected = set(fields.get("protected") or ())
    others = {fields.get(k) for k in ("truth", "decision", "selection_method", "stage", "count_column")}
    return [c for c in columns if c.strip() and not c.startswith("Unnamed:") and c not in protected
            and c not in others and not _ID.match(c.strip()) and c != "auditkit_model_score"]


def _named(model: LoadedModel, names: Sequence[str]) -> LoadedModel:
    return dataclasses.replace(model, feature_names=tuple(names), names_given=True)
