"""The words of the terminal summary in the reader's language (``auditkit audit/assess --lang``).

The summary's sentences are catalog messages (``terminal.*``); attribute and group names are the template's
labels (:func:`auditkit.locale.label`); sentences the analysis wrote in English (the decision rule, the data's
design, notes, warnings) are translated where the catalog has them (:func:`auditkit.locale._phrases.translate`).
English keeps the status codes and the number format of the JSON output (``1,234``, ``12.3%``); another
language swaps the separators of its numbers and names each status by its catalog label.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from .locale import label, load_locale
from .locale._phrases import translate

__all__ = ["Words"]


class Words:
    """Messages, labels and number formats of one language for :func:`auditkit.results.summary_text`.

    >>> w = Words({"template": {"protected": {"g": {"label": {"nl": "Geslacht"}}}}}, "nl")
    >>> w.t("col.status"), w.attr("g"), w.n("1,234.5"), w.status("reference")
    ('uitkomst', 'Geslacht', '1.234,5', 'referentie')
    """

    def __init__(self, results: Mapping[str, Any], lang: str = "en") -> None:
        self.results, self.lang = results, lang
        self.loc = load_locale(lang)
        self.english = lang == "en"

    def t(self, key: str, **values: Any) -> str:
        """The message ``terminal.<key>``."""
        return self.loc.t(f"terminal.{key}", **values)

    def n(self, text: str) -> str:
        """A number formatted the English way ('1,234.5'), in this language's separators."""
        if self.english:
            return text
        meta = self.loc.meta
        return text.translate({ord(","): "\0", ord("."): meta["decimal"]}).replace("\0", meta["group"])

    def attr(self, attribute: Any) -> str:
        """The template's label of an attribute."""
        return label(self.results, attribute, lang=self.lang)

    def group(self, attribute: Any, group: Any) -> str:
        """The template's label of a group."""
        return label(self.results, attribute, group, lang=self.lang)

    def status(self, status: str) -> str:
        """A status: its code in English (as in the JSON), its catalog label otherwise."""
        if self.english or not status:
            return status
        return self.loc.label("status", status) if status != "reference" else self.t("reference")

    def metric(self, metric: str) -> str:
        """A metric: its code in English, its catalog label otherwise."""
        return metric if self.english else self.loc.label("metric", metric)

    def analysis(self, text: Any) -> str:
        """A sentence the analysis wrote in English, in this language where the catalog has it."""
        return str(text) if self.english else translate(self.loc, str(text))[0]

    def decision(self) -> str:
        """The decision rule: the analysis' own words in English, the report's sentence otherwise."""
        rule = (self.results.get("population") or {}).get("decision_rule") or {}
        if self.english:
            return str(rule.get("rule"))
        from .report._context import decision_text

        text = decision_text(SimpleNamespace(t=self.loc.t, loc=self.loc, results=self.results))  # type: ignore[arg-type]
        return text.rstrip(".")

    def reference_rule(self, a: Mapping[str, Any]) -> str:
        """How the reference group was chosen."""
        rule = str(a.get("reference_rule", ""))
        if self.english:
            return rule
        from .report._context import reference_rule_text

        ctx = SimpleNamespace(t=self.loc.t, attr_label=self.attr, group_label=self.group)
        return reference_rule_text(ctx, rule, a)  # type: ignore[arg-type]
