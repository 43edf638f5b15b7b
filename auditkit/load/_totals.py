"""Total rows in a published count table: found, checked, and left out.

Agency tables end with a ``Totaal`` row (or carry a ``Total`` value in the
decision column, or a row with a blank group holding the sum).  Counted as a
group it doubles the population and may even become the reference group.  A
row is a *total* when a grouping, decision, outcome or cell column holds one of
:data:`TOTAL_LABELS` (or is blank) and its count equals the sum of the rows it
sums: the rows with the same values in every other column.  Such rows are left
out, with a note and a population step.  A labelled total that does not add up
is an error naming the row: the table is inconsistent, which is itself worth
reporting to the agency.  A blank group that does not add up is left alone (it
is the ``(missing)`` group).  ``--keep-row LABEL`` keeps rows with that label.

With suppressed cells a sum is known only as a range; a total is taken to add
up when its range and the range of the sum overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from .._text import list_values
from ..exceptions import InputDataError
from ..spec import AuditSpec
from .data import SourceTable
from .rows import _row_numbers

__all__ = ["TOTAL_LABELS", "drop_totals"]

#: Labels of total rows (compared case-insensitively, spaces trimmed).
TOTAL_LABELS = frozenset({"totaal", "total", "totals", "totalen", "eindtotaal", "grand total", "alle", "all",
                          "overall", "gesamt", "insgesamt", "subtotal", "subtotaal", "som", "sum"})


def drop_totals(src: SourceTable, spec: AuditSpec, count_columns: Sequence[str], key_columns: Sequence[str],
                group_columns: Sequence[str], parse: Callable, value_levels: Callable, where: Callable,
                steps: list[dict], notes: list[str]) -> SourceTable:
    """``src`` without its total rows (see the module docstring).

    ``key_columns`` are every column that places a count (groups, decision, outcome, cell);
    ``group_columns`` those among them where a blank value may be a total.  ``parse``,
    ``value_levels`` and ``where`` are the count-table reader's helpers (counts as numbers and
    suppressed flags, a column's levels and codes, a row's position for messages).
    """
    keep = {k.strip().casefold() for k in spec.keep_rows}
    low, high = _bounds(src, spec, count_columns, parse)
    coded = {c: value_levels(src, c) for c in key_columns}
    drop = np.zeros(src.table.num_rows, dtype=bool)
    for column in key_columns:
        levels, codes = coded[column]
        labels = [lv for lv in levels if lv.strip().casefold() in TOTAL_LABELS and lv.strip().casefold() not in keep]
        total_codes = [levels.index(lv) for lv in labels]
        blank_total = column in group_columns and "" not in keep and bool((codes < 0).any())
        if not total_codes and not blank_total:
            continue
        is_total = np.isin(codes, total_codes)
        others = [c for c in key_columns if c != column]
        parts = ~is_total & (codes >= 0) & ~drop
        adds_up = _adds_up(is_total | (codes < 0), parts, others, coded, low, high)
        labelled = is_total & ~drop
        if labelled.any() and not adds_up[labelled].all():
            bad = labelled & ~adds_up
            sums = _sums(bad, count_columns, low, high, others, coded, parts)
            raise InputDataError(
                f"{src.label}: the row with {_value(src, column, bad)!r} in column {column!r} ({where(src, bad)}) is "
                f"a total, but its count does not equal the sum of the rows it totals ({sums}). "
                "The published table is inconsistent (worth raising with the agency). If the row is a group "
                f"of its own, keep it with --keep-row {_value(src, column, bad)!r}."
            )
        blank_rows = (codes < 0) & ~drop & adds_up if blank_total else np.zeros_like(drop)
        found = labelled | blank_rows
        if found.any():
            what = list_values(labels) + (" and blank" if blank_rows.any() and labels else "")
            what = what or "blank"
            notes.append(f"{src.label}: {int(found.sum())} row(s) with {what} in column {column!r} equal the sum "
                         "of the other rows and were left out as totals (keep them with --keep-row LABEL).")
            drop |= found
    if not drop.any():
        return src
    before = src.table.num_rows
    table = src.table.filter(pa.array(~drop))
    steps.append({"step": "removed total rows (each equal to the sum of the rows it totals)",
                  "rows_before": before, "rows_after": table.num_rows})
    return SourceTable(table, src.label, src.kind, src.columns, src.notes, _row_numbers(src)[~drop])


def _bounds(src: SourceTable, spec: AuditSpec, count_columns: Sequence[str],
            parse: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Each row's count range per count column: (rows, columns) arrays of low and high."""
    lo_s, hi_s = spec.suppressed_range
    lows, highs = [], []
    for column in count_columns:
        counts, suppressed = parse(src, column, spec)
        lows.append(np.where(suppressed, lo_s, counts))
        highs.append(np.where(suppressed, hi_s, counts))
    return np.column_stack(lows), np.column_stack(highs)


def _keys(rows: np.ndarray, others: Sequence[str], coded: dict) -> np.ndarray:
    """One integer per row for its values in ``others`` (blank is its own value)."""
    key = np.zeros(len(rows), dtype=np.int64)
    for c in others:
        levels, codes = coded[c]
        key = key * (len(levels) + 1) + (codes + 1)
    return key


def _adds_up(candidates: np.ndarray, parts: np.ndarray, others: Sequence[str], coded: dict, low: np.ndarray,
             high: np.ndarray) -> np.ndarray:
    """For each candidate row: does its count (range) meet the sum of the part rows with its key?"""
    key = _keys(candidates, others, coded)
    out = np.zeros(len(candidates), dtype=bool)
    for k in np.unique(key[candidates]):
        same = key == k
        sum_lo, sum_hi = low[same & parts].sum(axis=0), high[same & parts].sum(axis=0)
        if not (same & parts).any():
            continue
        rows = np.flatnonzero(same & candidates)
        ok = np.all((low[rows] <= sum_hi) & (high[rows] >= sum_lo), axis=1)
        out[rows] = ok
    return out


def _value(src: SourceTable, column: str, mask: np.ndarray) -> str:
    return str(src.table.column(src.columns[column])[int(np.argmax(mask))].as_py()).strip()


def _sums(bad: np.ndarray, count_columns: Sequence[str], low: np.ndarray, high: np.ndarray,
          others: Sequence[str], coded: dict, parts: np.ndarray) -> str:
    row = int(np.argmax(bad))
    key = _keys(bad, others, coded)
    same = (key == key[row]) & parts
    shown = []
    for j, column in enumerate(count_columns):
        total = _range(low[row, j], high[row, j])
        summed = _range(low[same, j].sum(), high[same, j].sum())
        if total != summed:
            shown.append(f"{column!r}: {total} against {summed}")
    return "; ".join(shown)


def _range(lo: float, hi: float) -> str:
    return f"{int(lo):,}" if lo == hi else f"{int(lo):,}-{int(hi):,}"
