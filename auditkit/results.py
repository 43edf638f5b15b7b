"""Results as files and text: JSON, CSV tables safe for spreadsheets, a terminal summary.

Renderers only format what :func:`auditkit.audit` computed; they never compute.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._json import finite, json_text
from ._text import printable
from .spec import METRICS

__all__ = ["comparison_rows", "group_rows", "summary_text", "to_json", "write_csv"]

_RATE_COLUMNS = ("share_of_population", "share_of_selected", *METRICS)
# A cell a spreadsheet would run as a formula starts with one of these; after a ',', ';', tab or '|' too,
# because a spreadsheet that splits on another delimiter than ours (';' is the Dutch default) starts a new
# cell there.  Fullwidth forms are included: some spreadsheets read them as the ASCII ones.
_FORMULA = re.compile("(^|[,;\t|])(\\s*[=+\\-@\uff1d\uff0b\uff0d\uff20])")


def to_json(results: dict) -> str:
    """The results document as JSON text: UTF-8, indented, no NaN (null instead), same bytes each run."""
    return json_text(results)


def group_rows(results: dict) -> list[dict]:
    """One flat row per group: counts, then value, interval and n of every rate."""
    rows = []
    outcome = ("tp", "fp", "tn", "fn", "n_outcome_unknown")
    has_outcome = (results.get("design") or {}).get("has_outcome", True)
    for g in results["groups"]:
        row = {k: g.get(k) for k in ("attribute", "group", "is_reference", "n", "selected", "not_selected",
                                     *outcome, "empty", "small", "missing_group", "suppressed")
               if k in g and (has_outcome or k not in outcome)}
        for name in _RATE_COLUMNS:
            rec = g[name]
            row[name] = rec.get("value")
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = rec.get("ci_low"), rec.get("ci_high")
            if rec.get("bounds"):
                row[f"{name}_bounds"] = "{} to {}".format(*rec["bounds"])
        rows.append(row)
    return rows


def comparison_rows(results: dict) -> list[dict]:
    """One flat row per comparison: rates, ratio and difference with intervals, p-values, status."""
    rows = []
    for c in results["comparisons"]:
        g, r = c["group_rate"], c["reference_rate"]
        rows.append({
            "attribute": c["attribute"], "group": c["group"], "reference": c["reference"], "metric": c["metric"],
            "group_rate": g.get("value"), "group_numerator": g.get("numerator"),
            "group_denominator": g.get("denominator"), "reference_rate": r.get("value"),
            "reference_numerator": r.get("numerator"), "reference_denominator": r.get("denominator"),
            "ratio": c.get("ratio"), "ratio_ci_low": (c.get("ratio_ci") or [None, None])[0],
            "ratio_ci_high": (c.get("ratio_ci") or [None, None])[1], "difference": c.get("difference"),
            "difference_ci_low": (c.get("difference_ci") or [None, None])[0],
            "difference_ci_high": (c.get("difference_ci") or [None, None])[1],
            "p_value": c.get("p_value"), "p_holm": c.get("p_holm"), "p_bh": c.get("p_bh"),
            "status": c["status"], "reason": c.get("reason", c.get("note", "")),
        })
    return rows


def _safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection), wherever a cell could start.

    >>> _safe_cell("=1+1"), _safe_cell("x;=1+1;y"), _safe_cell("a, -b"), _safe_cell(-1.5)
    ("'=1+1", "x;'=1+1;y", "a,' -b", -1.5)
    """
    if isinstance(value, str):
        return _FORMULA.sub(lambda m: f"{m.group(1)}'{m.group(2)}", printable(value))
    return value


def write_csv(rows: list[dict], path: str | Path) -> None:
    """Write rows as CSV: UTF-8, every field quoted, header from the union of keys in first-seen order.

    Text cells are neutralised for spreadsheets (see ``_safe_cell``); control characters are shown as escapes.
    """
    import csv

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    from ._output import open_output

    with open_output(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[_safe_cell(c) for c in columns], lineterminator="\n",
                                quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for row in rows:
            writer.writerow({_safe_cell(k): _safe_cell(finite(v)) for k, v in row.items()})


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _pct_range(low: float, high: float) -> str:
    """A range of rates rounded outwards, so that it holds every value the suppressed cells allow."""
    import math

    if low is None or high is None:
        return f"{_pct(low)}–{_pct(high)}"
    return f"{math.floor(low * 1000 + 1e-9) / 10:.1f}%–{math.ceil(high * 1000 - 1e-9) / 10:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _summary_rows(results: dict, a: dict, metric: str, cmp: dict, varies: str | None, max_rows: int) -> list[str]:
    lines = []
    groups = [g for g in results["groups"] if g["attribute"] == a["attribute"]]
    for g in groups[:max_rows]:
        rec, c = g[metric], cmp.get(g["group"], {})
        value = rec.get("value")
        shown = _pct(value) if value is not None or not rec.get("bounds") else _pct_range(*rec["bounds"])
        ci = f"{_pct(rec.get('ci_low'))}–{_pct(rec.get('ci_high'))}"
        rci = c.get("ratio_ci") or [None, None]
        is_ref = varies in (g.get("reference_for") or []) if varies else g["is_reference"]
        status = "reference" if is_ref else c.get("status", "")
        n_bounds = (g.get("bounds") or {}).get("n")
        n_shown = f"{g['n']:,}" if not n_bounds or n_bounds[0] == n_bounds[1] else "{:,}–{:,}".format(*n_bounds)
        lines.append(f"  {printable(g['group'])[:28]:<28} {n_shown:>9} {shown:>15} {ci:>15} {_num(c.get('ratio')):>7} "
                     f"{_num(rci[0]) + '–' + _num(rci[1]):>15} {_num(c.get('p_holm'), 4):>8}  {status}")
    if len(groups) > max_rows:
        lines.append(f"  … {len(groups) - max_rows} more groups in the JSON and CSV output")
    return lines


def _stage_lines(results: dict) -> list[str]:
    """Per attribute, stage and group: people entering, the conditional selection rate and its comparison."""
    stages = results.get("stages") or []
    if not stages:
        return []
    design = results["population"].get("stages") or {}
    lines = ["", f"Stages of {design.get('column')!r}: {design.get('reading')}.",
             f"The tables above are {design.get('comparisons', 'end to end')}."]
    for attr in dict.fromkeys(r["attribute"] for r in stages):
        mine = [r for r in stages if r["attribute"] == attr]
        lines += ["", f"{attr} by stage  (reference: {mine[0]['reference']}; rate: selected at the stage among "
                      "those who entered it)",
                  f"  {'stage':<20} {'group':<20} {'entered':>9} {'selected':>9} {'rate':>7} {'ratio':>7} "
                  f"{'ratio CI':>15} {'p adj':>8}  status"]
        for r in mine:
            c = r.get("comparison") or {}
            rci = c.get("ratio_ci") or [None, None]
            status = "reference" if r.get("is_reference") else c.get("status", "")
            lines.append(f"  {str(r['stage'])[:20]:<20} {str(r['group'])[:20]:<20} {r['entering']['n']:>9,} "
                         f"{r['leaving']['n']:>9,} {_pct(r['selection_rate'].get('value')):>7} "
                         f"{_num(c.get('ratio')):>7} {_num(rci[0]) + '–' + _num(rci[1]):>15} "
                         f"{_num(c.get('p_holm'), 4):>8}  {status}")
    return lines


def summary_text(results: dict, max_rows: int = 40) -> str:
    """A readable summary for the terminal: population, then each attribute's selection rates."""
    pop, design = results["population"], results["design"]
    lines = [f"auditkit {results['auditkit_version']} — {pop['source']}"]
    if "rows_read" in pop:
        lines.append(f"Population: {pop['rows_read']:,} rows read, {pop['rows_audited']:,} audited"
                     + (f", of {pop['people']:,} people." if "people" in pop else "."))
    else:
        people = "{:,}–{:,}".format(*pop["people_bounds"]) if pop.get("people_bounds") else f"{pop['people']:,}"
        lines.append(f"Population: {people} people in {pop['published_rows']:,} published rows"
                     f"{' (suppressed cells: a range)' if pop.get('people_bounds') else ''}.")
    lines += [f"  - {s['step']}: {s['rows_before']:,} -> {s['rows_after']:,}" for s in pop["filters"]]
    selected = "{:,}–{:,}".format(*design["selected_bounds"]) if design.get("selected_bounds") else f"{design['selected']:,}"
    lines.append(f"Decision: {pop['decision_rule'].get('rule')}; {selected} selected. Data: {design['kind']}.")
    if pop["decision_rule"].get("tied_at_cutoff", 0) > 1:
        r = pop["decision_rule"]
        lines.append(f"  {r['tied_at_cutoff']:,} rows share the cut-off score {r['cutoff_score']}; "
                     f"{r['tied_selected']:,} of them were selected ({r['tie_break']}).")
    metric = "selection_rate" if "selection_rate" not in design["undefined_metrics"] else "ppv"
    ci_label = f"{results['parameters']['level']:.0%} CI"
    for a in results["attributes"]:
        comps = [c for c in results["comparisons"] if c["attribute"] == a["attribute"] and c["metric"] == metric]
        # An intersection compared within the other attributes' levels: one block per attribute compared.
        splits = list(dict.fromkeys(c.get("varies") for c in comps)) if any(c.get("held") for c in comps) else [None]
        for varies in splits:
            cmp = {c["group"]: c for c in comps if varies is None or c.get("varies") == varies}
            if varies is None:
                title = f"{a['attribute']}  (reference: {a['reference']}, {a['reference_rule']})"
            else:
                level = (a.get("reference_levels") or {}).get(varies)
                title = f"{a['attribute']}  (by {varies}: against {varies} {level} with the same other levels)"
            lines += ["", title, f"  {'group':<28} {'n':>9} {metric:>15} {ci_label:>15} {'ratio':>7} {'ratio CI':>15} "
                      f"{'p adj':>8}  status"]
            lines += _summary_rows(results, a, metric, cmp, varies, max_rows)
    lines += _stage_lines(results)
    from ._summary_periods import period_lines

    lines += period_lines(results)
    mt = results["multiple_testing"]
    lines += ["", f"Tests: {mt['family_size']} comparisons adjusted together (Holm and Benjamini–Hochberg); "
              f"status uses {mt['status_uses']} at alpha {mt['alpha']}. The four-fifths band is a screening "
              "rule of thumb, not a test."]
    reversed_ = [s for s in results["stratified"] if s.get("direction_reversed")]
    lines += [f"WARNING: {s['warning']}" for s in reversed_]
    lines += [f"Note: {n}" for n in results["notes"]]
    # Group, column and file names come from the data: a control character in one must not reach a terminal.
    return "\n".join(printable(line) for line in lines) + "\n"
