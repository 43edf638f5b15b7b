"""Rows in memory as one more :class:`~auditkit.engines._plan.Scan`: the pandas engine.

A table read into memory (CSV, Parquet, a spreadsheet or a DataFrame, by
:func:`auditkit.load.data.read_columns`) answers the plan's questions like the
other engines do, so that counting has one executor
(:func:`auditkit.engines._plan.count_scan`).  Each key column is encoded once
(its distinct values and every row's code; a Parquet dictionary column keeps
the file's own codes) and the combinations are counted with one
``np.bincount``; scores are classified by :mod:`._tasks` with the table as its
one partition.  Row numbers in messages are the source's own
(:attr:`auditkit.load.data.SourceTable.row_numbers`: file rows, or DataFrame
positions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..load._arrow import bool_array, int_array, to_numpy
from ..load.data import SourceTable
from ..load.persons import Combos, aggregate_rows
from ..load._numbers import NumberFormat, detect_format, distinct_texts
from ..load.rows import _row_numbers, encode_levels
from ..spec import AuditSpec
from . import _tasks
from ._plan import Scan, _key
from ._source import Files
from ._tasks import ColumnIn, ScoreRule

__all__ = ["MemoryScan"]

#: Largest number of possible combinations counted with a dense np.bincount (else np.unique).
_DENSE = 1 << 24
#: Largest number of possible combinations numbered by one int64 key (else rows of codes are compared).
_FLAT = 1 << 62
#: Widest span of values (largest minus smallest) a date or integer key column is encoded over with a table.
_SPAN = 1 << 22


class MemoryScan(Scan):
    """The rows of a :class:`~auditkit.load.data.SourceTable` held in memory."""

    def __init__(self, src: SourceTable) -> None:
        table = src.table
        types = {name: _plain_type(table.schema.field(name).type) for name in table.column_names}
        super().__init__(Files(src.kind, (), src.label, dict(src.columns), tuple(src.notes),
                               tuple(table.column_names), types=types))
        self.src = src
        self._encoded: dict[str, tuple[pa.Array, np.ndarray]] = {}
        self._scores: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def close(self) -> None:
        """Nothing to release."""

    def number_format(self, spec: AuditSpec) -> NumberFormat | None:
        """The score column's number format, decided on the whole column (before any filter)."""
        return score_format(self.src, spec)

    def _encode(self, column: str) -> tuple[pa.Array, np.ndarray]:
        """The column's distinct raw values and each row's index into them (``len(values)``: null)."""
        if column not in self._encoded:
            self._encoded[column] = _encode(self.src.table.column(column))
        return self._encoded[column]

    def _values(self, rule: ScoreRule) -> tuple[np.ndarray, np.ndarray]:
        """Each row's score (NaN: blank) and a mask of scores that are not numbers."""
        key = (rule.column, rule.text, rule.comma, rule.thousands)
        if key not in self._scores:
            self._scores[key] = _tasks.score_values(self.src.table, rule)
        return self._scores[key]

    def _classes(self, rule: ScoreRule) -> np.ndarray:
        values, bad = self._values(rule)
        return _tasks.classify(values, bad, rule)

    def _keep(self, conds: Sequence[ColumnIn]) -> np.ndarray:
        keep = np.ones(self.src.table.num_rows, dtype=bool)
        for cond in conds:
            values, codes = self._encode(cond.column)
            wanted = {_key(v) for v in cond.values}
            lookup = np.array([_key(v) in wanted for v in values.to_pylist()] + [cond.null], dtype=bool)
            keep &= lookup[codes]
        return keep

    def _count(self, keys: Sequence[str], extra: np.ndarray | None, rows: np.ndarray | None) -> pa.Table:
        """Rows per combination of ``keys`` (and of ``extra``, the score class, as ``_s``), over ``rows``
        (positions; default every row)."""
        encoded = [self._encode(k) for k in keys]
        sizes = [len(values) + 1 for values, _ in encoded] + ([5] if extra is not None else [])
        codes = [c if rows is None else c[rows] for c in [c for _, c in encoded] + ([extra] if extra is not None else [])]
        n = self.src.table.num_rows if rows is None else len(rows)
        parts, counts = _combinations(codes, sizes, n)
        columns: dict[str, pa.Array] = {}
        for (key, (values, _)), part in zip(zip(keys, encoded), parts):
            columns[key] = values.take(int_array(part, null=part == len(values)))
        if extra is not None:
            columns["_s"] = int_array(parts[-1].astype(np.int8))
        columns["_n"] = int_array(counts.astype(np.int64))
        return pa.table(columns)

    def counts(self, keys: Sequence[str], rule: ScoreRule | None) -> pa.Table:
        return self._count(keys, self._classes(rule) if rule is not None else None, None)

    def kth_largest(self, conds: Sequence[ColumnIn], rule: ScoreRule, k: int, n: int) -> float:
        values, bad = self._values(rule)
        valid = values[self._keep(conds) & ~bad & ~np.isnan(values)]
        return float(np.partition(valid, len(valid) - k)[len(valid) - k])

    def first_tied(self, keys: Sequence[str], conds: Sequence[ColumnIn], rule: ScoreRule, need: int) -> pa.Table:
        values, _ = self._values(rule)
        tied = np.flatnonzero(self._keep(conds) & (values == rule.cutoff))[:need]
        return self._count(keys, None, tied)

    def first_row(self, conds: Sequence[ColumnIn], rule: ScoreRule | None, classes: Sequence[int]) -> int:
        hit = self._keep(conds)
        if rule is not None:
            hit &= np.isin(self._classes(rule), list(classes))
        return int(_row_numbers(self.src)[int(np.argmax(hit))])

    def persons(self, person: str, keys: Sequence[str], rule: ScoreRule | None, combos: pa.Table,
                example: str | None = None) -> pa.Table:
        combo = _tasks._combo_index(self.src.table, list(keys), rule, combos)
        kept = combo >= 0
        labels, ids = encode_levels(self.src.table.column(person).filter(bool_array(kept)))
        found = Combos(*(to_numpy(combos.column(c), fill=0) for c in ("_st", "_dec", "_g")))
        agg, examples = aggregate_rows(ids, labels, combo[kept], found)
        if example is not None:
            return pa.table({"_p": pa.array(examples(example), pa.string())})
        return agg

    def bad_scores(self, conds: Sequence[ColumnIn], rule: ScoreRule) -> tuple[list[tuple[str, list[int], int]], int]:
        _, bad = self._values(rule)
        where = np.flatnonzero(self._keep(conds) & bad)
        text, _, _ = _tasks.parse_text(self.src.table.column(rule.column).combine_chunks(), rule.comma,
                                       rule.thousands)
        text = text.take(int_array(where))
        numbers = _row_numbers(self.src)
        found: dict[str, list] = {}
        for pos, value in zip(where.tolist(), text.to_pylist()):
            entry = found.setdefault(value, [[], 0])
            if len(entry[0]) < 3:
                entry[0].append(int(numbers[pos]))
            entry[1] += 1
        return [(v, rows, n) for v, (rows, n) in list(found.items())[:9]], len(where)


def score_format(src: SourceTable, spec: AuditSpec) -> NumberFormat | None:
    """The number format of a text score column, decided on the whole column (before any filter)."""
    if not spec.score or spec.all_selected:
        return None
    column = src.table.column(src.columns[spec.score])
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type):
        return None
    return detect_format(distinct_texts([column]), label=src.label, column=spec.score, decimal=spec.decimal,
                         thousands=spec.thousands)


def _plain_type(kind: pa.DataType) -> pa.DataType:
    """A dictionary column's value type (a Parquet text column read with its dictionary is text)."""
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def _encode(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct raw values of ``column`` and each row's index into them; ``len(values)`` marks a null."""
    dense = _encode_dense(column)
    if dense is not None:
        return dense
    if pa.types.is_dictionary(column.type) and column.num_chunks:
        unified = column.unify_dictionaries()
        values = unified.chunk(0).dictionary
        indices = pa.chunked_array([c.indices for c in unified.chunks], type=column.type.index_type)
    else:
        plain = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_dictionary(plain.type):  # an empty dictionary column
            plain = plain.cast(plain.type.value_type)
        encoded = pc.dictionary_encode(plain)
        values, indices = encoded.dictionary, encoded.indices
    codes = to_numpy(indices, fill=len(values)).astype(np.int64, copy=False)
    return values, codes


def _encode_dense(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray] | None:
    """:func:`_encode` for a date, time or integer column whose values lie close together (a period column of
    dates, years, codes): the values in order and each row's index, from a table over the span of values instead of
    a hash of every row.  None where that does not apply (other types, a wide span, no value at all)."""
    kind = column.type
    if pa.types.is_date32(kind):
        storage = pa.int32()
    elif pa.types.is_timestamp(kind):
        storage = pa.int64()
    elif pa.types.is_integer(kind):
        storage = kind
    else:
        return None
    n = len(column)
    low_high = pc.min_max(column.cast(storage) if storage != kind else column).as_py() if n else None
    if not low_high or low_high["min"] is None:
        return None
    low, high = int(low_high["min"]), int(low_high["max"])
    span = high - low + 1
    if span > min(_SPAN, max(4 * n, 1 << 16)) or high >= 1 << 63:
        return None
    chunks = [c.view(storage) if storage != kind else c for c in column.chunks]
    blank = low - 1 if low > -(1 << 63) else high + 1  # what a null reads as: a number no value is
    offsets = to_numpy(pa.chunked_array(chunks, type=storage), fill=blank).astype(np.int64)
    offsets -= low
    valid = None
    if column.null_count:
        valid = offsets != blank - low
        offsets[~valid] = 0
    seen = np.zeros(span, dtype=bool)
    seen[offsets if valid is None else offsets[valid]] = True
    present = np.flatnonzero(seen) + low
    if valid is None and len(present) == span:  # every value of the span occurs: the offsets are the codes
        codes = offsets
    else:
        codes = (np.cumsum(seen, dtype=np.int64) - 1)[offsets]
        if valid is not None:
            codes[~valid] = len(present)
    width = np.dtype(f"int{storage.bit_width}")
    return int_array(present.astype(width)).view(kind), codes


def _combinations(codes: list[np.ndarray], sizes: list[int], n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct combinations of ``codes`` (code i below ``sizes[i]``), one array of codes per column,
    and the number of rows of each."""
    total = float(np.prod(np.asarray(sizes, dtype=np.float64))) if sizes else 1.0
    if total >= _FLAT:
        if not n:
            return [np.zeros(0, np.int64) for _ in codes], np.zeros(0, np.int64)
        found, counts = np.unique(np.stack(codes, axis=1), axis=0, return_counts=True)
        return [found[:, i] for i in range(len(codes))], counts
    flat = np.zeros(n, dtype=np.int64)
    for size, code in zip(sizes, codes):
        flat = flat * size + code
    if total <= max(_DENSE, 4 * n):
        counts = np.bincount(flat, minlength=int(total))
        combos = np.flatnonzero(counts)
        counts = counts[combos]
    else:
        combos, counts = np.unique(flat, return_counts=True)
    parts = []
    for size in reversed(sizes):
        parts.append(combos % size)
        combos = combos // size
    return parts[::-1], counts
