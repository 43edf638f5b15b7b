"""JSON Schema validation of checklist files, with messages that name the item and key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from .._text import did_you_mean, list_values
from ..exceptions import TemplateError

__all__ = ["ChecklistError", "Problem", "locate", "path_text", "raise_problems", "schema", "schema_problems"]

_SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
_PATTERN_HELP = {
    "^[a-z][a-z0-9_]*$": "an id of lower-case letters, digits and '_', starting with a letter",
    "^[0-9]+\\.[0-9]+\\.[0-9]+$": "a version like '1.0.0'",
    "^[0-9a-f]{64}$": "a SHA-256 of 64 lower-case hex digits (sha256sum FILE)",
    "^F-[0-9a-f]{8}$": "a finding id like 'F-8d6a7c0e'",
    "^[a-z]{2}(-[A-Z]{2})?$": "a language code like 'en', 'nl' or 'pt-BR'",
}
_LANGUAGES = {"en": "English", "nl": "Dutch"}
_MAX_SHOWN = 25


class ChecklistError(TemplateError):
    """An instrument or assessment file with problems; ``problems`` lists each one."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a checklist file: where (file, item, key) and what."""

    file: str
    item: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.item:
            where.append(f"item {self.item!r}")
        if self.key:
            where.append(f"key {self.key!r}")
        return ", ".join(where) + ": " + self.message


def raise_problems(problems: list[Problem]) -> None:
    """Raise a ChecklistError listing ``problems`` (do nothing when there are none)."""
    if not problems:
        return
    if len(problems) == 1:
        raise ChecklistError(str(problems[0]), problems)
    shown = problems[:_MAX_SHOWN]
    lines = "\n".join(f"  - {p}" for p in shown)
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    raise ChecklistError(f"{len(problems)} problems in {problems[0].file}:\n{lines}{more}", problems)


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    """The shipped JSON Schema ``name`` ('instrument' or 'assessment')."""
    return json.loads((_SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name))


def path_text(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def locate(data: Any, path: list[Any]) -> tuple[str | None, list[Any]]:
    """(item id, path within the item) for a path into an instrument or assessment."""
    if len(path) >= 2 and path[0] == "answers":
        return str(path[1]), path[2:]
    if len(path) >= 4 and path[0] == "sections" and path[2] == "items":
        try:
            item = data["sections"][path[1]]["items"][path[3]]
        except (KeyError, IndexError, TypeError):
            return None, path
        item_id = item.get("id") if isinstance(item, Mapping) else None
        return (str(item_id) if item_id else f"sections[{path[1]}].items[{path[3]}]"), path[4:]
    return None, path


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _message(error: jsonschema.ValidationError) -> tuple[str, str | None]:
    """(message, extra key to append to the path) for one schema error."""
    validator, instance, value = error.validator, error.instance, error.validator_value
    if validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        key = extra[0] if extra else None
        return (f"unknown key {key!r}; expected one of {list_values(allowed)}.{did_you_mean(str(key), allowed)}", key)
    if validator == "required":
        missing = next((k for k in value if k not in instance), value[0])
        if missing in _LANGUAGES and "en" in value and "nl" in value:
            return (f"missing the {_LANGUAGES[missing]} text ({missing!r}): every user-facing string needs "
                    "English ('en') and Dutch ('nl')", missing)
        return f"missing key {missing!r}", None
    if validator in ("enum", "const"):
        choices = list(value) if validator == "enum" else [value]
        shown = [c for c in choices if c is not None]
        hint = did_you_mean(str(instance), [str(c) for c in shown]) if isinstance(instance, str) else ""
        return f"{instance!r} is not allowed; expected {'one of ' if len(shown) > 1 else ''}{list_values(shown)}.{hint}", None
    if validator == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"expected {wanted}, got {_kind(instance)} {instance!r}", None
    if validator == "pattern":
        return f"{instance!r} is not {_PATTERN_HELP.get(value, f'text matching {value}')}", None
    if validator == "dependentRequired":
        for key, needs in value.items():
            if key in instance:
                missing = [n for n in needs if n not in instance]
                if missing:
                    return f"{key!r} needs {list_values(missing)} as well", None
    if validator == "minProperties":
        return "is empty; expected at least one key", None
    return error.message, None


def schema_problems(data: Any, name: str, file: str) -> list[Problem]:
    """Problems found by the JSON Schema ``name`` in ``data``, sorted by position."""
    validator = _validator(name)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        message, extra = _message(error)
        item, inner = locate(data, path)
        if extra is not None:
            inner = [*inner, extra]
        problems.append(Problem(file, item, path_text(inner) or None, message))
    return problems
