"""Small helpers for user-facing messages."""

from __future__ import annotations

import difflib
import io
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TerminalText", "bootstrap_progress", "did_you_mean", "list_values", "normalise_name", "placeholder_in", "printable",
           "terminal_safe"]

# C0 controls (bar tab and newline), DEL and C1 controls (ESC starts the terminal's escape sequences, CR
# overwrites a line), Unicode line and paragraph separators, and the bidirectional overrides and isolates
# that can make text display in another order than it is stored ("Trojan Source", CVE-2021-42574).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|[\r\n]")


def normalise_name(name: str) -> str:
    """Casefold and collapse whitespace, to match 'Nationality ' with 'nationality'."""
    return " ".join(str(name).split()).casefold()


# Text a template author was meant to replace: 'write the agency here', 'TODO', '<agency>', '[NAME]', '...'.
_PLACEHOLDER = re.compile(
    r"\b(?:write|fill|enter|insert|put|add|name)\b[^.;:()]{0,40}?\bhere\b"
    r"|\bvul\b[^.;:()]{0,40}?\bin\b|\bhier\s+invullen\b"
    r"|\b(?:TODO|TBD|FIXME|XXX+)\b|\blorem ipsum\b|<[^<>]{1,40}>|\[[A-Z][A-Z _-]{2,}\]"
    r"|^\s*(?:\.{3}|…|-+|—|\?+)\s*$", re.IGNORECASE)


def placeholder_in(text: object) -> str | None:
    """The placeholder a template author left in ``text`` ('write the agency here', 'TODO'), or None.

    >>> placeholder_in("Tax administration (write the agency here)")
    'write the agency here'
    >>> placeholder_in("Gemeente Rotterdam, Werk en Inkomen") is None
    True
    """
    match = _PLACEHOLDER.search(str(text)) if isinstance(text, str) else None
    return match.group(0).strip() if match else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest choice, or ''.

    >>> did_you_mean("nationalty", ["nationality", "gender"])
    " Did you mean 'nationality'?"
    """
    choices = [str(c) for c in choices]
    by_norm = {normalise_name(c): c for c in choices}
    close = difflib.get_close_matches(normalise_name(name), list(by_norm), n=1, cutoff=0.6)
    return f" Did you mean {by_norm[close[0]]!r}?" if close else ""


def list_values(values: Iterable[object], limit: int = 12) -> str:
    """Quote up to ``limit`` values for a message, saying how many more there are.

    >>> list_values(["a", "b", "c"], limit=2)
    "'a', 'b' (and 1 more)"
    """
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    extra = len(values) - limit
    return shown + (f" (and {extra} more)" if extra > 0 else "")


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\r``, ``\\u202e``).

    Group names, column names and template text come from other people's files; printed raw, an escape
    sequence could rewrite the terminal or a line break could end a Markdown code span.  Tabs are kept;
    newlines are kept only with ``newlines=True`` (auditkit's own multi-line messages), as ``\\n``.

    >>> printable("a\\x1b[2Jb\\rc\\nd\\u202ee")
    'a\\\\x1b[2Jb\\\\rc\\\\nd\\\\u202ee'
    >>> printable("line one\\nline two", newlines=True)
    'line one\\nline two'
    """
    text = str(text)
    if newlines:
        text = _LINE_BREAKS.sub("\n", text)
    else:
        text = _LINE_BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TerminalText(io.TextIOBase):
    """A text stream that shows control characters written to it as escapes (see :func:`printable`).

    The CLI writes through it, so that no group name, template or instrument text can send the terminal an
    escape sequence.  A carriage return opening a write is let through: progress bars redraw their line so.
    """

    def __init__(self, stream: Any):
        super().__init__()
        self.unfiltered = stream

    @property
    def encoding(self) -> str:  # type: ignore[override]  # noqa: D102
        return getattr(self.unfiltered, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]  # noqa: D102
        return getattr(self.unfiltered, "errors", None)

    def write(self, text: str) -> int:  # type: ignore[override]  # noqa: D102
        if not isinstance(text, str):
            raise TypeError(f"write() takes text, not {type(text).__name__}")
        lead = "\r" if text.startswith("\r") and not text.startswith("\r\n") else ""
        return self.unfiltered.write(lead + printable(text[len(lead):], newlines=True)) and len(text)

    def writable(self) -> bool:  # noqa: D102
        return True

    @property
    def buffer(self) -> Any:
        """The binary stream underneath, unfiltered: files written to '-' (JSON escapes controls itself)."""
        return self.unfiltered.buffer

    def flush(self) -> None:  # noqa: D102
        self.unfiltered.flush()

    def isatty(self) -> bool:  # noqa: D102
        return bool(getattr(self.unfiltered, "isatty", lambda: False)())

    def fileno(self) -> int:  # noqa: D102
        return self.unfiltered.fileno()


@contextmanager
def terminal_safe() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` show control characters as escapes."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None or isinstance(s, TerminalText) else TerminalText(s) for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


#: From this many replicates on, the CLI shows the bootstrap's progress on stderr.
PROGRESS_FROM = 10_000


class _ProgressLine(logging.Handler):
    """Shows 'bootstrap: 40,000 of 100,000 replicates' on one stderr line, redrawn as batches finish."""

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102
        done, total = getattr(record, "done", None), getattr(record, "total", None)
        if done is None or total is None:
            return
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\rbootstrap: {done:,} of {total:,} replicates ({100 * done // total}%){end}")
        sys.stderr.flush()


@contextmanager
def bootstrap_progress(replicates: int) -> Iterator[None]:
    """Within the block, show bootstrap progress on stderr when ``replicates`` is at least PROGRESS_FROM."""
    if replicates < PROGRESS_FROM:
        yield
        return
    logger = logging.getLogger("auditkit.bootstrap")
    handler, level = _ProgressLine(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
