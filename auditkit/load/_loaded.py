"""What an opened model file is, and what the model records about its inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..exceptions import InputDataError
from ._pickle_scan import PickleScan

__all__ = ["LoadedModel", "OnnxModel", "feature_names_of", "n_inputs"]


@dataclass(frozen=True)
class OnnxModel:
    """An ONNX graph opened with onnxruntime, with what auditkit needs to feed and describe it."""

    session: Any
    inputs: tuple[tuple[str, str, tuple], ...]  # (name, type, shape)
    outputs: tuple[tuple[str, str, tuple], ...]
    feature_names: tuple[str, ...] | None
    n_features: int | None
    nodes: int | None = None
    op_types: tuple[str, ...] = ()
    parameters: int | None = None
    class_labels: tuple | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model file, opened: the model object and where it came from."""

    estimator: object
    format: str
    path: str
    sha256: str
    scan: PickleScan | None
    trusted: bool
    needs: dict[str, str] = field(default_factory=dict)
    feature_names: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()
    #: The input names were given to a model that records none (``--features``, or the data's
    #: candidate columns): the model itself is still fed bare arrays.
    names_given: bool = False


def feature_names_of(est: Any) -> tuple[str, ...] | None:
    """Input names the model records, or None (LightGBM's made-up Column_0... count as none).

    A model whose recorded names are not a list of names (``feature_names_in_ = 5``) is an error that
    says so, not a traceback.
    """
    if isinstance(est, OnnxModel) or getattr(type(est), "remote", False):
        return est.feature_names
    try:
        names = _recorded_names(est)
        if names is None:
            return None
        if isinstance(names, (str, bytes)) or not hasattr(names, "__len__") or len(names) > 10_000_000:
            raise TypeError
        out = tuple(n if isinstance(n, str) else str(n) for n in names if _scalar(n))
        if len(out) != len(names):
            raise TypeError
        return out
    except (TypeError, ValueError, AttributeError, RecursionError):
        raise InputDataError(f"The model ({type(est).__name__}) records input names that are not a list of names "
                             f"({_brief(getattr(est, 'feature_names_in_', None))}). The file is corrupt or was "
                             "edited.") from None


def _recorded_names(est: Any) -> Any:
    names = getattr(est, "feature_names_in_", None)
    if names is None and type(est).__module__.startswith("xgboost"):
        booster = est.get_booster() if hasattr(est, "get_booster") else est
        names = booster.feature_names
    if names is None and type(est).__module__.startswith("lightgbm"):
        booster = getattr(est, "booster_", est)
        names = booster.feature_name()
        if list(names) == [f"Column_{i}" for i in range(len(names))]:
            names = None
    return names


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) or (hasattr(value, "item") and getattr(value, "ndim", 1) == 0)


def _brief(value: Any) -> str:
    text = f"{type(value).__name__} {value!r}" if isinstance(value, (int, float, str)) else type(value).__name__
    return text[:80]


def n_inputs(est: object) -> int | None:
    """How many input columns the model takes, if it says (an error if what it says is not a count)."""
    if isinstance(est, OnnxModel) or getattr(type(est), "remote", False):
        return est.n_features  # type: ignore[union-attr]
    for attr in ("n_features_in_", "num_features", "num_feature"):
        try:
            value = getattr(est, attr, None)
            if value is None:
                continue
            value = value() if callable(value) else value
        except Exception:  # noqa: BLE001 - a model object that fails to say is a model that does not say
            continue
        if isinstance(value, bool) or not isinstance(value, (int,)) and not (
                hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iu"):
            raise InputDataError(f"The model ({type(est).__name__}) says it takes {_brief(value)} input columns "
                                 f"({attr}), not a whole number. The file is corrupt or was edited.")
        if not 0 <= int(value) < 2**40:
            raise InputDataError(f"The model ({type(est).__name__}) says it takes {int(value):,} input columns "
                                 f"({attr}). The file is corrupt or was edited.")
        return int(value)
    return None
