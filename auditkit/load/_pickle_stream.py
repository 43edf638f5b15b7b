"""The pickle stream as the unpickler reads it, and the placeholders the scan builds instead of objects.

:class:`Reader` models ``pickle._Unframer`` (framing included) closely enough to know where every
opcode starts; the values the scan pushes are placeholders (:class:`Global`, :class:`Obj`,
:class:`Blob`), never built objects, so nothing from the file is imported or called.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Blob", "Cannot", "Findings", "Global", "Obj", "Reader"]


class Cannot(Exception):
    """The scan cannot follow the stream here the way the loader would."""


class Blob:
    """A long string or bytes value, kept as its length only."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __repr__(self) -> str:
        return f"<{self.length:,} bytes or characters>"


class Global:
    """The object an import would return (never imported)."""

    def __init__(self, module: str, name: str) -> None:
        self.key = (module, name)

    def __repr__(self) -> str:
        return ".".join(self.key)


class Obj:
    """What a call (REDUCE, NEWOBJ, INST, OBJ) would return, with what is known about it."""

    def __init__(self, callee: object, args: object, how: str, maybe_naw: bool = False) -> None:
        self.callee, self.args, self.how = callee, args, how
        self.builds: list = []
        self.attrs: dict | None = None  # set for joblib array wrappers
        self.maybe_naw = maybe_naw
        self.pending = False  # a numpy.dtype(...) whose state (BUILD) has not come yet
        self.made: object = None  # for a numpy.dtype(...) after its BUILD: the checked numpy dtype it stands for

    def __repr__(self) -> str:
        return f"<what {self.callee!r} returns>" if isinstance(self.callee, Global) else "<an object the file makes>"


@dataclass
class Findings:
    """What the scan has found so far, over every pickle stream in the file."""

    imports: Counter = field(default_factory=Counter)
    versions: dict = field(default_factory=dict)
    protocols: list = field(default_factory=list)
    max_opcode_proto: int = 0
    arrays: int = 0
    py2: bool = False
    work: int = 0  # steps left for looking inside values (set from _pickle_vm.SCAN_WORK by the scan)
    ops: int = 0  # opcodes read
    deadline: float = float("inf")  # when the scan's time is up (time.monotonic)
    end: int = 0  # where the last pickle ends (padding may follow)


class Reader:
    """The file as pickle._Unframer sees it: opcodes come from the current frame; joblib's array
    bytes come from the file itself, after the frame."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos
        self.frame: list[int] | None = None  # [next, end] within data

    @property
    def cursor(self) -> int:
        return self.frame[0] if self.frame else self.pos

    def read(self, n: int, keep: bool = True):
        if self.frame:
            start, end = self.frame
            if start == end and n:
                self.frame = None
            elif start + n > end:
                raise Cannot("the pickle ends in the middle of a frame")
            else:
                self.frame[0] += n
                return bytes(self.data[start:start + n]) if keep else None
        return self.file_read(n, keep)

    def file_read(self, n: int, keep: bool = True):
        if self.pos + n > len(self.data):
            raise Cannot("the file ends in the middle of a pickle (it is truncated or corrupt)")
        self.pos += n
        return bytes(self.data[self.pos - n:self.pos]) if keep else None

    def readline(self) -> bytes:
        if self.frame and self.frame[0] < self.frame[1]:
            start, end = self.frame
            stop = self.data.find(b"\n", start, end)
            if stop < 0:
                raise Cannot("the pickle ends in the middle of a frame")
            self.frame[0] = stop + 1
            return bytes(self.data[start:stop + 1])
        self.frame = None
        stop = self.data.find(b"\n", self.pos)
        line = self.data[self.pos:] if stop < 0 else self.data[self.pos:stop + 1]
        self.pos += len(line)
        return bytes(line)

    def load_frame(self, size: int) -> None:
        if self.frame and self.frame[0] < self.frame[1]:
            raise Cannot("a new frame begins before the current one ends")
        start = self.pos
        self.pos = min(len(self.data), start + size)
        self.frame = [start, self.pos]
