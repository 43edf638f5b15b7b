"""Row-level work on one partition: the only code an engine sends to Dask workers.

This module imports nothing from auditkit, only numpy, pandas and pyarrow, so
that it can be shipped to a cluster by value (``cloudpickle`` pickles it whole)
and an agency's reviewer can read, in one file, everything that runs next to
their data.  Every function takes one partition and returns a few numbers or a
small table of counts; no row leaves a worker.

Scores are parsed here for Dask's partitions and for rows in memory
(:mod:`._memory` treats its table as one partition); DuckDB's SQL does the
same in :meth:`auditkit.engines._duckdb.DuckDBScan._score`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pandas is imported where a partition is made: the DuckDB engine never needs it
    import pandas as pd

#: Score classes of the ``_s`` column: what a row's score says about it.
BELOW, SELECTED, BLANK, NOT_A_NUMBER, TIED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class ColumnIn:
    """Rows whose ``column`` holds one of ``values`` (raw values, as the engine read them), or null if ``null``."""

    column: str
    values: tuple
    null: bool


@dataclass(frozen=True)
class ScoreRule:
    """How each row's score becomes a class of :data:`SELECTED`, :data:`BELOW`, ...

    ``text``: the column holds text (every CSV column does) and is parsed;
    ``comma``: decimal commas, replaced by points before parsing.  With
    ``threshold`` a row is SELECTED when its score is at least the threshold;
    with ``cutoff`` (top-k) when it is above the cut-off, and TIED when equal.
    With neither, every valid score is BELOW.
    """

    column: str
    text: bool
    comma: bool = False
    threshold: float | None = None
    cutoff: float | None = None
    #: Thousands separator removed before parsing (the column's detected or declared format).
    thousands: str | None = None


def _array(frame: pd.DataFrame | pa.Table, column: str) -> pa.Array:
    """One column of a partition: a pandas DataFrame (Dask) or an Arrow table (rows in memory)."""
    if isinstance(frame, pa.Table):
        return frame.column(column).combine_chunks()
    import pandas as pd

    col = frame[column]
    arr = pa.array(col, from_pandas=True) if not isinstance(col.dtype, pd.ArrowDtype) else pa.array(col.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def float64(array: pa.Array) -> np.ndarray:
    """Numbers as float64, nulls as NaN, read from Arrow's buffers (pyarrow's ``to_numpy`` and
    ``fill_null`` with a Python value import pandas, which the in-memory audit path never needs)."""
    values = pc.cast(array, pa.float64())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    data = np.frombuffer(values.buffers()[1], dtype=np.float64, count=len(values), offset=values.offset * 8) \
        if len(values) else np.zeros(0)
    if not values.null_count:
        return data.copy()
    bits = np.unpackbits(np.frombuffer(values.buffers()[0], dtype=np.uint8), bitorder="little")
    out = data.copy()
    out[~bits[values.offset:values.offset + len(values)].astype(bool)] = np.nan
    return out


def parse_text(array: pa.Array, comma: bool, thousands: str | None = None) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Trimmed text (null when blank), its value as float64 (NaN when blank or not a number), and a mask of
    non-blank values that are not numbers."""
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    blank = pc.or_kleene(pc.is_null(text), pc.invert(pc.cast(pc.utf8_length(text), pa.bool_())))
    text = pc.if_else(blank, pa.nulls(len(text), pa.string()), text)
    if thousands:
        text = pc.replace_substring(text, thousands, "")
    if comma:
        text = pc.replace_substring(text, ",", ".")
    try:
        return text, float64(text), np.zeros(len(array), dtype=bool)
    except pa.ArrowInvalid:
        pass
    # Some value is not a number: parse each distinct value alone to find which (only on bad data).
    encoded = pc.dictionary_encode(text)
    parsed = []
    for value in encoded.dictionary.to_pylist():
        try:
            parsed.append(float(pc.cast(pa.array([value]), pa.float64())[0].as_py()))
        except pa.ArrowInvalid:
            parsed.append(None)
    lookup = np.array([np.nan if v is None else v for v in parsed] + [np.nan], dtype=np.float64)
    bad_lookup = np.array([v is None for v in parsed] + [False])
    idx = float64(encoded.indices).astype(np.float64)
    idx = np.where(np.isnan(idx), len(parsed), idx).astype(np.int64)
    return text, lookup[idx], bad_lookup[idx]


def score_values(frame: pd.DataFrame, rule: ScoreRule) -> tuple[np.ndarray, np.ndarray]:
    """Each row's score (NaN when blank) and a mask of scores that are text, not numbers."""
    array = _array(frame, rule.column)
    if not rule.text:
        values = float64(array)
        return values, np.zeros(len(values), dtype=bool)
    _, values, bad = parse_text(array, rule.comma, rule.thousands)
    return values, bad


def score_classes(frame: pd.DataFrame, rule: ScoreRule) -> np.ndarray:
    """The class (BELOW, SELECTED, BLANK, NOT_A_NUMBER, TIED) of each row's score."""
    return classify(*score_values(frame, rule), rule)


def classify(values: np.ndarray, bad: np.ndarray, rule: ScoreRule) -> np.ndarray:
    """The class of each score given its value (NaN: blank) and whether its text is not a number."""
    classes = np.full(len(values), BELOW, dtype=np.int8)
    if rule.threshold is not None:
        classes[values >= rule.threshold] = SELECTED
    elif rule.cutoff is not None:
        classes[values > rule.cutoff] = SELECTED
        classes[values == rule.cutoff] = TIED
    classes[np.isnan(values)] = BLANK
    classes[bad] = NOT_A_NUMBER
    return classes


def keep_mask(frame: pd.DataFrame, conds: Sequence[ColumnIn]) -> np.ndarray:
    """Rows that satisfy every condition (the audit's filters)."""
    keep = np.ones(len(frame), dtype=bool)
    for cond in conds:
        array = _array(frame, cond.column)
        hit = pc.is_in(array, value_set=pa.array(list(cond.values), type=array.type))
        hit = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        if cond.null:
            hit = hit | pc.is_null(array, nan_is_null=False).to_numpy(zero_copy_only=False)
        keep &= hit
    return keep


def _counts(frame: pd.DataFrame, keys: Sequence[str], mask: np.ndarray | None,
            classes: np.ndarray | None) -> pd.DataFrame:
    """Distinct key combinations (with the score class ``_s``) and their row counts ``_n``."""
    import pandas as pd

    arrays = {k: _array(frame, k) for k in keys}
    if classes is not None:
        arrays["_s"] = pa.array(classes, pa.int8())
    table = pa.table(arrays) if arrays else pa.table({"_one": np.zeros(len(frame), np.int8)})
    if mask is not None:
        table = table.filter(pa.array(mask))
    grouped = table.group_by(list(table.column_names), use_threads=False).aggregate([([], "count_all")])
    names = [c for c in table.column_names if c != "_one"]
    return pa.table({**{c: grouped.column(c) for c in names}, "_n": grouped.column("count_all")}).to_pandas(
        types_mapper=pd.ArrowDtype)


def partition_counts(frame: pd.DataFrame, keys: Sequence[str], rule: ScoreRule | None) -> pd.DataFrame:
    """Row counts of one partition by its key values (and score class)."""
    return _counts(frame, keys, None, score_classes(frame, rule) if rule is not None else None)


def partition_scores_above(frame: pd.DataFrame, conds: Sequence[ColumnIn], rule: ScoreRule,
                           bound: float) -> np.ndarray:
    """The valid scores of kept rows that are at least ``bound`` (candidates for the k-th largest)."""
    values, bad = score_values(frame, rule)
    ok = keep_mask(frame, conds) & ~bad & ~np.isnan(values)
    return values[ok & (values >= bound)]


def partition_quantiles(frame: pd.DataFrame, conds: Sequence[ColumnIn], rule: ScoreRule) -> np.ndarray:
    """Number of valid kept scores followed by 101 of their quantiles (a sketch to place a bound)."""
    values, bad = score_values(frame, rule)
    values = values[keep_mask(frame, conds) & ~bad & ~np.isnan(values)]
    if not len(values):
        return np.zeros(1)
    return np.concatenate([[len(values)], np.quantile(values, np.linspace(0, 1, 101))])


def partition_tied(frame: pd.DataFrame, conds: Sequence[ColumnIn], rule: ScoreRule) -> int:
    """Number of kept rows whose score equals the cut-off."""
    values, _ = score_values(frame, rule)
    return int((keep_mask(frame, conds) & (values == rule.cutoff)).sum())


def partition_first_tied(frame: pd.DataFrame, keys: Sequence[str], conds: Sequence[ColumnIn], rule: ScoreRule,
                         quota: int) -> pd.DataFrame:
    """Counts by key of the first ``quota`` tied kept rows of this partition, in file order."""
    values, _ = score_values(frame, rule)
    tied = np.flatnonzero(keep_mask(frame, conds) & (values == rule.cutoff))[:quota]
    mask = np.zeros(len(frame), dtype=bool)
    mask[tied] = True
    return _counts(frame, keys, mask, None)


def partition_first_row(frame: pd.DataFrame, conds: Sequence[ColumnIn], rule: ScoreRule | None,
                        classes: Sequence[int]) -> tuple[int, int]:
    """(rows in the partition, position of its first row meeting ``conds`` and a score class, or -1)."""
    hit = keep_mask(frame, conds)
    if rule is not None:
        hit &= np.isin(score_classes(frame, rule), list(classes))
    where = np.flatnonzero(hit)
    return len(frame), int(where[0]) if len(where) else -1


def partition_bad_scores(frame: pd.DataFrame, conds: Sequence[ColumnIn], rule: ScoreRule) -> tuple[int, list]:
    """(rows in the partition, [(text, first three positions, count)] of scores that are not numbers,
    in order of first appearance)."""
    text, _, bad = parse_text(_array(frame, rule.column), rule.comma, rule.thousands)
    where = np.flatnonzero(keep_mask(frame, conds) & bad)
    found: dict[str, list] = {}
    for pos, value in zip(where.tolist(), text.take(pa.array(where)).to_pylist()):
        entry = found.setdefault(value, [[], 0])
        if len(entry[0]) < 3:
            entry[0].append(pos)
        entry[1] += 1
    return len(frame), [(v, rows, n) for v, (rows, n) in found.items()]


def _combo_index(frame: pd.DataFrame, keys: Sequence[str], rule: ScoreRule | None, combos: pa.Table) -> np.ndarray:
    """Each row's position in ``combos`` (-1: none, e.g. a filtered-out row), matching raw values, nulls too."""
    row_code = np.zeros(len(frame), dtype=np.int64)
    combo_code = np.zeros(combos.num_rows, dtype=np.int64)
    found = np.ones(len(frame), dtype=bool)
    columns = [(_array(frame, k), combos.column(k)) for k in keys]
    if rule is not None:
        columns.append((pa.array(score_classes(frame, rule), pa.int8()), combos.column("_s")))
    for values, wanted in columns:
        value_set = pc.unique(wanted.combine_chunks() if isinstance(wanted, pa.ChunkedArray) else wanted)
        if values.type != value_set.type:
            values = values.cast(value_set.type)
        at = pc.index_in(values, value_set=value_set, skip_nulls=False)
        found &= at.is_valid().to_numpy(zero_copy_only=False)
        row_code = row_code * (len(value_set) + 1) + pc.fill_null(at, -1).to_numpy(zero_copy_only=False) + 1
        combo_code = combo_code * (len(value_set) + 1) + pc.index_in(wanted, value_set=value_set,
                                                                     skip_nulls=False).to_numpy(zero_copy_only=False) + 1
    order = np.argsort(combo_code, kind="stable")
    pos = np.searchsorted(combo_code[order], row_code)
    pos = np.minimum(pos, len(order) - 1)
    hit = found & (combo_code[order][pos] == row_code) if len(order) else np.zeros(len(frame), dtype=bool)
    return np.where(hit, order[pos] if len(order) else -1, -1)


def partition_persons(frame: pd.DataFrame, person: str, keys: Sequence[str], rule: ScoreRule | None,
                      combos: pa.Table) -> pd.DataFrame:
    """Per person of this partition (a person's rows may lie in several): partial aggregates of the rows that
    match ``combos``, to be summed (``_rows``, ``_mask``) and maxed/minned over partitions; ``__p`` is the
    person id as text, ``_blank`` marks the rows that name no person (``__p`` empty)."""
    import pandas as pd

    combo = _combo_index(frame, keys, rule, combos)
    kept = combo >= 0
    combo = combo[kept]
    ids = pc.cast(_array(frame, person), pa.string()).filter(pa.array(kept))
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids), ""), True).to_numpy(zero_copy_only=False)
    stage = combos.column("_st").to_numpy()[combo]
    table = pa.table({
        "_blank": blank, "__p": pc.if_else(pa.array(blank), pa.scalar("", pa.string()), ids),
        "_rows": np.ones(len(combo), dtype=np.int64),
        "_key": stage * combos.num_rows + combos.column("_c").to_numpy()[combo],
        "_mask": np.left_shift(np.int64(1), stage),
        "_unsel": np.where(combos.column("_dec").to_numpy()[combo] == 0, stage, -1),
        "_gmin": combos.column("_g").to_numpy()[combo], "_gmax": combos.column("_g").to_numpy()[combo]})
    grouped = table.group_by(["_blank", "__p"], use_threads=False).aggregate(
        [("_rows", "sum"), ("_key", "max"), ("_mask", "sum"), ("_unsel", "max"), ("_gmin", "min"), ("_gmax", "max")])
    return pd.DataFrame({"_blank": grouped.column("_blank").to_numpy(zero_copy_only=False),
                         "__p": grouped.column("__p").to_pylist(),
                         **{name: grouped.column(f"{name}_{how}").to_numpy(zero_copy_only=False).astype(np.int64)
                            for name, how in (("_rows", "sum"), ("_key", "max"), ("_mask", "sum"),
                                              ("_unsel", "max"), ("_gmin", "min"), ("_gmax", "max"))}})


def read_row_group(piece: tuple[str, int], names: Sequence[str]) -> pd.DataFrame:
    """One Parquet row group as a partition (pyarrow types kept, so values read as in memory)."""
    import pandas as pd
    import pyarrow.parquet as pq

    with pq.ParquetFile(piece[0]) as handle:
        table = handle.read_row_group(piece[1], columns=list(names))
    return table.to_pandas(types_mapper=pd.ArrowDtype)
