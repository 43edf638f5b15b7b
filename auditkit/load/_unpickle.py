"""Load a pickle, joblib or skops file: only what the allow-list admits, and only from scanned bytes.

A pickle or joblib file is loaded from the very bytes :mod:`auditkit.load._pickle_scan` scanned,
with an unpickler that enforces the same allow-list (:mod:`auditkit.load._allow`) on every import
as it happens: a second line of defence should the scan and the loader ever disagree.  A skops file
names the types it rebuilds; each is judged by the same allow-list.  ``trust=True`` (the CLI's
``--trust-model``) loads a refused file anyway: it runs the file's code.

Whatever goes wrong while loading (a missing package, another scikit-learn version, a Python 2
file) becomes a message that says what to do about it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from .._text import list_values
from ..exceptions import AuditkitError, InputDataError, UnsafeModelError
from ._allow import allow_rule, classify, resolve
from ._formats import ASK_INSTEAD, sha256
from ._loaded import LoadedModel, feature_names_of
from ._pickle_scan import ImportRef, PickleScan, scan_bytes

__all__ = ["load_pickle", "load_skops", "pickle_needs", "skops_scan"]

_TRUST_HINT = ("Use --trust-model (trust=True in Python) only if you trust whoever made the file: it runs the "
               "file's code. Do that in a throwaway virtual machine or container.")


class _Blocked(Exception):
    """The loader met an import the allow-list does not admit."""

    def __init__(self, module: str, name: str, why: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name, self.why = module, name, why


def load_pickle(path: Path, trust: bool) -> LoadedModel:
    """Scan a pickle or joblib file; refuse it, or load it from the scanned bytes with the allow-list enforced."""
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
                       scan.verdict == "refused", pickle_needs(scan), feature_names_of(estimator),
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


def pickle_needs(scan: PickleScan) -> dict[str, str]:
    """The packages the file imports from (pip names), with the versions the file records."""
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
# skops: a zip archive whose schema names every type it rebuilds


def skops_scan(path: Path) -> tuple[PickleScan, list[str], dict[str, str]]:
    """Every type a skops file rebuilds, judged by the allow-list; skops's untrusted types; recorded versions."""
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


def load_skops(path: Path, trust: bool) -> LoadedModel:
    """Open a skops file, trusting only the types on the allow-list (every type with ``trust``)."""
    import skops.io

    scan, untrusted, versions = skops_scan(path)
    if scan.verdict == "refused" and not trust:
        raise UnsafeModelError(_refusal(path.name, scan.offending, ()))
    allowed = [t for t in untrusted if trust or classify(*t.rsplit(".", 1))[0] == "allowed"]
    obj, notes = _guarded(lambda: skops.io.load(path, trusted=allowed), path, scan)
    estimator, unwrap = _unwrap(obj, path.name)
    return LoadedModel(estimator, "skops", str(path), sha256(path), scan, scan.verdict == "refused", versions,
                       feature_names_of(estimator), tuple(notes + unwrap))
