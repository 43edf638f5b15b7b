"""JSON in and out: every document auditkit writes is strict JSON, every document it reads must be.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no other JSON reader accepts and which
would put a number no one can check into evidence.  Every writer goes through :func:`json_text`, where an
undefined number is ``null`` (the results document's convention, see docs/results.md) and anything else
that is not finite stops the write; every reader of a document someone may have edited goes through
:func:`parse_json`, which refuses those words.

>>> json_text({"ratio": float("nan"), "n": 3})
'{\\n  "ratio": null,\\n  "n": 3\\n}\\n'
>>> parse_json('{"x": Infinity}')
Traceback (most recent call last):
...
ValueError: 'Infinity' is not a JSON number (JSON has no infinity or NaN); write null for an undefined value.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["finite", "json_text", "parse_json"]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float as None, numpy scalars as Python numbers, tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        return finite(value.item())
    return value


def json_text(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text of ``obj`` (UTF-8 kept readable, non-finite numbers as null), ending in a newline."""
    return json.dumps(finite(obj), indent=indent, ensure_ascii=False, sort_keys=sort_keys, allow_nan=False) + "\n"


def _refuse(word: str) -> Any:
    raise ValueError(f"{word!r} is not a JSON number (JSON has no infinity or NaN); write null for an "
                     "undefined value.")


def parse_json(text: str) -> Any:
    """Parse strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` raise ValueError."""
    return json.loads(text, parse_constant=_refuse)
