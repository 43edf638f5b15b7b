"""Finding, reading and writing checklist files (the only I/O in auditkit.checklist)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .._json import parse_json
from .._text import did_you_mean, list_values
from .._yaml import YamlLimitError, load_yaml
from ..exceptions import TemplateError

__all__ = ["ENV_VAR", "instrument_paths", "read_json", "read_yaml", "sha256_of", "write_text_atomic"]

#: Environment variable naming a directory searched first for instruments.
ENV_VAR = "AUDITKIT_AUDITS_PATH"


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    here = Path(__file__).resolve()
    dirs.append(here.parents[2] / "audits" / "instruments")
    dirs.append(here.parents[1] / "_audits" / "instruments")
    return dirs


def instrument_paths() -> dict[str, Path]:
    """Every instrument auditkit can find, by name (the file name without ``.yaml``).

    Searched in order, the first file of a name winning: the directory in the
    environment variable ``AUDITKIT_AUDITS_PATH``; ``audits/instruments`` of a
    source checkout; ``auditkit/_audits/instruments`` inside an installed
    package.

    >>> sorted(instrument_paths())[:2]
    ['ai_act_fria', 'canada_aia_compatible']
    """
    found: dict[str, Path] = {}
    for directory in _search_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def resolve_instrument(name_or_path: str | os.PathLike[str]) -> Path:
    """A shipped instrument's name or a path to an instrument file, as a path."""
    text = os.fspath(name_or_path)
    known = instrument_paths()
    if text in known:
        return known[text]
    path = Path(text)
    if path.suffix in (".yaml", ".yml", ".json") or os.sep in text or "/" in text:
        if path.is_file():
            return path
        raise TemplateError(f"Instrument file {text!r} does not exist.")
    raise TemplateError(
        f"Unknown instrument {text!r}; expected one of {list_values(known)} or a path to a .yaml file."
        f"{did_you_mean(text, known)} Set {ENV_VAR} to a directory to add instruments."
    )


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Read one YAML document (see :mod:`auditkit._yaml` for what is refused); errors are TemplateErrors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{path}: file not found.") from None
    except UnicodeDecodeError as err:
        raise TemplateError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8.") from err
    except OSError as err:
        raise TemplateError(f"{path}: cannot be read ({err.strerror}).") from err
    try:
        return load_yaml(text)
    except YamlLimitError as err:
        raise TemplateError(f"{path}: {err} {err.fix}".rstrip()) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise TemplateError(f"{path}:{where} not valid YAML ({problem}).") from err


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file (an audit results document), with a TemplateError on bad syntax."""
    path = Path(path)
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path}: file not found.") from None
    except (ValueError, OSError) as err:
        raise TemplateError(f"{path}: not a readable JSON document ({err}).") from err


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` under auditkit's one set of output rules (:mod:`auditkit._output`):
    a regular file whole or not at all, never through a link, never replacing a device."""
    from .._output import write_text

    write_text(path, text)


def yaml_text(value: Mapping[str, Any] | list | Any) -> str:
    """Block-style YAML in the order given, Unicode kept readable."""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
