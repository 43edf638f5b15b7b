"""Reports rendered from an evidence bundle alone: HTML, PDF and Markdown, in every language with a catalog.

The document tree (:func:`build_document`) decides what a report says; renderers only lay it out.

>>> from auditkit.report import available_languages
>>> {"en", "nl"} <= set(available_languages())
True
"""

from __future__ import annotations

from ._build import build_document
from ._bundle import Bundle, load_bundle
from ._document import Document
from ..locale import LOCALES_ENV, LocaleError, available_languages, load_locale
from .render import FORMATS, render_report

__all__ = [
    "Bundle",
    "Document",
    "FORMATS",
    "LOCALES_ENV",
    "LocaleError",
    "available_languages",
    "build_document",
    "load_bundle",
    "load_locale",
    "render_report",
]
