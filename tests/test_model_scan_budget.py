"""The scan's budget: the files of issue 19 that once kept the scan busy for minutes to hours or took
gigabytes, rebuilt here (by construction: the originals were not kept), each refused or allowed in seconds.

Each builder makes the most plausible file for the mechanism the issue names; ``benchmarks/scan_budget.py``
times the same files at full size against the scan as it was.  The scan runs in this process here (as it
does with --trust-model), with its own limits: a work budget for looking inside values, a bounded
fallback search, no copy of the decompressed stream, and hashing of dict keys bounded.
"""

from __future__ import annotations

import bz2
import struct
import tracemalloc
import zipfile
import zlib

import pytest

from auditkit.exceptions import UnsafeModelError
from auditkit.load._limits import ModelLimits
from auditkit.load._pickle_scan import scan_bytes
from auditkit.load.model import load_model

_ORDERED_DICT = b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94"  # memo 0, 1; the class at 2


def slow_pickle(items: int = 5_000, calls: int = 170_000) -> bytes:
    """~1.2 MB: a list of ``items`` numbers, then ``calls`` calls of an allowed class with that list, each of
    which made the scan look through the whole list (9 minutes on the issue's machine, 30 here)."""
    return (_ORDERED_DICT + b"]\x94(" + b"K\x00" * items + b"e" + b"h\x02h\x03\x85R0" * calls + b"N.")


def memory_pickle(refs: int = 23_000) -> bytes:
    """~47 KB: a list holding itself ``refs`` times, and one call with it: the scan's walk through it once
    queued 10,000 x 23,000 references (1.8 GB)."""
    return _ORDERED_DICT + b"]\x94(" + b"h\x03" * refs + b"e" + b"h\x02h\x03\x85R0N."


def search_bz2(size: int) -> bytes:
    """A bz2 joblib file that stops the walker at its third byte, then ``size`` bytes of 'i' (an INST
    opcode start, again and again): the fallback search over them took ~8 s per MiB (1 GiB in 789 bytes of
    bz2: hours)."""
    return bz2.compress(b"\x80\x04\xff" + b"i" * size, 9)


def padded_bz2(size: int) -> bytes:
    """A tiny pickle and ``size`` bytes of padding in a few KB of bz2 (just under the 4 GiB cap, 3.5 KB):
    the scan copied the decompressed stream, so the peak was twice the stream (8.5 GB)."""
    comp, zeros = bz2.BZ2Compressor(9), b"\x00" * (1 << 24)
    return b"".join([comp.compress(b"\x80\x04N."), *(comp.compress(zeros) for _ in range(size >> 24)), comp.flush()])


def dag_key(levels: int = 60) -> bytes:
    """371 bytes: a dict keyed by a tuple that holds the same tuple twice, 60 levels deep: hashing it
    visits 2**60 tuples (the scan hung; found while rebuilding the files above)."""
    out = bytearray(b"\x80\x04)\x94")
    for k in range(levels):
        out += b"h" + bytes([k]) + b"h" + bytes([k]) + b"\x86\x94"
    return bytes(out + b"}h" + bytes([levels]) + b"K\x01s.")


def test_a_pickle_that_makes_the_scan_walk_the_same_list_again_and_again():
    scan, _ = scan_bytes(slow_pickle(), "slow.pkl")
    assert scan.verdict == "refused"
    assert "more work than auditkit allows (5,000,000 steps" in scan.problems[0]
    wide, _ = scan_bytes(slow_pickle(items=20_000), "wide.pkl")  # too large to look through at all: allowed
    assert wide.verdict == "allowed"


def test_its_zlib_twin():
    scan, _ = scan_bytes(zlib.compress(slow_pickle(), 9), "slow.joblib")
    assert scan.format == "joblib-compressed" and "more work than auditkit allows" in scan.problems[0]


def test_a_47_kb_pickle_no_longer_takes_gigabytes():
    data = memory_pickle()
    assert 45_000 < len(data) < 48_000
    tracemalloc.start()
    try:
        scan, _ = scan_bytes(data, "memory.pkl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20 and scan.verdict == "allowed"


def test_the_fallback_search_is_bounded():
    data = search_bz2(64 << 20)
    assert len(data) < 1_000
    scan, _ = scan_bytes(data, "search.joblib")
    assert scan.verdict == "refused"
    assert "the first 1 MiB of the remaining 67,108,864 bytes were searched" in scan.problems[0]


def test_padding_is_not_copied():
    data = padded_bz2(256 << 20)
    assert len(data) < 4_000
    tracemalloc.start()
    try:
        scan, stream = scan_bytes(data, "padded.joblib")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scan.verdict == "allowed" and len(stream) == 4  # the loader gets the pickle, not the padding
    assert peak < 1.3 * (256 << 20)  # the stream once, not twice (a bytearray grows by an eighth)


def test_a_dict_keyed_by_a_tuple_that_takes_years_to_hash():
    scan, _ = scan_bytes(dag_key(), "dag.pkl")
    assert scan.verdict == "refused" and "would take hours to hash" in scan.problems[0]


def test_a_3_mb_skops_file_holding_a_3_gib_array(tmp_path):
    """The archive's member says 3 GiB; the worker's limit (an eighth of its 8 GiB) refuses it before
    anything is unpacked."""
    path = tmp_path / "big.skops"
    _skops_with_big_array(path, 3 << 30)
    assert path.stat().st_size < 4 << 20
    with pytest.raises(UnsafeModelError, match="unpacks to 3,221,225,472 bytes"):
        load_model(path, limits=ModelLimits(timeout=25.0))


def _skops_with_big_array(path, size: int) -> None:
    """A real skops file of a logistic regression whose coefficient array is replaced by a .npy member of
    ``size`` bytes of zeros, deflated (written by hand: the deflate stream of zeros repeats after each full
    flush, so it is made from one 64 MiB block)."""
    skops_io = pytest.importorskip("skops.io")
    import io

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    buf = io.BytesIO()
    skops_io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    names = [n for n in src.namelist() if n.endswith(".npy")]
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False,
                                                "shape": ((size - 128) // 8,)})
    header = head.getvalue()
    chunk = 1 << 26
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(b"\x00" * chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    zeros = b"\x00" * chunk
    crc = zlib.crc32(header)
    body = size - len(header)
    for _ in range(body // chunk):
        crc = zlib.crc32(zeros, crc)
    tail_len = body % chunk
    tail = comp.compress(b"\x00" * tail_len) + comp.flush()
    crc = zlib.crc32(b"\x00" * tail_len, crc)
    stream = first + block * (body // chunk) + tail
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name != names[0]:
                out.writestr(name, src.read(name))
    _append_member(path, names[0], stream, size, crc)


def _append_member(path, name: str, stream: bytes, size: int, crc: int) -> None:
    """Add a deflated member (already compressed) to a zip file: local header, data, and a rewritten
    central directory."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        raw = path.read_bytes()
    end_of_data = min((i.header_offset for i in infos), default=0)
    cd_start = struct.unpack("<I", raw[-6:-2])[0]
    data = bytearray(raw[:cd_start])
    offset = len(data)
    encoded = name.encode()
    data += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(stream), size, len(encoded), 0)
    data += encoded + stream
    central = bytearray(raw[cd_start:raw.rfind(b"PK\x05\x06")])
    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(stream), size,
                           len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    cd_offset = len(data)
    data += central
    count = len(infos) + 1
    data += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), cd_offset, 0)
    del end_of_data
    path.write_bytes(bytes(data))
