"""A detector of English in a report written in another language (used by tests/test_report_english.py).

Every text node of the HTML (every line of the Markdown) is cleaned of what is not prose in any language:
numbers, finding ids, hashes, file names and paths, code spans, quoted names ('fraud_found'), identifiers
with underscores or dots, and the data's own codes (attribute, group, column and feature names a report
prints as they are).  What remains is English when it holds

- a word of the English vocabulary: every word of the English catalog and of the shipped templates' English
  texts that is not also a word of the Dutch catalog or the templates' Dutch texts, plus common English
  function words; or
- a run of three or more words of an English catalog message (its fixed text between placeholders) that
  the Dutch catalog does not contain.

User-provided text shown as a quotation (class "quoted" in HTML, a '> ' line in Markdown) is left out: it is
the agency's or the user's own words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
_MESSAGES = ROOT / "auditkit" / "locale" / "messages"
_TEMPLATES = ROOT / "audits" / "templates"
#: English words that are rarely in a Dutch sentence; the catalogs add the rest.
_FUNCTION = set("the and with were which than are has have been their its from this that for not by when who what into "
                "only these those there where whose should would could must does did of to as or on at be it they "
                "it's is was".split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_NOISE = [re.compile(p) for p in (
    r"`[^`]*`", r"'[^'\n]{0,80}'", r"\"[^\"\n]{0,80}\"", r"https?://\S+", r"\b[\w.-]+\.(?:csv|yaml|yml|json|html|md|pdf|"
    r"png|skops|onnx|pkl|joblib|parquet|xlsx|txt|py)\b", r"\b\w+(?:/[\w ×.-]+)+", r"\bF-[0-9a-f]{8}\b",
    r"\b[0-9a-f]{16,}\b", r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b", r"\b\w*_\w*\b", r"\b\w+\.\w+(?:\.\w+)*\b",
    r"[0-9][0-9.,]*",
    r"\bscikit-learn\b")]  # a package name (the versions table), whose 'learn' is an English catalog word


def _values(node, lang: str):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == lang and isinstance(value, str):
                yield value
            elif key != "meta":
                yield from _values(value, lang)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value, lang)


def _catalog(lang: str) -> dict:
    return yaml.safe_load((_MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))


def _flat(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, x in node.items() if k != "meta" for v in _flat(x)]
    return [str(node)] if node is not None else []


def _words(texts) -> set[str]:
    return {w.lower() for text in texts for w in _WORD.findall(re.sub(r"\{[^}]*\}", " ", text))}


@lru_cache(maxsize=1)
def vocabulary() -> tuple[frozenset[str], tuple[str, ...]]:
    """(English-only words, English catalog phrases of 3+ words not found in the Dutch catalog)."""
    templates = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(_TEMPLATES.glob("*.yaml"))]
    english = _flat(_catalog("en")) + [t for d in templates for t in _values(d, "en")]
    dutch = _flat(_catalog("nl")) + [t for d in templates for t in _values(d, "nl")]
    words = (_words(english) | _FUNCTION) - _words(dutch)
    dutch_text = " ".join(dutch).lower()
    phrases = set()
    for text in _flat(_catalog("en")):
        for piece in re.split(r"\{[^}]*\}|[:;().,]", text):
            piece = " ".join(piece.split()).lower()
            if len(piece.split()) >= 3 and piece not in dutch_text:
                phrases.add(piece)
    return frozenset(w for w in words if len(w) > 1), tuple(sorted(phrases))


def clean(text: str, codes: frozenset[str] = frozenset()) -> str:
    """``text`` without numbers, ids, names and the data's codes: the prose left to judge."""
    for code in sorted(codes, key=len, reverse=True):  # first: a code may hold what the noise takes (charter-21)
        text = re.sub(rf"(?<!\w){re.escape(code)}(?!\w)", " ", text)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def english(text: str, codes: frozenset[str] = frozenset()) -> str | None:
    """Why ``text`` reads as English (the words or phrase found), or None."""
    words, phrases = vocabulary()
    prose = clean(text, codes)
    found = sorted({w for w in _WORD.findall(prose) if w.lower() in words})
    if found:
        return ", ".join(found)
    low = prose.lower()
    return next((p for p in phrases if p in low), None)


class _Nodes(HTMLParser):
    """Text nodes outside <style>/<script>, code (<code>, <pre>, class 'code') and quotations (class 'quoted')."""

    _VOID = {"br", "meta", "link", "hr", "img", "input", "col", "wbr", "rect", "line", "circle", "path", "polyline",
             "stop"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self._VOID:
            classes = (dict(attrs).get("class") or "").split()
            self.stack.append((tag, "quoted" in classes or "code" in classes or tag in ("code", "pre")))

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self._VOID:
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if data.strip() and not any(t in ("style", "script") or q for t, q in self.stack):
            self.nodes.append(data.strip())


def html_english(html: str, codes: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(text node, why) for every node of ``html`` that reads as English."""
    parser = _Nodes()
    parser.feed(html)
    return [(n, why) for n in dict.fromkeys(parser.nodes) if (why := english(n, codes))]


def markdown_english(md: str, codes: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(line, why) for every line of ``md`` that reads as English; quotations ('> ') and code blocks left out."""
    out, fenced = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith(">") or not line.strip():
            continue
        line = re.sub(r"\]\([^)]*\)|<[^>]+>|“[^”]*”|\\", " ", line)  # link targets, tags, quotations, escapes
        if why := english(line, codes):
            out.append((line, why))
    return list(dict.fromkeys(out))


def codes_of(results: dict, findings: list | None = None) -> frozenset[str]:
    """Names a report prints as they are: attributes, groups and their parts, columns, model features, strata,
    the template's name and the finding rules' ids."""
    found: set[str] = {str((results.get("template") or {}).get("name"))}
    found.update(str(f.get("rule")) for f in findings or [])
    for f in findings or []:  # provision and right ids, printed as they are where no template titles them
        found.update(str(x) for key in ("provisions", "rights") for x in (f.get(key) or []))
    pop = results.get("population") or {}
    found.update(str((pop.get(k) or {}).get("column")) for k in ("decision_rule", "outcome"))
    for i in (results.get("model_card") or {}).get("inputs") or []:
        found.add(str(i.get("name") if isinstance(i, dict) else i))
    for a in results.get("attributes") or []:
        found.add(str(a.get("attribute")))
        found.update(map(str, a.get("attributes") or []))
    for g in results.get("groups") or []:
        for key in ("attribute", "group"):
            found.add(str(g.get(key)))
        found.update(str(g.get("group", "")).split(" × "))
    for f in (results.get("model_card") or {}).get("features") or []:
        found.add(str(f.get("name") if isinstance(f, dict) else f))
    for s in results.get("stratified") or []:
        found.update(str(s.get(k)) for k in ("attribute", "group", "reference") if s.get(k))
    periods = results.get("periods") or {}
    found.add(str(periods.get("column")))
    found.update(map(str, periods.get("levels") or []))
    return frozenset(c for c in found if c and c != "None")


def relabelled(results: dict, lang: str) -> frozenset[str]:
    """Codes the template gives another label in ``lang`` (nationality -> Nationaliteit, Dutch -> Nederlands):
    human text must print the label, so the code itself must not appear in it."""
    from auditkit.locale import label

    out = set()
    for a in results.get("attributes") or []:
        parts = [str(p) for p in a.get("attributes") or [a.get("attribute")]]
        if len(parts) != 1:
            continue
        attr = parts[0]
        if label(results, attr, lang=lang) != attr:
            out.add(attr)
    for g in results.get("groups") or []:
        attr, group = str(g.get("attribute")), str(g.get("group"))
        if " × " not in attr and label(results, attr, group, lang=lang) != group:
            out.add(group)
    return frozenset(out)


def raw_codes(text: str, codes: frozenset[str]) -> list[str]:
    """The codes of ``codes`` that ``text`` prints as words (outside names, ids, paths and code)."""
    prose = clean(text)
    return sorted(c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", prose))


def html_raw_codes(html: str, codes: frozenset[str]) -> list[tuple[str, list[str]]]:
    """(text node, codes) for every node of ``html`` that prints a relabelled code."""
    parser = _Nodes()
    parser.feed(html)
    return [(n, found) for n in dict.fromkeys(parser.nodes) if (found := raw_codes(n, codes))]
