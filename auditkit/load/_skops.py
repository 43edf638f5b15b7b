"""Load a skops file: every type its schema names judged by the allow-list, its archive and trees checked.

A skops file is a zip archive whose ``schema.json`` names every type it rebuilds; each is judged by the
same allow-list as a pickle's imports (:mod:`auditkit.load._allow`), including the check that a class the
list admits by its name is really defined in its package.  Before skops rebuilds anything, the archive's
members are size-capped and its decision trees checked (:mod:`auditkit.load._state_checks`); after, every
tree is checked again as built.  ``trust=True`` trusts every type.
"""

from __future__ import annotations

import importlib
import json
import zipfile
from pathlib import Path

from ..exceptions import InputDataError
from ._allow import allow_rule, classify
from ._formats import sha256
from ._loaded import LoadedModel, feature_names_of
from ._pickle_scan import ImportRef, PickleScan
from ._pickle_stream import Cannot
from ._unpickle import _check_widths, _guarded, _refusal, _unsafe, _unwrap

__all__ = ["MAX_MEMBER", "load_skops", "skops_scan"]

#: Largest unpacked archive (all members together; the model worker sets it to an eighth of its memory limit).
MAX_MEMBER = 4 * 2**30




def skops_scan(path: Path) -> tuple[PickleScan, list[str], dict[str, str]]:
    """Every type a skops file rebuilds, judged by the allow-list; skops's untrusted types; recorded versions.

    The archive's members are size-capped and its trees checked first
    (:func:`auditkit.load._state_checks.check_skops_archive`): a file that fails is refused.
    """
    import skops.io

    from ._state_checks import check_skops_archive

    try:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("schema.json")
            if member.file_size > MAX_MEMBER:
                raise Cannot(f"its schema unpacks to {member.file_size:,} bytes, over the limit of {MAX_MEMBER:,}")
            schema = json.loads(archive.read(member))
            if not isinstance(schema, dict):
                raise ValueError("schema.json does not hold an object")
            check_skops_archive(archive, schema, MAX_MEMBER)
        untrusted = skops.io.get_untrusted_types(file=str(path))
        types, versions = _skops_types(schema, untrusted)
    except Cannot as err:
        scan = PickleScan(str(path), "skops", None, (), "refused", (f"auditkit stopped reading it: {err}",))
        raise _unsafe(_refusal(path.name, (), scan.problems), scan) from None
    except Exception as err:  # noqa: BLE001 - any corruption of the archive (RecursionError included)
        raise InputDataError(f"{path.name!r} is not a readable skops file ({type(err).__name__}: "
                             f"{str(err)[:300]}).") from None
    pairs = [t.rsplit(".", 1) for t in types if "." in t]
    refs = tuple(sorted((ImportRef(m, n, *_skops_classify(m, n)) for m, n in pairs),
                        key=lambda r: (r.status == "allowed", r.module, r.name)))
    bad = any(r.status != "allowed" for r in refs)
    versions["skops"] = str(schema.get("_skops_version", ""))[:40]
    protocol = schema.get("protocol") if type(schema.get("protocol")) is int else None
    scan = PickleScan(str(path), "skops", protocol, refs, "refused" if bad else "allowed", ())
    return scan, list(untrusted), versions


def _skops_types(schema: dict, untrusted: list) -> tuple[set, dict]:
    """The types the schema rebuilds, and the scikit-learn version it records."""
    types, versions, todo = {str(t) for t in untrusted}, {}, [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                types.add(f"{node['__module__']}.{node['__class__']}")
            if "_sklearn_version" in node and isinstance(node["_sklearn_version"], dict):
                version = json.loads(node["_sklearn_version"].get("content", '""'))
                versions["scikit-learn"] = str(version)[:40]
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return types, versions


def _skops_classify(module: str, name: str) -> tuple[str, str]:
    """The allow-list's verdict, with the loader's check that a class allowed by a naming rule really is
    defined in its package (the pickle loader checks that as it imports; skops imports by itself)."""
    status, reason = classify(module, name)
    rule = allow_rule(module, name)
    if status == "allowed" and rule:
        try:
            found = getattr(importlib.import_module(module), name)
        except Exception:  # noqa: BLE001 - a missing name: skops reports it when loading
            return status, reason
        home = str(getattr(found, "__module__", ""))
        if not home.startswith(rule[0]):
            return "unknown", (f"it is defined in {home or '?'}, not {rule[0]}: a name imported into that package, "
                               "not one of its classes")
    return status, reason


def load_skops(path: Path, trust: bool) -> LoadedModel:
    """Open a skops file, trusting only the types on the allow-list (every type with ``trust``)."""
    import skops.io

    from ._scan_once import scanned_skops

    scan, untrusted, versions = scanned_skops(path)
    if scan.verdict == "refused" and not trust:
        raise _unsafe(_refusal(path.name, scan.offending, ()), scan)
    allowed = [t for t in untrusted if trust or classify(*t.rsplit(".", 1))[0] == "allowed"]
    obj, notes = _guarded(lambda: skops.io.load(path, trusted=allowed), path, scan)
    estimator, unwrap = _unwrap(obj, path.name)
    _check_widths(estimator, path, scan, trust and scan.verdict == "refused")
    return LoadedModel(estimator, "skops", str(path), sha256(path), scan, scan.verdict == "refused", versions,
                       feature_names_of(estimator), tuple(notes + unwrap))
