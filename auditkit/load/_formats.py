"""Model formats that open without running code from the file, and what to say about those that do not.

ONNX, XGBoost and LightGBM native files are opened by the library that reads them; each loader turns
that library's errors into messages that say what the file is not, and records what the file says about
the version that wrote it.  Formats auditkit recognises but cannot open (:data:`CANNOT_OPEN`: R, PMML,
SAS, PyTorch, Keras) are refused with :data:`ASK_INSTEAD`: what to ask the agency for instead.
Pickle, joblib and skops files, which rebuild Python objects, go through :mod:`auditkit.load._unpickle`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..exceptions import InputDataError
from ._loaded import LoadedModel, OnnxModel, feature_names_of

__all__ = ["ASK_INSTEAD", "CANNOT_OPEN", "load_lightgbm", "load_onnx", "load_xgboost", "sha256"]

#: What to ask the agency for when auditkit cannot open or trust a model file.
ASK_INSTEAD = ("Ask the agency instead for the model's scores on a data file (CSV or Parquet, one row per case; "
               "audit those with `auditkit audit --score`), an ONNX or skops export of the model, or the "
               "model's coefficients, scorecard points or rules, which auditkit scores as a published "
               "specification (a CSV 'term,weight' or YAML; see docs/published-models.md).")
#: Formats auditkit recognises but cannot open, and why; messages go on with :data:`ASK_INSTEAD`.
CANNOT_OPEN = {
    "r": "is an R model file, and auditkit cannot run R models.",
    "pmml": "is a PMML model, and auditkit does not evaluate PMML (the maintained PMML evaluators, jpmml-evaluator "
            "and pypmml, need a Java runtime; a regression model's or scorecard's PMML lists its weights or points, "
            "which can be written out as a published specification).",
    "sas": "is a SAS file: .sas7bdat is a SAS data set (if it holds scores, export it as CSV and audit that), "
           ".sas and .spk are SAS programs or packages that need SAS to run.",
    "pytorch": "is a PyTorch file: loading it unpickles code, and auditkit does not run PyTorch. "
               "An ONNX export (torch.onnx.export) opens directly.",
    "keras": "is a Keras/TensorFlow model, which auditkit does not run. An ONNX export (tf2onnx) opens directly.",
}


def load_onnx(path: Path, trust: bool) -> LoadedModel:
    """Open an ONNX graph with onnxruntime (CPU), with its inputs, outputs and, if onnx is there, its graph."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: library code does not print
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise InputDataError(f"{path.name!r} is not an ONNX model onnxruntime can open: {err}") from None
    meta = session.get_modelmeta()
    inputs = tuple((i.name, i.type, tuple(i.shape)) for i in session.get_inputs())
    outputs = tuple((o.name, o.type, tuple(o.shape)) for o in session.get_outputs())
    width = inputs[0][2][1] if len(inputs) == 1 and len(inputs[0][2]) == 2 else None
    names = tuple(i[0] for i in inputs) if len(inputs) > 1 else None
    if len(inputs) == 1:
        listed = _listed_names(meta.custom_metadata_map)
        names = listed if listed and isinstance(width, int) and len(listed) == width else None
    graph = _onnx_graph(path)
    needs = {meta.producer_name or "producer": graph.pop("producer", "")}
    opset = graph.pop("opset", None)
    if opset:
        needs["onnx opset"] = str(opset)
    count = width if isinstance(width, int) else len(inputs) if len(inputs) > 1 else None
    model = OnnxModel(session, inputs, outputs, names, count, **graph)
    return LoadedModel(model, "onnx", str(path), sha256(path), None, False, needs, names, ())


def _listed_names(props: dict) -> tuple[str, ...] | None:
    for key in ("feature_names", "features", "input_names", "columns"):
        text = props.get(key)
        if text:
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to be a list of names
                value = [part.strip() for part in text.split(",")]
            return tuple(str(v) for v in value) if isinstance(value, list) else None
    return None


def _onnx_graph(path: Path) -> dict:
    """Node count, operator types, parameter count and class labels, if the onnx package is there."""
    try:
        import onnx
    except ImportError:
        return {}
    try:
        proto = onnx.load(str(path), load_external_data=False)  # never follow paths the file names
    except Exception:  # noqa: BLE001 - onnxruntime opened it; the description is a bonus
        return {}
    labels = None
    for node in proto.graph.node:
        for attr in node.attribute:
            if attr.name in ("classlabels_int64s", "classlabels_strings", "classlabels_ints"):
                labels = tuple(attr.ints) or tuple(s.decode("utf-8", "replace") for s in attr.strings)
    # weights live in initializers (neural networks) or in node attributes (ONNX-ML linear and tree operators);
    # counted from the declared shape, so a malformed initializer the graph never uses is no error
    params = sum(_size(t.dims) if not t.external_data else 0 for t in proto.graph.initializer)
    params += sum(len(a.floats) for n in proto.graph.node for a in n.attribute)
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None)
    return {"nodes": len(proto.graph.node), "op_types": tuple(sorted({n.op_type for n in proto.graph.node})),
            "parameters": params, "class_labels": labels, "producer": proto.producer_version, "opset": opset}


def _size(dims) -> int:
    size = 1
    for d in dims:
        size *= max(int(d), 0)
    return size


def load_xgboost(path: Path, trust: bool) -> LoadedModel:
    """Open an XGBoost JSON or UBJSON model as a ``Booster``."""
    import xgboost

    try:
        booster = xgboost.Booster(model_file=str(path))
    except Exception as err:  # noqa: BLE001 - xgboost raises XGBoostError for any malformed file
        raise InputDataError(f"{path.name!r} is not an XGBoost model xgboost can open: {err}") from None
    names = tuple(booster.feature_names) if booster.feature_names else None
    return LoadedModel(booster, "xgboost", str(path), sha256(path), None, False,
                       {"xgboost": _xgboost_saved_version(path)}, names, ())


def _xgboost_saved_version(path: Path) -> str:
    """The version that wrote the file: the top-level "version": [major, minor, patch] (JSON or UBJSON)."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"{" and raw.lstrip()[1:2] != b"L":  # JSON
        try:
            version = json.loads(raw).get("version", [])
            return ".".join(map(str, version))[:40] if isinstance(version, list) else ""
        except (ValueError, RecursionError, AttributeError):
            return ""
    found = re.search(rb"version\[#L.{8}i(.)i(.)i(.)", raw[-64:], re.S)  # UBJSON: three int8 values
    return ".".join(str(b[0]) for b in found.groups()) if found else ""


def load_lightgbm(path: Path, trust: bool) -> LoadedModel:
    """Open a LightGBM text model as a ``Booster``."""
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as err:  # noqa: BLE001 - lightgbm raises LightGBMError for any malformed file
        raise InputDataError(f"{path.name!r} is not a LightGBM model lightgbm can open: {err}") from None
    return LoadedModel(booster, "lightgbm", str(path), sha256(path), None, False, {"lightgbm": ""},
                       feature_names_of(booster), ())


def sha256(path: Path) -> str:
    """The SHA-256 of the file, read in blocks of 1 MiB."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
