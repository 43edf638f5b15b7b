"""The in-memory engine's encoding of date and integer key columns by a table over their span.

Each row must get the index of its own value whichever way a column is encoded, so the table-encoded
columns are checked against pyarrow's hash encoding (``dictionary_encode``) on crafted columns: nulls,
several chunks, the ends of each integer type, time zones, and the spans where the table is not used.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from auditkit.engines._memory import _encode, _encode_dense
from auditkit.load._arrow import to_numpy


def _rows(values: pa.Array, codes: np.ndarray) -> list:
    return [None if c == len(values) else values[int(c)].as_py() for c in codes]


def _hashed(column: pa.ChunkedArray) -> list:
    encoded = pc.dictionary_encode(column.combine_chunks())
    return _rows(encoded.dictionary, to_numpy(encoded.indices, fill=len(encoded.dictionary)))


def _chunks(values: list, kind: pa.DataType, cut: int = 2) -> pa.ChunkedArray:
    storage = {pa.date32(): pa.int32(), pa.date64(): pa.int64()}.get(kind)
    if storage is None and pa.types.is_timestamp(kind):
        storage = pa.int64()
    parts = [values[:cut], values[cut:]]
    arrays = [pa.array(p, type=storage or kind) for p in parts]
    return pa.chunked_array([a.view(kind) if storage else a for a in arrays], type=kind)


CASES = [
    ("dates with nulls", [17000, None, 16000, 17000, 16500], pa.date32()),
    ("every day of a span", list(range(18000, 18010)) * 3, pa.date32()),
    ("timestamps with a zone", [5, 1, None, 5], pa.timestamp("s", tz="Europe/Amsterdam")),
    ("int8 ends", [-128, 127, 0, None, -128], pa.int8()),
    ("uint8 ends", [0, 255, 255, None], pa.uint8()),
    ("int64 near the bottom", [-2**63, -2**63 + 5, None], pa.int64()),
    ("int64 near the top", [2**63 - 1, 2**63 - 3], pa.int64()),
    ("years", [2014, 2019, 2015, 2014, None, 2016], pa.int16()),
    ("uint64 beyond float precision", [2**60 + 1, None, 2**60 + 2, 2**60 + 3], pa.uint64()),
    ("uint64 from zero", [0, None, 3, 1], pa.uint64()),
    ("one value", [7, 7, 7], pa.int32()),
]


@pytest.mark.parametrize("name,values,kind", CASES, ids=[c[0] for c in CASES])
def test_table_encoding_gives_each_row_its_value(name, values, kind):
    column = _chunks(values, kind)
    dense = _encode_dense(column)
    assert dense is not None, name
    got_values, codes = dense
    assert got_values.type == kind and codes.dtype == np.int64
    assert _rows(got_values, codes) == _hashed(column)
    assert got_values.to_pylist() == sorted(set(v for v in got_values.to_pylist()))  # in order, each once


@pytest.mark.parametrize("column", [
    pa.chunked_array([pa.array([0, 10**12])]),                              # a span too wide for a table
    pa.chunked_array([pa.array([86_400_000 * d for d in (3, 1)], type=pa.int64()).view(pa.date64())]),  # ms
    pa.chunked_array([pa.array([2**64 - 1, 2**64 - 3], type=pa.uint64())]),  # above int64
    pa.chunked_array([pa.array([None, None], type=pa.int32())]),             # no value at all
    pa.chunked_array([], type=pa.date32()),                                  # no rows
    pa.chunked_array([pa.array(["a", "b"])]),                                # text
    pa.chunked_array([pa.array([1.5, 2.5])]),                                # floats
], ids=["wide span", "date64", "uint64 above int64", "all null", "empty", "text", "floats"])
def test_other_columns_are_hashed(column):
    assert _encode_dense(column) is None
    values, codes = _encode(column)
    assert _rows(values, codes) == _hashed(column)


def test_random_columns_agree_with_hashing():
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        low = int(rng.integers(-40_000, 40_000))
        raw = rng.integers(low, low + int(rng.integers(1, 50)), n)
        values = [None if rng.random() < 0.1 else int(v) for v in raw]
        kind = [pa.date32(), pa.int32(), pa.int64()][int(rng.integers(0, 3))]
        column = _chunks(values, kind, cut=int(rng.integers(0, n + 1)))
        values_got, codes = _encode(column)
        assert _rows(values_got, codes) == _hashed(column)
