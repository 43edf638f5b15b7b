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
    """Strict JSON text of ``obj`` (UTF-8 kept readable, non-finite numbers as null), ending in a newline.

    Indented text is written by :func:`_indented`, which gives the bytes ``json.dumps(finite(obj),
    indent=...)`` gives (the tests compare them) in half the time: Python's indented encoder has no C
    version, and the results document of a period audit holds tens of thousands of numbers.
    """
    if indent is None:
        return json.dumps(finite(obj), ensure_ascii=False, sort_keys=sort_keys, allow_nan=False) + "\n"
    return _indented(obj, "\n", " " * indent, sort_keys) + "\n"


_ESCAPE = json.encoder.encode_basestring  # the C version where the interpreter has it (ensure_ascii=False)


def _scalar(value: Any) -> str | None:
    """JSON text of a string, number, boolean or null as ``json.dumps`` writes it; None for anything else."""
    kind = type(value)
    if kind is str:
        return _ESCAPE(value)
    if kind is float:
        return float.__repr__(value) if value - value == 0.0 else "null"  # NaN and infinities: null (finite)
    if kind is int:
        return int.__repr__(value)
    if isinstance(value, str):
        return _ESCAPE(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    return None


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` turns it into a string."""
    if isinstance(key, str):
        return key
    if isinstance(key, float) and not math.isfinite(key):
        raise ValueError(f"Out of range float values are not JSON compliant: {key!r}")
    if isinstance(key, (float, int)) or key is None:
        text = _scalar(key)
        if text is not None:
            return text
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _indented(value: Any, newline: str, step: str, sort_keys: bool) -> str:
    """The indented JSON text of ``value`` at the depth ``newline`` carries."""
    kind = type(value)
    if kind is dict or kind is list or kind is tuple or isinstance(value, (dict, list, tuple)):
        if not value:
            return "{}" if isinstance(value, dict) else "[]"
        inner = newline + step
        parts = []
        if isinstance(value, dict):
            items = sorted(value.items()) if sort_keys else value.items()
            for key, item in items:
                text = _scalar(item)
                parts.append(_ESCAPE(key if type(key) is str else _key(key)) + ": "
                             + (text if text is not None else _indented(item, inner, step, sort_keys)))
            return "{" + inner + ("," + inner).join(parts) + newline + "}"
        for item in value:
            text = _scalar(item)
            parts.append(text if text is not None else _indented(item, inner, step, sort_keys))
        return "[" + inner + ("," + inner).join(parts) + newline + "]"
    text = _scalar(value)
    if text is not None:
        return text
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar, as finite() takes it
        return _indented(value.item(), newline, step, sort_keys)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _refuse(word: str) -> Any:
    raise ValueError(f"{word!r} is not a JSON number (JSON has no infinity or NaN); write null for an "
                     "undefined value.")


def parse_json(text: str) -> Any:
    """Parse strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` raise ValueError."""
    return json.loads(text, parse_constant=_refuse)
