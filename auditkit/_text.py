"""Small helpers for user-facing messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "list_values", "normalise_name"]


def normalise_name(name: str) -> str:
    """Casefold and collapse whitespace, to match 'Nationality ' with 'nationality'."""
    return " ".join(str(name).split()).casefold()


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
