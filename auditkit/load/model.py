"""Open a model file an agency handed over, safely, and score data with it.

Safe formats (ONNX, skops, XGBoost and LightGBM native files) open directly.
Pickle and joblib files run code when loaded, so they are scanned first
(:mod:`auditkit.load._pickle_scan`): a file that would import anything outside
auditkit's allow-list is refused, and nothing in it runs.  An allowed file is
then loaded with an unpickler that enforces the same allow-list on every
import, from the very bytes that were scanned.  ``trust=True`` (the CLI's
``--trust-model``) loads a refused file anyway: it runs the file's code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._text import did_you_mean, list_values, normalise_name
from ..exceptions import AuditkitError, InputDataError, UnsafeModelError, UsageError
from ._pickle_scan import ImportRef, PickleScan, allow_rule, classify, resolve, scan_bytes

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["MODEL_SUFFIXES", "LoadedModel", "OnnxModel", "align_features", "inspect_model", "load_model",
           "model_predict"]

#: File suffix -> format.  Content decides where a suffix is shared (.json, .model, .xml).
MODEL_SUFFIXES = MappingProxyType({
    ".pkl": "pickle", ".pickle": "pickle", ".sav": "pickle", ".joblib": "joblib", ".skops": "skops",
    ".onnx": "onnx", ".json": "xgboost", ".ubj": "xgboost", ".txt": "lightgbm", ".lgb": "lightgbm",
    ".model": "lightgbm", ".rds": "r", ".rda": "r", ".RData": "r", ".rdata": "r", ".pmml": "pmml", ".xml": "pmml",
    ".sas7bdat": "sas", ".sas": "sas", ".spk": "sas", ".pt": "pytorch", ".pth": "pytorch", ".h5": "keras",
    ".keras": "keras",
})

ASK_INSTEAD = ("Ask the agency instead for the model's scores on a data file (CSV or Parquet, one row per case; "
               "audit those with `auditkit audit --score`), an ONNX or skops export of the model, or the "
               "model's coefficients.")
_CANNOT_OPEN = {
    "r": "is an R model file, and auditkit cannot run R models.",
    "pmml": "is a PMML model, and auditkit does not evaluate PMML.",
    "sas": "is a SAS file: .sas7bdat is a SAS data set (if it holds scores, export it as CSV and audit that), "
           ".sas and .spk are SAS programs or packages that need SAS to run.",
    "pytorch": "is a PyTorch file: loading it unpickles code, and auditkit does not run PyTorch. "
               "An ONNX export (torch.onnx.export) opens directly.",
    "keras": "is a Keras/TensorFlow model, which auditkit does not run. An ONNX export (tf2onnx) opens directly.",
}
_TRUST_HINT = ("Use --trust-model (trust=True in Python) only if you trust whoever made the file: it runs the "
               "file's code. Do that in a throwaway virtual machine or container.")


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


def load_model(path: str | os.PathLike, *, trust: bool = False) -> LoadedModel:
    """Open a model file; refuse pickles that would import anything off the allow-list.

    Parameters
    ----------
    path
        The model file (see :data:`MODEL_SUFFIXES`).
    trust
        Load a pickle the scan refused anyway.  This runs the file's code: only for files from someone
        you trust, in a throwaway virtual machine or container.

    Raises
    ------
    UnsafeModelError
        The pickle would import something outside the allow-list (nothing was executed).
    InputDataError
        The file is missing, not a model, in a format auditkit cannot open, or needs other versions.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from sklearn.linear_model import LinearRegression
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), fh)
    >>> model = load_model(fh.name)
    >>> model.format, model.scan.verdict, model.trusted
    ('pickle', 'allowed', False)
    """
    path = _existing(path)
    kind = _kind(path)
    if kind in ("pickle", "joblib"):
        return _load_pickle(path, trust)
    loader = {"skops": _load_skops, "onnx": _load_onnx, "xgboost": _load_xgboost, "lightgbm": _load_lightgbm}
    return loader[kind](path, trust)


def inspect_model(path: str | os.PathLike) -> dict:
    """Describe a model file without loading any pickle: format, hash, imports and verdict, inputs.

    >>> import pickle, tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(os.system, fh)
    >>> info = inspect_model(fh.name)
    >>> info["verdict"], [(i["module"], i["name"], i["status"]) for i in info["imports"]]
    ('refused', [('posix', 'system', 'dangerous')])
    """
    path = _existing(path)
    kind = _kind(path)
    raw = path.read_bytes()
    info: dict[str, Any] = {"file": str(path), "format": kind, "size_bytes": len(raw),
                            "sha256": hashlib.sha256(raw).hexdigest(), "protocol": None, "verdict": "allowed",
                            "imports": [], "problems": [], "notes": [], "inputs": None, "needs": {}}
    scan = scan_bytes(raw, str(path))[0] if kind in ("pickle", "joblib") else None
    if kind == "skops":
        scan = _skops_scan(path)[0]
    if scan is None or (kind == "skops" and scan.verdict == "allowed"):
        model = load_model(path)
        info.update(format=model.format, inputs=list(model.feature_names or ()) or None, needs=model.needs,
                    notes=list(model.notes))
        scan = model.scan or scan
    if scan is not None:
        info.update(format=scan.format, protocol=scan.protocol, verdict=scan.verdict, problems=list(scan.problems),
                    imports=[vars(ref) | {"qualname": ref.qualname} for ref in scan.imports])
        info["notes"] += list(scan.notes)
        if kind in ("pickle", "joblib"):
            info["needs"] = _pickle_needs(scan)
            info["notes"].append("Input names are not shown for pickles: reading them means loading the file.")
    return info


# --------------------------------------------------------------------------------------------------
# Finding the format


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*")]) if path.parent.is_dir() else ""
        raise InputDataError(f"Model file {str(path)!r} does not exist.{hint}")
    if path.is_dir():
        raise InputDataError(f"{str(path)!r} is a folder; give the model file inside it.")
    return path


def _kind(path: Path) -> str:
    """The format, from the suffix, checked against the first bytes of the file."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    suffix = path.suffix if path.suffix in MODEL_SUFFIXES else path.suffix.lower()
    kind = MODEL_SUFFIXES.get(suffix)
    if head[:4] in (b"$FL2", b"$FL3"):
        raise InputDataError(f"{path.name!r} is an SPSS data file, not a model. If it holds scores, save it as CSV "
                             "from SPSS and audit that with `auditkit audit --score`.")
    if kind == "pmml" and b"<PMML" not in head:
        raise InputDataError(f"{path.name!r} is an XML file without a PMML root element: not a model format "
                             f"auditkit knows. {ASK_INSTEAD}")
    if kind in _CANNOT_OPEN:
        raise InputDataError(f"{path.name!r} {_CANNOT_OPEN[kind]} {ASK_INSTEAD}")
    if head[:1] == b"\x80" and kind not in ("pickle", "joblib", "skops", "onnx"):
        return "pickle"  # a pickle under another name is still a pickle: scan it
    if kind == "xgboost" or (kind == "lightgbm" and head.lstrip()[:1] == b"{"):
        if b"learner" not in head[:200]:
            raise InputDataError(f"{path.name!r} is not an XGBoost model: an XGBoost JSON or UBJSON model starts "
                                 f"with a 'learner' key, and this file does not. {ASK_INSTEAD}")
        return "xgboost"
    if kind == "lightgbm" and not head.startswith((b"tree\n", b"tree\r\n", b"version=v")):
        raise InputDataError(f"{path.name!r} is not a LightGBM text model (it does not start with 'tree' or "
                             f"'version=v'). Save the model with booster.save_model('model.txt'). {ASK_INSTEAD}")
    if kind == "skops" and not zipfile.is_zipfile(path):
        raise InputDataError(f"{path.name!r} is not a skops file (a skops file is a zip archive).")
    if kind is None:
        raise InputDataError(
            f"Cannot tell the format of model file {path.name!r} from its extension {path.suffix!r}: expected "
            f"one of {', '.join(sorted({s.lower() for s in MODEL_SUFFIXES}))}.")
    return kind


# --------------------------------------------------------------------------------------------------
# Pickle and joblib


class _Blocked(Exception):
    """The loader met an import the allow-list does not admit."""

    def __init__(self, module: str, name: str, why: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name, self.why = module, name, why


def _load_pickle(path: Path, trust: bool) -> LoadedModel:
    raw = path.read_bytes()
    if not raw:
        raise InputDataError(f"Model file {path.name!r} is empty (0 bytes): ask for the file again.")
    scan, data = scan_bytes(raw, str(path))
    if scan.problems and not scan.offending and any("Python 2" in note for note in scan.notes):
        raise InputDataError(f"{path.name!r} was saved by Python 2 (it holds Python 2 text), which Python 3 "
                             f"cannot read reliably. {ASK_INSTEAD}")
    if scan.protocol is not None and scan.protocol > 5:
        raise InputDataError(f"{path.name!r} was written with pickle protocol {scan.protocol} by a newer Python "
                             f"than this one ({sys.version.split()[0]} reads protocols up to 5). Use a newer "
                             f"Python, or {ASK_INSTEAD[0].lower() + ASK_INSTEAD[1:]}")
    notes = list(scan.notes)
    if scan.verdict == "refused" and not trust:
        raise UnsafeModelError(_refusal(path.name, scan.offending, scan.problems))
    if scan.verdict == "refused":
        import joblib

        notes.append("Loaded with --trust-model: the file's code ran, including "
                     f"{list_values([r.qualname for r in scan.offending], limit=50)}, which are not on the allow-list "
                     f"(it imports {list_values([r.qualname for r in scan.imports], limit=50)}).")
        obj, extra = _guarded(lambda: joblib.load(io.BytesIO(raw)), path, scan)
    else:
        if trust:
            notes.append("--trust-model was not needed: every import is on the allow-list, so the file was "
                         "loaded with the allow-list enforced.")
        obj, extra = _guarded(lambda: _restricted_load(data, str(path)), path, scan)
    estimator, unwrap = _unwrap(obj, path.name)
    return LoadedModel(estimator, scan.format, str(path), hashlib.sha256(raw).hexdigest(), scan,
                       scan.verdict == "refused", _pickle_needs(scan), _feature_names(estimator),
                       tuple(notes + extra + unwrap))


def _refusal(name: str, offending: tuple[ImportRef, ...], problems: tuple[str, ...]) -> str:
    lines = [f"Refused to load {name!r}: loading it would run code auditkit cannot vouch for."]
    lines += [f"  - {ref.qualname}: {ref.reason}" for ref in offending]
    lines += [f"  - {problem}" for problem in problems]
    lines += ["Nothing in the file was executed: auditkit only read its bytes.", ASK_INSTEAD, _TRUST_HINT]
    return "\n".join(lines)


def _restricted_load(data: bytes, label: str) -> object:
    """joblib's unpickler, with the allow-list enforced on every import as it happens."""
    from joblib.numpy_pickle import NumpyUnpickler

    class Guarded(NumpyUnpickler):
        def find_class(self, module: str, name: str) -> object:
            mod, nam = resolve(module, name, self.proto)
            if classify(mod, nam)[0] != "allowed":  # cannot happen after a clean scan: a second line of defence
                raise _Blocked(mod, nam, "the loader met this import, which the scan did not report")
            found = super().find_class(module, name)
            rule = allow_rule(mod, nam)  # allowed by a naming rule: check it really is defined in that package
            if rule and not str(getattr(found, "__module__", "")).startswith(rule[0]):
                raise _Blocked(mod, nam, f"it is defined in {getattr(found, '__module__', '?')}, not {rule[0]}: "
                                         "a name imported into that package, not one of its classes")
            return found

    handle = io.BytesIO(data)
    try:
        unpickler = Guarded(label, handle, ensure_native_byte_order=True)
    except TypeError:  # joblib before 1.4 has no ensure_native_byte_order
        unpickler = Guarded(label, handle)
    return unpickler.load()


def _guarded(load: Callable[[], object], path: Path, scan: PickleScan) -> tuple[object, list[str]]:
    """Run ``load``, turning version warnings and import failures into messages that say what to do."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = load()
        except AuditkitError:
            raise
        except _Blocked as err:
            ref = ImportRef(err.module, err.name, "unknown", err.why)
            raise UnsafeModelError(_refusal(path.name, (ref,), ())) from None
        except (ImportError, AttributeError) as err:
            raise InputDataError(_import_failure(path.name, err, scan)) from None
        except (UnicodeDecodeError, ValueError) as err:
            if isinstance(err, UnicodeDecodeError) or "python 2" in str(err).lower():
                raise InputDataError(f"{path.name!r} was saved by Python 2, which Python 3 cannot read reliably. "
                                     f"{ASK_INSTEAD}") from None
            raise InputDataError(f"Could not load {path.name!r}: {err}. The file may be corrupt. "
                                 f"{ASK_INSTEAD}") from None
        except Exception as err:  # noqa: BLE001 - any failure inside a model's own loading code
            raise InputDataError(f"Could not load {path.name!r} ({type(err).__name__}: {err}). The file may be "
                                 f"corrupt or need other library versions. {ASK_INSTEAD}") from None
    notes = []
    for w in caught:
        if type(w.message).__name__ == "InconsistentVersionWarning":
            saved = getattr(w.message, "original_sklearn_version", None) or scan.versions.get("scikit-learn")
            raise InputDataError(_sklearn_mismatch(path.name, saved, str(w.message)))
        notes.append(f"Warning while loading: {w.message}")
    return obj, notes


def _import_failure(name: str, err: Exception, scan: PickleScan) -> str:
    missing = getattr(err, "name", None) or ""
    if missing.split(".")[0] == "sklearn" or (isinstance(err, AttributeError) and "sklearn" in str(err)):
        return _sklearn_mismatch(name, scan.versions.get("scikit-learn"), str(err))
    top = missing.split(".")[0]
    known = {"xgboost", "lightgbm", "pandas", "scipy", "pyarrow", "numpy", "joblib"}
    if top in known and top in sys.modules:
        version = getattr(sys.modules[top], "__version__", "?")
        return (f"{name!r} needs {missing!r}, which the installed {top} {version} does not have: the file was saved "
                f"with another version of {top}. Audit it in a virtual environment with the version the agency "
                "used, or ask for an ONNX or skops export.")
    if top in known:
        return f"{name!r} needs the Python package {top!r}, which is not installed: pip install {top}"
    if isinstance(err, ModuleNotFoundError):
        return (f"{name!r} needs the Python module {missing!r} (module not found). It is not installed here, and "
                f"is probably the agency's own code. {ASK_INSTEAD} Or ask for that package, install it in a "
                "throwaway virtual machine, and load the file there with --trust-model.")
    return f"Could not load {name!r} ({type(err).__name__}: {err}). {ASK_INSTEAD}"


def _sklearn_mismatch(name: str, saved: str | None, detail: str) -> str:
    import sklearn

    have = sklearn.__version__
    if saved == have:
        return (f"{name!r} names a scikit-learn object that scikit-learn {have} does not have ({detail}), although "
                f"the file says it was saved with this very version: it is corrupt or was edited. {ASK_INSTEAD}")
    was = f"scikit-learn {saved}" if saved else "another (older) scikit-learn version (the file does not say which)"
    fix = (f"python -m venv sk && . sk/bin/activate && pip install scikit-learn=={saved} auditkit" if saved
           else "a virtual environment with the scikit-learn version the agency used")
    return (f"{name!r} was saved with {was}, and this environment has scikit-learn {have}: scikit-learn models "
            f"do not load, or may predict differently, across versions ({detail.strip().splitlines()[0]}). "
            f"Audit it in {fix}, or ask the agency for an ONNX or skops export.")


_PIP = {"sklearn": "scikit-learn"}
_STDLIB = {"builtins", "copyreg", "_codecs", "collections", "datetime", "copyreg extension registry"}


def _pickle_needs(scan: PickleScan) -> dict[str, str]:
    tops = sorted({ref.module.split(".")[0] for ref in scan.imports} - _STDLIB)
    return {_PIP.get(t, t): scan.versions.get(_PIP.get(t, t), "") for t in tops}


def _is_model(obj: object) -> bool:
    return any(hasattr(obj, m) for m in ("predict_proba", "decision_function", "predict"))


def _unwrap(obj: object, name: str) -> tuple[object, list[str]]:
    """The model in a loaded object: the object itself, or the one model inside a dict, list or tuple."""
    if _is_model(obj):
        return obj, []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else []
    found = [(key, value) for key, value in items if _is_model(value)]
    if len(found) == 1:
        return found[0][1], [f"The file holds a {type(obj).__name__}; its entry {found[0][0]!r} is the model."]
    what = f"{type(obj).__module__}.{type(obj).__qualname__}"
    many = f" with {len(found)} models in it" if found else ""
    raise InputDataError(f"{name!r} holds a {what}{many}, not one model (nothing with predict, predict_proba or "
                         "decision_function). If it holds scores, save them as CSV and audit them with "
                         "`auditkit audit --score`.")


# --------------------------------------------------------------------------------------------------
# Safe formats


def _skops_scan(path: Path) -> tuple[PickleScan, list[str], dict[str, str]]:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=str(path))
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except Exception as err:  # noqa: BLE001 - any corruption of the archive
        raise InputDataError(f"{path.name!r} is not a readable skops file ({type(err).__name__}: {err}).") from None
    types, versions, todo = set(untrusted), {}, [schema]
    while todo:  # every type the schema rebuilds, and the library versions it records
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                types.add(f"{node['__module__']}.{node['__class__']}")
            if "_sklearn_version" in node and isinstance(node["_sklearn_version"], dict):
                versions["scikit-learn"] = json.loads(node["_sklearn_version"].get("content", '""'))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    pairs = [t.rsplit(".", 1) for t in types if "." in t]
    refs = tuple(sorted((ImportRef(m, n, *classify(m, n)) for m, n in pairs),
                        key=lambda r: (r.status == "allowed", r.module, r.name)))
    bad = any(r.status != "allowed" for r in refs)
    versions["skops"] = str(schema.get("_skops_version", ""))
    scan = PickleScan(str(path), "skops", schema.get("protocol"), refs, "refused" if bad else "allowed", ())
    return scan, list(untrusted), versions


def _load_skops(path: Path, trust: bool) -> LoadedModel:
    import skops.io

    scan, untrusted, versions = _skops_scan(path)
    if scan.verdict == "refused" and not trust:
        raise UnsafeModelError(_refusal(path.name, scan.offending, ()))
    allowed = [t for t in untrusted if trust or classify(*t.rsplit(".", 1))[0] == "allowed"]
    obj, notes = _guarded(lambda: skops.io.load(path, trusted=allowed), path, scan)
    estimator, unwrap = _unwrap(obj, path.name)
    return LoadedModel(estimator, "skops", str(path), _sha256(path), scan, scan.verdict == "refused", versions,
                       _feature_names(estimator), tuple(notes + unwrap))


def _load_onnx(path: Path, trust: bool) -> LoadedModel:
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
    return LoadedModel(model, "onnx", str(path), _sha256(path), None, False, needs, names, ())


def _listed_names(props: dict) -> tuple[str, ...] | None:
    for key in ("feature_names", "features", "input_names", "columns"):
        text = props.get(key)
        if text:
            try:
                value = json.loads(text)
            except ValueError:
                value = [part.strip() for part in text.split(",")]
            return tuple(str(v) for v in value) if isinstance(value, list) else None
    return None


def _onnx_graph(path: Path) -> dict:
    """Node count, operator types, parameter count and class labels, if the onnx package is there."""
    try:
        import onnx
        from onnx import numpy_helper
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
                labels = tuple(attr.ints) or tuple(s.decode() for s in attr.strings)
    # weights live in initializers (neural networks) or in node attributes (ONNX-ML linear and tree operators)
    params = sum(int(numpy_helper.to_array(t).size) if not t.external_data else 0 for t in proto.graph.initializer)
    params += sum(len(a.floats) for n in proto.graph.node for a in n.attribute)
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None)
    return {"nodes": len(proto.graph.node), "op_types": tuple(sorted({n.op_type for n in proto.graph.node})),
            "parameters": params, "class_labels": labels, "producer": proto.producer_version, "opset": opset}


def _load_xgboost(path: Path, trust: bool) -> LoadedModel:
    import xgboost

    try:
        booster = xgboost.Booster(model_file=str(path))
    except Exception as err:  # noqa: BLE001 - xgboost raises XGBoostError for any malformed file
        raise InputDataError(f"{path.name!r} is not an XGBoost model xgboost can open: {err}") from None
    names = tuple(booster.feature_names) if booster.feature_names else None
    return LoadedModel(booster, "xgboost", str(path), _sha256(path), None, False,
                       {"xgboost": _xgboost_saved_version(path)}, names, ())


def _xgboost_saved_version(path: Path) -> str:
    """The version that wrote the file: the top-level "version": [major, minor, patch] (JSON or UBJSON)."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"{" and raw.lstrip()[1:2] != b"L":  # JSON
        try:
            return ".".join(map(str, json.loads(raw).get("version", [])))
        except ValueError:
            return ""
    found = re.search(rb"version\[#L.{8}i(.)i(.)i(.)", raw[-64:], re.S)  # UBJSON: three int8 values
    return ".".join(str(b[0]) for b in found.groups()) if found else ""


def _load_lightgbm(path: Path, trust: bool) -> LoadedModel:
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as err:  # noqa: BLE001 - lightgbm raises LightGBMError for any malformed file
        raise InputDataError(f"{path.name!r} is not a LightGBM model lightgbm can open: {err}") from None
    return LoadedModel(booster, "lightgbm", str(path), _sha256(path), None, False, {"lightgbm": ""},
                       _feature_names(booster), ())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _feature_names(est: Any) -> tuple[str, ...] | None:
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


# --------------------------------------------------------------------------------------------------
# Scoring


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
    extra = [c for c in columns if c not in source]
    if extra:
        notes.insert(0, f"The data has {len(extra)} column(s) the model does not take as input; they were left "
                        f"out of the model's input: {list_values(extra, limit=30)}.")
    frame = X.loc[:, source]
    frame.columns = list(names)
    return frame, notes


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
    score, method = _scorer(model, selected_class)
    starts = range(0, len(frame), batch_size)
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(starts), file=sys.stderr, unit="batch", desc="scoring")
        except ImportError:
            pass
    parts = []
    for start in starts:
        parts.append(_run(score, frame.iloc[start:start + batch_size], model))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return (np.concatenate(parts) if parts else np.empty(0)).astype(float), method


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
    plain = model.feature_names is None
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
