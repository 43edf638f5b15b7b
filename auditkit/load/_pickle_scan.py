"""Scan a pickle or joblib file for every import it would make, without running it.

Loading a pickle runs code: each import the file names is looked up and may be
called.  :func:`scan_pickle` reads the file's opcodes the way Python's own
unpickler and joblib's ``NumpyUnpickler`` read them, but only records what would
be imported; it never imports or calls anything from the file.

This module decompresses the file as joblib would, follows every pickle stream in
it with the opcode walker (:mod:`auditkit.load._pickle_vm`, which also reads past
the arrays joblib stores inline, where a plain opcode reader stops and an attacker
can hide an import), and judges each import against the allow-list
(:func:`classify`, :mod:`auditkit.load._allow`).  Where the walker cannot follow
the stream, the rest of the file is searched for import patterns and the file is
refused: a file that cannot be read to its end cannot be shown to be safe.
"""

from __future__ import annotations

import bz2
import itertools
import lzma
import os
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ._allow import NAW, allow_rule, classify, resolve  # noqa: F401 - allow_rule, resolve: re-exported
from ._pickle_stream import Cannot, Findings, Reader
from ._pickle_vm import SCAN_SECONDS, SCAN_WORK, VM

__all__ = ["ImportRef", "PickleScan", "classify", "scan_pickle"]

#: Largest decompressed size scanned, against decompression bombs (the model worker sets it to an eighth
#: of its memory limit, :meth:`auditkit.load._limits.ModelLimits.max_decompressed`).
MAX_BYTES = 4 * 2**30


@dataclass(frozen=True)
class ImportRef:
    """One module attribute a pickle would import, how often, and whether auditkit allows it."""

    module: str
    name: str
    status: str  # "allowed" | "dangerous" | "unknown"
    reason: str
    count: int = 1

    @property
    def qualname(self) -> str:
        """``module.name``, as messages show it."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class PickleScan:
    """What a pickle or joblib file would import when loaded, and auditkit's verdict.

    ``verdict`` is "allowed" only when every import is on the allow-list and the
    whole file could be followed to its end (``problems`` is empty).
    ``versions`` holds library versions recorded in the file (scikit-learn's
    ``_sklearn_version``); ``notes`` facts worth showing that are not problems.
    """

    path: str
    format: str  # "pickle" | "joblib" | "joblib-compressed"
    protocol: int | None
    imports: tuple[ImportRef, ...]
    verdict: str  # "allowed" | "refused"
    problems: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def offending(self) -> tuple[ImportRef, ...]:
        """The imports that are not on the allow-list."""
        return tuple(ref for ref in self.imports if ref.status != "allowed")


def scan_pickle(path: str | os.PathLike) -> PickleScan:
    """List every import a pickle or joblib file would make, without loading it.

    >>> import pickle, tempfile, collections
    >>> with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
    ...     pickle.dump(collections.OrderedDict(a=1), fh)
    >>> scan = scan_pickle(fh.name)
    >>> scan.verdict, [(ref.qualname, ref.status) for ref in scan.imports]
    ('allowed', [('collections.OrderedDict', 'allowed')])
    """
    return scan_bytes(Path(path).read_bytes(), str(path))[0]


def scan_bytes(raw: bytes, label: str) -> tuple[PickleScan, bytes]:
    """Scan the bytes of a pickle file; also return the (decompressed) pickle stream."""
    data, compression, problems = _decompress(raw)
    found = Findings(work=SCAN_WORK, deadline=time.monotonic() + SCAN_SECONDS)
    problems += _follow(data, found)
    if found.end < len(data):  # padding after the last pickle: the loader never reads it (and it is not copied)
        data = memoryview(data)[:found.end]
    if compression == "compat":
        problems.append("it is in joblib's format from before version 0.9.3, which keeps arrays in companion "
                        "files next to it; auditkit cannot check those")
    refs = [ImportRef(m, n, *classify(m, n), count=k) for (m, n), k in found.imports.items()]
    order = {"dangerous": 0, "unknown": 1, "allowed": 2}
    refs.sort(key=lambda r: (order[r.status], r.module, r.name))
    fmt = "joblib-compressed" if compression else "joblib" if found.arrays or NAW in found.imports else "pickle"
    protocol = found.protocols[0] if found.protocols else found.max_opcode_proto if data else None
    bad = problems or any(r.status != "allowed" for r in refs)
    notes = ["it holds Python 2 text (STRING opcodes): it was probably saved by Python 2"] if found.py2 else []
    if found.arrays:
        notes.append(f"joblib stored {found.arrays} array(s) inline; the scan read past each of them")
    scan = PickleScan(label, fmt, protocol, tuple(refs), "refused" if bad else "allowed", tuple(problems),
                      dict(found.versions), tuple(notes))
    return scan, data


# ---------------------------------------------------------------------------------------------------
# Decompression: joblib picks the decompressor from the first bytes (joblib.numpy_pickle_utils).

_PREFIXES = (("compat", b"ZF"), ("zlib", b"\x78"), ("gzip", b"\x1f\x8b"), ("bz2", b"BZ"),
             ("lzma", b"\x5d\x00"), ("xz", b"\xfd\x37\x7a\x58\x5a"), ("lz4", b"\x04\x22\x4d\x18"))


def decompressed(raw: bytes) -> bytes:
    """The pickle stream of a file's bytes (decompressed as joblib would), without scanning it."""
    return _decompress(raw)[0]


def _decompress(raw: bytes) -> tuple[bytes | bytearray, str | None, list[str]]:
    kind = next((name for name, prefix in _PREFIXES if raw.startswith(prefix)), None)
    if kind is None:
        return raw, None, [] if raw else ["the file is empty"]
    label = kind
    if kind == "compat":  # joblib < 0.9.3: 'ZF', the length in hex, then a zlib stream
        kind, raw = "zlib", raw[20 + (raw[20:21] == b" "):]
    if kind == "lz4":
        try:
            import lz4.frame
        except ImportError:
            return b"", "lz4", ["it is compressed with lz4, and the lz4 package is not installed (pip install lz4)"]
        try:
            return _capped(lz4.frame.LZ4FrameDecompressor().decompress(raw, max_length=MAX_BYTES + 1)), "lz4", []
        except Exception as err:  # noqa: BLE001 - lz4 raises its own error types
            return b"", "lz4", [f"its lz4 compressed data is corrupt or too large ({err})"]
    makers = {"zlib": zlib.decompressobj, "gzip": lambda: zlib.decompressobj(31), "bz2": bz2.BZ2Decompressor,
              "lzma": lzma.LZMADecompressor, "xz": lzma.LZMADecompressor}
    out, problems = bytearray(), []
    rest = raw
    try:
        while rest:  # joblib reads concatenated streams one after another
            rest = _inflate(makers[kind](), rest, out)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as err:
        problems.append(f"its {kind} compressed data is corrupt or cut short ({err})")
    return out, label, problems  # the bytearray itself: a copy would double the peak memory


def _inflate(dec, data: bytes, out: bytearray) -> bytes:
    """Decompress one stream into ``out`` in chunks, stopping at MAX_BYTES; return what follows it."""
    is_zlib = hasattr(dec, "unconsumed_tail")
    chunk = dec.decompress(data, 1 << 24)
    while True:
        out += chunk
        _capped(out)
        if dec.eof:
            return dec.unused_data
        pending = dec.unconsumed_tail if is_zlib else b""
        if (is_zlib and not pending and not chunk) or (not is_zlib and dec.needs_input):
            raise EOFError("the compressed stream ends early")
        chunk = dec.decompress(pending, 1 << 24)


def _capped(data):
    if len(data) > MAX_BYTES:
        raise ValueError(f"it decompresses to more than {MAX_BYTES:,} bytes, the limit (an eighth of the model "
                         "worker's memory limit; raise it with --model-memory if the model is that large)")
    return data


# ---------------------------------------------------------------------------------------------------
# Following every pickle in the file, and searching what cannot be followed.


def _follow(data: bytes, found: Findings) -> list[str]:
    """Follow every pickle in ``data`` to its STOP; on failure search the rest and say so."""
    pos = 0
    while pos < len(data):
        if pos and _PADDING.match(data, pos):
            break  # padding after the last pickle is never read
        reader = Reader(data, pos)
        try:
            VM(reader, found, joblib=True).run()
            if reader.frame and reader.frame[0] < reader.frame[1]:
                raise Cannot("bytes follow STOP inside the last frame")
        except Cannot as err:
            at = reader.cursor
            hits = _search(data, at)
            for key, k in hits.items():
                found.imports[key] += k
            searched = ("the remaining bytes were" if len(data) - at <= SEARCH_WINDOW else
                        f"the first {SEARCH_WINDOW >> 20} MiB of the remaining {len(data) - at:,} bytes were")
            found.end = len(data)
            return [f"auditkit could not follow the whole file: {err} (at byte {at:,} of {len(data):,}); "
                    f"{searched} searched for imports and {sum(hits.values())} found. "
                    "A file that cannot be read to the end cannot be shown to be safe"]
        pos = reader.pos
    found.end = pos
    return []


#: How far past the point the scan could not follow the fallback search looks, and how many candidates.
SEARCH_WINDOW = 1 << 20
SEARCH_HITS = 100_000
_PADDING = re.compile(rb"[\x00 \t\r\n]*\Z")  # matched in place: no copy of what may be gigabytes
_MEMO_OP = rb"(?:\x94|q[\x00-\xff]|r[\x00-\xff]{4}|p\d+\n)?"
_NAME_LINE = re.compile(rb"\n(?=([A-Za-z_][\w.]{0,200})\n)")  # the newline after a module, then the name
_RUN = re.compile(rb"[\w.]{0,202}")
_IDENT_START = re.compile(rb"[A-Za-z_]")
_SHORT_STR = re.compile(rb"\x8c([\x01-\xff])")
_IDENT = re.compile(rb"[A-Za-z_][\w.]*")
_GAP = re.compile(_MEMO_OP)  # an optional memo store between a string and the next opcode
_TAIL = re.compile(_MEMO_OP + rb"\x93")  # ... and then STACK_GLOBAL


def _search(data: bytes, start: int) -> Counter:
    """Import patterns in the :data:`SEARCH_WINDOW` bytes from ``start`` (GLOBAL/INST text, and two short
    strings before STACK_GLOBAL).  The file is refused whatever the search finds: it only says what the
    file would have imported, so it looks at a bounded window (a file of a gigabyte of crafted bytes once
    kept it busy for over an hour), at most :data:`SEARCH_HITS` candidates of each kind."""
    hits: Counter = Counter()
    end = min(len(data), start + SEARCH_WINDOW)
    for m in itertools.islice(_NAME_LINE.finditer(data, start, end), SEARCH_HITS):
        # a GLOBAL ('c') or INST ('i') opcode, the module, a newline, the name and a newline: found from
        # each newline backwards, so that a long run of letters costs one pass, not one per letter
        run = _RUN.match(bytes(data[max(start, m.start() - 202):m.start()])[::-1]).group()[::-1]
        at = next((k for k in range(len(run) - 1) if run[k] in b"ci" and _IDENT_START.match(run, k + 1)), None)
        if at is not None:
            hits[(run[at + 1:].decode(), bytes(m.group(1)).decode())] += 1
    strings = {}  # start of a short string -> (its text, where it ends)
    for m in itertools.islice(_SHORT_STR.finditer(data, start, end), SEARCH_HITS):
        text = bytes(data[m.end():m.end() + m.group(1)[0]])
        if len(text) == m.group(1)[0] and _IDENT.fullmatch(text):
            strings[m.start()] = (text.decode(), m.end() + len(text))
    for module, end in strings.values():
        gap = _GAP.match(data, end)
        nxt = strings.get(gap.end()) if gap else None
        if nxt and _TAIL.match(data, nxt[1]):
            hits[(module, nxt[0])] += 1
    return hits
