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
from ..exceptions import AuditkitError, InputDataError, UnsafeModelError
from ._formats import ASK_INSTEAD, CANNOT_OPEN, load_lightgbm, load_onnx, load_xgboost
from ._limits import ModelLimits
from ._loaded import LoadedModel, OnnxModel, n_inputs  # noqa: F401 - n_inputs: re-exported for _model_card
from ._probe import PROBED, probe, probe_enabled
from ._predict import align_features, model_predict
from ._spec import is_spec_file
from ._skops import load_skops
from ._unpickle import load_pickle, pickle_needs

__all__ = ["MODEL_SUFFIXES", "LoadedModel", "ModelLimits", "OnnxModel", "align_features", "describe", "inspect_model",
           "load_model", "model_predict"]

#: File suffix -> format.  Content decides where a suffix is shared (.json, .model, .xml).
MODEL_SUFFIXES = MappingProxyType({
    ".pkl": "pickle", ".pickle": "pickle", ".sav": "pickle", ".joblib": "joblib", ".skops": "skops",
    ".onnx": "onnx", ".json": "xgboost", ".ubj": "xgboost", ".txt": "lightgbm", ".lgb": "lightgbm",
    ".model": "lightgbm", ".rds": "r", ".rda": "r", ".RData": "r", ".rdata": "r", ".pmml": "pmml", ".xml": "pmml",
    ".sas7bdat": "sas", ".sas": "sas", ".spk": "sas", ".pt": "pytorch", ".pth": "pytorch", ".h5": "keras",
    ".keras": "keras",
})


def load_model(path: str | os.PathLike, *, trust: bool = False, link: str | None = None,
               limits: ModelLimits | None = None) -> LoadedModel:
    """Open a model file: in a resource-limited worker process, or with ``trust`` in this one.

    Parameters
    ----------
    path
        The model file (see :data:`MODEL_SUFFIXES`).
    trust
        Open the file in this process, and load a pickle the scan refused anyway.  This runs the file's
        code: only for files from someone you trust, in a throwaway virtual machine or container.
    link
        For a published specification given as a CSV table of weights (``term,weight``): 'logistic' or
        'identity' (:mod:`auditkit.load._spec`).
    limits
        The worker's limits (:class:`~auditkit.load._limits.ModelLimits`); default
        :data:`~auditkit.load._limits.DEFAULT_LIMITS`.

    Without ``trust`` a model file is scanned and opened in a worker process (:mod:`auditkit.load._sandbox`),
    which also does all scoring and explaining: the model's ``estimator`` is then a
    :class:`~auditkit.load._sandbox.RemoteModel`.  A published specification (CSV or YAML of weights or
    rules) is data that auditkit's own code reads: it opens here.

    Raises
    ------
    UnsafeModelError
        The file would import something outside the allow-list, holds state that fails auditkit's checks,
        or crashed, hung or went over a limit in the worker.
    InputDataError
        The file is missing, not a model, in a format auditkit cannot open, or needs other versions.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from sklearn.linear_model import LinearRegression
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), fh)
    >>> model = load_model(fh.name)
    >>> model.format, model.scan.verdict, model.trusted, type(model.estimator).__name__
    ('pickle', 'allowed', False, 'RemoteModel')
    >>> model.estimator.close()
    """
    path = _existing(path)
    kind = _kind(path)
    if kind == "spec":
        return load_spec(path, link)
    if link is not None:
        raise InputDataError(f"--link applies to a published specification (a CSV or YAML file of weights); "
                             f"{path.name!r} is a {kind} model file, whose link is its own. Drop --link.")
    if not trust:
        from ._sandbox import load_in_worker

        return load_in_worker(path, kind, limits)
    scan = None
    if kind in ("pickle", "joblib", "skops"):  # scanned once here; the probe and the load take this scan
        from ._scan_once import scan_once

        scan = scan_once(path, kind)
    probed = kind in PROBED and probe_enabled()
    note = probe(path, kind, trust, scan) if probed else None
    model = _open(path, kind, trust)
    return replace(model, notes=model.notes + (note,)) if note else model


def trust_warning(path: str | os.PathLike) -> str:
    """What ``--trust-model`` will run: the imports of a pickle, joblib or skops file, from the run's one scan
    (:mod:`auditkit.load._scan_once`; the load that follows takes the same scan)."""
    path = _existing(path)
    kind = _kind(path)
    where = f"--trust-model: {path.name} is opened and run in auditkit's own process, without the model worker"
    if kind not in ("pickle", "joblib", "skops"):
        return where + "."
    from ._scan_once import scan_once

    scan = scan_once(path, kind)[0]
    return f"{where}; loading it will import: " + ", ".join(ref.qualname for ref in scan.imports)


def _open(path: Path, kind: str, trust: bool) -> LoadedModel:
    """Open the file with its format's loader (in the model worker, or in this process with trust)."""
    if kind in ("pickle", "joblib"):
        return load_pickle(path, trust)
    loader = {"skops": load_skops, "onnx": load_onnx, "xgboost": load_xgboost, "lightgbm": load_lightgbm}
    return loader[kind](path, trust)


def describe(path: Path, kind: str) -> tuple[dict, LoadedModel | None, AuditkitError | None]:
    """Open the file as ``assess`` does and describe it as ``inspect`` shows it: one code path, one verdict.

    Runs in the model worker.  Returns the description, the model (None if it did not open) and the
    error that stopped it (None if it opened).  A refusal by the scan or by the loader's checks makes the
    verdict "refused"; other errors (not a model, other versions) are returned as they are.
    """
    loaded: LoadedModel | None = None
    error: AuditkitError | None = None
    try:
        loaded = _open(path, kind, False)
    except AuditkitError as err:
        error = err
    scan = loaded.scan if loaded is not None else getattr(error, "scan", None)
    info: dict[str, Any] = {"format": loaded.format if loaded else kind, "protocol": None,
                            "verdict": "refused" if isinstance(error, UnsafeModelError) else "allowed",
                            "imports": None, "problems": [], "notes": list(loaded.notes) if loaded else [],
                            "inputs": list(loaded.feature_names or ()) or None if loaded else None,
                            "needs": dict(loaded.needs) if loaded else {}}
    if scan is not None:
        info.update(format=scan.format, protocol=scan.protocol, problems=list(scan.problems),
                    imports=[vars(ref) | {"qualname": ref.qualname} for ref in scan.imports],
                    versions=dict(scan.versions), scan_notes=list(scan.notes))
        info["notes"] = list(scan.notes) + [n for n in info["notes"] if n not in scan.notes]
        if kind in ("pickle", "joblib"):
            info["needs"] = pickle_needs(scan)
    if isinstance(error, UnsafeModelError):
        info["problems"] += [line[4:] for line in str(error).splitlines()
                             if line.startswith("  - ") and line[4:] not in info["problems"]
                             and not any(line[4:].startswith(ref.qualname + ":") for ref in scan.imports)] \
            if scan is not None else [str(error)]
        info["verdict"] = "refused"
    elif error is not None:
        info["notes"].append(f"Opening it fails: {error}")
    return info, loaded, error


def inspect_model(path: str | os.PathLike, *, limits: ModelLimits | None = None) -> dict:
    """Describe a model file: format, hash, imports and verdict, inputs -- found by opening it in the model
    worker exactly as ``assess`` does (:func:`describe`), so the two cannot disagree.

    >>> import pickle, tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(os.system, fh)
    >>> info = inspect_model(fh.name)
    >>> info["verdict"], [(i["module"], i["name"], i["status"]) for i in info["imports"]]
    ('refused', [('posix', 'system', 'dangerous')])
    """
    from ._sandbox import inspect_in_worker

    path = _existing(path)
    kind = _kind(path)
    if kind == "spec":
        return _inspect_spec(path)
    return inspect_in_worker(path, kind, limits)


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
