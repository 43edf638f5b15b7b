"""Assessment files: a skeleton for an instrument, one answer at a time, and readable YAML out."""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Mapping
from typing import Any

from ._files import yaml_text
from ._model import items_of, localise, questions_of

__all__ = ["dump_assessment", "new_assessment", "set_answer"]

_HEADER_KEYS = ("kind", "schema_version", "instrument", "title", "system", "mode", "access", "results")
_ANSWER_KEYS = ("value", "text", "evidence", "answered_by", "role", "confidence", "date", "source", "dissent")


def new_assessment(instrument: Mapping[str, Any], title: str | None = None) -> dict[str, Any]:
    """An empty assessment of ``instrument``: every item present and unanswered.

    >>> skeleton = new_assessment({"id": "demo", "version": "1.0.0", "sections": [
    ...     {"id": "s", "items": [{"id": "q1", "kind": "text", "text": {"en": "Why?", "nl": "Waarom?"}}]}]})
    >>> skeleton["instrument"], skeleton["answers"]
    ({'id': 'demo', 'version': '1.0.0'}, {'q1': {'value': None}})
    """
    return {
        "kind": "auditkit/assessment",
        "schema_version": "1.0",
        "instrument": {"id": instrument["id"], "version": instrument["version"]},
        "title": title,
        "system": {"name": None, "organisation": None, "register_id": None},
        "mode": None,
        "answers": {item["id"]: {"value": None} for _, item in items_of(instrument)},
    }


def set_answer(assessment: Mapping[str, Any], item: Mapping[str, Any], value: Any, part: str | None = None,
               **details: Any) -> dict[str, Any]:
    """A copy of ``assessment`` with ``value`` as the answer to ``item`` (or to one of its parts).

    ``details`` sets the answer's other keys (``text``, ``evidence``, ``answered_by``,
    ``role``, ``confidence``, ``date``, ``source``); ``None`` values are left out.
    """
    out = copy.deepcopy(dict(assessment))
    answers = out.setdefault("answers", {})
    answer = dict(answers.get(item["id"]) or {})
    if part is None:
        answer["value"] = value
    else:
        parts = dict(answer.get("value") or {})
        parts[part] = value
        answer["value"] = {pid: parts[pid] for pid, _ in questions_of(item) if pid in parts}
    for key, detail in details.items():
        if detail is not None:
            answer[key] = detail
    answers[item["id"]] = {k: answer[k] for k in _ANSWER_KEYS if k in answer}
    return out


def _describe(item: Mapping[str, Any], lang: str) -> list[str]:
    lines = textwrap.wrap(localise(item["text"], lang), 96)
    for pid, question in questions_of(item):
        prefix = f"{pid}: " if pid else ""
        kind = question["kind"]
        if question.get("options"):
            shown = " | ".join(o["id"] for o in question["options"])
            choose = "one of" if kind == "single_choice" else "a list of"
            lines += textwrap.wrap(f"{prefix}{choose} {shown}", 96)
        elif kind == "attestation":
            lines.append(f"{prefix}true (attested) or false")
        elif kind == "number":
            lines.append(f"{prefix}a number")
        elif kind == "text":
            lines.append(f"{prefix}text")
    return lines


def dump_assessment(assessment: Mapping[str, Any], instrument: Mapping[str, Any] | None = None,
                    lang: str = "en") -> str:
    """The assessment as YAML, with each item's question and valid answers as comments when the instrument is given."""
    header = {k: assessment[k] for k in _HEADER_KEYS if k in assessment}
    extra = {k: v for k, v in assessment.items() if k not in _HEADER_KEYS and k != "answers"}
    text = yaml_text({**header, **extra}) + "answers:\n"
    answers = dict(assessment.get("answers") or {})
    order = [item for _, item in items_of(instrument)] if instrument else []
    known = {item["id"] for item in order}
    sections = {item["id"]: section for section, item in items_of(instrument)} if instrument else {}
    current = None
    for item in order:
        section = sections[item["id"]]
        if section["id"] != current:
            current = section["id"]
            text += f"\n  # ── {localise(section['title'], lang)}\n"
        text += "\n" + "".join(f"  # {line}\n" for line in _describe(item, lang))
        text += textwrap.indent(yaml_text({item["id"]: answers.get(item["id"], {"value": None})}), "  ")
    for iid in (i for i in answers if i not in known):
        text += textwrap.indent(yaml_text({iid: answers[iid]}), "  ")
    if not answers and not order:
        text = text.replace("answers:\n", "answers: {}\n")
    return text
