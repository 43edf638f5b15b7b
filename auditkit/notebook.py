"""auditkit from Python and Jupyter: tidy frames, a compact table, findings, bundles and reports.

The command line is a thin shell over these: :func:`findings` builds what ``audit --out`` puts in
``findings.json``, :meth:`auditkit.AuditResult.write_bundle` writes the same evidence bundle, and
:func:`report` renders a bundle's reports as ``auditkit report`` does.

>>> import pandas as pd, auditkit
>>> df = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 60, "d": [1] * 6 + [0] * 54 + [1] * 24 + [0] * 36})
>>> r = auditkit.audit(df, protected=("g",), decision="d", references={"g": "a"})
>>> r.to_frame()[["group", "reference", "metric", "ratio", "status"]].values.tolist()
[['b', 'a', 'selection_rate', 4.0, 'difference_detected']]
>>> [f["rule"] for f in auditkit.findings(r)]
['SEL-HIGHER']
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["findings", "html_table", "report", "to_frame", "write_result_bundle"]

_RATE_KEYS = ("value", "ci_low", "ci_high", "numerator", "denominator")


def _results(result: Any) -> Mapping[str, Any]:
    results = getattr(result, "results", result)
    if not isinstance(results, Mapping) or "comparisons" not in results:
        raise TypeError(f"Expected an AuditResult or its results document; got {type(result).__name__}.")
    return results


def _template(template: Any) -> Any:
    from .templates import Template, load_template

    return template if isinstance(template, Template) else load_template(template or "base")


def to_frame(result: Any, kind: str = "comparisons") -> Any:
    """Tidy pandas DataFrames of an audit: ``"comparisons"`` (one row per group, reference and metric),
    ``"groups"`` (one row per attribute, group and rate: value, interval, numerator, denominator), and with a
    period (``--period``) ``"periods"`` (one row per period and comparison) and ``"over_time"`` (one row per
    group, reference and rate: periods detected, longest run with its pooled ratio, trend, homogeneity)."""
    import pandas as pd

    from .results import comparison_rows

    results = _results(result)
    if kind == "comparisons":
        return pd.DataFrame(comparison_rows(dict(results)))
    if kind in ("periods", "over_time"):  # with --period: per period and comparison; per group over the periods
        from ._summary_periods import over_time_rows, period_rows

        return pd.DataFrame((period_rows if kind == "periods" else over_time_rows)(results))
    if kind != "groups":
        raise ValueError("The 'kind' parameter of to_frame must be 'comparisons', 'groups', 'periods' or "
                         f"'over_time'. Got {kind!r} instead.")
    rows = []
    for g in results.get("groups", []):
        for metric, rec in g.items():
            if isinstance(rec, Mapping) and "value" in rec and "denominator" in rec:
                rows.append({"attribute": g.get("attribute"), "group": g.get("group"),
                             "is_reference": bool(g.get("is_reference")), "n": g.get("n"), "metric": metric,
                             **{k: rec.get(k) for k in _RATE_KEYS}})
    return pd.DataFrame(rows, columns=["attribute", "group", "is_reference", "n", "metric", *_RATE_KEYS])


def _fmt(x: Any, digits: int = 2) -> str:
    return "—" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x:,.{digits}f}"


def html_table(result: Any, metric: str = "selection_rate") -> str:
    """A compact HTML table of the comparisons of ``metric`` (Jupyter shows it for an AuditResult), headed
    by the population and the headline the report would lead with; every text escaped."""
    from .report._headline import choose_headline

    results = _results(result)
    pop = results.get("population") or {}
    n = pop.get("rows_audited", pop.get("people"))
    head = f"auditkit audit of {html.escape(str(pop.get('source', 'data')))}: {_fmt(n, 0)} rows"
    h = choose_headline(results, [])
    if h is not None:
        c = h.comparison
        head += (f"; headline: {html.escape(str(c.get('group')))} ({html.escape(str(c.get('attribute')))}) "
                 f"{html.escape(str(c.get('metric')))} ratio {_fmt(c.get('ratio'))} "
                 f"(95% CI {_fmt((c.get('ratio_ci') or [None])[0])}–{_fmt((c.get('ratio_ci') or [None, None])[1])})")
    rows = []
    for c in results.get("comparisons", []):
        if c.get("metric") != metric:
            continue
        rate, ci = (c.get("group_rate") or {}).get("value"), c.get("ratio_ci") or [None, None]
        cells = [str(c.get("attribute")), str(c.get("group")), str(c.get("reference")),
                 _fmt(None if rate is None else 100 * rate, 1) + ("%" if rate is not None else ""),
                 f"{_fmt(c.get('ratio'))} ({_fmt(ci[0])}–{_fmt(ci[1])})", _fmt(c.get("p_holm"), 4),
                 str(c.get("status", ""))]
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in ("attribute", "group", "reference", metric, "ratio (95% CI)",
                                                "p (Holm)", "status"))
    return (f"<div class=\"auditkit-result\"><p>{head}</p><table><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def findings(result: Any, template: Any = "base", *, languages: Sequence[str] = ()) -> list[dict]:
    """The findings the template's rules (a name, a path or a loaded template; default ``base``) make of an
    audit, as ``findings.json`` of a bundle holds them."""
    from .findings import build_findings

    tpl = _template(template)
    results = _results(result)
    if "template" not in results:  # the labels findings print come from the template's record, as in a bundle
        results = {**results, "template": tpl.record()}
    return build_findings(results, tpl.rules, languages=[tpl.language, *languages])


def write_result_bundle(result: Any, out: str | os.PathLike, *, template: Any = None, report: bool = True) -> Path:
    """Write the evidence bundle of an audit into ``out`` (replaced whole), with its HTML report unless
    ``report=False``; returns the folder.  ``template`` records the template, as ``--template`` does."""
    from ._derive import TEMPLATE_FILE, parameters_for, template_document
    from .bundle import write_bundle

    results = dict(_results(result))
    tpl = _template(template)
    inputs: list[tuple[str, Any]] = []
    if template is not None:
        results["template"] = tpl.record()
        inputs = [("template", path) for path, _ in tpl.files]
    lang = getattr(tpl, "language", None) or "en"
    render, names = None, []
    if report:
        from .report import render_report

        names = [f"report.{lang}.html"]

        def render(folder: Path) -> list[Path]:
            return render_report(folder, lang=lang, formats=("html",), out_dir=folder)

    write_bundle(out, results, inputs=inputs, command=None, findings=findings(results, tpl),
                 parameters=parameters_for(results, tpl), files={TEMPLATE_FILE: template_document(tpl)},
                 render=render, report_names=names)
    return Path(out)


def report(bundle: str | os.PathLike, lang: str = "en", format: str | Sequence[str] = "html", *,
           out: str | os.PathLike | None = None) -> list[Path]:
    """Render the report of ``bundle`` (``format``: html, pdf, md, csv or brief, or several) and return the
    files; without ``out`` they go into the bundle and are listed in its manifest, as ``auditkit report``."""
    from .report import render_report

    formats = (format,) if isinstance(format, str) else tuple(format)
    if out is None:
        if "brief" in formats:
            from .exceptions import UsageError

            raise UsageError("The brief is a publication made from the bundle, not part of it: give out=DIR.")
        from .bundle import add_reports

        written, _ = add_reports(bundle, lambda folder: render_report(folder, lang=lang, formats=formats,
                                                                      out_dir=folder))
        return written
    return render_report(bundle, lang=lang, formats=formats, out_dir=out)
