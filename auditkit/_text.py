"""Small helpers for user-facing messages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["did_you_mean", "list_values", "normalise_name", "placeholder_in"]


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
