"""Message catalogs and number formats: the language room that findings, reports and the CLI all read.

A language is one catalog file, ``<code>.yaml`` (or ``.yml`` / ``.json``), found on a search path:
the folders of ``AUDITKIT_LOCALES_PATH`` first, then the catalogs shipped in ``auditkit/locale/messages``.
It belongs to no single stage: findings take their number conventions from it, reports every word.
Attribute and group labels (from the template a bundle records) come from :func:`label`, one function
for findings, report sections and the terminal alike.

>>> from auditkit.locale import load_locale
>>> load_locale("nl").percent(0.1234)
'12,3%'
"""

from __future__ import annotations

from ._catalog import LOCALES_ENV, Locale, LocaleError, available_languages, load_locale, locale_dirs
from ._labels import label, pick

__all__ = ["LOCALES_ENV", "Locale", "LocaleError", "available_languages", "label", "load_locale", "locale_dirs", "pick"]
