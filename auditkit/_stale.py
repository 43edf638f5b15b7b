"""The half-written bundle folders that killed runs leave behind, and their removal.

A bundle is written into ``.NAME.HOST-PID.*.auditkit-tmp`` next to its target and moved into place whole
(:mod:`auditkit._output`); a run killed before the move leaves that folder.  The next run into the same
target removes the ones whose process has ended on this machine.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
from pathlib import Path

__all__ = ["clear_stale", "writer_tag"]


def writer_tag() -> str:
    """Which machine and process is writing: a hash of the host name and the pid (a folder shared between
    machines holds other machines' pids)."""
    return f"{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or not ours to judge: leave its folder alone
    return True


def clear_stale(target: Path) -> list[Path]:
    """Remove the half-written folders that killed runs of this machine left next to ``target``
    (``.NAME.HOST-PID.*.auditkit-tmp`` whose process has ended); the folders removed.  A folder of a
    process still running, of another machine, or named otherwise, is left alone."""
    host = writer_tag().split("-")[0]
    removed = []
    for path in sorted(target.parent.glob(f".{glob.escape(target.name)}.*.auditkit-tmp")):
        tag = path.name[len(target.name) + 2:].split(".", 1)[0]
        who, _, pid = tag.partition("-")
        if who != host or not pid.isdigit() or _alive(int(pid)) or path.is_symlink() or not path.is_dir():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
