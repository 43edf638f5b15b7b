"""``auditkit report``: render the reports of an evidence bundle (registered in :mod:`auditkit.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from .exceptions import AuditkitError

__all__ = ["report"]


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--lang", default="en", show_default=True, metavar="CODE",
              help="Report language: en, nl, or any language with a catalog on AUDITKIT_LOCALES_PATH.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf", "md", "csv", "brief"]),
              help="Output format (repeatable; default html). csv: every group's figures, as published. "
                   "brief: the one-page A4 brief, as PDF and PNG.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the reports into (report.LANG.FORMAT). Default: into BUNDLE itself, where "
                   "they are listed in its manifest and checked by `auditkit verify`.")
def report(bundle: Path, lang: str, formats: tuple[str, ...], out_dir: Path | None) -> None:
    """Render the report of BUNDLE (HTML, PDF, Markdown) from the bundle alone: no data needed."""
    from .report import render_report

    wanted = formats or ("html",)
    if "brief" in wanted and (out_dir is None or (out_dir.exists() and out_dir.resolve() == bundle.resolve())):
        click.echo("Error: the brief is a publication made from the bundle, not part of it: give --out DIR for "
                   "brief.LANG.pdf and brief.LANG.png (e.g. --out brief).", err=True)
        raise SystemExit(2)
    try:
        if out_dir is None or (out_dir.exists() and out_dir.resolve() == bundle.resolve()):
            # Into the bundle: rendered in a copy, listed in the manifest, moved into place whole.
            from .bundle import add_reports

            written, unsigned = add_reports(
                bundle, lambda folder: render_report(folder, lang=lang, formats=wanted, out_dir=folder),
                rerender=lambda folder, other, fmts: render_report(folder, lang=other, formats=fmts, out_dir=folder))
            if unsigned:
                click.echo(f"Note: {bundle}/signature.json was removed: the manifest now lists the new report, so "
                           f"the old signature no longer matches. Sign again: auditkit sign {bundle} --key KEYFILE",
                           err=True)
        else:
            written = render_report(bundle, lang=lang, formats=wanted, out_dir=out_dir)
    except AuditkitError as err:
        click.echo(f"Error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    for path in written:
        click.echo(str(path))
