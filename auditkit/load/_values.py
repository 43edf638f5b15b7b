"""Values given on the command line, matched to a column's values by meaning.

``--positive 1`` must select the same rows whether the file writes ``1``,
``1.0`` or ``True``: in a column of numbers a value matches every spelling of
the same number, and in a yes/no column ``true``, ``ja``, ``yes``, ``1`` all
mean yes.  A word such as ``ja`` is read as yes only where the column's own
values make that unambiguous (the column holds only yes/no values, or only 0
and 1).  Text columns still match exactly, with the closest values suggested.
What was matched is recorded as the column's own values ("the value as read").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError

__all__ = ["match_values"]

_YES = frozenset({"true", "ja", "yes", "j", "y", "waar", "wahr", "vrai", "oui"})
_NO = frozenset({"false", "nee", "no", "n", "onwaar", "falsch", "faux", "non"})


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _truth(text: str) -> bool | None:
    """True/False for a yes/no word or 0/1 (in any number spelling), else None."""
    word = text.strip().casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    number = _number(word)
    return None if number not in (0.0, 1.0) else number == 1.0


def _kind(levels: Sequence[str]) -> str:
    """'boolean' (only yes/no words and 0/1), 'numeric' (only numbers) or 'text'."""
    if levels and all(_truth(lv) is not None for lv in levels):
        return "boolean"
    if levels and all(_number(lv) is not None for lv in levels):
        return "numeric"
    return "text"


def match_values(levels: Sequence[str], given: Sequence[str], *, label: str, column: str, option: str,
                 after: str = "") -> list[str]:
    """The levels of ``column`` that ``given`` values mean, in the column's order.

    Raises :class:`InputDataError` for a value that matches nothing, listing the column's
    values and the closest one.

    >>> match_values(["0.0", "1.0"], ["1"], label="d.csv", column="y", option="--truth-positive")
    ['1.0']
    >>> match_values(["False", "True"], ["ja"], label="d.csv", column="y", option="--positive")
    ['True']
    >>> match_values(["0", "1", "1.0"], ["true"], label="d.csv", column="y", option="--positive")
    ['1', '1.0']
    """
    kind = _kind(levels)
    chosen: set[str] = set()
    for value in given:
        hits = _hits(levels, value.strip(), kind)
        if not hits:
            raise InputDataError(
                f"{label}: {option} {value!r} does not occur in column {column!r}{after}, which holds "
                f"{list_values(levels)}.{did_you_mean(value, levels)} Give the value as it is written in the column"
                + (" (in a column of numbers or of yes/no values, any spelling of the same value matches)."
                   if kind == "text" else ".")
            )
        chosen.update(hits)
    return [lv for lv in levels if lv in chosen]


def _hits(levels: Sequence[str], value: str, kind: str) -> list[str]:
    if kind == "boolean":
        truth = _truth(value)
        if truth is not None:
            return [lv for lv in levels if _truth(lv) is truth]
    if kind in ("boolean", "numeric"):
        number = _number(value)
        if number is not None:
            return [lv for lv in levels if _number(lv) == number]
    return [lv for lv in levels if lv == value]
