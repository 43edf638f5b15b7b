"""What an opened model file is, and what the model records about its inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    """Input names the model records, or None (LightGBM's made-up Column_0... count as none)."""
    if isinstance(est, OnnxModel):
        return est.feature_names
    names = getattr(est, "feature_names_in_", None)
    if names is None and type(est).__module__.startswith("xgboost"):
        booster = est.get_booster() if hasattr(est, "get_booster") else est
        names = booster.feature_names
    if names is None and type(est).__module__.startswith("lightgbm"):
        booster = getattr(est, "booster_", est)
        names = booster.feature_name()
        if list(names) == [f"Column_{i}" for i in range(len(names))]:
            names = None
    return tuple(str(n) for n in names) if names is not None else None


def n_inputs(est: object) -> int | None:
    """How many input columns the model takes, if it says."""
    if isinstance(est, OnnxModel):
        return est.n_features
    for attr in ("n_features_in_", "num_features", "num_feature"):
        value = getattr(est, attr, None)
        if value is not None:
            return int(value() if callable(value) else value)
    return None
