"""How a text column writes its numbers: decimal mark and thousands separator, never guessed silently.

``1,234`` is one thousand two hundred and thirty-four in an English export and
one point two three four in a Dutch one.  Reading it the wrong way does not fail;
it moves a threshold of 1000 past every score.  So the format is decided from
the whole column, each value narrowing the formats it can be written in:

==============  =============================================
value           formats it allows (decimal, thousands)
==============  =============================================
``0,73``        decimal comma
``1,234``       decimal comma, or comma thousands
``1,234,567``   comma thousands
``1.234``       decimal point, or point thousands
``0.73``        decimal point
``1,234.5``     comma thousands with a decimal point
``1.234,5``     point thousands with a decimal comma
==============  =============================================

A column whose values leave one reading of every mark it uses is read that way,
and the format is recorded; a column that leaves two readings of a comma (every
comma value looks like ``1,234``) is an error asking for ``--decimal`` or
``--thousands``.  A point alone is read as a decimal point, the convention of
every CSV writer, unless a value such as ``1.234.567`` rules that out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .._text import list_values
from ..exceptions import InputDataError

__all__ = ["NumberFormat", "detect_format", "distinct_texts", "normalise"]


@dataclass(frozen=True)
class NumberFormat:
    """A column's decimal mark and thousands separator, and whether they were detected or declared."""

    decimal: str = "."
    thousands: str | None = None
    how: str = "plain"

    def record(self) -> dict | None:
        """The format as the results record it (None for numbers read as any CSV reader reads them: plain
        digits with a decimal point, so that a CSV file and the same table in Parquet give the same record)."""
        if self.how == "plain" or (self.how == "detected" and (self.decimal, self.thousands) == (".", None)):
            return None
        return {"decimal": self.decimal, "thousands": self.thousands, "how": self.how}


#: Candidate formats: (decimal, thousands).
_POINT, _COMMA, _COMMA_THOUSANDS, _POINT_THOUSANDS = (".", None), (",", None), (".", ","), (",", ".")
_ALL = (_POINT, _COMMA, _COMMA_THOUSANDS, _POINT_THOUSANDS)
_EXP = r"([eE][+-]?\d+)?"


def _pattern(decimal: str, thousands: str | None) -> str:
    """A value written in this format (sign, digits or grouped digits, decimals, exponent)."""
    d = re.escape(decimal)
    grouped = rf"|[1-9]\d{{0,2}}({re.escape(thousands)}\d{{3}})+" if thousands else ""
    return rf"^[+-]?(\d+{grouped})({d}\d*)?{_EXP}$|^[+-]?{d}\d+{_EXP}$"


def _allows(values: pa.Array, fmt: tuple[str, str | None]) -> bool:
    if not len(values):
        return True
    return bool(pc.all(pc.match_substring_regex(values, _pattern(*fmt))).as_py())


def detect_format(values: pa.Array, *, label: str, column: str, decimal: str | None = None,
                  thousands: str | None = None) -> NumberFormat:
    """The format of ``values`` (the distinct, trimmed, non-blank texts of a whole column).

    Values that fit no format are left for the score parser to report as text.

    >>> detect_format(pa.array(["0,73", "1,234"]), label="f", column="s")
    NumberFormat(decimal=',', thousands=None, how='detected')
    >>> detect_format(pa.array(["1,234.5", "12"]), label="f", column="s").thousands
    ','
    """
    has = {m: bool(len(values)) and bool(pc.any(pc.match_substring(values, m)).as_py()) for m in ",. '_"}
    if decimal or thousands:
        dec = decimal or ("," if thousands == "." else ".")
        fmt = NumberFormat(dec, thousands or ({",": ".", ".": ","}[dec] if has[{",": ".", ".": ","}[dec]] else None),
                           "declared")
        _check_declared(values, fmt, label, column)
        return fmt
    if not has[","] and not has["."]:
        return NumberFormat()
    fitting = [fmt for fmt in _ALL if _allows(_numbers_only(values), fmt)]
    if not fitting:
        return NumberFormat(how="plain")  # mixed or not numbers at all: the parser names the values
    comma_means = {("decimal" if fmt[0] == "," else "thousands") for fmt in fitting} if has[","] else set()
    point_means = {("decimal" if fmt[0] == "." else "thousands") for fmt in fitting} if has["."] else set()
    if len(comma_means) > 1 or (has[","] and len(point_means) > 1):
        shown = _examples(values, ",")
        raise InputDataError(
            f"{label}: score column {column!r} writes numbers such as {shown}, in which the comma may be a "
            "decimal comma (1,234 = 1.234) or a thousands separator (1,234 = 1234); no value in the column "
            "settles which. Declare it: --decimal , (a decimal comma) or --thousands , (a thousands separator)."
        )
    if has["."] and not has[","] and _POINT in fitting:
        return NumberFormat(".", None, "detected")
    chosen = fitting[0]
    if has[","] and "decimal" in comma_means:
        chosen = next(f for f in fitting if f[0] == ",")
    elif has[","]:
        chosen = _COMMA_THOUSANDS
    elif point_means == {"thousands"}:
        chosen = _POINT_THOUSANDS
    return NumberFormat(chosen[0], chosen[1] if (chosen[1] and has[chosen[1]]) else None, "detected")


def _numbers_only(values: pa.Array) -> pa.Array:
    """The values that look like numbers in some format (others are the parser's to report)."""
    return values.filter(pc.match_substring_regex(values, r"^[+-]?[\d.,]*\d[\d.,]*([eE][+-]?\d+)?$"))


def _examples(values: pa.Array, mark: str) -> str:
    return list_values([v for v in values.filter(pc.match_substring(values, mark)).to_pylist()[:3]])


def _check_declared(values: pa.Array, fmt: NumberFormat, label: str, column: str) -> None:
    numbers = _numbers_only(values) if fmt.thousands not in (" ", "'", "_") else values
    bad = numbers.filter(pc.invert(pc.match_substring_regex(numbers, _pattern(fmt.decimal, fmt.thousands))))
    if len(bad):
        raise InputDataError(
            f"{label}: score column {column!r} holds {list_values(bad.to_pylist()[:5])}, which are not numbers "
            f"written with decimal mark {fmt.decimal!r}"
            + (f" and thousands separator {fmt.thousands!r}" if fmt.thousands else "")
            + " as declared. Check --decimal and --thousands, or fix those values."
        )


def normalise(text: pa.Array | pa.ChunkedArray, fmt: NumberFormat) -> pa.Array | pa.ChunkedArray:
    """Text in ``fmt`` rewritten as plain numbers (thousands removed, decimal mark a point)."""
    if fmt.thousands:
        text = pc.replace_substring(text, fmt.thousands, "")
    if fmt.decimal == ",":
        text = pc.replace_substring(text, ",", ".")
    return text


def distinct_texts(arrays: Sequence[pa.Array | pa.ChunkedArray]) -> pa.Array:
    """Distinct trimmed non-blank texts over ``arrays`` (batches of one column)."""
    seen: list[pa.Array] = []
    for array in arrays:
        text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
        unique = pc.unique(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text).drop_null()
        # Blank texts dropped by length: comparing with the Python scalar "" would import pandas (pa.scalar).
        seen.append(unique.filter(pc.cast(pc.utf8_length(unique), pa.bool_())))
    if not seen:
        return pa.array([], pa.string())
    return pc.unique(pa.concat_arrays(seen)) if len(seen) > 1 else seen[0]
