"""The comparison's own evidence bundle (`auditkit compare A B --out DIR`), and how `verify` checks it.

A comparison bundle is an evidence bundle like an audit's (:mod:`auditkit.bundle`: written whole, every
file hashed in the manifest, no clock in anything hashed, the same inputs give the same bytes) with
``"kind": "comparison"`` in its manifest:

- ``results.json``: the comparison (:func:`auditkit.compare.compare_bundles`): both bundles' names and
  manifest hashes, the differences in how they were made, one record per matched group and measure;
- ``findings.json``: what changed and what did not (:func:`auditkit._compare_findings.comparison_findings`);
- ``report.LANG.FORMAT``: the report, bound to the manifest hash like an audit's;
- in the manifest: ``inputs`` holds the sha256 of each compared bundle's ``manifest.json`` (roles
  ``bundle_a`` and ``bundle_b``), and ``compared`` the path of each bundle *relative to the folder that
  holds the comparison bundle*, with its manifest hash (the hash its reports cite).

``auditkit verify DIR`` checks every file, re-derives the findings and every report from
``results.json``, and, when both bundles are found at their recorded paths (keep the three folders side
by side, as ``compare`` wrote them), verifies each of them, checks that its manifest hash is the one
recorded, and makes the comparison again: ``results.json`` must come out byte for byte.  When a bundle
is not there, verify says so and passes on what it could check (like an audit bundle verified without
``--data``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .exceptions import InputDataError, UsageError

__all__ = ["COMPARISON_KIND", "comparison_parameters", "verify_comparison", "write_comparison"]

COMPARISON_KIND = "comparison"
_LANGUAGES = ("en", "nl")


def _threshold(bundle: Path) -> int:
    from .bundle import read_manifest

    value = (read_manifest(bundle).get("parameters") or {}).get("suppression_threshold")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 10


def comparison_parameters(level: float, alpha: float, metrics: Sequence[str] | None, threshold: int) -> dict:
    """The manifest's ``parameters`` of a comparison bundle."""
    return {"level": level, "alpha": alpha, "metrics": sorted(metrics) if metrics else None,
            "suppression_threshold": threshold}


def _check_out(out: Path, a: Path, b: Path) -> None:
    target = Path(os.path.abspath(out))
    for which, bundle in (("A", a), ("B", b)):
        source = Path(os.path.abspath(bundle))
        if target == source or source in target.parents:
            raise UsageError(f"--out {out} is bundle {which} or inside it; the comparison bundle would replace or "
                             "alter the evidence it compares. Give a folder next to the two bundles.")


def write_comparison(a: str | os.PathLike, b: str | os.PathLike, out: str | os.PathLike, *, level: float = 0.95,
                     alpha: float = 0.05, metrics: Sequence[str] | None = None, command: str | None = None,
                     languages: Sequence[str] = ("en",), formats: Sequence[str] = ("html",)) -> dict[str, Any]:
    """Compare bundle ``b`` with bundle ``a`` and write the comparison bundle ``out``; return the comparison.

    ``languages`` × ``formats`` reports are rendered into it (none when either is empty).
    """
    from ._compare_findings import comparison_findings
    from .bundle import MANIFEST_FILE, write_bundle
    from .compare import compare_bundles

    a, b, out = Path(a), Path(b), Path(out)
    _check_out(out, a, b)
    doc = compare_bundles(a, b, level=level, alpha=alpha, metrics=metrics)
    threshold = max(_threshold(a), _threshold(b))
    home = Path(os.path.abspath(out)).parent
    compared = {key: {"path": Path(os.path.relpath(os.path.abspath(p), home)).as_posix(),
                      "manifest_sha256": doc[key]["manifest_sha256"]} for key, p in (("a", a), ("b", b))}
    names = [f"report.{lang}.{fmt}" for lang in languages for fmt in formats]

    def render(folder: Path) -> list[Path]:
        from .report import render_report

        return [p for lang in languages for p in render_report(folder, lang=lang, formats=formats, out_dir=folder)]

    write_bundle(out, doc, inputs=[("bundle_a", a / MANIFEST_FILE), ("bundle_b", b / MANIFEST_FILE)], command=command,
                 findings=comparison_findings(doc, _LANGUAGES),
                 extra={"kind": COMPARISON_KIND, "compared": compared},
                 parameters=comparison_parameters(level, alpha, metrics, threshold),
                 render=render if names else None, report_names=names)
    return doc


def _load(bundle: Path, name: str, report: Any) -> Any:
    from ._json import parse_json

    try:
        return parse_json((bundle / name).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as err:
        report.problems.append(f"{name} cannot be read as UTF-8 JSON ({type(err).__name__}).")
        return None


def _findings(doc: dict, findings: Any, report: Any) -> None:
    from ._compare_findings import comparison_findings
    from ._text_diff import findings_difference

    try:
        derived = json.loads(json.dumps(comparison_findings(doc, _LANGUAGES), ensure_ascii=False))
    except Exception as err:  # noqa: BLE001 - a damaged results.json is a failed check, with its reason
        report.problems.append(f"The findings cannot be re-derived from results.json ({type(err).__name__}: "
                               f"{str(err)[:160]}); the comparison is not what auditkit wrote.")
        return
    difference = findings_difference(findings if isinstance(findings, list) else [], derived)
    if difference:
        report.problems.append(difference)
    else:
        report.rederived.append(f"findings.json ({len(derived)} findings)")


def _parameters(manifest: dict) -> tuple[float, float, list | None] | None:
    params = manifest.get("parameters") or {}
    level, alpha, metrics = params.get("level"), params.get("alpha"), params.get("metrics")
    if not (isinstance(level, float) and isinstance(alpha, float) and (metrics is None or isinstance(metrics, list))):
        return None
    return level, alpha, metrics


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "(not JSON)"


def _again(bundle: Path, manifest: dict, report: Any) -> bool:
    """Make the comparison again from the recorded bundles; False when they are not there (a note says so)."""
    from ._rerun import _diff
    from .compare import compare_bundles
    from .results import to_json

    compared = manifest.get("compared") if isinstance(manifest.get("compared"), dict) else {}
    home = Path(os.path.abspath(bundle)).parent
    paths = {}
    for key in ("a", "b"):
        entry = compared.get(key) if isinstance(compared.get(key), dict) else {}
        rel = entry.get("path")
        if not isinstance(rel, str) or not (home / rel).is_dir():
            report.notes.append(f"Bundle {key.upper()} was not found at {rel!r} (relative to {home}), so the "
                                "comparison was not made again; its findings and reports were re-derived from "
                                "results.json. Put the compared bundles back where compare found them to check it.")
            return False
        paths[key] = home / rel
    params = _parameters(manifest)
    if params is None:
        report.problems.append("manifest.json: the comparison's parameters (level, alpha, metrics) are not what "
                               "auditkit writes, so the comparison cannot be made again.")
        return True
    try:
        fresh = compare_bundles(paths["a"], paths["b"], level=params[0], alpha=params[1], metrics=params[2])
    except InputDataError as err:
        report.problems.append(f"The comparison cannot be made again from the recorded bundles: {err}")
        return True
    expected = comparison_parameters(*params, max(_threshold(paths["a"]), _threshold(paths["b"])))
    if manifest.get("parameters") != expected:
        report.problems.append(f"manifest.json: the parameters {manifest.get('parameters')} are not those the "
                               f"comparison was made with ({expected}).")
    for key in ("a", "b"):
        if fresh[key]["manifest_sha256"] != (compared.get(key) or {}).get("manifest_sha256"):
            report.problems.append(f"Bundle {key.upper()} at {paths[key]} is not the bundle this comparison was made "
                                   f"from: its manifest hash is {fresh[key]['manifest_sha256']}, the comparison "
                                   f"records {(compared.get(key) or {}).get('manifest_sha256')}.")
    old, new = (bundle / "results.json").read_bytes(), to_json(fresh).encode("utf-8")
    differences = [] if old == new else _diff(_parsed(old), json.loads(new), "results.json")
    if old != new and not differences:
        differences = [{"path": "results.json", "bundle": "(other bytes)", "rerun": "(the same values)"}]
    for d in differences[:10]:
        report.problems.append(f"results.json is not the comparison the two bundles give: at {d['path']} it holds "
                               f"{d['bundle']!r}, the comparison made again gives {d['rerun']!r}.")
    if not differences:
        report.rederived.append("results.json (the comparison made again from both bundles: the same bytes)")
    return True


def verify_comparison(bundle: Path, manifest: dict, listed: dict, report: Any, damaged: set[str],
                      data: Any = None) -> None:
    """The re-derivation step of `verify` for a comparison bundle (see the module docstring)."""
    from ._verify import _reports

    if data is not None:
        raise UsageError(f"{bundle} is a comparison of two bundles: it has no data to re-run. Run `auditkit verify "
                         f"{bundle}` without --data; it checks the compared bundles where compare found them.")
    needed = ("results.json", "findings.json")
    if any(n in damaged or n not in listed for n in needed):
        report.notes.append("Nothing was re-derived: the files it would be derived from are not intact.")
        if any(n not in listed for n in needed):
            report.problems.append(f"The bundle does not list {', '.join(n for n in needed if n not in listed)}.")
        return
    doc, findings = _load(bundle, "results.json", report), _load(bundle, "findings.json", report)
    if not isinstance(doc, dict):
        report.problems.append("results.json should hold the comparison (a JSON object).")
        return
    before = len(report.problems)
    _findings(doc, findings, report)
    _again(bundle, manifest, report)
    if len(report.problems) == before:
        _reports(bundle, listed, report.manifest_sha256 or "", report)
    elif any(e["report"] for e in listed.values()):
        report.notes.append("The reports were not rendered again: the evidence they show already fails.")
