"""The PDF renderer: the same HTML, laid out by WeasyPrint with its print stylesheet.

Page numbers and the citation line sit in the page margins (CSS ``@page`` boxes); each finding's id is
printed in the left margin beside it.  Nothing is fetched: the URL fetcher refuses every URL.  The PDF
carries no creation or modification date (WeasyPrint writes none unless the HTML gives one), so the
same HTML gives the same bytes with the same WeasyPrint, fonts and pydyf.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_pdf"]


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"auditkit reports load nothing from outside the file (refused {url[:80]!r}).")


def render_pdf(html: str) -> bytes:
    """The PDF of a report's HTML: PDF/UA-1 (tagged, with title and language, for screen readers)."""
    try:
        import weasyprint
    except ImportError as err:  # pragma: no cover - depends on the installation
        from ..exceptions import EngineError

        raise EngineError("PDF reports need WeasyPrint: pip install 'auditkit[report]' (and the Pango library, "
                          "e.g. apt-get install libpango-1.0-0 libpangoft2-1.0-0).") from err
    document = weasyprint.HTML(string=html, url_fetcher=_refuse, base_url=None)
    return document.write_pdf(pdf_variant="pdf/ua-1")
