"""Plain-text summary of a score report in any language with a message catalog (returned, never printed here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._model import localise

__all__ = ["render_score"]

def _labels(lang: str) -> dict[str, str]:
    """The labels of the score summary from the language's message catalog (``checklist_cli``)."""
    from ..locale import load_locale

    loc = load_locale(lang)
    return {key.split(".", 1)[1]: loc.t(key) for key in (*loc.fallback, *loc.messages)
            if key.startswith("checklist_cli.")}


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return "[" + ", ".join(f"{v:.3g}" for v in value) + "]"
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _raiser(entry: Mapping[str, Any], t: Mapping[str, str]) -> str:
    if "item" in entry:
        return f"{entry['item']} = {_value(entry['answer'])} ({entry['source']})"
    return t["rule_evidence"] if entry.get("reading") == "evidence" else t["rule"]


def _records(records: list[Any], limit: int = 3) -> list[str]:
    lines = []
    for record in records[:limit]:
        if isinstance(record, Mapping):
            lines.append(", ".join(f"{k}={_value(v)}" for k, v in record.items()))
        else:
            lines.append(_value(record))
    if len(records) > limit:
        lines.append(f"... (+{len(records) - limit})")
    return lines


def render_score(report: Mapping[str, Any], lang: str = "en") -> str:
    """A plain-text summary of :func:`score_assessment` output for a terminal."""
    t = _labels(lang)
    inst = report["instrument"]
    out = [f"{t['instrument']}: {localise(inst['title'], lang)} ({inst['id']} {inst['version']})"]
    gaps, gates = report["gaps"], report["gates_open"]
    out.append(f"{t['status']}: {t[report['status']]} ({len(gaps)} gaps, {len(gates)} gates open)")
    band = report["impact"]["band"] or t["none"]
    headline = t["red_flag"] if report["headline"] == "red_flag" else band
    out.append(f"{t['headline']}: {headline}   {t['band']}: {band}")
    if report["rights"]:
        out.append(f"\n{t['rights']}:")
        for right in report["rights"]:
            name = localise(right["title"], lang)
            if not right["applicable"]:
                out.append(f"  {name}: {t['not_affected']}")
                continue
            worst = f"  ({t['worst']} {', '.join(right['worst_case_parts'])})" if right["worst_case_parts"] else ""
            out.append(f"  {name}: {right['scale']}/{right['scope']}/{right['irremediability']} x "
                       f"{right['likelihood']} = {right['score']} -> {right['band']}{worst}")
    sections: list[tuple[str, list[str]]] = [
        ("flags", [f"! {localise(f['title'], lang)} [{f['id']}]\n      {localise(f['reason'], lang)}\n      "
                   f"{t['raised_by']}: " + "; ".join(_raiser(r, t) for r in f["raised_by"])
                   for f in report["red_flags"]]),
        ("unresolved", [f"? {localise(f['title'], lang)} [{f['id']}]: {', '.join(f['until_answered'])}"
                        for f in report["red_flags_unresolved"]]),
        ("contradictions", [f"x {c['item']}: {t['answered']} {_value(c['answer'])}"
                            f"{' ' + t['by'] + ' ' + c['answered_by'] if c.get('answered_by') else ''}"
                            f"{' (' + c['role'] + ')' if c.get('role') else ''}; {t['suggests']} "
                            f"{_value(c['suggested'])}\n      {localise(c['reason'], lang)}"
                            + "".join(f"\n      {line}" for line in _records(c["evidence"]))
                            for c in report["contradictions"]]),
        ("filled", [f"= {f['item']}: {_value(f['value'])} ({localise(f['reason'], lang)})"
                    for f in report["filled_from_evidence"]]),
        ("suggestions", [f"~ {s['item']}: {_value(s['suggests'])} ({localise(s['reason'], lang)})"
                         for s in report["suggestions"]]),
        ("gates", [f"# {g['id']}: {t['missing']} {', '.join(g['missing'])}\n      {localise(g['reason'], lang)}"
                   for g in gates]),
        ("gaps", [f"- {g['item']}: {t[g['reason']]}{' (' + ', '.join(g['parts']) + ')' if g.get('parts') else ''}"
                  for g in gaps]),
        ("unmatched", [f"- {u['item']}: {u.get('finding') or u.get('metric')}: {u['reason']}"
                       for u in report["evidence_references_unmatched"]]),
        ("unavailable", [f"- {u['item']} [{u['binding']}]: {u['reason']}" for u in report["evidence_unavailable"]]),
        ("errors", [f"- {e['where']}: {e['reason']}" for e in report["rule_errors"]]),
    ]
    for key, lines in sections:
        if lines:
            out.append(f"\n{t[key]}:")
            out.extend(f"  {line}" for line in lines)
    for coverage in report["coverage"]:
        out.append(f"\n{t['coverage']} - {localise(coverage['title'], lang)}: {coverage['covered']}/{coverage['of']}")
        for element in coverage["elements"]:
            state = {"covered": t["covered"], "partial": t["partial"], "missing": t["missing"]}[element["state"]]
            todo = f" ({', '.join(element['unanswered'])})" if element["unanswered"] else ""
            out.append(f"  {element['ref']} {state}{todo}: {localise(element['title'], lang)}")
    total = report["comparison_total"]
    out.append(f"\n{t['total']}: {total['final']} / {total['max_impact']} -> {t['level']} {total['level']}"
               f"{'; ' + t['discount'] if total['discount_applied'] else ''}")
    return "\n".join(out)
