"""``auditkit verify``, ``auditkit keygen`` and ``auditkit sign`` (registered lazily in :mod:`auditkit.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["keygen", "sign", "verify"]


def _lines(report, bundle: Path) -> list[str]:
    lines = [f"{report.checked} file hashes checked in {bundle} (manifest hash {report.manifest_sha256})."]
    lines += [f"EDITED: {p} does not match its hash in the manifest" for p in report.edited]
    lines += [f"MISSING: {p} is listed in the manifest but not in the bundle" for p in report.missing]
    lines += [f"UNLISTED: {p} is in the bundle but not in the manifest" for p in report.unlisted]
    lines += [f"LINK: {p}" for p in report.links]
    lines += [f"FAILED: {p}" for p in report.problems]
    lines += [f"Re-derived: {p}" for p in report.rederived]
    if report.signer:
        lines.append(f"Signature: valid, by key {report.signer}.")
    for i in report.inputs:
        state = "matches" if i["matches"] else f"DIFFERS (bundle {str(i['expected'])[:12]}…, given {i['actual'][:12]}…)"
        lines.append(f"Input {i['role']} {i['name']}: sha256 {state}")
    if report.rerun:
        lines.append(f"Re-run: {len(report.differences)} value(s) differ" if report.differences
                     else "Re-run: every figure is the same, and every file and manifest entry.")
        lines += [f"  {d['path']}: bundle {d['bundle']!r}, re-run {d['rerun']!r}" for d in report.differences[:30]]
    lines += [f"Note: {n}" for n in report.notes]
    lines.append("OK: the bundle is intact." if report.ok else "FAILED: the bundle does not match.")
    return lines


@click.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--data", type=click.Path(readable=False, path_type=Path), help="Re-run the recorded command on this data and "
              "compare everything: every figure, file and manifest entry.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), help="The model file, for a model assessment.")
@click.option("--composition", type=click.Path(dir_okay=False, path_type=Path),
              help="An area audit's composition table (default: the path its recorded command names).")
@click.option("--crosswalk", type=click.Path(dir_okay=False, path_type=Path),
              help="An area audit's crosswalk of area codes (default: the path its recorded command names).")
@click.option("--compare-model", type=click.Path(dir_okay=False, path_type=Path),
              help="The second model file, for an assessment made with --compare-model (default: its recorded path).")
@click.option("--signer", type=click.Path(dir_okay=False, path_type=Path), metavar="KEYFILE.pub",
              help="Fail unless the bundle is signed by this public key (auditkit keygen, auditkit sign).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the verification report as JSON.")
def verify(bundle: Path, data: Path | None, model: Path | None, composition: Path | None, crosswalk: Path | None,
           compare_model: Path | None, signer: Path | None, json_path: Path | None) -> None:
    """Check BUNDLE: every file against its manifest, the findings and reports re-derived from the results;
    with --signer its signature; with --data, re-run the recorded command and compare everything."""
    from ._output import write_text
    from ._verify import as_mapping
    from .bundle import verify_bundle
    from .results import to_json

    report = verify_bundle(bundle, data=data, model=model, signer=signer,
                           inputs={"composition": composition, "crosswalk": crosswalk, "compare_model": compare_model})
    if json_path is not None:
        write_text(json_path, to_json(dict(as_mapping(report))))
    click.echo("\n".join(_lines(report, bundle)), err=json_path is not None and str(json_path) == "-")
    if not report.ok:
        sys.exit(1)


@click.command()
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--comment", default="auditkit", show_default=True, help="Name written after the public key.")
def keygen(keyfile: Path, comment: str) -> None:
    """Make an Ed25519 key pair: the private key in KEYFILE (keep it secret), the public key in KEYFILE.pub
    (publish it)."""
    from ._sign import keygen as make

    if any(c in comment for c in "\n\r"):
        raise click.UsageError("--comment must be one line.")
    pub, fp = make(keyfile, comment)
    click.echo(f"Private key: {keyfile} (keep it secret; it signs in the lab's name)\nPublic key:  {pub} "
               f"(publish it)\nFingerprint: {fp}")


@click.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="KEYFILE",
              help="The private key (auditkit keygen).")
def sign(bundle: Path, key: Path) -> None:
    """Sign BUNDLE's manifest (which hashes every file) with KEYFILE; writes BUNDLE/signature.json.

    The bundle is verified first: auditkit does not sign a bundle that fails verification."""
    from ._sign import sign_bundle
    from .bundle import verify_bundle

    report = verify_bundle(bundle)
    failures = [p for p in report.problems if "signature" not in p.lower()]
    if report.edited or report.missing or report.unlisted or report.links or failures:
        click.echo("\n".join(_lines(report, bundle)), err=True)
        click.echo("Error: the bundle does not verify; auditkit signs only an intact bundle.", err=True)
        sys.exit(1)
    path, fp = sign_bundle(bundle, key)
    click.echo(f"Signed {bundle}/manifest.json with key {fp}: {path}\n"
               f"Check it: auditkit verify {bundle} --signer {key}.pub")

