"""The loaded template: typed views of its parts and the audit fields it sets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import TemplateError
from ._fields import texts
from ._problems import display_path

__all__ = ["SEVERITIES", "FindingRule", "ProtectedAttribute", "Template", "merge_fields"]

#: Finding severities, least to most severe.
SEVERITIES = ("info", "low", "medium", "high", "critical")

#: AuditSpec fields that only make sense together: a command-line option from a group replaces the
#: template's whole group (``--score risk --top 5`` drops the template's decision column).
FIELD_GROUPS = (
    ("decision", "positive", "score", "threshold", "top", "top_n", "count_column", "cell_column", "cells",
     "all_selected"),
    ("truth", "truth_positive", "truth_negative"),
    ("selection_method", "random"),
    ("stage", "stage_order", "person"),
    ("period", "period_freq", "period_order"),
    ("suppressed", "suppressed_range"),
)


@dataclass(frozen=True)
class ProtectedAttribute:
    """A protected attribute: its name, data column, reference group and legal grounds per jurisdiction."""

    name: str
    column: str
    reference: str | None
    label: Mapping[str, str]
    grounds: Mapping[str, tuple[str, ...]]
    group_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FindingRule:
    """A rule that turns a record of the results into a finding: when it applies, how severe, what it says.

    :func:`auditkit.findings.build_findings` applies rules (as :attr:`Template.rules` gives them).
    """

    id: str
    when: str
    severity: str
    statement: Mapping[str, str]
    applies_to: str = "comparisons"
    rights: tuple[str, ...] = ()
    provisions: tuple[str, ...] = ()
    recommendation: Mapping[str, str] = field(default_factory=dict)

    def condition(self) -> Any:
        """The parsed ``when`` expression (an :class:`auditkit.expr.Expression`)."""
        from ..expr import parse

        return parse(self.when)


@dataclass(frozen=True)
class Template:
    """An audit template with its ``extends`` chain merged.

    ``files`` holds the file and every template it extends, most specific first, each with its
    SHA-256; ``data`` the merged content.  Build one with :func:`load_template`.
    """

    name: str
    path: Path
    files: tuple[tuple[Path, str], ...]
    data: Mapping[str, Any]
    abstract: bool = False

    def _section(self, key: str) -> dict[str, Any]:
        return dict(self.data.get(key, {}))

    @property
    def title(self) -> Mapping[str, str]:
        """Title per language."""
        return self._section("title")

    @property
    def system(self) -> dict[str, Any]:
        """What the audited system is: agency, purpose, decision, legal basis, register id."""
        return self._section("system")

    @property
    def language(self) -> str:
        """The report language."""
        return str(self._section("report").get("language", "en"))

    @property
    def suppress_below(self) -> int | None:
        """Cells with fewer people are suppressed in published output."""
        return self._section("report").get("suppress_below")

    @property
    def checklist_instrument(self) -> str | None:
        """The id of the human-rights impact assessment instrument."""
        return self._section("checklist").get("instrument")

    @property
    def protected(self) -> tuple[ProtectedAttribute, ...]:
        """The protected attributes, in template order."""
        return tuple(ProtectedAttribute(name, str(a.get("column", name)),
                                        None if a.get("reference") is None else str(a["reference"]),
                                        dict(a.get("label", {})),
                                        {j: tuple(ids) for j, ids in a.get("grounds", {}).items()},
                                        {str(v): dict(t) for v, t in (a.get("group_labels") or {}).items()})
                     for name, a in self._section("protected").items())

    @property
    def findings(self) -> tuple[FindingRule, ...]:
        """The finding rules, in template order."""
        return tuple(FindingRule(r["id"], r["when"], r["severity"], dict(r["statement"]),
                                 r.get("applies_to", "comparisons"), tuple(r.get("rights", ())),
                                 tuple(r.get("provisions", ())), dict(r.get("recommendation", {})))
                     for r in self.data.get("findings", ()))

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The finding rules as :func:`auditkit.findings.build_findings` takes them."""
        return [dict(r) for r in self.data.get("findings", ())]

    @property
    def screening_bands(self) -> dict[str, tuple[float, float]]:
        """Per metric, the ratio band used to screen (never the test)."""
        bands = self._section("measures").get("screening_bands", {})
        return {m: (float(b["low"]), float(b["high"])) for m, b in bands.items()}

    def _abstract_error(self) -> TemplateError:
        return TemplateError(f"{display_path(self.path)}: template {self.name!r} is abstract: it exists to be "
                             f"extended, not run. Make your own with 'auditkit templates new my-audit.yaml --from "
                             f"{self.name}'.")

    def spec_fields(self, *, for_model: bool = False) -> dict[str, Any]:
        """The :class:`~auditkit.AuditSpec` fields this template sets (fields it leaves out keep their defaults).

        With ``for_model`` (``auditkit assess``), the decision comes from the model's scores: the
        template's decision and score columns are left out and only its rule (threshold, top, top_n) is kept.
        """
        from ._fields import spec_fields

        if self.abstract:
            raise self._abstract_error()
        return spec_fields(self.data, self.protected, for_model=for_model)

    def assess_fields(self) -> dict[str, Any]:
        """The :class:`~auditkit.assess.AssessOptions` fields this template sets (flip, clusters, shap_sample)."""
        explain = self._section("explain")
        out: dict[str, Any] = {}
        if "flip" in explain:
            out["flip"] = texts(explain["flip"])
        for key in ("clusters", "shap_sample"):
            if key in explain:
                out[key] = explain[key]
        return out

    @property
    def digest(self) -> str:
        """SHA-256 of the merged template as canonical JSON: equal digests, equal audits."""
        text = json.dumps(self.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def record(self) -> dict[str, Any]:
        """What an evidence bundle records about the template: name, files with hashes, digest, and what a
        report shows of it (title, system, population, protected attributes with their legal grounds,
        provisions with their citations, rights, the jurisdictions to report).

        A report is rendered from the bundle alone, so whatever of the template it shows must be here.
        """
        data = self.data.get("data") or {}
        protected = {a.name: {"column": a.column, "reference": a.reference, "label": dict(a.label),
                              "grounds": {j: list(ids) for j, ids in a.grounds.items()},
                              **({"group_labels": {v: dict(t) for v, t in a.group_labels.items()}}
                                 if a.group_labels else {})}
                     for a in self.protected}
        out: dict[str, Any] = {"name": self.name, "digest": self.digest,
                               "files": [{"file": p.name, "sha256": h} for p, h in self.files],
                               "title": _plain(self.title), "system": _plain(self.system),
                               "population": _plain(data.get("population")) if isinstance(data, Mapping) else None,
                               "protected": protected, "provisions": _plain(self._section("provisions")),
                               "rights": _plain(self._section("rights"))}
        jurisdictions = self._section("report").get("jurisdictions")
        if jurisdictions is not None:
            out["jurisdictions"] = [str(j) for j in jurisdictions]
        return out

    def to_yaml(self) -> str:
        """The merged template as YAML (what ``auditkit templates show`` prints)."""
        import yaml

        head = {"name": self.name, **({"abstract": True} if self.abstract else {})}
        return yaml.safe_dump({**head, **self.data}, sort_keys=False, allow_unicode=True, width=100)


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data: mappings as dicts with string keys, sequences as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def merge_fields(template_fields: Mapping[str, Any], option_fields: Mapping[str, Any],
                 given: Iterable[str]) -> dict[str, Any]:
    """Combine a template's AuditSpec fields with command-line ones: what was given on the command line wins.

    ``option_fields`` holds every field the command line describes, defaults included; ``given`` the
    fields set explicitly there.  An explicit field replaces the template's whole group (see
    :data:`FIELD_GROUPS`); ``references`` merge key by key (the command line's win) and keep only
    protected columns.

    >>> merge_fields({"protected": ("nationality",), "decision": "selected", "positive": ("Ja",), "level": 0.99},
    ...              {"protected": (), "decision": None, "positive": None, "score": "s", "top": 10.0,
    ...               "level": 0.95}, given={"score", "top"})
    {'protected': ('nationality',), 'decision': None, 'positive': None, 'score': 's', 'top': 10.0, 'level': 0.99}
    """
    given = set(given)
    dropped = {f for group in FIELD_GROUPS if given & set(group) for f in group}
    merged = dict(option_fields)
    for key, value in template_fields.items():
        if key not in given and key not in dropped:
            merged[key] = value
    if "references" in template_fields:
        refs = {**template_fields["references"], **(option_fields.get("references") or {})} \
            if "references" in given else dict(template_fields["references"])
        merged["references"] = {k: v for k, v in refs.items() if k in merged.get("protected", ())}
    return merged
