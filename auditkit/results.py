"""Results as files and text: JSON, CSV tables safe for spreadsheets, a terminal summary.

Renderers only format what :func:`auditkit.audit` computed; they never compute.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._json import finite, json_text
from ._text import printable
from .spec import FOUR_FIFTHS, METRICS, screening_band

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


def _summary_rows(results: dict, a: dict, metric: str, cmp: dict, varies: str | None, max_rows: int,
                  w: Any = None) -> list[str]:
    from ._summary_words import Words

    w = w or Words(results)
    lines = []
    groups = [g for g in results["groups"] if g["attribute"] == a["attribute"]]
    for g in groups[:max_rows]:
        rec, c = g[metric], cmp.get(g["group"], {})
        value = rec.get("value")
        shown = _pct(value) if value is not None or not rec.get("bounds") else _pct_range(*rec["bounds"])
        ci = f"{_pct(rec.get('ci_low'))}–{_pct(rec.get('ci_high'))}"
        rci = c.get("ratio_ci") or [None, None]
        is_ref = varies in (g.get("reference_for") or []) if varies else g["is_reference"]
        status = w.status("reference" if is_ref else c.get("status", ""))
        n_bounds = (g.get("bounds") or {}).get("n")
        n_shown = f"{g['n']:,}" if not n_bounds or n_bounds[0] == n_bounds[1] else "{:,}–{:,}".format(*n_bounds)
        name = w.group(a["attribute"], g["group"])
        lines.append(f"  {printable(name)[:28]:<28} {w.n(n_shown):>9} {w.n(shown):>15} {w.n(ci):>15} "
                     f"{w.n(_num(c.get('ratio'))):>7} {w.n(_num(rci[0]) + '–' + _num(rci[1])):>15} "
                     f"{w.n(_num(c.get('p_holm'), 4)):>8}  {status}")
    if len(groups) > max_rows:
        lines.append(w.t("more_groups", n=w.n(f"{len(groups) - max_rows:,}")))
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


def summary_text(results: dict, max_rows: int = 40, lang: str = "en") -> str:
    """A readable summary for the terminal: population, then each attribute's selection rates; in ``lang``
    (any language with a catalog) with the template's labels for attributes and groups."""
    from ._summary_words import Words

    w = Words(results, lang)
    pop, design = results["population"], results["design"]
    lines = [w.t("header", version=results["auditkit_version"], source=pop["source"])]
    if "rows_read" in pop:
        key = "population_rows_people" if "people" in pop else "population_rows"
        lines.append(w.t(key, read=w.n(f"{pop['rows_read']:,}"), audited=w.n(f"{pop['rows_audited']:,}"),
                         people=w.n(f"{pop.get('people', 0):,}")))
    else:
        people = "{:,}–{:,}".format(*pop["people_bounds"]) if pop.get("people_bounds") else f"{pop['people']:,}"
        lines.append(w.t("population_published_range" if pop.get("people_bounds") else "population_published",
                         people=w.n(people), rows=w.n(f"{pop['published_rows']:,}")))
    lines += [w.t("filter", step=w.analysis(s["step"]), before=w.n(f"{s['rows_before']:,}"),
                  after=w.n(f"{s['rows_after']:,}")) for s in pop["filters"]]
    selected = "{:,}–{:,}".format(*design["selected_bounds"]) if design.get("selected_bounds") else f"{design['selected']:,}"
    lines.append(w.t("decision", rule=w.decision(), selected=w.n(selected), kind=w.analysis(design["kind"])))
    if pop["decision_rule"].get("tied_at_cutoff", 0) > 1:
        r = pop["decision_rule"]
        lines.append(w.t("ties", tied=w.n(f"{r['tied_at_cutoff']:,}"), cutoff=w.n(str(r["cutoff_score"])),
                         selected=w.n(f"{r['tied_selected']:,}"), tie_break=w.analysis(r["tie_break"])))
    metric = "selection_rate" if "selection_rate" not in design["undefined_metrics"] else "ppv"
    ci_label = w.t("ci", level=f"{results['parameters']['level']:.0%}")
    for a in results["attributes"]:
        comps = [c for c in results["comparisons"] if c["attribute"] == a["attribute"] and c["metric"] == metric]
        # An intersection compared within the other attributes' levels: one block per attribute compared.
        splits = list(dict.fromkeys(c.get("varies") for c in comps)) if any(c.get("held") for c in comps) else [None]
        for varies in splits:
            cmp = {c["group"]: c for c in comps if varies is None or c.get("varies") == varies}
            if varies is None:
                title = w.t("attribute", attribute=w.attr(a["attribute"]),
                            reference=w.group(a["attribute"], a["reference"]), rule=w.reference_rule(a))
            else:
                level = (a.get("reference_levels") or {}).get(varies)
                title = w.t("attribute_within", attribute=w.attr(a["attribute"]), varies=w.attr(varies),
                            level=w.group(varies, level))
            lines += ["", title, f"  {w.t('col.group'):<28} {w.t('col.n'):>9} {w.metric(metric)[:15]:>15} "
                      f"{ci_label:>15} {w.t('col.ratio'):>7} {w.t('col.ratio_ci'):>15} {w.t('col.p'):>8}  "
                      f"{w.t('col.status')}"]
            lines += _summary_rows(results, a, metric, cmp, varies, max_rows, w)
    lines += _stage_lines(results)
    from ._summary_periods import period_lines

    lines += period_lines(results, w)
    mt = results["multiple_testing"]
    low, high = screening_band(results)
    tests = {"n": w.n(str(mt["family_size"])), "uses": mt["status_uses"], "alpha": w.n(str(mt["alpha"]))}
    lines += ["", w.t("tests", **tests) if (low, high) == FOUR_FIFTHS else
              w.t("tests_set", low=w.n(f"{low:g}"), high=w.n(f"{high:g}"), **tests)]
    reversed_ = [s for s in results["stratified"] if s.get("direction_reversed")]
    lines += [w.t("warning", text=w.analysis(s["warning"])) for s in reversed_]
    lines += [w.t("note", text=w.analysis(n)) for n in results["notes"]]
    # Group, column and file names come from the data: a control character in one must not reach a terminal.
    return "\n".join(printable(line) for line in lines) + "\n"
