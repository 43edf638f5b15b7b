"""Score data with an opened model: match the data's columns to the model's inputs, then predict.

One score per case is what an audit needs: the probability of the class that means 'selected' where
the model gives class probabilities, otherwise its decision function or prediction.  Which class that
is must be unambiguous; where it is not, the error asks for ``selected_class`` rather than guess.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._text import did_you_mean, list_values, normalise_name
from ..exceptions import AuditkitError, InputDataError, UsageError
from ._loaded import LoadedModel, OnnxModel, n_inputs

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["align_features", "model_predict"]

_ASK = "Ask the agency for a fresh export of the model, or for its scores on a data file."


def align_features(model: LoadedModel, X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Select and order the columns of ``X`` the model takes, by the input names the model records.

    Returns the aligned frame (columns named as the model names them) and notes to show: columns left
    out, names matched despite case or spacing, and a warning where the model records no names.

    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"age": [20.0, 30.0], "income": [1.0, 2.0], "nationality": ["NL", "MA"]})
    >>> est = LinearRegression().fit(X[["income", "age"]], [0.0, 1.0])
    >>> model = LoadedModel(est, "pickle", "m.pkl", "", None, False, feature_names=("income", "age"))
    >>> frame, notes = align_features(model, X)
    >>> list(frame.columns)
    ['income', 'age']
    >>> print(notes[0])
    The data has 1 column(s) the model does not take as input; they were left out of the model's input: 'nationality'.
    """
    label = Path(model.path).name
    columns = [str(c) for c in X.columns]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise InputDataError(f"The data has duplicate column names {list_values(dupes)}; rename them so that "
                             f"each input of the model in {label!r} is one column.")
    names = model.feature_names
    if names is None:
        return _align_by_position(model, X, label)
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputDataError(f"The model in {label!r} records the input name(s) {list_values(dupes)} more than once, "
                             "so its inputs cannot be matched to the data's columns by name. The file is corrupt or "
                             f"was edited. {_ASK}")
    source, notes = _match_names(names, columns, label)
    extra = [c for c in columns if c not in source]
    if extra:
        notes.insert(0, f"The data has {len(extra)} column(s) the model does not take as input; they were left "
                        f"out of the model's input: {list_values(extra, limit=30)}.")
    if getattr(type(model.estimator), "remote", False):
        # The worker gets each batch's columns straight from X (no copy here; the write into shared memory is the
        # one copy), as the same column-major matrix a copied frame would give it.
        import pandas as pd

        return pd.DataFrame({name: X[col] for name, col in zip(names, source)}, copy=False), notes
    frame = X.loc[:, source]
    frame.columns = list(names)
    return frame, notes


def _match_names(names: tuple[str, ...], columns: list[str], label: str) -> tuple[list[str], list[str]]:
    """The data column for each input name (exact, else the one equal up to case and spaces), and notes."""
    by_norm: dict[str, list[str]] = {}
    for c in columns:
        by_norm.setdefault(normalise_name(c), []).append(c)
    source, notes, missing = [], [], []
    for name in names:
        near = [name] if name in columns else by_norm.get(normalise_name(name), [])
        if len(near) == 1:
            source.append(near[0])
            if near[0] != name:
                notes.append(f"Data column {near[0]!r} was used as the model's input {name!r} (case or spaces differ).")
        else:
            missing.append(name)
    if missing:
        hints = [f"{m!r}{did_you_mean(m, [c for c in columns if c not in source]).replace(' Did', ' (did')}"
                 .replace("?", "?)") for m in missing]
        raise InputDataError(
            f"The model in {label!r} needs {len(missing)} input column(s) the data does not have: "
            f"{', '.join(hints)}. The data's columns are: {list_values(columns, limit=30)}. Add or rename "
            "those columns so that they match the model's input names exactly.")
    return source, notes


def _align_by_position(model: LoadedModel, X: pd.DataFrame, label: str) -> tuple[pd.DataFrame, list[str]]:
    expected = n_inputs(model.estimator)
    if expected is not None and X.shape[1] != expected:
        raise InputDataError(
            f"The model in {label!r} does not record its input names, so the data must have exactly {expected} "
            f"column(s), in the order the model was trained on; it has {X.shape[1]}: "
            f"{list_values([str(c) for c in X.columns], limit=30)}. Pass only those {expected} columns, in the "
            "order the agency documents.")
    return X, [f"The model in {label!r} does not record its input names: the data's columns were used in their "
               f"order ({list_values([str(c) for c in X.columns], limit=30)}). Check that this is the order the "
               "model was trained on."]


def model_predict(model: LoadedModel, X: pd.DataFrame, *, batch_size: int = 50_000, progress: bool = False,
                  selected_class: object = None) -> tuple[np.ndarray, str]:
    """One score per row of ``X``: the probability of the 'selected' class where the model gives one.

    Columns are aligned by name first (:func:`align_features`).  ``selected_class`` names the class that
    means 'selected' when the classes are not 0/1 (or False/True); a multiclass model needs it.  Returns
    the scores as floats and the method used: "predict_proba[:, 1]", "decision_function", "predict",
    "onnx:<output name>", "xgboost" or "lightgbm".

    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> est = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> model = LoadedModel(est, "pickle", "m.pkl", "", None, False, feature_names=("x",))
    >>> scores, method = model_predict(model, X)
    >>> method, scores.shape, bool(scores[3] > scores[0])
    ('predict_proba[:, 1]', (4,), True)
    """
    import numpy as np

    if not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive whole number; got {batch_size!r}.")
    frame, _ = align_features(model, X)
    remote = getattr(type(model.estimator), "remote", False)
    if remote:
        score, method = _remote_scorer(model, frame, selected_class)
    else:
        score, method = _checked_scorer(model, selected_class)
    starts = range(0, len(frame), batch_size)
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(starts), file=sys.stderr, unit="batch", desc="scoring")
        except ImportError:
            pass
    step = bar.update if bar is not None else None
    if remote:
        parts = score(frame, batch_size, step)
    else:
        parts = []
        for start in starts:
            parts.append(_run(score, frame.iloc[start:start + batch_size], model))
            if step is not None:
                step(1)
    if bar is not None:
        bar.close()
    return (np.concatenate(parts) if parts else np.empty(0)).astype(float), method


def _remote_scorer(model: LoadedModel, frame: pd.DataFrame, selected: object) -> tuple[Callable, str]:
    """Scoring in the model worker: each batch goes there as arrays, its scores come back as an array."""
    est: Any = model.estimator
    _, method = est.score(frame.iloc[:0], selected)  # the method, and errors such as a multiclass model, first
    return (lambda whole, size, step: est.score_all(whole, size, selected, step)), method


def _checked_scorer(model: LoadedModel, selected: object) -> tuple[Callable, str]:
    """:func:`_scorer`, with whatever a lying model object raises turned into a message."""
    try:
        return _scorer(model, selected)
    except AuditkitError:
        raise
    except Exception as err:  # noqa: BLE001 - class labels and attributes come from the file
        raise InputDataError(f"The model in {Path(model.path).name!r} cannot be used for scoring: reading its "
                             f"classes and methods failed ({type(err).__name__}: {str(err).strip()[:300]}). The "
                             f"file is corrupt or was edited. {_ASK}") from None


def _run(score: Callable, batch: pd.DataFrame, model: LoadedModel) -> np.ndarray:
    import numpy as np

    try:
        out = np.asarray(score(batch), dtype=float)
    except AuditkitError:
        raise
    except Exception as err:  # noqa: BLE001 - the model's own code can fail in any way on bad input
        text = [c for c in batch.columns if batch[c].dtype == object or str(batch[c].dtype) in ("str", "string")]
        blank = [c for c in batch.columns if batch[c].isna().any()]
        hint = (f" Columns holding text: {list_values(text)} (if they hold numbers, convert them, e.g. with "
                "pandas.to_numeric)." if text else "")
        hint += f" Columns with missing values: {list_values(blank)}." if blank else ""
        raise InputDataError(f"The model in {Path(model.path).name!r} could not score the data "
                             f"({type(err).__name__}: {str(err).strip()[:300]}).{hint}") from None
    if out.ndim != 1:
        raise InputDataError(f"The model in {Path(model.path).name!r} gave {out.shape[1]} numbers per case, not "
                             "one; pass selected_class to say which class means 'selected'.")
    return out


def _scorer(model: LoadedModel, selected: object) -> tuple[Callable, str]:
    """A function from an aligned batch to 1-d scores, and the method's name."""
    est: Any = model.estimator
    plain = model.feature_names is None or model.names_given
    if isinstance(est, OnnxModel):
        return _onnx_scorer(model, est, selected)
    module = type(est).__module__
    if module.startswith("xgboost") and type(est).__name__ == "Booster":
        import xgboost

        col = _pick(model, None, selected, width=None)
        return (lambda b: _column(est.predict(xgboost.DMatrix(b.to_numpy() if plain else b)), col, model)), "xgboost"
    if module.startswith("lightgbm") and type(est).__name__ == "Booster":
        col = _pick(model, None, selected, width=None)
        return (lambda b: _column(est.predict(b.to_numpy() if plain else b), col, model)), "lightgbm"
    feed = (lambda b: b.to_numpy()) if plain else (lambda b: b)
    classes = getattr(est, "classes_", None)
    if hasattr(est, "predict_proba"):
        col = _pick(model, classes, selected, width=None)
        return (lambda b: _column(est.predict_proba(feed(b)), col, model)), f"predict_proba[:, {col}]"
    if hasattr(est, "decision_function"):
        col = _pick(model, classes, selected, width=2)
        sign = 1.0 if col == 1 else -1.0  # a binary decision_function scores classes_[1]
        return (lambda b: sign * _column(est.decision_function(feed(b)), None, model)), \
            "decision_function" if col == 1 else "-decision_function"
    if selected is not None:
        return (lambda b: (est.predict(feed(b)) == selected).astype(float)), f"predict == {selected!r}"
    return (lambda b: est.predict(feed(b))), "predict"


def _pick(model: LoadedModel, classes: Any, selected: object, width: int | None) -> int:
    """Which column of a class-probability output means 'selected'."""
    label = Path(model.path).name
    if classes is None:
        if selected is None or (isinstance(selected, int) and selected >= 0):
            return 1 if selected is None else selected
        raise InputDataError(f"The model in {label!r} records no class labels, so selected_class must be a column "
                             f"number (0, 1, ...) of its output; got {selected!r}.")
    values = [c.item() if hasattr(c, "item") else c for c in classes]
    if selected is not None:
        if selected not in values:
            raise InputDataError(f"selected_class {selected!r} is not one of the classes of the model in "
                                 f"{label!r}: {list_values(values)}.{did_you_mean(str(selected), map(str, values))}")
        return values.index(selected)
    if len(values) > 2:
        raise InputDataError(
            f"The model in {label!r} is a multiclass classifier with {len(values)} classes ({list_values(values)}): "
            "auditkit needs one score per case, so it must know which class means 'selected'. Ask the agency "
            "which class leads to selection, and pass it as selected_class.")
    if len(values) == 2 and set(values) not in ({0, 1}, {False, True}, {-1, 1}):
        raise InputDataError(
            f"The model in {label!r} has the classes {values[0]!r} and {values[1]!r}: which one means 'selected' "
            "(flagged for investigation)? Pass it as selected_class.")
    return len(values) - 1


def _column(out: Any, col: int | None, model: LoadedModel) -> Any:
    import numpy as np

    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] == 1:
        return out[:, 0]
    if out.ndim == 2 and col is not None:
        if out.shape[1] > 2 and col == 1 and model is not None:
            raise InputDataError(
                f"The model in {Path(model.path).name!r} gives {out.shape[1]} class probabilities per case "
                "(a multiclass model): pass selected_class (the column number) to say which class means 'selected'.")
        return out[:, col]
    return out


def _onnx_scorer(model: LoadedModel, onnx_model: OnnxModel, selected: object) -> tuple[Callable, str]:
    import numpy as np

    types = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(string)": object, "tensor(bool)": bool}
    name, kind, _ = next((o for o in onnx_model.outputs if "prob" in o[0].lower() or o[1].startswith("seq(map")),
                         next((o for o in onnx_model.outputs if o[1] in ("tensor(float)", "tensor(double)")),
                              onnx_model.outputs[0]))
    labels = onnx_model.class_labels
    col = _pick(model, labels, selected, width=None) if labels is not None or selected is not None else 1
    key = labels[col] if labels is not None else col

    def feeds(batch: pd.DataFrame) -> dict:
        if len(onnx_model.inputs) == 1:
            iname, itype, _ = onnx_model.inputs[0]
            return {iname: batch.to_numpy().astype(types.get(itype, np.float32))}
        return {iname: batch[iname].to_numpy().astype(types.get(itype, np.float32)).reshape(-1, 1)
                for iname, itype, _ in onnx_model.inputs}

    def score(batch: pd.DataFrame) -> np.ndarray:
        out = onnx_model.session.run([name], feeds(batch))[0]
        if kind.startswith("seq(map"):
            return np.array([row[key] for row in out], dtype=float)
        return _column(out, col, model)

    suffix = f"[{key!r}]" if kind.startswith("seq(map") else "" if "prob" not in name.lower() else f"[:, {col}]"
    return score, f"onnx:{name}{suffix}"
