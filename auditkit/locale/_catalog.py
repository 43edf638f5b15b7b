"""Message catalogs and number formatting: one file per language, found on a search path.

A language is one file, ``<code>.yaml`` (or ``.yml`` / ``.json``), holding a ``meta`` block (its name,
decimal and thousands separators, percent pattern, writing direction) and the messages, nested by topic,
with ``{placeholders}``.  Files in the folders of ``AUDITKIT_LOCALES_PATH`` (separated like ``PATH``)
come before the ones shipped in ``auditkit/locale/messages``, so a partner adds or overrides a language
without touching code.  A message missing from a partner's file falls back to English.
"""

from __future__ import annotations

import json
import math
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._text import did_you_mean, list_values
from ..exceptions import AuditkitError

__all__ = ["LOCALES_ENV", "Locale", "LocaleError", "available_languages", "load_locale", "locale_dirs"]

LOCALES_ENV = "AUDITKIT_LOCALES_PATH"
_BUILTIN = Path(__file__).parent / "messages"
_SUFFIXES = (".yaml", ".yml", ".json")
_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_META_DEFAULTS = {"decimal": ".", "group": ",", "percent": "{}%", "direction": "ltr"}


class LocaleError(AuditkitError, ValueError):
    """A report language that does not exist, or a catalog file that cannot be used."""


def locale_dirs() -> list[Path]:
    """Folders searched for catalogs, first match wins: ``AUDITKIT_LOCALES_PATH``, then the built-in ones."""
    extra = [Path(p) for p in os.environ.get(LOCALES_ENV, "").split(os.pathsep) if p.strip()]
    return [*extra, _BUILTIN]


def _catalog_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in locale_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in _SUFFIXES and _CODE.match(path.stem) and path.stem not in found:
                found[path.stem] = path
    return found


def available_languages() -> list[str]:
    """Codes of every language a report can be written in, sorted.

    >>> {"en", "nl"} <= set(available_languages())
    True
    """
    return sorted(_catalog_files())


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            from .._yaml import load_yaml

            data = load_yaml(text)
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise LocaleError(f"{path}: reading YAML catalogs needs PyYAML: pip install 'auditkit[report]'.") from err
    except Exception as err:  # noqa: BLE001 - any parse error becomes one message naming the file
        raise LocaleError(f"{path}: the message catalog cannot be read ({err}).") from err
    if not isinstance(data, dict) or not isinstance(data.get("meta", {}), dict):
        raise LocaleError(f"{path}: a message catalog must be a mapping with a 'meta' mapping; "
                          f"got {type(data).__name__}.")
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        elif value is not None:
            out[name] = str(value)
    return out


@lru_cache(maxsize=32)
def _load_cached(code: str, path: str, mtime: float) -> tuple[dict[str, str], dict[str, str]]:
    data = _read(Path(path))
    meta = {**_META_DEFAULTS, **{k: str(v) for k, v in (data.get("meta") or {}).items()}}
    messages = _flatten({k: v for k, v in data.items() if k != "meta"})
    for key, text in [("meta.percent", meta["percent"]), *messages.items()]:
        _check_placeholders(path, key, text)
    return meta, messages


def _check_placeholders(path: str, key: str, text: str) -> None:
    """Refuse an unmatched brace or a placeholder beyond alignment and padding (a catalog is someone's file)."""
    from .._placeholders import fields, spec_problem

    try:
        found = fields(text)
    except ValueError as err:
        raise LocaleError(f"{path}: message {key!r} has an unmatched brace ({err}); write {{{{ and }}}} for a "
                          "literal brace.") from None
    for field, conversion, spec in found:
        if problem := spec_problem(field, conversion, spec):
            raise LocaleError(f"{path}: message {key!r}: {problem}")


def _load_file(code: str, path: Path) -> tuple[dict[str, str], dict[str, str]]:
    return _load_cached(code, str(path), path.stat().st_mtime)


def load_locale(lang: str) -> Locale:
    """The catalog and number format of ``lang``; unknown codes list the available ones.

    >>> load_locale("nl").number(1234.5, 1)
    '1.234,5'
    """
    files = _catalog_files()
    if lang not in files:
        raise LocaleError(f"No report language {lang!r}.{did_you_mean(lang, files)} Available: "
                          f"{list_values(sorted(files))}. Add one by writing {lang}.yaml into a folder named "
                          f"in {LOCALES_ENV} (see docs/reports.md).")
    meta, messages = _load_file(lang, files[lang])
    fallback: dict[str, str] = {}
    if lang != "en" and "en" in files:
        fallback = _load_file("en", files["en"])[1]
    return Locale(lang, meta, messages, fallback)


@dataclass(frozen=True)
class Locale:
    """Messages and number formats of one language."""

    code: str
    meta: Mapping[str, str]
    messages: Mapping[str, str]
    fallback: Mapping[str, str]

    @property
    def direction(self) -> str:
        """'ltr' or 'rtl'."""
        return "rtl" if self.meta.get("direction") == "rtl" else "ltr"

    def has(self, key: str) -> bool:
        """Whether the catalog (or the English fallback) holds ``key``."""
        return key in self.messages or key in self.fallback

    def t(self, key: str, **values: Any) -> str:
        """The message ``key`` with its placeholders filled in."""
        template = self.messages.get(key, self.fallback.get(key))
        if template is None:
            raise LocaleError(f"The message catalog {self.code!r} has no message {key!r}.")
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        missing = sorted(fields - set(values))
        if missing:
            raise LocaleError(f"Message {key!r} in catalog {self.code!r} uses {{{missing[0]}}}, which is not "
                              f"one of its placeholders: {', '.join(sorted(values)) or 'none'}.")
        return template.format(**values)

    def label(self, prefix: str, name: str) -> str:
        """A label such as ``metric.ppv``; the name itself when the catalog has none."""
        key = f"{prefix}.{name}"
        return self.t(key) if self.has(key) else name

    # numbers -------------------------------------------------------------------------------------

    def _swap(self, text: str) -> str:
        return text.translate({ord(","): "\0", ord("."): self.meta["decimal"]}).replace("\0", self.meta["group"])

    def integer(self, n: int | float | None) -> str:
        """A count with the language's thousands separator."""
        if n is None or (isinstance(n, float) and not math.isfinite(n)):
            return "—"
        return self._swap(f"{int(round(n)):,d}")

    def number(self, x: float | None, digits: int = 2, sign: bool = False) -> str:
        """A decimal number with ``digits`` decimals and the language's separators."""
        if x is None or not math.isfinite(x):
            return "—"
        if round(x, digits) == 0:
            x = 0.0  # no '-0.000'
        text = f"{x:+,.{digits}f}" if sign else f"{x:,.{digits}f}"
        text = self._swap(text)
        return text.replace("-", "−", 1) if text.startswith("-") else text

    def percent(self, x: float | None, digits: int = 1) -> str:
        """A proportion as a percentage: 0.1234 gives '12.3%' in English, '12,3%' in Dutch."""
        if x is None or not math.isfinite(x):
            return "—"
        return self.meta["percent"].format(self.number(100 * x, digits))

    def p_value(self, p: float | None) -> str:
        """A p-value with four decimals, or '< 0.0001'."""
        if p is None or not math.isfinite(p):
            return "—"
        return "< " + self.number(0.0001, 4) if p < 0.0001 else self.number(p, 4)

    def span(self, low: str, high: str) -> str:
        """Two formatted values as a range: '5.4–6.8'."""
        return f"{low}–{high}"
