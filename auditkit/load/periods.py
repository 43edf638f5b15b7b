"""The period column: dates and period labels read as periods, in the order of time.

A period column may hold dates (``2019-03-01``, ``2019/03/01``, ISO date-times,
Parquet date and timestamp columns, or day-month-year forms such as
``01-03-2019`` when the column itself shows which part is the day), months
(``2019-03``), quarters (``2019Q1``, ``2019-Q1``, ``Q1 2019``), ISO weeks
(``2019-W09``) or years (``2014``).  With ``--period-freq`` every value is put
in its year, quarter, month, ISO week or day; without it the values must
already be periods of one kind (dates are refused, asking for
``--period-freq``).  Labels are canonical (``2019``, ``2019-Q1``, ``2019-03``,
``2019-W09``, ``2019-03-01``) and the levels are in time order.  With
``--period-order`` the values are labels of another ordered kind (model
versions, named rounds) in the order given, not read as dates.

Only the distinct values are parsed (an engine's reduced table holds each
once), so a period costs no pass over the rows.  Blank values form the last
level ``(missing)``, which has no place in time; a value that is not a period,
and day-month-year dates whose order the column never settles, are refused
with the value and the row where it first occurs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import numpy as np

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ..measure._counts import MISSING, Dimension
from ..spec import PERIOD_FREQS, AuditSpec
from .data import SourceTable
from .rows import _rows

__all__ = ["period_dimension", "read_period"]

#: Kinds of value, finest first; a value can be put in a period of its own kind or a coarser one (weeks
#: cross month and year boundaries, so a week goes only into a week).
_KINDS = ("day", "week", "month", "quarter", "year")
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
_PATTERNS = (
    ("year", re.compile(r"(\d{4})")),
    ("quarter", re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.I)),
    ("quarter_first", re.compile(r"Q([1-4])[\s-]*(\d{4})", re.I)),
    ("week", re.compile(r"(\d{4})-?W(\d{1,2})", re.I)),
    ("month", re.compile(r"(\d{4})[-/](\d{1,2})")),
    ("iso_day", re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)),
    ("dmy", re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME)),
)


def read_period(text: str, day_first: bool | None = True) -> tuple[str, dt.date] | None:
    """The kind of period ``text`` is and the first day of it; None if it is no period.

    ``day_first``: how to read ``01-03-2019`` (True: 1 March; False: 3 January).

    >>> read_period("2019-Q2"), read_period("2019-03-01 10:30:00")
    (('quarter', datetime.date(2019, 4, 1)), ('day', datetime.date(2019, 3, 1)))
    >>> read_period("13/02/2019"), read_period("2019-02-30")
    (('day', datetime.date(2019, 2, 13)), None)
    """
    value = text.strip()
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(value)
        if match is None:
            continue
        parts = [int(g) for g in match.groups() if g is not None and g.isdigit()]
        try:
            return _start(kind, parts, day_first)
        except ValueError:
            return None
    return None


def _start(kind: str, parts: list[int], day_first: bool | None) -> tuple[str, dt.date]:
    if kind == "year":
        return "year", dt.date(parts[0], 1, 1)
    if kind in ("quarter", "quarter_first"):
        year, quarter = parts if kind == "quarter" else parts[::-1]
        return "quarter", dt.date(year, 3 * quarter - 2, 1)
    if kind == "week":
        return "week", dt.date.fromisocalendar(parts[0], parts[1], 1)
    if kind == "month":
        return "month", dt.date(parts[0], parts[1], 1)
    if kind == "iso_day":
        return "day", dt.date(parts[0], parts[1], parts[2])
    first, second, year = parts[:3]
    day, month = (first, second) if day_first else (second, first)
    return "day", dt.date(year, month, day)


def label(start: dt.date, freq: str) -> str:
    """The canonical label of the period of kind ``freq`` that holds ``start``.

    >>> label(dt.date(2019, 5, 17), "quarter"), label(dt.date(2019, 1, 1), "week")
    ('2019-Q2', '2019-W01')
    """
    if freq == "year":
        return f"{start.year:04d}"
    if freq == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if freq == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if freq == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return start.isoformat()


def _bucket_start(start: dt.date, freq: str) -> dt.date:
    """The first day of the period of kind ``freq`` holding ``start`` (for ordering)."""
    if freq == "year":
        return dt.date(start.year, 1, 1)
    if freq == "quarter":
        return dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    if freq == "month":
        return dt.date(start.year, start.month, 1)
    if freq == "week":
        return start - dt.timedelta(days=start.weekday())
    return start


def period_dimension(src: SourceTable, name: str, levels: list[str], codes: np.ndarray, spec: AuditSpec,
                     notes: list[str], weights: np.ndarray | None,
                     first: Callable[[np.ndarray], str]) -> tuple[Dimension, np.ndarray]:
    """The period dimension of column ``name``: its levels in time order and each entry's code.

    ``levels``/``codes``: the column's distinct labels and each entry's index (-1: blank);
    ``first(mask)`` says where the first row of the entries in ``mask`` is, for messages.
    """
    if spec.period_order:
        order, remap = _ordered(src, name, levels, spec.period_order)
    else:
        order, remap = _in_time(src, name, levels, codes, spec.period_freq, notes, first)
    out = remap[codes] if len(levels) else np.full(len(codes), -1, dtype=np.int64)
    missing = codes < 0
    if missing.any():
        n = int(missing.sum() if weights is None else weights[missing].sum())
        notes.append(f"{name}: {_rows(n)} no value; they form the period {MISSING!r}, which has no place in time "
                     "(it is counted in the pooled figures, not in any comparison over time).")
        out = np.where(missing, len(order), out)
        order = [*order, MISSING]
    return Dimension(name, "period", tuple(order)), out.astype(np.int64)


def _ordered(src: SourceTable, name: str, levels: list[str],
             given: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Labels in the --period-order given; every label of the column must be placed."""
    unknown = [p for p in given if p not in levels]
    if unknown:
        raise InputDataError(f"{src.label}: --period-order names {unknown[0]!r}, but column {name!r} has "
                             f"{list_values(levels)}.{did_you_mean(unknown[0], levels)}")
    unlisted = [lv for lv in levels if lv not in given]
    if unlisted:
        raise InputDataError(f"{src.label}: column {name!r} holds {list_values(unlisted)}, which --period-order "
                             f"({', '.join(given)}) does not place; every period must have its place in time. "
                             "Add it to --period-order, or leave its rows out with --exclude.")
    order = list(given)
    return order, np.array([order.index(lv) for lv in levels] + [-1], dtype=np.int64)


def _in_time(src: SourceTable, name: str, levels: list[str], codes: np.ndarray, freq: str | None,
             notes: list[str], first: Callable[[np.ndarray], str]) -> tuple[list[str], np.ndarray]:
    """Labels read as periods, bucketed by ``freq`` (or taken as they are), in time order."""
    if not levels:
        return [], np.array([-1], dtype=np.int64)
    day_first = _day_first(src, name, levels, codes, first)
    read = [read_period(lv, day_first) for lv in levels]
    bad = [i for i, r in enumerate(read) if r is None]
    if bad:
        lv = levels[bad[0]]
        raise InputDataError(
            f"{src.label}: period column {name!r} holds {lv!r} (first at {first(codes == bad[0])}), which is not a "
            "date or a period. A period column holds dates (2019-03-01), months (2019-03), quarters (2019-Q1), "
            "ISO weeks (2019-W09) or years (2019); for labels of another order (model versions) give "
            f"--period-order A,B,C. Fix the value, or leave its rows out with --exclude {name}={lv}.")
    kinds = sorted({r[0] for r in read if r is not None}, key=_KINDS.index)
    if freq is None:
        if "day" in kinds:
            example = levels[next(i for i, r in enumerate(read) if r is not None and r[0] == "day")]
            raise InputDataError(
                f"{src.label}: period column {name!r} holds dates (e.g. {example!r}); say which periods to group "
                f"them into with --period-freq {'|'.join(PERIOD_FREQS)}.")
        if len(kinds) > 1:
            raise InputDataError(
                f"{src.label}: period column {name!r} mixes {' and '.join(k + 's' for k in kinds)}; periods must be "
                f"of one kind. Group them with --period-freq {kinds[-1]}, or fix the column.")
        freq = kinds[0]
    for kind in kinds:
        if not _fits(kind, freq):
            example = levels[next(i for i, r in enumerate(read) if r is not None and r[0] == kind)]
            raise InputDataError(
                f"{src.label}: --period-freq {freq} cannot place {example!r} (a {kind}) in one {freq} of column "
                f"{name!r}. " + ("Use --period-freq week (weeks cross month and year boundaries)." if kind == "week"
                                 else f"Use --period-freq {kind} or a coarser one."))
    starts = [_bucket_start(r[1], freq) for r in read if r is not None]
    order = sorted(set(starts))
    labels = [label(s, freq) for s in order]
    remap = np.array([order.index(s) for s in starts] + [-1], dtype=np.int64)
    if levels and (freq != kinds[0] or len(set(levels)) != len(order)):
        notes.append(f"{name}: {len(levels):,} distinct values grouped by {freq} into {len(order):,} periods "
                     f"({labels[0]} to {labels[-1]}).")
    return labels, remap


def _fits(kind: str, freq: str) -> bool:
    """Can a value of ``kind`` be placed in one period of kind ``freq``?"""
    if kind == "week" or freq == "week":
        return kind in ("day", "week") and freq == "week" or kind == freq
    return _KINDS.index(kind) <= _KINDS.index(freq)


def _day_first(src: SourceTable, name: str, levels: list[str], codes: np.ndarray,
               first: Callable[[np.ndarray], str]) -> bool | None:
    """How the column writes day-month-year dates: settled by a part above 12, else refused if it matters."""
    pattern = dict(_PATTERNS)["dmy"]
    pairs = [(i, pattern.fullmatch(lv.strip())) for i, lv in enumerate(levels)]
    found = [(i, int(m.group(1)), int(m.group(2))) for i, m in pairs if m is not None]
    day_first = [i for i, a, b in found if a > 12]
    month_first = [i for i, a, b in found if b > 12]
    if day_first and month_first:
        raise InputDataError(
            f"{src.label}: period column {name!r} writes dates both day first ({levels[day_first[0]]!r}, first at "
            f"{first(codes == day_first[0])}) and month first ({levels[month_first[0]]!r}, first at "
            f"{first(codes == month_first[0])}). Write every date as YYYY-MM-DD.")
    if day_first or month_first:
        return bool(day_first)
    unclear = [i for i, a, b in found if a != b]
    if unclear:
        lv = levels[unclear[0]]
        raise InputDataError(
            f"{src.label}: period column {name!r} writes dates as {lv!r} (first at {first(codes == unclear[0])}), "
            "which could be day-month-year or month-day-year, and no value in the column shows which (no part is "
            "above 12). Write the dates as YYYY-MM-DD (ISO 8601).")
    return True
