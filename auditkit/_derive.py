"""What a bundle derives from its own results and template, written once for `audit` and for `verify`.

The findings, the suppression threshold and the template record are computed here both when a bundle
is written and when `auditkit verify` re-derives them from the bundle's ``results.json`` and
``template.json``: one function each, so the check cannot drift from what was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .exceptions import InputDataError

__all__ = ["TEMPLATE_FILE", "findings_for", "parameters_for", "template_document", "template_from_document"]

#: The merged template a bundle was made with (the base template when none was given).
TEMPLATE_FILE = "template.json"
DEFAULT_SUPPRESSION = 10


def template_document(template: Any) -> bytes:
    """The bytes of ``template.json``: the template's name and its merged content."""
    from ._json import json_text

    return json_text({"name": template.name, "data": template.data}).encode("utf-8")


def template_from_document(doc: Any, where: str = TEMPLATE_FILE) -> Any:
    """The :class:`~auditkit.templates.Template` a ``template.json`` document holds."""
    from .templates import Template

    if not isinstance(doc, Mapping) or not isinstance(doc.get("name"), str) or not isinstance(doc.get("data"), Mapping):
        raise InputDataError(f"{where}: expected an object with 'name' (text) and 'data' (an object), the merged "
                             "template the bundle was made with.")
    return Template(name=doc["name"], path=Path(where), files=(), data=doc["data"])


def findings_for(results: Mapping[str, Any], template: Any) -> list[dict]:
    """Findings from the template's rules, in its report language too (so `report.language: de` builds German)."""
    from .findings import build_findings

    return build_findings(results, template.rules, languages=[template.language])


def parameters_for(results: Mapping[str, Any], template: Any) -> dict[str, Any]:
    """The manifest's ``parameters``: the results' parameters and the template's suppression threshold."""
    threshold = getattr(template, "suppress_below", None) or DEFAULT_SUPPRESSION
    return {**(results.get("parameters") or {}), "suppression_threshold": threshold}
