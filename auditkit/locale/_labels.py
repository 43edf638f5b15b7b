"""Attribute and group labels: the words a reader sees for the codes in the data.

The data says ``nationality`` and ``non-EU``; the template says what to print for them, per language
(``protected.<attribute>.label`` and ``protected.<attribute>.group_labels.<value>``, each a
``{lang: text}`` map or one text).  A bundle's ``results.json`` carries the template's record
(``results["template"]["protected"]``), so a report re-rendered in another language without the data
still has every label.  Every human text (finding statements, the headline, the brief, report tables
and chart axes, the terminal summary) prints :func:`label`; the raw codes stay in ``results.json``, in
finding ids and in evidence paths, where they are what a reader cites.

One function serves findings modules and report sections alike::

    from auditkit.locale import label
    label(results, "nationality", lang="nl")                  # 'Nationaliteit'
    label(results, "nationality", "non-EU", lang="nl")        # 'niet-EU'
    label(results, "nationality × gender", "EU × F", lang="nl")  # 'EU × vrouwen'

A language without a label of its own takes the English one, then the code itself: a label is never
missing, only untranslated.

>>> results = {"template": {"protected": {"gender": {"label": {"en": "Gender", "nl": "Geslacht"},
...            "group_labels": {"F": {"en": "women", "nl": "vrouwen"}}}}},
...            "attributes": [{"attribute": "nationality × gender", "attributes": ["nationality", "gender"]}]}
>>> label(results, "gender", lang="nl"), label(results, "gender", "F", lang="nl"), label(results, "gender", "X")
('Geslacht', 'vrouwen', 'X')
>>> label(results, "nationality × gender", "EU × F", lang="nl")
'EU × vrouwen'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["label", "pick"]

_JOIN = " × "


def pick(value: Any, lang: str) -> tuple[str, str | None]:
    """Text of a ``{lang: text}`` map in ``lang`` (else English, else the first language with text), with the
    language it is in when that is not ``lang``; a plain text is taken as it is.

    >>> pick({"en": "Gender", "nl": "Geslacht"}, "nl"), pick({"en": "Gender"}, "nl"), pick("x", "nl")
    (('Geslacht', None), ('Gender', 'en'), ('x', None))
    """
    if isinstance(value, Mapping):
        for code in (lang, "en", *sorted(value)):
            if isinstance(value.get(code), str) and value[code]:
                return value[code], (None if code == lang else code)
        return "", None
    return ("" if value is None else str(value)), None


def _protected(results: Mapping[str, Any]) -> Mapping[str, Any]:
    template = results.get("template")
    protected = template.get("protected") if isinstance(template, Mapping) else None
    return protected if isinstance(protected, Mapping) else {}


def _parts(results: Mapping[str, Any], attribute: str) -> list[str]:
    """The single attributes an intersection is made of (the attribute itself when it is single)."""
    found = results.get("attributes")
    for a in found if isinstance(found, list) else []:
        parts = a.get("attributes") if isinstance(a, Mapping) else None
        if isinstance(parts, list) and parts and str(a.get("attribute")) == attribute:
            return [str(p) for p in parts]
    return [attribute]


def _one(entry: Any, group: str | None, lang: str) -> str:
    if not isinstance(entry, Mapping):
        return ""
    if group is None:
        return pick(entry.get("label"), lang)[0]
    labels = entry.get("group_labels")
    return pick(labels.get(group), lang)[0] if isinstance(labels, Mapping) else ""


def label(results: Mapping[str, Any], attribute: Any, group: Any = None, *, lang: str = "en") -> str:
    """The template's label of ``attribute`` (``group`` None) or of its ``group`` in ``lang``.

    Parameters
    ----------
    results : mapping
        A results document (``results.json``) holding ``template.protected`` and ``attributes``; any
        mapping with those keys (a finding rule's record does not have them: pass the results).
    attribute : str
        The attribute as the results name it; an intersection (``"nationality × gender"``) joins its
        parts' labels.
    group : str, optional
        A group (level) of the attribute; an intersection's group joins its parts' labels.
    lang : str
        The language code.

    Returns
    -------
    str
        The label, or the code itself where the template gives none.
    """
    attribute = str(attribute)
    protected = _protected(results)
    parts = _parts(results, attribute)
    if group is None:
        labels = [_one(protected.get(p), None, lang) or p for p in parts]
        return _JOIN.join(labels) if len(labels) > 1 or labels[0] != attribute else attribute
    group = str(group)
    values = group.split(_JOIN) if len(parts) > 1 else [group]
    if len(values) != len(parts):
        return group
    return _JOIN.join(_one(protected.get(p), v, lang) or v for p, v in zip(parts, values))
