"""Re-run the command a bundle records, for `auditkit verify --data`, and compare everything.

The recorded command line is parsed again exactly as typed (so a command that says something the run
did not do is caught), run on the given data into a temporary bundle, and every file of that bundle
and every key of its manifest compared with the bundle's: figures, findings, the template, the input
names and hashes, the parameters, the run record.  Only the versions of auditkit and its dependencies
may differ; they are noted.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from .exceptions import InputDataError
from .spec import Filter

__all__ = ["fields_to_json", "rebuild", "rerun_and_compare", "spec_fields"]


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


def _command(manifest: dict[str, Any]) -> list[str]:
    command = manifest.get("command")
    try:
        args = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        args = []
    if len(args) < 2 or args[0] != "auditkit" or args[1] not in ("audit", "assess"):
        raise InputDataError(f"The manifest's command {command!r} is not an `auditkit audit` or `auditkit assess` "
                             "command, so the run cannot be repeated.")
    return args[1:]


#: Inputs besides data and model that a recorded command names by option (area audits), by role.
OTHER_INPUTS = {"composition": "--composition", "crosswalk": "--crosswalk", "compare_model": "--compare-model"}


def _recorded_inputs(manifest: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """Each other input: the file given for it, else the path the recorded command names."""
    out = {}
    try:
        args = shlex.split(str(manifest.get("command") or ""))
    except ValueError:
        args = []
    for role, option in OTHER_INPUTS.items():
        if (given or {}).get(role) is not None:
            out[role] = given[role]  # type: ignore[index]
            continue
        for i, arg in enumerate(args):
            if arg == option and i + 1 < len(args):
                out[role] = args[i + 1]
            elif arg.startswith(option + "="):
                out[role] = arg.split("=", 1)[1]
    return out


def rebuild(manifest: dict[str, Any], data: str | os.PathLike, model: str | os.PathLike | None,
            out: Path, inputs: dict[str, Any] | None = None) -> None:
    """Run the manifest's recorded command again on ``data`` (and ``model``), writing the bundle into ``out``.

    The command is parsed exactly as the command line was; only what says where files are changes: the
    data (and model) given here, the output folder, no printing.  A Dask run is repeated on a
    local cluster (the original scheduler may be gone).  The new manifest records the same command.
    """
    import click

    from .cli import main

    args = _command(manifest)
    command = main.get_command(click.Context(main), args[0])
    try:
        ctx = command.make_context(args[0], list(args[1:]), parent=click.Context(main, info_name="auditkit"))
    except click.ClickException as err:
        raise InputDataError(f"The manifest's command cannot be parsed: {err.format_message()}") from err
    p = ctx.params
    if p.get("example") is None:
        if args[0] == "audit":
            p["data"] = Path(data)
        else:
            if model is None:
                raise InputDataError("This bundle is a model assessment: give the model file too (--model FILE) to "
                                     "re-run it.")
            p["model"], p["data"] = Path(model), Path(data)
    p.update(out_dir=out, quiet=True, json_path=None, csv_dir=None, scheduler=None)
    for role, path in (inputs or {}).items():
        if role in p:
            p[role] = Path(path)
    if "progress" in p:
        p["progress"] = False
    ctx.meta["auditkit.argv"] = list(args)
    with ctx:
        command.invoke(ctx)


def rerun_and_compare(bundle: Path, manifest: dict[str, Any], data: str | os.PathLike,
                      model: str | os.PathLike | None, report: Any, inputs: dict[str, Any] | None = None) -> None:
    """Check the given inputs' hashes, rebuild the bundle from them, and record every difference in ``report``."""
    import tempfile

    from .bundle import file_sha256

    report.rerun = True
    others = _recorded_inputs(manifest, inputs)
    given = {"data": data, "model": model, **others}
    inputs = manifest.get("inputs")
    # A tampered manifest may hold anything here; its hash check has already failed, the re-run goes on.
    for entry in inputs if isinstance(inputs, list) else []:
        path = given.get(entry.get("role")) if isinstance(entry, dict) else None
        if path is None:
            continue
        if not Path(path).exists():
            raise InputDataError(f"{path}: the --{entry['role']} file does not exist.")
        actual = file_sha256(path)
        if entry.get("name") != Path(path).name:
            report.notes.append(f"The {entry['role']} was given as {Path(path).name}; the bundle records "
                                f"{entry.get('name')}. The name is part of what the bundle says (it is printed in "
                                "the findings), so it is compared too: give the file under its recorded name.")
        report.inputs.append({"role": entry["role"], "name": entry.get("name"), "expected": entry.get("sha256"),
                              "actual": actual, "matches": actual == entry.get("sha256")})
    with tempfile.TemporaryDirectory(prefix="auditkit-rerun-") as tmp:
        out = Path(tmp) / "bundle"
        try:
            rebuild(manifest, data, model, out, others)
        except Exception as err:  # noqa: BLE001 - a run that cannot be repeated is a failed check, with its reason
            report.problems.append(f"The recorded command could not be run again: {err}")
            report.rerun = False
            return
        _compare(bundle, manifest, out, report)


def _compare(bundle: Path, manifest: dict[str, Any], fresh: Path, report: Any) -> None:
    """Every file the re-run wrote against the bundle's (results first), then every other manifest entry."""
    from .bundle import MANIFEST_FILE

    new_manifest = json.loads((fresh / MANIFEST_FILE).read_text(encoding="utf-8"))
    # The annexes (the agency's response.yaml, corrections.yaml) were added after the run and the reports
    # rendered again with them; reports added later (auditkit report) are not the run's either. Both were
    # checked without the data (hashes; every report rendered again from the bundle and compared).
    annexes = sorted(a.get("path") for a in manifest.get("annexes") or [] if isinstance(a, dict))
    new_reports = new_manifest.pop("reports", [])
    if annexes:
        report.notes.append(f"The reports show the annexes ({', '.join(map(str, annexes))}), added after the run, so "
                            "they were checked by rendering them again from the bundle, not against the re-run.")
        new_reports = []
    old_names = sorted(str(f.get("path")) for f in manifest.get("files") or [] if isinstance(f, dict))
    new_files = sorted(new_manifest.get("files", []), key=lambda e: (e["path"] != "results.json",
                                                                      e["path"] != "findings.json", e["path"]))
    for entry in new_files + new_reports:
        report.differences += _file_difference(bundle / entry["path"], fresh / entry["path"], entry["path"])
    if old_names != [e["path"] for e in sorted(new_files, key=lambda e: e["path"])]:
        report.differences.append({"path": f"{MANIFEST_FILE}/files", "bundle": old_names,
                                   "rerun": sorted(e["path"] for e in new_files)})
    old_manifest = {k: v for k, v in manifest.items() if k not in ("reports", "annexes", "files")}
    new_manifest.pop("files", None)
    for key in ("auditkit_version", "dependencies"):
        if old_manifest.get(key) != new_manifest.get(key):
            report.notes.append(f"The re-run used other versions ({key}): bundle {_short(old_manifest.get(key))}, "
                                f"here {_short(new_manifest.get(key))}.")
        old_manifest.pop(key, None)
        new_manifest.pop(key, None)
    report.differences += _diff(old_manifest, new_manifest, MANIFEST_FILE)


def _file_difference(old_path: Path, new_path: Path, name: str) -> list[dict]:
    new = new_path.read_bytes()
    old = old_path.read_bytes() if old_path.is_file() and not old_path.is_symlink() else None
    if old == new:
        return []
    if old is None or not name.endswith(".json"):
        return [{"path": name, "bundle": "(other bytes)" if old is not None else "(missing)",
                 "rerun": "(other bytes)"}]
    try:
        a, b = json.loads(old.decode("utf-8")), json.loads(new.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return [{"path": name, "bundle": "(not JSON)", "rerun": "(other bytes)"}]
    if isinstance(a, dict) and isinstance(b, dict):
        a.pop("auditkit_version", None)
        b.pop("auditkit_version", None)
    return _diff(a, b, name)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) < 80 else text[:79] + "…"


def _diff(old: Any, new: Any, where: str, limit: int = 200) -> list[dict]:
    """Every path where two JSON documents differ."""
    out: list[dict] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{where}/{key}", limit)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            out += _diff(a, b, f"{where}/{i}", limit)
    elif old != new and not (isinstance(old, float) and isinstance(new, float) and old != old and new != new):
        out.append({"path": where, "bundle": old, "rerun": new})
    return out[:limit]
