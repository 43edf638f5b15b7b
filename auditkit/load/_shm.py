"""Shared memory between auditkit and its model worker: batches go in and scores come out without the pipe.

Two anonymous in-memory files (``memfd_create``, Linux) are made by auditkit for each worker and handed to
it when it starts.  auditkit writes a request's arrays into the *input* file with ``pwritev`` -- straight
from the caller's columns, no intermediate copy -- and the worker maps that file privately (copy on write:
a model that writes into its input changes only its own pages) and builds its arrays on the mapping, so a
batch is copied once.  Replies that fit go into the *output* file, which auditkit sized beforehand for the
answer it expects (the worker cannot grow a file: its file-size limit is 0); auditkit reads them with
``preadv`` into arrays of its own -- after that read the worker can no longer change them -- and only
within the room it gave.  auditkit never maps either file, so a worker that truncates one cannot make
auditkit fault (a short read is a broken answer).  The worker's mappings count towards its address-space
limit, as the pipe's buffers did.  Where ``memfd_create`` is missing, messages go through the pipe.

A third descriptor, an eventfd (where Linux has it), carries one count per reply: the worker adds one
after writing a reply to the pipe, and auditkit waits on it rather than on the pipe (see
:meth:`auditkit.load._sandbox.Worker._await`).  The columns of a frame that refers to the caller's own
columns go as :class:`Stacked` rows, written one after the other without being stacked first.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np

__all__ = ["ParentShared", "Stacked", "WorkerShared", "make_files"]

_ALIGN = 64
_IOV = 1024  # at most this many buffers per pwritev/preadv call (IOV_MAX)
#: Messages larger than this go through the pipe (so a one-off large explanation does not keep a file that size).
MAX_SHARED = 1 << 31


def make_files() -> tuple[int, ...] | None:
    """The input and output files of one worker (close-on-exec), and where the platform has one, the
    eventfd on which the worker says a reply is ready; None where the files cannot be made."""
    if not hasattr(os, "memfd_create"):
        return None
    try:
        inp = os.memfd_create("auditkit-model-input", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        out = os.memfd_create("auditkit-model-output", os.MFD_CLOEXEC)
    except OSError:
        os.close(inp)
        return None
    try:
        ready = os.eventfd(0, os.EFD_SEMAPHORE | os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    except (OSError, AttributeError):
        return inp, out
    return inp, out, ready


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


class Stacked:
    """Equal-length 1-D arrays of one type written one after the other, as the rows of a (k, n) matrix, without
    stacking them in auditkit's memory (the worker reads them as the n x k column-major matrix)."""

    def __init__(self, rows: list[np.ndarray]) -> None:
        self.rows = [np.ascontiguousarray(r) for r in rows]
        self.dtype = self.rows[0].dtype
        self.shape = (len(self.rows), len(self.rows[0]))
        self.nbytes = sum(r.nbytes for r in self.rows)


def _pieces(a: np.ndarray | Stacked) -> list[Any]:
    """``a``'s bytes in order as contiguous buffers: the whole array, its rows, or one copy."""
    if isinstance(a, Stacked):
        return [r.view(np.uint8) for r in a.rows if r.size]
    if a.flags.c_contiguous:
        return [a.reshape(-1).view(np.uint8)] if a.size else []
    if a.ndim == 2 and a.strides[1] == a.itemsize:  # rows contiguous (the columns of a column-major batch)
        return [row.view(np.uint8) for row in a]
    return [np.ascontiguousarray(a).reshape(-1).view(np.uint8)]


class ParentShared:
    """auditkit's side: writes requests' arrays into the input file, reads replies from the output file.

    Two requests may be in flight (the next batch is written while the worker scores the current one):
    each gets regions of the two files that do not overlap those of the other, freed with its reply.
    """

    def __init__(self, inp: int, out: int, ready: int | None = None) -> None:
        self.inp, self.out, self.ready = inp, out, ready
        self.sizes = [0, 0]  # the files' sizes as auditkit made them
        self.busy: list[tuple[int, int]] = []  # input regions of requests in flight
        self.rooms: list[tuple[int, int]] = []  # output regions offered to requests in flight
        self.placed: tuple[int, int] | None = None  # the input region of the request being written
        self.window = (0, 0)  # the output region the reply being read may use

    def put(self, arrays: list[np.ndarray]) -> tuple[list[int], int] | None:
        """Write ``arrays`` (already in the order sent) into the input file: their offsets and the bytes
        the worker maps; None if there is nothing to share or too much (the pipe is used)."""
        offsets, end = _layout(arrays)
        self.placed = None
        if not end or end > MAX_SHARED:
            return None
        base = _free_spot(self.busy, end)
        self._grow(0, base + end)
        for a, at in zip(arrays, offsets):
            _pwrite_all(self.inp, _pieces(a), base + at)
        self.placed = (base, base + end)
        return [base + at for at in offsets], base + end

    def offer(self, room: int) -> list[int]:
        """A region of ``room`` bytes of the output file for the reply of the request about to be sent."""
        room = min(_aligned(max(int(room), 0)), MAX_SHARED)
        base = _free_spot(self.rooms, room) if room else 0
        self._grow(1, base + room)
        return [base, room]

    def _grow(self, which: int, size: int) -> None:
        if size > self.sizes[which]:
            os.ftruncate((self.inp, self.out)[which], size)
            self.sizes[which] = size

    def take(self, size: int, specs: list[tuple[Any, np.dtype, int]]) -> list[np.ndarray]:
        """The reply's arrays (offset, dtype, count each) the worker left in the output file, copied into
        auditkit's memory -- only from the region offered (``size``, the worker's word, is not used)."""
        return [self._take(at, dtype, count) for at, dtype, count in specs]

    def _take(self, at: Any, dtype: np.dtype, count: int) -> np.ndarray:
        nbytes = dtype.itemsize * count
        low, room = self.window
        if type(at) is not int or at < low or at % _ALIGN or at + nbytes > low + room:
            raise ValueError(f"an array outside the shared room ({at!r:.40}, {nbytes} bytes)")
        out = np.empty(count, dtype=dtype)
        view, got = memoryview(out.view(np.uint8)) if count else memoryview(b""), 0
        while got < nbytes:
            n = os.preadv(self.out, [view[got:]], at + got)
            if n <= 0:
                raise ValueError("the shared output file was cut short")
            got += n
        return out

    def close(self) -> None:
        for fd in (self.inp, self.out, self.ready):
            if fd is None:
                continue
            try:
                os.close(fd)
            except OSError:
                pass


def _free_spot(busy: list[tuple[int, int]], size: int) -> int:
    """Where ``size`` bytes fit without touching the regions in ``busy`` (at the start, or after them)."""
    if not busy or size <= min(a for a, _ in busy):
        return 0
    return _aligned(max(b for _, b in busy))


def _layout(arrays: list[np.ndarray]) -> tuple[list[int], int]:
    """Each array's offset (aligned) and where the last one ends."""
    offsets, at, end = [], 0, 0
    for a in arrays:
        offsets.append(at)
        end = max(end, at + a.nbytes)
        at = _aligned(at + a.nbytes)
    return offsets, end


def _pwrite_all(fd: int, pieces: list[Any], at: int) -> None:
    for start in range(0, len(pieces), _IOV):
        group = [memoryview(p) for p in pieces[start:start + _IOV]]
        want = sum(len(g) for g in group)
        done = os.pwritev(fd, group, at)
        if done != want:  # a regular file takes the whole write or fails; finish piece by piece if not
            flat = memoryview(b"".join(group))
            while done < want:
                done += os.pwrite(fd, flat[done:], at + done)
        at += want


class WorkerShared:
    """The worker's side: maps the input file to read a request, writes its reply into the output file."""

    def __init__(self, inp: int, out: int, ready: int | None = None) -> None:
        self.inp, self.out, self.ready = inp, out, ready
        self.maps: list[mmap.mmap] = []
        self.room = (0, 0)  # the output region auditkit offered for the reply to the request being answered
        self.out_map: mmap.mmap | None = None

    def take(self, size: int, specs: list[tuple[int, np.dtype, int]]) -> list[np.ndarray]:
        """The arrays of a request (offset, dtype, count each), on a private mapping of ``size`` bytes."""
        view = mmap.mmap(self.inp, size, access=mmap.ACCESS_COPY)
        self.maps.append(view)
        return [np.frombuffer(view, dtype=dtype, count=count, offset=at) for at, dtype, count in specs]

    def put(self, arrays: list[np.ndarray]) -> tuple[list[int], int] | None:
        """Write a reply's arrays into the output file if they fit in the room auditkit made: their offsets
        and end, or None (the pipe is used)."""
        offsets, end = _layout(arrays)
        base, room = self.room
        if not end or end > room:
            return None
        view = self._output(base + room)
        for a, at in zip(arrays, offsets):
            target = np.frombuffer(view, dtype=np.uint8, count=a.nbytes, offset=base + at)
            for piece in _pieces(a):
                target[:len(piece)] = piece
                target = target[len(piece):]
            del target
        return [base + at for at in offsets], base + end

    def _output(self, size: int) -> mmap.mmap:
        """A mapping of the output file's first ``size`` bytes or more: kept from reply to reply (auditkit
        only ever grows the file), made anew when a reply needs more room."""
        if self.out_map is None or len(self.out_map) < size:
            if self.out_map is not None:
                try:
                    self.out_map.close()
                except BufferError:
                    pass
            self.out_map = mmap.mmap(self.out, size, access=mmap.ACCESS_WRITE)
        return self.out_map

    def replied(self) -> None:
        """Say on the eventfd that a reply is on the pipe (auditkit waits there, not on the pipe: see
        :meth:`auditkit.load._sandbox.Worker.receive`)."""
        if self.ready is not None:
            try:
                os.eventfd_write(self.ready, 1)
            except OSError:
                pass

    def release(self) -> None:
        """Unmap the requests' input (a mapping a model still holds on to is left to the garbage collector)."""
        for view in self.maps:
            try:
                view.close()
            except BufferError:
                pass
        self.maps.clear()
