"""The rules that give row values their meaning, written once for every engine.

Which text a column's values are (:func:`encode_levels`), which decision and
outcome values are positive, which rows the filters keep, which rows are
dropped and why: each rule is a function of a :class:`RowSet` (rows in memory,
or an engine's reduced table of distinct combinations with their row counts).
The order in which they run is the counting plan's (:mod:`auditkit.plan`),
executed by :func:`auditkit.engines._plan.execute` for every engine;
:func:`rows_to_counts` runs it on rows in memory.  Grouping columns get their
levels in :mod:`auditkit.load.dimensions`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._text import did_you_mean, list_values
from ..exceptions import InputDataError
from ..measure._counts import CountTable
from ..spec import AuditSpec
from ._arrow import bool_array, to_numpy
from ._values import match_values
from .data import SourceTable, row_numbering

__all__ = ["Population", "RowSet", "apply_filters", "decision_column", "drop_blank_scores", "drop_rows",
           "encode_levels", "label_of", "rows_to_counts"]


@dataclass(frozen=True)
class Population:
    """Which rows the audit covers: the rows read and each filter with its count."""

    source: str
    rows_read: int
    steps: tuple[dict, ...]
    rows_audited: int
    decision_rule: dict
    outcome: dict
    #: With --person: the number of people the rows are of (each counted once).
    people: int | None = None


def label_of(value: object) -> str:
    """Text label of a value: integral floats lose their '.0' (1.0 -> '1')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_levels(array: pa.ChunkedArray | pa.Array, missing_values: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Sorted text levels of a column and each row's index; -1 marks a missing value.

    Blank and whitespace-only strings, nulls and declared ``missing_values`` are missing.
    Only values that occur in some row are levels, however the column is stored (a
    dictionary column may list values no row holds, e.g. after a filter).
    """
    labels, codes, to_label = _distinct(array)
    missing = set(missing_values)
    clean = [None if (lab is None or not lab.strip() or lab in missing) else lab for lab in labels]
    levels = sorted({lab for lab in clean if lab is not None})
    position = {lab: i for i, lab in enumerate(levels)}
    lookup = np.array([position[lab] if lab is not None else -1 for lab in clean] + [-1], dtype=np.int32)
    composed = lookup[to_label]  # raw code -> level index (-1: missing); to_label's -1 is the null slot
    if isinstance(codes, np.ndarray):
        return levels, composed[codes]
    # One Arrow gather over the rows (several times faster than numpy's on int8/int32 codes).
    table = pa.Array.from_buffers(pa.int32(), len(composed), [None, pa.py_buffer(np.ascontiguousarray(composed))])
    return levels, to_numpy(pc.take(table, codes), fill=-1).astype(np.int32, copy=False)


def _distinct(array: pa.ChunkedArray | pa.Array) -> tuple[list[str | None], pa.ChunkedArray | np.ndarray, np.ndarray]:
    """The distinct values of a column as labels, each row's raw code, and raw code -> label index.

    ``labels[to_label[codes[i]]]`` is row i's label.  ``codes`` is an Arrow array whose nulls
    are the column's nulls, or a numpy array where code ``len(to_label) - 1`` is a null (its
    ``to_label`` entry is -1).  Three ways to the same answer: a dictionary column's own
    codes (Parquet text read with its dictionary), a small non-negative integer column as its
    own codes, anything else hashed by Arrow.  Arrow kernels only: pandas is never imported.
    """
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array], type=array.type)
    if pa.types.is_dictionary(array.type) and array.num_chunks:
        unified = array.unify_dictionaries()
        dictionary = unified.chunk(0).dictionary
        codes = pa.chunked_array([c.indices for c in unified.chunks], type=array.type.index_type)
        return _used(dictionary.to_pylist(), codes, len(dictionary))
    if pa.types.is_integer(array.type) and array.null_count < len(array):
        extremes = pc.min_max(array)
        lo, hi = extremes["min"].as_py(), extremes["max"].as_py()
        if 0 <= lo and hi <= 1 << 20:
            return _used(list(range(hi + 1)), array, hi + 1)
        if hi - lo <= 1 << 20 and -(1 << 62) < lo and hi < (1 << 62):
            raw = to_numpy(array, fill=hi + 1).astype(np.int64) - lo  # a null -> hi - lo + 1
            counts = np.bincount(raw, minlength=hi - lo + 2)[:hi - lo + 1]
            keep = np.flatnonzero(counts)
            to_label = np.full(hi - lo + 2, -1, dtype=np.int64)
            to_label[keep] = np.arange(len(keep))
            return [str(int(v) + lo) for v in keep], raw, to_label
    plain = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(plain.type):  # an empty dictionary column
        plain = plain.cast(plain.type.value_type)
    encoded = pc.dictionary_encode(plain)
    labels = [_label_or_none(v) for v in encoded.dictionary.to_pylist()]
    return labels, pa.chunked_array([encoded.indices]), np.arange(len(labels))


def _used(values: list, codes: pa.ChunkedArray, size: int) -> tuple[list[str | None], pa.ChunkedArray, np.ndarray]:
    """Keep the ``values`` some row's code (0..size-1) points at."""
    present = pc.drop_null(pc.unique(codes))
    keep = np.sort(to_numpy(present).astype(np.int64)) if len(present) else np.array([], dtype=np.int64)
    to_label = np.full(size, -1, dtype=np.int64)
    to_label[keep] = np.arange(len(keep))
    return [_label_or_none(values[i]) for i in keep], codes, to_label


def _label_or_none(value: object) -> str | None:
    """A value's label; None (missing) for a null and for a float NaN (Parquet and pandas write a
    missing number as NaN: it must join the blanks in '(missing)', not form a group 'nan')."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return label_of(value)


def _values(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """Option values as a tuple: a lone string from the Python API ('Ja') is one value, not 'J', 'a'."""
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _row_numbers(src: SourceTable) -> np.ndarray:
    """Each row's number in the source as users see it: the file row (header = row 1) or the
    DataFrame position; survives filters and dropped rows."""
    if src.row_numbers is not None:
        return src.row_numbers
    return np.arange(src.table.num_rows) + row_numbering(src.kind)[0]


def _where(src: SourceTable, mask: np.ndarray) -> str:
    """'row 7' (file, the header is row 1) or 'position 5' (DataFrame) of the first row in ``mask``."""
    return where_text(src.kind, int(_row_numbers(src)[int(np.argmax(mask))]))


def where_text(kind: str, row: int) -> str:
    """Row ``row`` (numbered as messages number the rows of a source of ``kind``) in words."""
    if kind == "dataframe":
        return f"position {row:,} of the DataFrame"
    return f"row {row:,}, counting the header as row 1" if kind == "csv" else f"row {row:,}, counting from 1"


def _rows(n: int, verb: str = "have") -> str:
    """'1 row has' / '3 rows have' (or another verb: '1 row holds')."""
    singular = {"have": "has"}.get(verb, verb + "s")
    return f"{n:,} row {singular}" if n == 1 else f"{n:,} rows {verb}"


def _value_levels(src: SourceTable, column: str) -> tuple[list[str], np.ndarray]:
    """Levels of a decision, outcome, filter or cell column and each row's index (-1 = blank).

    Surrounding spaces are not part of a value here ('Ja ' is 'Ja'): an export's stray
    space must not silently move a row from 'selected' to 'not selected'.
    """
    levels, codes = encode_levels(src.table.column(src.columns[column]))
    trimmed = [lv.strip() for lv in levels]
    if trimmed == levels:
        return levels, codes
    merged = sorted(set(trimmed))
    remap = np.array([merged.index(t) for t in trimmed] + [-1], dtype=np.int32)
    return merged, remap[codes]


_BOOLEAN_PAIRS = ((("0", "1"), "1"), (("0.0", "1.0"), "1.0"), (("False", "True"), "True"),
                  (("false", "true"), "true"), (("FALSE", "TRUE"), "TRUE"))


def _positive_mask(src: SourceTable, column: str, positive: Sequence[str] | None,
                   option: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Rows whose value is declared positive, rows with no value, the levels seen and the positive levels."""
    levels, codes = _value_levels(src, column)
    if positive is None:
        for pair, pos in _BOOLEAN_PAIRS:
            if levels and set(levels) <= set(pair):
                positive = [pos]
                break
        else:
            shown = list_values(levels) if levels else "no values at all (every row is blank)"
            raise InputDataError(
                f"{src.label}: column {column!r} holds {shown}; say which of these mean "
                f"'positive' with {option} VALUE[,VALUE] (only 0/1 and true/false columns are read "
                "without it)."
            )
    else:
        given = [p.strip() for p in _values(positive)]
        positive = match_values(levels, given, label=src.label, column=column, option=option)
        for p in positive:
            variants = [lv for lv in levels if lv not in positive and lv.casefold() == p.casefold()]
            if variants:
                raise InputDataError(
                    f"{src.label}: column {column!r} holds both {p!r} and {list_values(variants)}, which differ "
                    f"only in case; only {p!r} was declared with {option}, so the others would silently count "
                    f"as not positive. Declare every spelling that means positive ({option} "
                    f"{','.join([p, *variants])}), or clean the column."
                )
    chosen = [lv for lv in levels if lv in positive]
    flags = np.array([lv in positive for lv in levels] + [False])
    return flags[codes], codes < 0, levels, chosen


class RowSet:
    """What the counting rules read: the values of the audit's columns, and how many rows each entry is.

    In memory each entry is one row of ``src``.  An engine's entries are the distinct combinations
    of raw values with their row counts (:class:`auditkit.engines._reduced.Reduced` overrides the
    methods below).  The rules written against this class -- :func:`apply_filters`,
    :func:`drop_rows`, :func:`decision_column`, :func:`drop_blank_scores` -- are the only copy of
    those rules: both paths give the same steps, notes and messages from them.
    """

    def __init__(self, src: SourceTable) -> None:
        self._src = src

    @property
    def src(self) -> SourceTable:
        """The entries' values, as a SourceTable."""
        return self._src

    @property
    def label(self) -> str:
        """The source's name, for messages."""
        return self._src.label

    def total(self, mask: np.ndarray | None = None) -> int:
        """Rows (of the entries in ``mask``)."""
        return int(self._src.table.num_rows if mask is None else mask.sum())

    def where(self, mask: np.ndarray) -> RowSet:
        """The entries in ``mask``; rows keep their numbers for messages."""
        src = self._src
        return RowSet(SourceTable(src.table.filter(bool_array(mask)), src.label, src.kind, src.columns, src.notes,
                                  _row_numbers(src)[mask]))

    def keep(self, column: str, mask: np.ndarray) -> RowSet:
        """The entries in ``mask``, which a filter on ``column`` keeps (an engine records the condition)."""
        return self.where(mask)

    def first(self, mask: np.ndarray, column: str) -> str:
        """Where the first row in ``mask`` is (its value in ``column`` is what is wrong), for messages."""
        return _where(self._src, mask)


def apply_filters(rows: RowSet, spec: AuditSpec, steps: list[dict], check: bool = True) -> RowSet:
    """Keep the rows the filters keep, one filter after the other, each step recorded in ``steps``.

    ``check=False`` lets every row be filtered out (a caller that only looks; the real pass says so).
    """
    for f in spec.filters:
        levels, codes = _value_levels(rows.src, f.column)
        option = "--filter" if f.keep else "--exclude"
        given = _values(f.values) or ()
        values = match_values(levels, [v.strip() for v in given], label=rows.label, column=f.column,
                              option=f"{option} {f.column}={','.join(given)}:",
                              after=" (after the filters before it)" if steps else "")
        hit = np.isin(codes, [levels.index(v) for v in values])
        before = rows.total()
        rows = rows.keep(f.column, hit if f.keep else ~hit)
        steps.append({"step": f.describe(), "rows_before": before, "rows_after": rows.total()})
    if check and rows.total() == 0:
        done = "; ".join(f"{s['step']}: {s['rows_before']:,} -> {s['rows_after']:,} rows" for s in steps)
        raise InputDataError(f"{rows.label}: no rows are left after the filters ({done}). Check the "
                             "--filter and --exclude values.")
    return rows


def _apply_filters(src: SourceTable, spec: AuditSpec, steps: list[dict]) -> SourceTable:
    """:func:`apply_filters` on rows in memory."""
    return apply_filters(RowSet(src), spec, steps).src


def drop_rows(rows: RowSet, drop: np.ndarray, why: str, steps: list[dict]) -> RowSet:
    """Leave out the rows in ``drop``, recorded in ``steps`` as ``why``."""
    before, after = rows.total(), rows.total(~drop)
    steps.append({"step": why, "rows_before": before, "rows_after": after})
    if after == 0:
        raise InputDataError(f"{rows.label}: no rows are left after this step: {why} ({before:,} -> 0 rows).")
    return rows.where(~drop)


def decision_column(rows: RowSet, spec: AuditSpec, steps: list[dict],
                    notes: list[str]) -> tuple[RowSet, np.ndarray, dict]:
    """Decisions read from ``spec.decision``: rows without one refused, or dropped with --drop-missing."""
    column = str(spec.decision)
    pos, missing, levels, chosen = _positive_mask(rows.src, column, spec.positive, "--positive")
    if missing.any():
        if not spec.drop_missing:
            raise InputDataError(
                f"{rows.label}: {_rows(rows.total(missing))} no value in decision column "
                f"{spec.decision!r} (first at {rows.first(missing, column)}). Fill them, or pass "
                "--drop-missing to leave these rows out (the count is reported)."
            )
        rows = drop_rows(rows, missing, f"removed rows with no decision in {spec.decision!r}", steps)
        pos = pos[~missing]
    others = [lv for lv in levels if lv not in chosen]
    if len(others) > 1:
        notes.append(f"{spec.decision}: values {list_values(others)} all count as not selected (only "
                     f"{list_values(chosen)} was declared selected).")
    return rows, pos.astype(np.int8), {"kind": "column", "column": spec.decision, "positive": chosen,
                                       "rule": f"{spec.decision} in {chosen}", "selected": rows.total(pos)}


def drop_blank_scores(rows: RowSet, spec: AuditSpec, blank: np.ndarray, steps: list[dict],
                      first: Callable[[], str]) -> RowSet:
    """Refuse rows with a blank score (``first()`` says where the first is), or drop them with --drop-missing."""
    if not spec.drop_missing:
        raise InputDataError(
            f"{rows.label}: {_rows(rows.total(blank))} a blank (or NaN) score in {spec.score!r} (first at "
            f"{first()}); cases that were not scored (random or follow-up cases) are "
            "often left blank. Pass --drop-missing to leave them out (the count is reported), or fill them."
        )
    return drop_rows(rows, blank, f"removed rows with a blank score in {spec.score!r}", steps)


def _outcome_codes(src: SourceTable, spec: AuditSpec, notes: list[str],
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Outcome codes 0/1/2 (2 = unknown) of ``spec.truth`` and a record of how they were read.

    ``weights``: the number of rows each table row stands for (the engines' reduced table of
    distinct combinations); notes and counts are then in rows, as for the rows themselves.
    """
    def rows_in(mask: np.ndarray) -> int:
        return int(mask.sum() if weights is None else weights[mask].sum())

    pos, missing, levels, positives = _positive_mask(src, spec.truth, spec.truth_positive, "--truth-positive")
    negatives = [lv for lv in levels if lv not in positives]
    unknown = np.zeros(src.table.num_rows, dtype=bool)
    if spec.truth_negative:
        declared = [v.strip() for v in _values(spec.truth_negative) or ()]
        bad = [v for v in declared if v not in negatives]
        if bad:
            raise InputDataError(f"{src.label}: --truth-negative {bad[0]!r} does not occur in column "
                                 f"{spec.truth!r} (or is also positive); it holds {list_values(levels)}."
                                 f"{did_you_mean(bad[0], negatives)}")
        other = [lv for lv in negatives if lv not in declared]
        if other:
            _, codes = _value_levels(src, spec.truth)
            unknown = np.isin(codes, [levels.index(v) for v in other])
            notes.append(f"{spec.truth}: {_rows(rows_in(unknown), 'hold')} {list_values(other)}, neither "
                         "positive nor negative; their outcome is treated as unknown.")
        negatives = declared
    elif len(negatives) > 1:
        raise InputDataError(
            f"{src.label}: outcome column {spec.truth!r} must hold two values (one positive, one negative), "
            f"but besides the positive {list_values(positives)} it holds {list_values(negatives)}. "
            "Declare the negative value with --truth-negative VALUE (other values then count as unknown "
            "outcomes), or fix the column."
        )
    if missing.any():
        notes.append(f"{spec.truth}: {_rows(rows_in(missing))} no outcome; they count in selection rates "
                     "but not in rates that need the outcome.")
    outcome = np.where(pos, 1, 0).astype(np.int8)
    outcome[missing | unknown] = 2
    info = {"column": spec.truth, "positive": positives, "negative": negatives,
            "rows_outcome_unknown": rows_in(missing | unknown)}
    return outcome, info


def _outcome(src: SourceTable, spec: AuditSpec, notes: list[str],
             weights: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Outcome codes 0/1/2 (2 = unknown) and a record of how they were read (``weights`` as for
    :func:`_outcome_codes`)."""
    if not spec.truth:
        return np.full(src.table.num_rows, 2, dtype=np.int8), {"column": None}
    return _outcome_codes(src, spec, notes, weights)


def rows_to_counts(src: SourceTable, spec: AuditSpec) -> tuple[CountTable, Population]:
    """Count rows held in memory for ``spec``: the counting plan run on them as on any engine's rows
    (:func:`auditkit.engines._plan.count_scan` over :class:`auditkit.engines._memory.MemoryScan`)."""
    from ..engines._memory import MemoryScan
    from ..engines._plan import count_scan

    return count_scan(MemoryScan(src), spec)
