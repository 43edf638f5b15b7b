"""Read one template file: strict YAML, with the line of every key for error messages.

Plain ``yaml.safe_load`` has traps for a file partners edit by hand: ``no`` and
``NO`` (Norway) become False, ``2024-01-01`` becomes a date, and a key written
twice silently keeps the last value.  This reader takes only ``true``/``false``
as booleans, keeps dates as text, and refuses duplicate keys, naming the line.
The limits every YAML file auditkit reads is held to (aliases, nesting,
non-finite numbers) are in :mod:`auditkit._yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._yaml import YamlLimitError, compose_yaml, construct
from ._problems import Problem, TemplateFileError, display_path, key_path

__all__ = ["TemplateFile", "read_template_file"]

_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class TemplateFile:
    """One file's content as written, and the line of each key path in it."""

    path: Path
    data: dict[str, Any]
    lines: dict[tuple, int]
    sha256: str

    @property
    def label(self) -> str:
        """The file as messages name it."""
        return display_path(self.path)


def _walk(node: Any, path: tuple, lines: dict[tuple, int], problems: list[Problem], label: str) -> None:
    """Record the line of every key path; report duplicate keys and keys that are not text."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                problems.append(Problem(label, key_path(path), f"the key {key_node.value!r} is not text.",
                                        "Put it in quotes.", line))
                continue
            key = key_node.value
            if key in seen:
                problems.append(Problem(label, key_path(path + (key,)), f"the key {key!r} appears twice (lines "
                                        f"{seen[key]} and {line}); YAML would silently keep the last one.",
                                        "Keep one of them.", line))
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, problems, label)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), lines, problems, label)


def read_template_file(path: Path) -> TemplateFile:
    """Parse the template file at ``path``; raise :class:`TemplateFileError` naming the file and line."""
    import hashlib

    import yaml

    label = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TemplateFileError([Problem(label, "(the whole file)", f"cannot be read ({err.strerror or err}).")]) from err
    if len(raw) > _MAX_BYTES:
        raise TemplateFileError([Problem(label, "(the whole file)", f"is {len(raw):,} bytes; a template is at most "
                                         f"{_MAX_BYTES:,}.", "Is this the right file?")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TemplateFileError([Problem(label, "(the whole file)", f"is not UTF-8 text (byte {err.start}).",
                                         "Save it as UTF-8.")]) from err
    problems: list[Problem] = []
    lines: dict[tuple, int] = {}
    loader = None
    try:
        node, loader = compose_yaml(text, duplicates=False)
        if node is not None:
            _walk(node, (), lines, problems, label)
        data = construct(node, loader) if node is not None and not problems else None
    except YamlLimitError as err:
        raise TemplateFileError([Problem(label, "(YAML limits)", f"is refused: {err.reason}", err.fix,
                                         err.line)]) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        reason = getattr(err, "problem", None) or str(err)
        raise TemplateFileError([Problem(label, "(YAML syntax)", f"is not valid YAML: {reason}.",
                                         "Check the indentation and quotes on that line.",
                                         mark.line + 1 if mark else None)]) from err
    finally:
        if loader is not None:
            loader.dispose()
    if problems:
        raise TemplateFileError(problems)
    if not isinstance(data, dict):
        raise TemplateFileError([Problem(label, "(the whole file)", "is not a template: it must be a mapping of keys "
                                         f"(auditkit_template: 1, extends: ..., ...); got {type(data).__name__}.")])
    return TemplateFile(path, data, lines, hashlib.sha256(raw).hexdigest())
