"""Audit templates: YAML files that say what an audit measures, so partners change data, never code.

A template names the system (agency, purpose, decision, legal basis, register
id), maps the data's columns to the audit (decision, score, outcome, strata,
stage, selection method), lists the protected attributes with their reference
groups and legal grounds per jurisdiction, sets the decision rule and the
statistics, and holds the rules that turn comparisons into findings.  A
template may ``extends:`` another: mappings merge key by key, lists replace,
``null`` deletes.  See ``docs/templates.md``.

>>> t = load_template("welfare-fraud-risk")
>>> t.spec_fields()["protected"], t.spec_fields()["references"]["nationality"]
(('nationality', 'gender'), 'Dutch')
"""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import UsageError
from ._check import PLACEHOLDERS, RULE_NAMES, check, expressions_checked, schema
from ._problems import Problem, TemplateFileError, display_path
from ._resolve import OWN_KEYS, available_templates, find_template, merged_data, resolve_chain, template_paths
from ._template import SEVERITIES, FindingRule, ProtectedAttribute, Template, merge_fields

__all__ = [
    "PLACEHOLDERS",
    "RULE_NAMES",
    "SEVERITIES",
    "FindingRule",
    "Problem",
    "ProtectedAttribute",
    "Template",
    "TemplateFileError",
    "available_templates",
    "check_template",
    "expressions_checked",
    "load_template",
    "merge_fields",
    "new_template_text",
    "schema",
    "template_file",
    "template_paths",
]


def _looks_like_path(ref: str) -> bool:
    return any(sep in ref for sep in ("/", "\\")) or ref.endswith((".yaml", ".yml"))


def template_file(name_or_path: str | os.PathLike) -> Path:
    """The file a template reference means: an existing file path, else a name on the search path."""
    ref = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(ref) or Path(ref).is_file():
        path = Path(ref)
        if not path.is_file():
            raise TemplateFileError([Problem(display_path(path), "(the whole file)", "does not exist.",
                                             "Give an existing file, or a template name (auditkit templates list).")])
        return path
    return find_template(ref)


def _build(path: Path) -> tuple[Template | None, list[Problem]]:
    chain = resolve_chain(path)
    data = merged_data(chain)
    problems = check(chain, data)
    own = chain[0].data
    template = Template(str(own.get("name", path.stem)), path, tuple((f.path, f.sha256) for f in chain),
                        {k: v for k, v in data.items() if k not in OWN_KEYS}, bool(own.get("abstract", False)))
    if problems:
        return None, problems
    if not template.abstract:
        from ..spec import AuditSpec

        try:
            AuditSpec(**template.spec_fields())
        except UsageError as err:  # what only the audit's own checks catch; name the option's key
            return None, [Problem(chain[0].label, "data", str(err), "Fix the template so that the audit it "
                                  "describes is consistent.")]
    return template, []


def load_template(name_or_path: str | os.PathLike) -> Template:
    """Load, merge and check a template by name (on :func:`template_paths`) or by file path.

    Raises :class:`TemplateFileError` (a :class:`~auditkit.TemplateError`) listing every problem,
    each with file, key path, line and a suggestion.
    """
    template, problems = _build(template_file(name_or_path))
    if problems:
        raise TemplateFileError(problems)
    assert template is not None
    return template


def check_template(name_or_path: str | os.PathLike) -> list[Problem]:
    """Every problem of a template (empty when it is valid); problems that stop reading are raised."""
    return _build(template_file(name_or_path))[1]


def new_template_text(name: str, base: Template, extends: str) -> str:
    """The text of a new template file that extends ``base`` (referred to as ``extends``) and changes nothing yet.

    The commented lines show the keys partners most often adapt, with the base's current values.
    """
    import yaml

    def commented(section: str) -> str:
        if section not in base.data:
            return ""
        text = yaml.safe_dump({section: base.data[section]}, sort_keys=False, allow_unicode=True, width=100)
        return "".join(f"# {line}\n" for line in text.splitlines())

    lines = [
        f"# Audit template {name!r}, extending {extends!r}.",
        f"# Everything not written here comes from {extends!r} (see: auditkit templates show {base.name}).",
        "# Override rules: mappings merge key by key, lists replace the inherited list, null deletes a key.",
        "# Check it with: auditkit templates validate THIS_FILE",
        "auditkit_template: 1",
        f"name: {name}",
        f"extends: {extends}",
        "",
        "# To adapt, uncomment and edit what differs in your audit:",
        "",
    ]
    body = "\n".join(commented(s) for s in ("system", "protected", "data", "decision_rule", "report") if s in base.data)
    return "\n".join(lines) + body
