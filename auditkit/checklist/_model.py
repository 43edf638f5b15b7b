"""Reading an instrument: items, parts, options, and what one answer scores and flags.

Instruments and assessments stay plain dicts (as read from YAML and checked
against the JSON Schemas) so that they round-trip to files unchanged; these
helpers give them meaning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SERIOUSNESS_PARTS",
    "Score",
    "flags_of",
    "is_answered",
    "items_of",
    "localise",
    "questions_of",
    "score_of",
]

#: The parts of a per-right seriousness item, after HUDERIA and the UN Guiding Principles.
SERIOUSNESS_PARTS = ("scale", "scope", "irremediability", "likelihood")

CHOICE_KINDS = ("single_choice", "multiple_choice")


def localise(text: Mapping[str, str] | str | None, lang: str = "en") -> str:
    """The text in ``lang``, falling back to English.

    >>> localise({"en": "Yes", "nl": "Ja"}, "nl"), localise({"en": "Yes", "nl": "Ja"}, "fr")
    ('Ja', 'Yes')
    """
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def items_of(instrument: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(section, item) for every item, in the instrument's order."""
    for section in instrument.get("sections", ()):
        for item in section.get("items", ()):
            yield section, item


def questions_of(item: Mapping[str, Any]) -> list[tuple[str | None, Mapping[str, Any]]]:
    """(part id, question) for each answerable question of an item: its parts, or the item itself."""
    if item.get("kind") == "multi_part":
        return [(part["id"], part) for part in item.get("parts", ())]
    return [(None, item)]


def part_value(item: Mapping[str, Any], value: Any, part: str | None) -> Any:
    """The value of one part of an answer (the whole value for a single question)."""
    if part is None:
        return value
    return value.get(part) if isinstance(value, Mapping) else None


def _answered(question: Mapping[str, Any], value: Any) -> bool:
    if value is None:
        return False
    if question.get("kind") == "text":
        return isinstance(value, str) and bool(value.strip())
    return True


def is_answered(item: Mapping[str, Any], value: Any, part: str | None = None) -> bool:
    """Whether an item (or one part of it) has an answer; a multi-part item needs every part."""
    if item.get("kind") == "multi_part" and part is None:
        return all(_answered(q, part_value(item, value, pid)) for pid, q in questions_of(item))
    question = dict(questions_of(item)).get(part, item) if part else item
    return _answered(question, part_value(item, value, part))


def missing_parts(item: Mapping[str, Any], value: Any) -> list[str]:
    """Ids of the unanswered parts of a multi-part item (empty for other kinds)."""
    if item.get("kind") != "multi_part":
        return []
    return [pid for pid, q in questions_of(item) if not _answered(q, part_value(item, value, pid))]


def _options(question: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {option["id"]: option for option in question.get("options", ())}


@dataclass(frozen=True)
class Score:
    """What one question contributes: its points, the range it could take, and whether it is worst case."""

    points: float
    lowest: float
    highest: float
    worst_case: bool  # unanswered, or answered with an option marked worst_case (e.g. 'unknown')


def _range(question: Mapping[str, Any]) -> tuple[float, float]:
    kind = question.get("kind")
    if kind == "single_choice":
        scores = [o.get("score", 0) for o in question["options"]]
        return min(scores), max(scores)
    if kind == "multiple_choice":
        return 0, sum(o.get("score", 0) for o in question["options"])
    if kind == "number":
        return 0, max((t["score"] for t in question.get("thresholds", ())), default=0)
    if kind == "attestation":
        return 0, question.get("score_if_false", 0)
    return 0, 0


def question_score(question: Mapping[str, Any], value: Any, worst: str = "highest") -> Score:
    """Points for one answered or unanswered question; unanswered counts as ``worst`` of its range."""
    low, high = _range(question)
    worst_points = high if worst == "highest" else low
    if not _answered(question, value):
        return Score(worst_points, low, high, True)
    kind = question.get("kind")
    options = _options(question)
    if kind == "single_choice":
        option = options.get(value, {})
        if option.get("worst_case"):
            return Score(worst_points, low, high, True)
        return Score(option.get("score", 0), low, high, False)
    if kind == "multiple_choice":
        chosen = [options.get(v, {}) for v in (value if isinstance(value, list) else [value])]
        if any(o.get("worst_case") for o in chosen):
            return Score(worst_points, low, high, True)
        return Score(sum(o.get("score", 0) for o in chosen), low, high, False)
    if kind == "number":
        points = 0
        for threshold in sorted(question.get("thresholds", ()), key=lambda t: t["min"]):
            if value >= threshold["min"]:
                points = threshold["score"]
        return Score(points, low, high, False)
    if kind == "attestation":
        return Score(0 if value is True else question.get("score_if_false", 0), low, high, False)
    return Score(0, low, high, False)


def score_of(item: Mapping[str, Any], value: Any, worst: str = "highest") -> Score:
    """Points for a whole item: a multi-part item adds up its parts."""
    scores = [question_score(q, part_value(item, value, pid), worst) for pid, q in questions_of(item)]
    return Score(
        sum(s.points for s in scores),
        sum(s.lowest for s in scores),
        sum(s.highest for s in scores),
        any(s.worst_case for s in scores),
    )


def _question_flags(question: Mapping[str, Any], value: Any, possible: bool) -> list[str]:
    kind = question.get("kind")
    if possible:
        flags = [f for o in question.get("options", ()) for f in o.get("flags", ())]
        flags += list(question.get("flags_if_false", ()))
        return flags + [f for t in question.get("thresholds", ()) for f in t.get("flags", ())]
    if not _answered(question, value):
        return []
    if kind == "single_choice":
        return list(_options(question).get(value, {}).get("flags", ()))
    if kind == "multiple_choice":
        options = _options(question)
        return [f for v in (value if isinstance(value, list) else [value]) for f in options.get(v, {}).get("flags", ())]
    if kind == "attestation":
        return list(question.get("flags_if_false", ())) if value is False else []
    if kind == "number":
        hit = [t for t in question.get("thresholds", ()) if value >= t["min"]]
        return list(max(hit, key=lambda t: t["min"]).get("flags", ())) if hit else []
    return []


def flags_of(item: Mapping[str, Any], value: Any) -> tuple[list[str], list[str]]:
    """(flags raised by the answer, flags an unanswered part could still raise)."""
    raised: list[str] = []
    possible: list[str] = []
    for pid, question in questions_of(item):
        part = part_value(item, value, pid)
        raised += _question_flags(question, part, possible=False)
        if not _answered(question, part):
            possible += _question_flags(question, part, possible=True)
    return sorted(set(raised), key=raised.index), sorted(set(possible) - set(raised), key=possible.index)
