"""Template problems: what is wrong, in which file, at which key (and line), and how to fix it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import TemplateError

__all__ = ["Problem", "TemplateFileError", "display_path", "key_path"]


def key_path(path: Sequence[object]) -> str:
    """A key path as a template author writes it: ``findings[2].severity``, ``protected['migration background']``.

    >>> key_path(("findings", 2, "severity"))
    'findings[2].severity'
    >>> key_path(("protected", "migration background", "reference"))
    "protected['migration background'].reference"
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).replace("_", "a").replace("-", "a").isalnum():
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out or "(the whole file)"


def display_path(path: Path) -> str:
    """The path relative to the working folder when it is inside it, else as it is."""
    try:
        return os.path.relpath(path) if Path(os.path.abspath(path)).is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template, located in a file (and line) and at a key path."""

    file: str
    key: str
    message: str
    hint: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}{(' ' + self.hint.strip()) if self.hint else ''}"


class TemplateFileError(TemplateError):
    """A template that cannot be used; ``problems`` lists every problem found, each with file and key.

    ``file``, ``key`` and ``hint`` are those of the first problem.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        self.file, self.key, self.hint = first.file, first.key, first.hint
        if len(self.problems) == 1:
            text = str(first)
        else:
            text = f"{len(self.problems)} problems in the template:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)
