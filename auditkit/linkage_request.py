"""The request to a statistics office's microdata service: link the decisions, return a count table.

The strongest evidence when the agency's file lacks the protected attribute is not an estimate: it is the
statistics office linking the agency's decisions to its own registers, inside its secure environment, and
returning a count table by group with its disclosure rules applied (the student-finance case was proven
that way).  :func:`build_request` writes, from an audit template, everything the lab sends:

``README.md`` (and ``LEESMIJ.md``)
    the letter: what to link, what to return, the disclosure rules, how the table will be audited;
``variables.csv``
    the decision variables to link (from the agency's file) and the attributes to attach (the office's);
``return-table.csv``
    the exact count table to return, header and (where the groups are known) every row, counts blank;
``disclosure.md``
    minimum cell size, rounding, the suppression marker, secondary suppression;
``audit-command.txt``
    the exact command that audits the returned table with the count-table path, suppressed cells included
    (and, when the template follows people through stages by a person id, ``<name>-returned.yaml``: the
    template without the person id, which a count table does not have).
"""

from __future__ import annotations

import csv
import io
import itertools
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DECISION_VALUES", "OUTCOME_VALUES", "build_request"]

#: Values of the returned table's decision and outcome columns.
DECISION_VALUES = ("selected", "not_selected")
OUTCOME_VALUES = ("positive", "negative", "unknown")


def _columns(fields: Mapping[str, Any]) -> list[str]:
    cols = list(fields.get("protected") or ()) + list(fields.get("strata") or ())
    cols += [c for c in (fields.get("selection_method"), fields.get("stage")) if c]
    cols.append("decision")
    if fields.get("truth"):
        cols.append("outcome")
    return cols + ["count"]


def _csv(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _table(fields: Mapping[str, Any], levels: Mapping[str, Sequence[str]]) -> str:
    """Header, and every row when each attribute's groups are known (from the template or --groups)."""
    cols = _columns(fields)
    values: list[Sequence[str]] = []
    for col in cols[:-1]:
        if col == "decision":
            values.append(DECISION_VALUES)
        elif col == "outcome":
            values.append(OUTCOME_VALUES)
        elif col == fields.get("stage") and fields.get("stage_order"):
            values.append(fields["stage_order"])
        elif col in levels:
            values.append(levels[col])
        else:
            return _csv([cols])
    return _csv([cols] + [[*combo, ""] for combo in itertools.product(*values)])


def _variables(fields: Mapping[str, Any], template: Any, known: Mapping[str, Sequence[str]]) -> str:
    rows = [["variable", "from", "role", "values", "meaning"]]
    rows.append(["(person identifier)", "agency", "link key", "", "the identifier the office links on (e.g. a "
                 "citizen service number), agreed with the office; it never leaves the secure environment"])
    rows.append([fields.get("decision") or fields.get("score") or "", "agency", "decision",
                 ",".join(fields.get("positive") or ()) or f"score rule {fields.get('threshold') or fields.get('top')}",
                 "selected (positive values); every other value is not selected -> column decision"])
    if fields.get("truth"):
        rows.append([fields["truth"], "agency", "outcome", ",".join(fields.get("truth_positive") or ()),
                     "outcome of the check (positive values); blank: not known -> column outcome"])
    if fields.get("stage"):
        rows.append([fields["stage"], "agency", "stage", ",".join(fields.get("stage_order") or ()),
                     "process step; one row per person per step reached"])
    for col in fields.get("strata") or ():
        rows.append([col, "agency", "stratum", "", "legitimate factor the audit conditions on"])
    if fields.get("selection_method"):
        rows.append([fields["selection_method"], "agency", "selection method", ",".join(fields.get("random") or ()),
                     "how the case was selected (the values listed mark the random sample)"])
    for attr in template.protected:
        rows.append([attr.column, "statistics office", "protected attribute",
                     ",".join(known.get(attr.column, ())), (attr.label or {}).get("en", attr.name)])
    return _csv(rows)


def _levels_of(attr: Any) -> list[str]:
    return sorted((attr.group_labels or {}).keys())


def _command(fields: Mapping[str, Any], template_ref: str, marker: str, min_cell: int) -> str:
    args = ["auditkit", "audit", "return-table.csv", "--template", template_ref, "--count-column", "count"]
    for col in fields.get("protected") or ():
        args += ["--protected", col]
    args += ["--decision", "decision", "--positive", "selected"]
    if fields.get("truth"):
        args += ["--truth", "outcome", "--truth-positive", "positive", "--truth-negative", "negative"]
    if fields.get("stage"):
        args += ["--stage", fields["stage"]]
        if fields.get("stage_order"):
            args += ["--stage-order", ",".join(fields["stage_order"])]
    for col in fields.get("strata") or ():
        args += ["--strata", col]
    if fields.get("selection_method"):
        args += ["--selection-method", fields["selection_method"]]
        for value in fields.get("random") or ():
            args += ["--random", value]
    args += ["--suppressed", marker, "--suppressed-range", f"0-{min_cell - 1}", "--out", "audit-of-returned-table"]
    return shlex.join(args) + "\n"


def _derived_template(template: Any) -> tuple[str, str]:
    """A template extending ``template`` without its person id (a count table counts people per stage)."""
    name = f"{template.name}-returned"
    text = (f"# The template {template.name} for the count table the statistics office returns: the same audit,\n"
            "# without the person id (the table counts the people at each step; there are no rows to follow).\n"
            f"auditkit_template: 1\nname: {name}\nextends: {template.name}\ndata:\n  stage:\n"
            f"    person: null\n")
    return f"{name}.yaml", text


def build_request(template: Any, template_ref: str, *, min_cell: int = 10, rounding: int = 1, marker: str = "<10",
                  levels: Mapping[str, Sequence[str]] | None = None) -> dict[str, str]:
    """Every file of the request, by name (see the module docstring)."""
    from ._linkage_letters import disclosure_text, letter_en, letter_nl

    fields = template.spec_fields()
    if not fields.get("protected"):
        from .exceptions import UsageError

        raise UsageError(f"Template {template.name!r} names no protected attribute: the office would not know what "
                         "to link. Use a template with a protected section (auditkit templates list).")
    known = {a.column: _levels_of(a) for a in template.protected if _levels_of(a)}
    known.update(levels or {})
    files: dict[str, str] = {}
    ref = template_ref
    if fields.get("person"):
        name, text = _derived_template(template)
        files[name] = text
        ref = name
    command = _command(fields, ref, marker, min_cell)
    context = {"template": template, "fields": fields, "columns": _columns(fields), "min_cell": min_cell,
               "rounding": rounding, "marker": marker, "command": command.strip()}
    files["README.md"] = letter_en(context)
    files["LEESMIJ.md"] = letter_nl(context)
    files["variables.csv"] = _variables(fields, template, known)
    files["return-table.csv"] = _table(fields, known)
    files["disclosure.md"] = disclosure_text(context)
    files["audit-command.txt"] = command
    return dict(sorted(files.items()))
