"""Re-run an audit from a bundle's manifest, for `auditkit verify --data`."""

from __future__ import annotations

import os
from typing import Any

from .exceptions import InputDataError
from .spec import AuditSpec, Filter

__all__ = ["fields_to_json", "rerun", "spec_fields"]


def fields_to_json(fields: dict[str, Any]) -> dict[str, Any]:
    """AuditSpec keyword fields as plain JSON values (filters as mappings, tuples as lists)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "filters":
            value = [{"column": f.column, "values": list(f.values), "keep": f.keep} for f in value or ()]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        out[key] = value
    return out


def spec_fields(stored: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`fields_to_json`."""
    fields: dict[str, Any] = {}
    for key, value in stored.items():
        if key == "filters":
            value = tuple(Filter(f["column"], tuple(f["values"]), f["keep"]) for f in value or ())
        elif key == "suppressed_range" and value is not None:
            value = tuple(value)
        elif isinstance(value, list):
            value = tuple(value)
        fields[key] = value
    return fields


def rerun(manifest: dict, data: str | os.PathLike, model: str | os.PathLike | None) -> dict:
    """The results document the manifest's run gives on ``data`` (and ``model``)."""
    run = manifest.get("run")
    if not run:
        raise InputDataError("The bundle's manifest has no 'run' record, so it cannot be re-run; only its hashes "
                             "were checked.")
    fields = spec_fields(run["spec"])
    # The engine the bundle was made with (a file larger than memory must not be re-read into
    # pandas); a Dask run is re-run on a local cluster: the original scheduler may be gone.
    engine = run.get("engine", "pandas")
    if run["kind"] == "audit":
        from .audit import audit

        return audit(data, AuditSpec(**fields), engine=engine).results
    if model is None:
        raise InputDataError("This bundle is a model assessment: give the model file too (--model FILE) to re-run it.")
    from .assess import AssessOptions, assess

    options = AssessOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in run["assess_options"].items()})
    return assess(model, data, options=options, engine=engine, **fields).results
