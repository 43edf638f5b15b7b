"""`auditkit compare A B`: how the disparities of one audit changed in another (before/after, two versions)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["compare"]


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "—" if x is None else format(x, spec)


def _text(doc: dict[str, Any]) -> str:
    lines = [f"A: {doc['a']['bundle']} (manifest {doc['a']['manifest_sha256'][:12]})",
             f"B: {doc['b']['bundle']} (manifest {doc['b']['manifest_sha256'][:12]})"]
    if doc["differences"]:
        lines.append("The two audits differ in how they were made; read every figure below with this in mind:")
        lines += [f"  {d['what']}: A {d['a']!r}, B {d['b']!r}" for d in doc["differences"]]
    else:
        lines.append("Both audits were made the same way (population, decision rule, outcome, template, parameters).")
    if doc["method"]["caveat"]:
        lines.append(f"Note: {doc['method']['caveat']}.")
    lines.append(f"\n  {'attribute':<23}{'group':<18}{'metric':<16}{'ratio A':>9}{'ratio B':>9}{'B/A':>7}"
                 f"{'95% CI':>15}{'p adj':>8}  change")
    for r in doc["records"]:
        ci = r["ratio_of_ratios_ci"]
        shown = f"{ci[0]:.2f}–{ci[1]:.2f}" if ci else "—"
        lines.append(f"  {str(r['attribute'])[:22]:<23}{str(r['group'])[:17]:<18}{str(r['metric'])[:15]:<16}"
                     f"{_fmt(r['ratio_a']):>9}{_fmt(r['ratio_b']):>9}{_fmt(r['ratio_of_ratios']):>7}{shown:>15}"
                     f"{_fmt(r['p_holm'], '.4f'):>8}  {r['change']}")
    only_a, only_b = doc["unmatched"]["only_a"], doc["unmatched"]["only_b"]
    if only_a or only_b:
        lines.append(f"\nNot matched: {len(only_a)} comparison(s) only in A, {len(only_b)} only in B "
                     "(groups or metrics one audit has and the other has not).")
    return "\n".join(lines)


@click.command()
@click.argument("bundle_a", type=click.Path(path_type=Path))
@click.argument("bundle_b", type=click.Path(path_type=Path))
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the records as JSON ('-' for stdout).")
@click.option("--metric", "metrics", multiple=True, metavar="M", help="Only this metric (repeatable).")
@click.option("--level", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Confidence level of the intervals.")
@click.option("--alpha", type=click.FloatRange(0.0001, 0.5), default=0.05, show_default=True,
              help="Significance level for 'ratio_changed' after Holm's adjustment.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the comparison's own evidence bundle (results, findings, manifest, report) into this folder.")
@click.option("--lang", "langs", multiple=True, metavar="LANG",
              help="Report language(s) of the --out bundle (repeatable; default en).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf", "md"]),
              help="Report format(s) of the --out bundle (repeatable; default html).")
@click.option("--no-report", is_flag=True, help="Write the --out bundle without a report.")
def compare(bundle_a: Path, bundle_b: Path, json_path: Path | None, metrics: tuple[str, ...], level: float,
            alpha: float, out_dir: Path | None, langs: tuple[str, ...], formats: tuple[str, ...],
            no_report: bool) -> None:
    """Compare BUNDLE_B with BUNDLE_A (B is the later or changed audit): differences in how they were made,
    then per group and metric the two ratios and the ratio of ratios with its interval and test.

    With --out DIR the comparison is written as its own evidence bundle, which `auditkit verify DIR`
    checks (it makes the comparison again from the two bundles when they are at the recorded paths)."""
    from ._output import write_text
    from .compare import compare_bundles
    from .results import to_json

    if out_dir is not None:
        from .cli import _command_line
        from .compare_bundle import write_comparison
        from .locale import load_locale

        for lang in langs:
            load_locale(lang)  # an unknown language is refused before anything is written
        doc = write_comparison(bundle_a, bundle_b, out_dir, level=level, alpha=alpha, metrics=metrics or None,
                               command=_command_line(), languages=() if no_report else (langs or ("en",)),
                               formats=formats or ("html",))
    else:
        doc = compare_bundles(bundle_a, bundle_b, level=level, alpha=alpha, metrics=metrics or None)
    if json_path is not None and str(json_path) == "-":
        sys.stdout.write(to_json(doc))
        return
    if json_path is not None:
        write_text(json_path, to_json(doc))
    click.echo(_text(doc))
