"""The one way auditkit writes a file: whole or not at all, never through a link, never over a device.

Every output auditkit writes (bundles, reports, JSON, CSV, templates, assessments, keys, downloads)
goes through this module, so one set of rules holds everywhere:

- **A regular file (or a new one)** is written into a temporary file in the same folder, flushed to
  disk, and moved over the target with ``os.replace``: a reader, or an interruption, sees the old file
  or the new one, never half of one.  The new file keeps the old one's permissions (a new file gets the
  usual ``0666 & ~umask``).
- **A symbolic link** is refused: writing through it would change whatever file it points to (a link
  planted in a bundle could make auditkit overwrite ``~/.bashrc``); replacing it would silently break
  what the user set up.  The error names the link and its target.
- **A device, FIFO or socket** (``/dev/null``, ``/dev/stdout``, a named pipe) is written directly,
  never replaced: replacing ``/dev/null`` with a regular file, as root, breaks the whole machine.
- **"-"** means standard output.
- **A folder** is refused with a message.

A bundle is a folder written as a whole: see :func:`replace_dir`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._stale import clear_stale, writer_tag
from .exceptions import AuditkitError

__all__ = ["OutputError", "check_target", "open_output", "replace_dir", "temp_dir_for", "write_bytes", "write_text"]


class OutputError(AuditkitError, OSError):
    """An output path auditkit will not write (a link, a folder, a non-empty non-bundle folder); exit 1."""


def _describe_link(path: Path) -> str:
    try:
        return f" (it points to {os.readlink(path)})"
    except OSError:
        return ""


def check_target(path: str | os.PathLike) -> str:
    """What ``path`` is as an output: 'stdout', 'new', 'regular' or 'special'; a link or folder raises.

    >>> check_target("-")
    'stdout'
    """
    if os.fspath(path) == "-":
        return "stdout"
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "new"
    except NotADirectoryError:  # a file stands where a folder of the path should be
        raise OutputError(f"Cannot write {path}: a part of the path before {path.name!r} is a file, not a "
                          "folder. Give a path in a folder.") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{path} is a symbolic link{_describe_link(path)}; auditkit does not write through links. "
                          "Remove the link or give another path.")
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path} is a folder; give a file name.")
    return "regular" if stat.S_ISREG(st.st_mode) else "special"


def _mkdir_parent(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"Cannot write {path}: {parent} exists and is not a folder.") from None


@contextlib.contextmanager
def open_output(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                newline: str | None = None, private: bool = False, exclusive: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing under the rules of this module; the file is in place when the block ends.

    ``mode`` is "wb" or "w" (text; ``encoding`` defaults to UTF-8).  ``private`` gives a new file mode
    0600 (keys); ``exclusive`` refuses a path that exists.  An exception inside the block leaves the
    old file as it was (for a regular file).
    """
    binary = "b" in mode
    if not binary:
        encoding = encoding or "utf-8"
    kind = check_target(path)
    if exclusive and kind != "new":
        raise OutputError(f"{path} exists already; auditkit will not overwrite it. Remove it or give another path.")
    if kind == "stdout":
        sys.stdout.flush()
        out = sys.stdout.buffer if binary else io.TextIOWrapper(sys.stdout.buffer, encoding=encoding,
                                                                   newline=newline, write_through=True)
        try:
            yield out
        finally:
            out.flush()
            if not binary:
                out.detach()
        return
    path = Path(path)
    if kind == "special":
        # A device or pipe: written in place, never truncated-and-replaced.
        with _said(path):
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
        return
    with _said(path):
        _mkdir_parent(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with _said(path):
            os.chmod(tmp, _mode_for(path, kind, private))
            _move_into_place(tmp, path, exclusive)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _said(path: Path) -> Iterator[None]:
    """An operating-system error (no permission, disk full, read-only) as an OutputError naming ``path``."""
    try:
        yield
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(f"Cannot write {path}: {err.strerror or err}.") from err


def _move_into_place(tmp: str, path: Path, exclusive: bool) -> None:
    if not exclusive:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if the name was taken meanwhile: a key is never overwritten
    except FileExistsError:
        raise OutputError(f"{path} exists already; auditkit will not overwrite it.") from None
    except OSError:  # a file system without hard links
        if os.path.lexists(path):
            raise OutputError(f"{path} exists already; auditkit will not overwrite it.") from None
        os.rename(tmp, path)
        return
    os.unlink(tmp)


def _mode_for(path: Path, kind: str, private: bool) -> int:
    if private:
        return 0o600
    if kind == "regular":
        return stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes(path: str | os.PathLike, data: bytes, **kwargs) -> None:
    """Write ``data`` to ``path`` (see the module's rules)."""
    with open_output(path, "wb", **kwargs) as fh:
        fh.write(data)


def write_text(path: str | os.PathLike, text: str, **kwargs) -> None:
    """Write ``text`` as UTF-8 with the newlines given (see the module's rules)."""
    write_bytes(path, text.encode("utf-8"), **kwargs)


# --- whole folders -------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def temp_dir_for(target: Path) -> Path:
    """A new empty folder next to ``target`` (same file system, so it can be moved into place), named for
    this machine and process; the leftovers of killed runs for the same target are removed first."""
    with _said(target):
        _mkdir_parent(target)
        with contextlib.suppress(OSError):
            clear_stale(target)  # in its own module: its work varies with the leftovers it finds
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{writer_tag()}.", suffix=".auditkit-tmp",
                                    dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a bundle is a folder like any other
    return tmp


def replace_dir(new: Path, target: Path) -> None:
    """Move the complete folder ``new`` to ``target``, replacing an existing folder there whole.

    On Linux the two folders are exchanged in one step (renameat2), so at every moment ``target`` is
    the old folder or the new one.  Elsewhere the old folder is first moved aside and then the new one
    moved in: an interruption between the two steps leaves the old folder next to the target, named
    ``.NAME.*.auditkit-old``.
    """
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # now the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".auditkit-old", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old)
