"""Placeholders in template text (``{group}``, ``{ratio:>8}``): what a format spec may ask for.

Finding statements are filled with values that are already text (numbers are formatted for the language
before they reach a statement), so a placeholder needs no conversion and at most an alignment and a width.
Python's format mini-language offers more, including widths that allocate gigabytes
(``{group:>1000000000}`` ended an audit in MemoryError) and nested fields; both are refused here, once when
``auditkit templates validate`` reads the template and again when a finding is written.

>>> spec_problem("group", None, ">12")
>>> spec_problem("group", None, ">1000000000")
'{group:>1000000000} asks for a width of 1000000000 characters; at most 80 are allowed.'
>>> spec_problem("group", "r", "")
'{group!r} converts its value (!r); placeholders are filled with text, write {group}.'
"""

from __future__ import annotations

import re
import string

__all__ = ["MAX_WIDTH", "fields", "spec_problem"]

#: Widest a placeholder may be padded, in characters.
MAX_WIDTH = 80
_SPEC = re.compile(r"(?:[^{}]?[<>^])?(?P<width>\d+)?(?:\.(?P<precision>\d+))?")


def fields(text: str) -> list[tuple[str, str | None, str]]:
    """(field, conversion, spec) of every placeholder in ``text``; ValueError on an unmatched brace."""
    return [(f, conversion, spec or "") for _, f, spec, conversion in string.Formatter().parse(text) if f is not None]


def spec_problem(field: str, conversion: str | None, spec: str) -> str | None:
    """What is wrong with one placeholder's conversion and format spec, or None."""
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    if conversion:
        return f"{shown} converts its value (!{conversion}); placeholders are filled with text, write {{{field}}}."
    if not spec:
        return None
    match = _SPEC.fullmatch(spec)
    if match is None:
        return (f"{shown} has the format spec {spec!r}; a placeholder may only be aligned and padded, e.g. "
                f"{{{field}:>12}} or {{{field}:<20}}.")
    for part in ("width", "precision"):
        if match.group(part) and (len(match.group(part)) > 4 or int(match.group(part)) > MAX_WIDTH):
            return f"{shown} asks for a {part} of {match.group(part)} characters; at most {MAX_WIDTH} are allowed."
    return None
