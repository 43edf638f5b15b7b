"""Open a model file an agency handed over, safely, and score data with it.

Safe formats (ONNX, skops, XGBoost and LightGBM native files) open directly.
Pickle and joblib files run code when loaded, so they are scanned first
(:mod:`auditkit.load._pickle_scan`): a file that would import anything outside
auditkit's allow-list is refused, and nothing in it runs.  An allowed file is
then loaded with an unpickler that enforces the same allow-list on every
import, from the very bytes that were scanned.  ``trust=True`` (the CLI's
``--trust-model``) loads a refused file anyway: it runs the file's code.

Before a file whose loader runs compiled code on its contents (XGBoost, LightGBM, ONNX, a scanned pickle
or joblib file) is opened here, it is opened once in a child process (:mod:`auditkit.load._probe`), so that
a file that crashes or hangs its loader is refused instead of taking this process down with it.

This module finds a file's format and hands the file to its loader: pickle, joblib and
skops files to :mod:`auditkit.load._unpickle`, the other safe formats to
:mod:`auditkit.load._formats`.  Scoring (:func:`align_features`, :func:`model_predict`)
lives in :mod:`auditkit.load._predict` and is re-exported here.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .._text import did_you_mean
from ..exceptions import InputDataError
from ._formats import ASK_INSTEAD, CANNOT_OPEN, load_lightgbm, load_onnx, load_xgboost
from ._loaded import LoadedModel, OnnxModel, n_inputs  # noqa: F401 - n_inputs: re-exported for _model_card
from ._pickle_scan import scan_bytes
from ._probe import PROBED, probe, probe_enabled
from ._predict import align_features, model_predict
from ._spec import is_spec_file
from ._unpickle import load_pickle, load_skops, pickle_needs, skops_scan

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


def load_model(path: str | os.PathLike, *, trust: bool = False, link: str | None = None) -> LoadedModel:
    """Open a model file; refuse pickles that would import anything off the allow-list.

    Parameters
    ----------
    path
        The model file (see :data:`MODEL_SUFFIXES`).
    trust
        Load a pickle the scan refused anyway.  This runs the file's code: only for files from someone
        you trust, in a throwaway virtual machine or container.
    link
        For a published specification given as a CSV table of weights (``term,weight``): 'logistic' or
        'identity' (:mod:`auditkit.load._spec`).

    Raises
    ------
    UnsafeModelError
        The pickle would import something outside the allow-list (nothing was executed), or opening the
        file in a separate test process crashed or hung it (see :mod:`auditkit.load._probe`; XGBoost,
        LightGBM, ONNX, pickle and joblib files are probed unless ``AUDITKIT_NO_PROBE=1``).
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
    if kind == "spec":
        return load_spec(path, link)
    if link is not None:
        raise InputDataError(f"--link applies to a published specification (a CSV or YAML file of weights); "
                             f"{path.name!r} is a {kind} model file, whose link is its own. Drop --link.")
    probed = kind in PROBED and probe_enabled() and not _refused(path, kind, trust)
    note = probe(path, kind, trust) if probed else None
    model = _open(path, kind, trust)
    return replace(model, notes=model.notes + (note,)) if note else model


def _refused(path: Path, kind: str, trust: bool) -> bool:
    """True for a pickle the scan refuses (without trust): refusing it runs nothing, so it needs no probe."""
    if kind not in ("pickle", "joblib") or trust:
        return False
    raw = path.read_bytes()
    return not raw or scan_bytes(raw, str(path))[0].verdict == "refused"


def _open(path: Path, kind: str, trust: bool) -> LoadedModel:
    """Open the file with its format's loader (also what the crash probe's child process runs)."""
    if kind in ("pickle", "joblib"):
        return load_pickle(path, trust)
    loader = {"skops": load_skops, "onnx": load_onnx, "xgboost": load_xgboost, "lightgbm": load_lightgbm}
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
    if kind == "spec":
        return _inspect_spec(path)
    raw = path.read_bytes()
    info: dict[str, Any] = {"file": str(path), "format": kind, "size_bytes": len(raw),
                            "sha256": hashlib.sha256(raw).hexdigest(), "protocol": None, "verdict": "allowed",
                            "imports": [], "problems": [], "notes": [], "inputs": None, "needs": {}}
    scan = scan_bytes(raw, str(path))[0] if kind in ("pickle", "joblib") else None
    if kind == "skops":
        scan = skops_scan(path)[0]
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
            info["needs"] = pickle_needs(scan)
            info["notes"].append("Input names are not shown for pickles: reading them means loading the file.")
    return info


def load_spec(path: Path, link: str | None = None) -> LoadedModel:
    """A published specification (CSV of weights, YAML scorecard or rule list) as a model auditkit can score.

    A specification is data: reading it runs nothing from the file, so it needs neither scan nor probe.
    """
    from ._spec import read_spec
    from ._spec_model import build_estimator

    spec = read_spec(path, link)
    raw = path.read_bytes()
    return LoadedModel(build_estimator(spec), "specification", str(path), hashlib.sha256(raw).hexdigest(), None,
                       False, feature_names=spec.variables, notes=spec.notes)


def _inspect_spec(path: Path) -> dict:
    raw = path.read_bytes()
    info: dict[str, Any] = {"file": str(path), "format": "specification", "size_bytes": len(raw),
                            "sha256": hashlib.sha256(raw).hexdigest(), "protocol": None, "verdict": "allowed",
                            "imports": [], "problems": [], "inputs": None, "needs": {},
                            "notes": ["A published specification is read as data: nothing in it is executed."]}
    try:
        model = load_spec(path, "identity" if path.suffix.lower() == ".csv" else None)
    except InputDataError as err:
        info.update(verdict="refused", problems=[str(err)])
        return info
    info.update(inputs=list(model.feature_names or ()), notes=info["notes"] + list(model.notes))
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
    if kind in CANNOT_OPEN:
        raise InputDataError(f"{path.name!r} {CANNOT_OPEN[kind]} {ASK_INSTEAD}")
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
    if kind is None and is_spec_file(path):
        return "spec"
    if kind is None:
        raise InputDataError(
            f"Cannot tell the format of model file {path.name!r} from its extension {path.suffix!r}: expected "
            f"one of {', '.join(sorted({s.lower() for s in MODEL_SUFFIXES}))}.")
    return kind
