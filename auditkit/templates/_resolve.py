"""Find templates on the search path, follow ``extends:`` and merge the chain.

Override rules, applied from the most general template to the most specific:
mappings merge key by key, lists (and every other value) replace, and ``null``
deletes the key.  ``name``, ``extends`` and ``abstract`` belong to one file and
are never inherited.  ``extends`` names a template on the search path, or a
path relative to the extending file's folder that stays inside it: ``..``,
absolute paths and links that lead outside are refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .._text import did_you_mean
from ._problems import Problem, TemplateFileError, display_path
from ._yaml import TemplateFile, read_template_file

__all__ = ["OWN_KEYS", "available_templates", "find_template", "merge", "origin", "resolve_chain", "template_paths"]

#: Keys that belong to one file and are not inherited.
OWN_KEYS = ("name", "extends", "abstract")
_SUFFIXES = (".yaml", ".yml")


def template_paths() -> list[Path]:
    """The folders templates are looked up in, first match wins.

    Each folder in ``AUDITKIT_AUDITS_PATH`` (``os.pathsep``-separated; each holds a ``templates/``
    folder), then ``audits/templates`` of a source checkout, then ``auditkit/_audits/templates``
    inside an installed package.  Folders that do not exist are listed too (and skipped in lookups).
    """
    env = [Path(p).expanduser() / "templates" for p in os.environ.get("AUDITKIT_AUDITS_PATH", "").split(os.pathsep)
           if p.strip()]
    here = Path(__file__).resolve()
    return env + [here.parents[2] / "audits" / "templates", here.parents[1] / "_audits" / "templates"]


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix in _SUFFIXES and path.is_file() and not path.name.startswith("."):
                yield path


def available_templates() -> dict[str, Path]:
    """Every template name on the search path and the file it resolves to (the first one found)."""
    found: dict[str, Path] = {}
    for folder in template_paths():
        for path in _files(folder):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_template(name: str, *, skip: Path | None = None, file: str = "(command line)", key: str = "template",
                  line: int | None = None) -> Path:
    """The file of template ``name`` on the search path (``skip``: a file that may not be the answer).

    Skipping lets a partner's template shadow a shipped one of the same name and still extend it.
    """
    for folder in template_paths():
        for suffix in _SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file() and (skip is None or path.resolve() != skip.resolve()):
                return path
    known = [n for n, p in available_templates().items() if skip is None or p.resolve() != skip.resolve()]
    folders = ", ".join(display_path(p) for p in template_paths())
    near = did_you_mean(name, known) or next((f" Did you mean {k!r}?" for k in known if name.lower() in k.lower()), "")
    raise TemplateFileError([Problem(file, key, f"no template named {name!r} on the search path ({folders}).",
                                     (near + f" Known templates: {', '.join(known) or 'none'}. "
                                      "Set AUDITKIT_AUDITS_PATH to a folder holding templates/ to add your own, or "
                                      "give a file path.").strip(), line)])


def _root_of(path: Path) -> Path:
    """The folder a relative ``extends`` must stay inside: the search-path folder holding the file, else its own."""
    resolved = path.resolve()
    for folder in template_paths():
        if folder.is_dir() and resolved.is_relative_to(folder.resolve()):
            return folder.resolve()
    return resolved.parent


def _extends_target(current: TemplateFile, ref: Any) -> Path:
    key, line = "extends", current.lines.get(("extends",))

    def refuse(message: str, hint: str) -> TemplateFileError:
        return TemplateFileError([Problem(current.label, key, message, hint, line)])

    if not isinstance(ref, str) or not ref.strip():
        raise refuse(f"must be a template name or a relative path; got {ref!r}.", "e.g. extends: base")
    posix = PurePosixPath(ref.replace("\\", "/"))
    if posix.is_absolute() or ref.startswith("~") or (len(ref) > 1 and ref[1] == ":"):
        raise refuse(f"{ref!r} is an absolute path; a template may only extend a template by name or by a path "
                     "relative to its own folder.", "Use a name from 'auditkit templates list', or copy the file "
                     "next to this one.")
    if ".." in posix.parts:
        raise refuse(f"{ref!r} leads outside the template's folder ('..'); extends stays inside the template "
                     "search path.", "Use a name from 'auditkit templates list', or copy the file next to this one.")
    if "/" not in ref.replace("\\", "/") and not ref.endswith(_SUFFIXES):
        return find_template(ref, skip=current.path, file=current.label, key=key, line=line)
    target = current.path.parent / Path(*posix.parts)
    if not target.resolve().is_relative_to(_root_of(current.path)):
        raise refuse(f"{ref!r} resolves (through a link) to {target.resolve()}, outside the template's folder.",
                     "Copy the file into the folder instead of linking it.")
    if not target.is_file():
        near = [p.name for p in _files(target.parent)]
        raise refuse(f"{ref!r} does not exist (looked for {display_path(target)}).",
                     did_you_mean(posix.name, near) or "Give the path relative to this file's folder.")
    return target


def resolve_chain(path: Path) -> list[TemplateFile]:
    """The file at ``path`` and every template it extends, most specific first; cycles are refused."""
    chain: list[TemplateFile] = []
    current = read_template_file(path)
    while True:
        chain.append(current)
        ref = current.data.get("extends")
        if ref is None:
            return chain
        target = _extends_target(current, ref)
        seen = [f.path.resolve() for f in chain]
        if target.resolve() in seen:
            loop = " -> ".join(display_path(f.path) for f in chain[seen.index(target.resolve()):])
            raise TemplateFileError([Problem(current.label, "extends", f"makes a cycle: {loop} -> "
                                             f"{display_path(target)}.", "Remove one of the extends.",
                                             current.lines.get(("extends",)))])
        current = read_template_file(target)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def merge(base: Any, override: Any) -> Any:
    """``override`` on top of ``base``: mappings merge key by key, other values replace, ``None`` deletes.

    >>> merge({"a": {"x": 1, "y": 2}, "l": [1, 2]}, {"a": {"y": None, "z": 3}, "l": [9]})
    {'a': {'x': 1, 'z': 3}, 'l': [9]}
    """
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out[key], value) if key in out else _without_nulls(value)
        return out
    return _without_nulls(override)


def merged_data(chain: list[TemplateFile]) -> dict[str, Any]:
    """The chain merged from the most general file to the most specific, own keys from the first file only."""
    data: dict[str, Any] = {}
    for file in reversed(chain):
        data = merge({k: v for k, v in data.items() if k not in OWN_KEYS}, file.data)
    return data


def _has(data: Any, path: tuple) -> bool:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return data is not None


def origin(chain: list[TemplateFile], path: tuple) -> tuple[TemplateFile, int | None]:
    """The file that set the value at ``path`` (the most specific file with the longest part of it) and its line."""
    for length in range(len(path), 0, -1):
        for file in chain:
            if _has(file.data, path[:length]):
                return file, file.lines.get(path[:length])
    return chain[0], None
