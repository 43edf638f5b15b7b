"""Reports rendered from an evidence bundle alone: HTML, PDF and Markdown, in every language with a catalog.

The document tree (:func:`build_document`) decides what a report says; renderers only lay it out.

>>> from auditkit.report import available_languages
>>> {"en", "nl"} <= set(available_languages())
True
"""

from __future__ import annotations

import sys
import types

from ._build import build_document
from ._bundle import Bundle, load_bundle
from ._document import Document
from ..locale import LOCALES_ENV, LocaleError, available_languages, load_locale
from .render import FORMATS, render_report



class _CallableModule(types.ModuleType):
    """``auditkit.report(BUNDLE, lang=..., format=...)`` renders, although ``auditkit.report`` is this package:
    a function of that name in ``auditkit`` would be replaced by the package the moment it is imported."""

    def __call__(self, bundle, lang="en", format="html", *, out=None):  # noqa: ANN001, ANN204 - see notebook.report
        from ..notebook import report

        return report(bundle, lang=lang, format=format, out=out)


sys.modules[__name__].__class__ = _CallableModule

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
