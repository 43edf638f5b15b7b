"""Sentences the analysis writes into ``results.json``, in the reader's language.

Notes, design descriptions, model-card reasons, proxy reasons and the like are written by the measuring
code in English, because ``results.json`` is one document for every language.  A report shows them in its
own language by matching: the English catalog's ``analysis_text`` section holds each such sentence as a
pattern with ``{placeholders}``; a sentence of the results that matches one (in full) is written with the
same key of the report language's catalog.  A placeholder named ``num_…`` holds a number written the
English way (``5,273``, ``19.8``) and is rewritten in the report language's format; any other placeholder
(a column name, a list of names) is kept as it is.

A sentence no pattern matches stays English, and :func:`translate` says so (its second value is ``"en"``),
so a report marks it rather than pass it off as translated; tests/test_report_english.py fails on any such
sentence in the shipped examples.  A new sentence in the analysis needs one entry in ``en.yaml`` and in
every shipped catalog.

>>> from auditkit.locale import load_locale
>>> translate(load_locale("nl"), "fraud_found: 5,273 rows have no outcome; they count in selection rates but "
...           "not in rates that need the outcome.")[0]
'fraud_found: 5.273 rijen hebben geen uitkomst; ze tellen mee in selectiepercentages, maar niet in percentages die de uitkomst nodig hebben.'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ._catalog import Locale

__all__ = ["translate"]

_SECTION = "analysis_text."
_FIELD = re.compile(r"\{(\w+)\}")
_NUMBER = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})*(?:\.\d+)?$|^[+-]?\d+(?:\.\d+)?$")


@lru_cache(maxsize=8)
def _patterns(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for key, text in items:
        parts, pos = [], 0
        for m in _FIELD.finditer(text):
            parts.append(re.escape(text[pos:m.start()]))
            parts.append(f"(?P<{m.group(1)}>.+?)")
            pos = m.end()
        parts.append(re.escape(text[pos:]))
        out.append((key, re.compile("".join(parts), re.DOTALL)))
    # longer patterns first, so that a specific sentence wins over a general one
    return tuple(sorted(out, key=lambda kp: (-len(kp[1].pattern), kp[0])))


def _english_patterns(loc: Locale) -> tuple[tuple[str, re.Pattern[str]], ...]:
    english = loc.fallback if loc.code != "en" else loc.messages
    return _patterns(tuple(sorted((k, v) for k, v in english.items() if k.startswith(_SECTION))))


def translate(loc: Locale, text: str) -> tuple[str, str | None]:
    """``text`` (a sentence of the analysis, in English) in the language of ``loc``, with the language it is
    in when that is not the report's: ``(text, None)`` when translated (or the report is English),
    ``(text, "en")`` when no pattern of the catalog matches."""
    text = str(text)
    if loc.code == "en":
        return text, None
    for key, pattern in _english_patterns(loc):
        m = pattern.fullmatch(text)
        if m is None or key not in loc.messages:
            continue
        values = {}
        for name, value in m.groupdict().items():
            if name.startswith("num_") and _NUMBER.match(value):
                digits = len(value.split(".")[1]) if "." in value else 0
                number = float(value.replace(",", ""))
                value = loc.number(number, digits)
            values[name] = value
        return loc.t(key, **values), None
    return text, "en"
