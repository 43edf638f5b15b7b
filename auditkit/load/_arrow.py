"""Arrow to numpy without pandas.

pyarrow's ``to_numpy(zero_copy_only=False)`` imports pandas on first use (about half a
second of start-up, more than counting a million rows).  Fixed-width numeric columns
without nulls are views of their data buffer; everything else still goes through pyarrow.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def to_numpy(array: pa.Array | pa.ChunkedArray, fill: float | int | None = None) -> np.ndarray:
    """``array`` as one numpy array (a view where the layout allows); nulls become ``fill``.

    ``fill`` is required when a numeric column has nulls (pyarrow's ``fill_null`` with a
    Python value would import pandas too, through ``pa.scalar``).

    >>> to_numpy(pa.chunked_array([[1, 2], [3]], type=pa.int8())).tolist()
    [1, 2, 3]
    >>> to_numpy(pa.array([1, None, 3]), fill=-1).tolist()
    [1, -1, 3]
    """
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if not chunks:
        return np.array([], dtype=array.type.to_pandas_dtype())
    parts = [_one(c, fill) for c in chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _one(chunk: pa.Array, fill: float | int | None) -> np.ndarray:
    kind = chunk.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return chunk.to_numpy(zero_copy_only=False)
    dtype = np.dtype(kind.to_pandas_dtype())
    values = np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)
    if chunk.null_count == 0:
        return values
    if fill is None:
        raise ValueError("to_numpy: the column has nulls; give fill=")
    bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], dtype=np.uint8), bitorder="little")
    valid = bits[chunk.offset:chunk.offset + len(chunk)].astype(bool)
    out = values.astype(np.result_type(dtype, np.min_scalar_type(fill)), copy=True)
    out[~valid] = fill
    return out


def bool_array(mask: np.ndarray) -> pa.Array:
    """A numpy boolean mask as an Arrow boolean array (``pa.array`` would import pandas).

    >>> bool_array(np.array([True, False, True])).to_pylist()
    [True, False, True]
    """
    mask = np.asarray(mask, dtype=bool)
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def int_array(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """A numpy integer array as an Arrow array of the same width, ``null`` marking missing entries
    (``pa.array`` would import pandas).

    >>> int_array(np.array([1, 2, 3], dtype=np.int8), null=np.array([False, True, False])).to_pylist()
    [1, None, 3]
    """
    values = np.ascontiguousarray(values)
    kind = {1: pa.int8(), 2: pa.int16(), 4: pa.int32(), 8: pa.int64()}[values.dtype.itemsize]
    validity = None
    if null is not None and null.any():
        validity = pa.py_buffer(np.packbits(~np.asarray(null, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(values)])


def bool_mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean array as a numpy mask, null as False (without importing pandas).

    >>> bool_mask(bool_array(np.array([True, False]))).tolist()
    [True, False]
    """
    return to_numpy(array.cast(pa.int8()), fill=0).astype(bool)
