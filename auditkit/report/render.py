"""render_report: a bundle in, report files out (HTML, PDF, Markdown), the same bytes every time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .._text import did_you_mean, list_values
from ..exceptions import UsageError
from ._build import build_document
from ._bundle import Bundle, load_bundle

__all__ = ["FORMATS", "render_report"]

FORMATS = ("html", "pdf", "md", "csv", "brief")


def render_report(bundle_dir: str | os.PathLike, *, lang: str = "en", formats: Sequence[str] = ("html",),
                  out_dir: str | os.PathLike, min_count: int | None = None) -> list[Path]:
    """Render the report of the bundle in ``bundle_dir`` and return the files written.

    Files are named ``report.<lang>.<format>`` in ``out_dir``, written by :mod:`auditkit._output` (whole,
    never through a link); ``brief`` writes the one-page brief as ``brief.<lang>.pdf`` and ``brief.<lang>.png``.
    Only the bundle is read: no data, no model.  To render into the bundle itself and list the reports in
    its manifest, use :func:`auditkit.bundle.add_reports`.
    ``min_count`` overrides the bundle's minimum publishable count (``suppression_threshold``, default 10).

    >>> render_report("no-such-folder", out_dir="out")
    Traceback (most recent call last):
    ...
    auditkit.exceptions.InputDataError: 'no-such-folder' is not an evidence bundle: it is not a folder. ...
    """
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise UsageError(f"Unknown report format {unknown[0]!r}.{did_you_mean(unknown[0], FORMATS)} "
                         f"Formats: {list_values(FORMATS)}.")
    bundle = load_bundle(bundle_dir)
    if bundle.manifest.get("kind") == "comparison":  # auditkit compare A B --out DIR
        from ._build_compare import render_comparison

        return render_comparison(bundle, lang, wanted, Path(out_dir))
    doc = build_document(bundle, lang, min_count=min_count)
    from .._output import write_bytes

    out = Path(out_dir)
    written = []
    html = None
    if "brief" in wanted:
        written += _write_brief(bundle, doc.lang, out, min_count)
        wanted.remove("brief")
    if "html" in wanted or "pdf" in wanted:
        from ._html import render_html

        html = render_html(doc)
    for fmt in wanted:
        path = out / f"report.{doc.lang}.{fmt}"
        if fmt == "html":
            write_bytes(path, str(html).encode("utf-8"))
        elif fmt == "pdf":
            from ._pdf import render_pdf

            write_bytes(path, render_pdf(str(html)))
        elif fmt == "csv":
            from ..results import write_csv
            from ._build import table_file

            write_csv(table_file(bundle, lang, min_count=min_count), path)
        else:
            from ._markdown import render_markdown

            write_bytes(path, render_markdown(doc).encode("utf-8"))
        written.append(path)
    return written


def _write_brief(bundle: Bundle, lang: str, out: Path, min_count: int | None) -> list[Path]:
    from ._brief import brief_html, brief_png, build_brief
    from ._pdf import render_pdf

    pdf = render_pdf(brief_html(build_brief(bundle, lang, min_count=min_count)))
    paths = [out / f"brief.{lang}.pdf", out / f"brief.{lang}.png"]
    from .._output import write_bytes

    write_bytes(paths[0], pdf)
    write_bytes(paths[1], brief_png(pdf))
    return paths
