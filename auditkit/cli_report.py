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
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf", "md", "brief"]),
              help="Output format (repeatable; default html). brief: the one-page A4 brief, as PDF and PNG.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the reports into (report.LANG.FORMAT).")
def report(bundle: Path, lang: str, formats: tuple[str, ...], out_dir: Path) -> None:
    """Render the report of BUNDLE (HTML, PDF, Markdown) from the bundle alone: no data needed."""
    from .report import render_report

    try:
        written = render_report(bundle, lang=lang, formats=formats or ("html",), out_dir=out_dir)
    except AuditkitError as err:
        click.echo(f"Error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    if out_dir.resolve() == bundle.resolve():
        # Rendered into the bundle itself: list the new files so that `auditkit verify` checks
        # them instead of reporting them as unlisted.
        from .bundle import record_reports

        record_reports(bundle, written)
    for path in written:
        click.echo(str(path))
