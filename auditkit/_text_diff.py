"""The first difference between what a bundle says and what its evidence gives, in words."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["findings_difference", "first_difference", "json_difference"]


def _short(value: Any, width: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _window(a: str, b: str, width: int = 70) -> tuple[str, str]:
    """The two texts around their first differing character."""
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, i - width // 3)
    cut = (lambda s: ("…" if start else "") + s[start:start + width] + ("…" if len(s) > start + width else ""))
    return cut(a), cut(b)


def first_difference(old: bytes, new: bytes, fmt: str) -> str:
    """Where two renderings of a report first differ: a line and its two versions, or a byte offset (PDF)."""
    if fmt != "pdf":
        a_lines = old.decode("utf-8", "replace").splitlines()
        b_lines = new.decode("utf-8", "replace").splitlines()
        for n, (a, b) in enumerate(zip(a_lines, b_lines), start=1):
            if a != b:
                x, y = _window(a, b)
                return f"at line {n} the file says {x!r}; rendering the bundle gives {y!r}."
        return (f"the file has {len(a_lines)} lines; rendering the bundle gives {len(b_lines)} "
                "(one ends where the other goes on).")
    i = next((k for k, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
    return f"the PDF differs from the one rendered from the bundle from byte {i:,} on ({len(old):,} against " \
           f"{len(new):,} bytes)."


def json_difference(a: Any, b: Any, where: str, a_label: str, b_label: str) -> str:
    """The first path where two JSON values differ: '<where>/x: A says 1; B gives 2'."""
    path, x, y = _first(a, b, where)
    return f"{path}: {a_label} {_short(x)}; {b_label} {_short(y)}."


_MISSING = "(nothing)"


def _first(a: Any, b: Any, where: str) -> tuple[str, Any, Any]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(b) + [k for k in a if k not in b]:
            if key not in a or key not in b or a[key] != b[key]:
                return _first(a.get(key, _MISSING), b.get(key, _MISSING), f"{where}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first(x, y, f"{where}/{i}")
    return where, a, b


def _statement_difference(fid: str, old: Any, new: Any) -> str | None:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None if old == new else f"finding {fid}: its statement is {_short(old)}; the results give {_short(new)}."
    for lang in list(new) + [k for k in old if k not in new]:
        a, b = old.get(lang), new.get(lang)
        if a == b:
            continue
        if a is None or b is None:
            state = "has no" if a is None else "has a"
            return (f"finding {fid} {state} statement in {lang!r}; the results give "
                    f"{_short(b) if b is not None else 'none'}.")
        x, y = _window(str(a), str(b)) if isinstance(a, str) and isinstance(b, str) else (_short(a), _short(b))
        return f"finding {fid} says {x!r} ({lang}); the results give {y!r}."
    return None


def findings_difference(old: Sequence[Any], new: Sequence[dict]) -> str | None:
    """The first way ``findings.json`` differs from the findings re-derived from the results, in words."""
    def fid(f: Any) -> str:
        return str(f.get("id")) if isinstance(f, dict) else _short(f, 40)

    old_ids, new_ids = [fid(f) for f in old], [fid(f) for f in new]
    for f in new:
        if fid(f) not in old_ids:
            return (f"findings.json lacks finding {fid(f)} ({f.get('severity')}: "
                    f"{_short((f.get('statement') or {}).get('en'))}), which the results and template give.")
    for f in old:
        if fid(f) not in new_ids:
            return f"findings.json has finding {fid(f)}, which the results and template do not give."
    by_id = {fid(f): f for f in new}
    for f in old:
        want = by_id[fid(f)]
        if not isinstance(f, dict):
            return f"findings.json: {fid(f)} is not a finding (an object)."
        said = _statement_difference(fid(f), f.get("statement"), want.get("statement"))
        if f.get("severity") != want.get("severity"):
            return (f"finding {fid(f)} has severity {f.get('severity')!r}; the results and template give "
                    f"{want.get('severity')!r}." + (f" And {said}" if said else ""))
        if said:
            return said[0].upper() + said[1:]
        if f != want:
            return json_difference(f, want, f"finding {fid(f)}", "findings.json says", "the results give")
    if old_ids != new_ids or len(old) != len(new):
        return "findings.json lists the findings in another order than auditkit writes them (or one twice)."
    return None
