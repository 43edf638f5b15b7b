"""Messages between auditkit and its model worker: a JSON header and raw numeric arrays, never pickles.

A message is the header's length (8 bytes, big-endian), the header (UTF-8 JSON), then the bytes of each
array the header lists (``{"dtype": "<f8", "shape": [n]}``).  What the worker sends back is read as
untrusted: a bounded size, a header that must parse (deep nesting is refused, not a ``RecursionError``),
and arrays only of plain numeric types whose byte count matches their shape -- so a worker taken over
by a hostile file can send wrong numbers, but cannot make auditkit run anything.

Data frames go to the worker column by column: numbers, booleans and dates as raw arrays, other columns
(text, categories) together as one Arrow IPC stream, so the worker rebuilds the same dtypes the caller had.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

from ._shm import Stacked

__all__ = ["Broken", "decode_frame", "encode_frame", "read_message", "write_message"]

#: Array types accepted from the worker (plain numbers and booleans only).
REPLY_DTYPES = frozenset({"<f8", "<i8", "|b1"})
_RAW_KINDS = frozenset("biufmM")
_HEAD = struct.Struct(">Q")


class Broken(Exception):
    """The other side closed the pipe, sent something malformed, or did not answer in time."""

    def __init__(self, why: str, timeout: bool = False) -> None:
        super().__init__(why)
        self.timeout = timeout


def write_message(fd: int, header: dict, arrays: list[np.ndarray] = (), deadline: float | None = None,
                  shared: Any = None) -> None:
    """Send ``header`` and ``arrays``: through ``shared`` memory (:mod:`auditkit.load._shm`) where given and
    they fit, otherwise after the header on the pipe (C-contiguous copies are made where needed)."""
    # A column-major array keeps its order (sums over its axes, and BLAS, round as they would have at home).
    fortran = [isinstance(a, Stacked) or (a.ndim == 2 and not a.flags.c_contiguous
                                          and (a.flags.f_contiguous or a.strides[0] < a.strides[1]))
               for a in arrays]
    arrays = [a if isinstance(a, Stacked) else a.T if f else a for a, f in zip(arrays, fortran)]
    specs = [{"dtype": a.dtype.str, "shape": list(a.shape[::-1] if f else a.shape), "fortran": f}
             for a, f in zip(arrays, fortran)]
    placed = shared.put(arrays) if shared is not None else None
    if placed is not None:
        for spec, at in zip(specs, placed[0]):
            spec["at"] = at
        header = {**header, "shared": placed[1]}
    head = json.dumps({**header, "arrays": specs}, allow_nan=True).encode()
    _write_all(fd, _HEAD.pack(len(head)) + head, deadline)
    if placed is None:
        for a in arrays:
            for piece in a.rows if isinstance(a, Stacked) else [a]:
                if piece.nbytes:
                    _write_all(fd, memoryview(np.ascontiguousarray(piece).reshape(-1).view(np.uint8)), deadline)


def _write_all(fd: int, data: Any, deadline: float | None) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise Broken("the worker did not take the data in time", timeout=True)
        try:
            n = os.write(fd, view[:1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError) as err:
            raise Broken(f"the pipe closed ({err.strerror or err})") from None
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytearray:
    out = bytearray(n)
    view, got = memoryview(out), 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Broken("no answer in time", timeout=True)
        try:
            k = os.readv(fd, [view[got:got + (1 << 24)]])
        except BlockingIOError:
            continue
        except OSError as err:
            raise Broken(f"the pipe closed ({err.strerror or err})") from None
        if k == 0:
            raise Broken("the pipe closed")
        got += k
    return out


def read_message(fd: int, deadline: float | None = None, max_bytes: int = 1 << 62,
                 dtypes: frozenset | None = None, shared: Any = None) -> tuple[dict, list[np.ndarray]]:
    """One message: the header (a dict) and its arrays.  ``max_bytes`` bounds the whole message;
    ``dtypes`` (if given) are the only array types accepted; arrays in shared memory are taken through
    ``shared`` (a message that says it used shared memory when there is none is refused)."""
    (size,) = _HEAD.unpack(bytes(_read_exact(fd, _HEAD.size, deadline)))
    if size > min(max_bytes, 1 << 28):
        raise Broken(f"a message header of {size:,} bytes")
    try:
        header = json.loads(bytes(_read_exact(fd, size, deadline)))
    except (ValueError, RecursionError) as err:
        raise Broken(f"a message that is not JSON ({type(err).__name__})") from None
    specs = header.get("arrays") if isinstance(header, dict) else None
    if not isinstance(specs, list) or len(specs) > 10_000:
        raise Broken("a message without its list of arrays")
    checked, total = [], size
    for spec in specs:
        dtype, shape = _checked_spec(spec, dtypes)
        nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64)) if shape else dtype.itemsize
        total += nbytes
        if total > max_bytes:
            raise Broken(f"a message of more than {max_bytes:,} bytes")
        checked.append((spec, dtype, shape, nbytes))
    if "shared" in header:
        if shared is None or type(header["shared"]) is not int or not all("at" in s for s in specs):
            raise Broken("a message in shared memory that was not offered")
        try:
            flats = shared.take(header["shared"], [(s["at"], d, n // d.itemsize) for s, d, _, n in checked])
        except (ValueError, OSError, TypeError) as err:
            raise Broken(str(err)) from None
    else:
        flats = [np.frombuffer(_read_exact(fd, n, deadline) if n else bytearray(), dtype=d) for _, d, _, n in checked]
    return header, [flat.reshape(shape[::-1]).T if spec.get("fortran") is True and len(shape) == 2
                    else flat.reshape(shape) for flat, (spec, _, shape, _) in zip(flats, checked)]


def _checked_spec(spec: Any, dtypes: frozenset | None) -> tuple[np.dtype, tuple]:
    if not (isinstance(spec, dict) and isinstance(spec.get("dtype"), str) and isinstance(spec.get("shape"), list)):
        raise Broken("an array without its type and shape")
    shape = spec["shape"]
    if len(shape) > 2 or not all(type(n) is int and 0 <= n < 2**40 for n in shape):
        raise Broken(f"an array of shape {shape!r:.80}")
    if dtypes is not None and spec["dtype"] not in dtypes:
        raise Broken(f"an array of type {spec['dtype']!r:.40}")
    try:
        dtype = np.dtype(spec["dtype"])
    except TypeError:
        raise Broken(f"an array of type {spec['dtype']!r:.40}") from None
    if dtype.hasobject or dtype.kind not in _RAW_KINDS | {"V"} or dtype.fields:
        raise Broken(f"an array of type {spec['dtype']!r:.40}")
    return dtype, tuple(shape)


# --------------------------------------------------------------------------------------------------
# Data frames


def encode_frame(frame: Any) -> tuple[dict, list[np.ndarray]]:
    """A DataFrame as a header entry and arrays: raw columns, and one Arrow stream for the others."""
    import pyarrow as pa

    dtypes = set(frame.dtypes) if frame.shape[1] else set()
    if len(dtypes) == 1:
        dtype = next(iter(dtypes))
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not dtype.fields:
            # One numeric type: the frame's values as one matrix, in the memory order they have here, so the
            # model computes on the same layout in the worker (to the last bit); columns held apart (a frame
            # that refers to the caller's columns) go as the columns of one column-major matrix, uncopied
            spec = {"names": [str(c) for c in frame.columns], "matrix": 0, "rows": int(len(frame))}
            if getattr(getattr(frame, "_mgr", None), "nblocks", 1) > 1:
                return spec, [Stacked([frame.iloc[:, i].to_numpy() for i in range(frame.shape[1])])]
            return spec, [frame.to_numpy(copy=False)]
    columns, arrays, other = [], [], []
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        dtype = col.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in _RAW_KINDS and not dtype.fields:
            columns.append({"name": str(name), "raw": len(arrays)})
            arrays.append(col.to_numpy())
        else:
            columns.append({"name": str(name), "arrow": len(other)})
            other.append(i)
    if other:
        table = pa.Table.from_pandas(frame.iloc[:, other].set_axis([f"c{j}" for j in range(len(other))], axis=1),
                                     preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        arrays.append(np.frombuffer(sink.getvalue(), dtype=np.uint8))
    return {"columns": columns, "rows": int(len(frame)), "arrow": len(arrays) - 1 if other else None}, arrays


def decode_frame(spec: dict, arrays: list[np.ndarray]) -> Any:
    """The DataFrame :func:`encode_frame` described (in the worker)."""
    import pandas as pd
    import pyarrow as pa

    if "matrix" in spec:
        return pd.DataFrame(arrays[spec["matrix"]], columns=list(spec["names"]), copy=False)
    other = None
    if spec.get("arrow") is not None:
        other = pa.ipc.open_stream(pa.py_buffer(arrays[spec["arrow"]].tobytes())).read_all().to_pandas()
    data = {col["name"]: arrays[col["raw"]] if "raw" in col else other[f"c{col['arrow']}"].array
            for col in spec["columns"]}
    return pd.DataFrame(data, index=pd.RangeIndex(spec["rows"]))
