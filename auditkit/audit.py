"""`audit`: from decision data or a published count table to a results document.

This is the Python API behind ``auditkit audit``; the CLI only parses options
and prints.  The result holds the count table (the only thing later steps
need) and a JSON-ready, schema-versioned results document.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass
from typing import Any

from ._version import __version__
from .load.counts import count_table_columns, counts_to_table
from .load.data import Source, read_columns
from .load.rows import Population, rows_to_counts
from .plan import wanted_columns
from .measure._counts import CountTable
from .measure.bootstrap import bootstrap_intervals, check_replicates
from .measure.designs import measure_selection_method, measure_strata
from .measure.periods import finish_periods, measure_periods, period_family
from .measure.run import adjust_family, comparison_metrics, design_of, measure_groups
from .measure.stages import end_to_end, measure_stages, stage_design, stage_notes, transition_table
from .exceptions import UsageError
from .spec import FOUR_FIFTHS, AuditSpec

__all__ = ["SCHEMA_VERSION", "AuditResult", "audit", "measure"]

#: Version of the results document; bumped on any change to its keys or meaning.
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class AuditResult:
    """The count table an audit measured and its results document."""

    counts: CountTable
    results: dict[str, Any]

    @property
    def groups(self) -> list[dict]:
        """One record per attribute (or intersection) and group."""
        return self.results["groups"]

    @property
    def comparisons(self) -> list[dict]:
        """One record per group, reference and metric."""
        return self.results["comparisons"]

    def to_frame(self, kind: str = "comparisons") -> Any:
        """Tidy pandas DataFrame of the ``"comparisons"`` or the ``"groups"`` (one row per group and rate)."""
        from .notebook import to_frame

        return to_frame(self, kind)

    def write_bundle(self, out: str | os.PathLike, *, template: Any = None, report: bool = True) -> Any:
        """Write the evidence bundle (results, findings, manifest, HTML report) into ``out``; see
        :func:`auditkit.notebook.write_result_bundle`."""
        from .notebook import write_result_bundle

        return write_result_bundle(self, out, template=template, report=report)

    def _repr_html_(self) -> str:
        """Jupyter's view: the population, the headline and a compact table of the selection-rate comparisons."""
        from .notebook import html_table

        return html_table(self)


def _wanted_columns(spec: AuditSpec) -> list[str]:
    return count_table_columns(spec) if spec.is_count_table else wanted_columns(spec)


def audit(data: Source, spec: AuditSpec | None = None, *, engine: str = "pandas", scheduler: str | None = None,
          **options: Any) -> AuditResult:
    """Measure disparities in ``data`` (a CSV or Parquet path, or a DataFrame).

    Give an :class:`~auditkit.AuditSpec`, or its fields as keyword arguments.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50, "flag": [1] * 10 + [0] * 40 + [1] * 20 + [0] * 30})
    >>> r = audit(df, protected=("g",), decision="flag", references={"g": "a"})
    >>> c = r.comparisons[0]
    >>> c["group"], c["metric"], c["ratio"]
    ('b', 'selection_rate', 2.0)
    """
    if spec is None:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        spec = AuditSpec(**fields)
    elif options:
        raise TypeError("Give either an AuditSpec or keyword options, not both.")
    if engine != "pandas":
        # Only the counting step differs between engines; everything after it reads the count table.
        from .engines import check_engine, count_rows, input_kind

        check_engine(engine, scheduler)
        table, population = count_rows(data, spec, engine, scheduler=scheduler)
        return measure(table, population, spec, input_kind=input_kind(data), engine=engine)
    src = read_columns(data, _wanted_columns(spec), encoding=spec.encoding, delimiter=spec.delimiter,
                       sheet=spec.sheet, header_row=spec.header_row)
    if spec.is_count_table:
        table, population = counts_to_table(src, spec)
    else:
        table, population = rows_to_counts(src, spec)
    return measure(table, population, spec, input_kind=src.kind)


def measure(table: CountTable, population: Population, spec: AuditSpec, input_kind: str = "counts",
            engine: str = "pandas") -> AuditResult:
    """Every figure of the results document, computed from the count table alone."""
    spec = _values_as_read(table, population, spec)
    has_truth = population.outcome.get("has_outcome", population.outcome.get("column") is not None)
    counted = table
    if spec.stage:
        # Every figure outside 'stages' is end to end, one count per person: never rows of several stages added up.
        table = end_to_end(counted, spec)
    design = design_of(table, has_truth)
    if spec.selection_method and design["not_selected"] == 0 and design["selected"]:
        # Only investigated cases, part of them chosen at random: the random part is the baseline.
        design["kind"] = "only selected cases (every row was selected), with a random control sample"
    attributes, groups, comparisons, tables = measure_groups(table, spec, design)
    references = {}  # per subset, the reference cell's label ('within' intersections: every attribute's level)
    for subset, (gt, _) in tables.items():
        ref_label = next(a["reference"] for a in attributes if a["attributes"] == list(subset))
        references[subset] = ref_label
    stratified, method = [], []
    singles = [s for s in tables if len(s) == 1]
    for subset in singles:
        gt, plans = tables[subset]
        ref = int(max(plans[0][1])) if plans else -1  # a single attribute: one reference for every group
        if spec.strata and ref >= 0:
            stratified += measure_strata(table, gt, ref, spec)
        if spec.selection_method:
            method += measure_selection_method(table, gt, spec)
    stages = measure_stages(counted, spec, references) if spec.stage else []
    family = comparisons + stratified + [m[k] for m in method for k in ("share_comparison", "hit_rate_comparison")]
    family += [s["comparison"] for s in stages if s["comparison"] is not None]
    periods = measure_periods(table, spec, design, tables, attributes)  # None without a period dimension
    testing = adjust_family(family + period_family(periods), spec)
    finish_periods(periods, spec, table.bounded)
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "auditkit_version": __version__,
        "engine": engine,
        "input": {"source": population.source, "kind": "count table" if spec.is_count_table else input_kind},
        "population": _population(population, spec, counted),
        "design": design,
        "parameters": _parameters(spec),
        "attributes": attributes,
        "groups": groups,
        "comparisons": comparisons,
        "multiple_testing": testing,
        "stratified": stratified,
        "selection_method": method,
        "stages": stages,
        "notes": list(counted.notes) + (stage_notes(counted, spec) if spec.stage else []),
    }
    if periods is not None:
        results["periods"] = periods
    if spec.bootstrap:
        _add_bootstrap(results, table, tables, spec, design)
    return AuditResult(counted, results)


def _values_as_read(table: CountTable, population: Population, spec: AuditSpec) -> AuditSpec:
    """The spec with --random and --reference values as the columns' own values (``--random 1`` on a
    column of '1.0' is '1.0'), so that the analysis and the recorded parameters use the value as read."""
    from .exceptions import InputDataError
    from .load._values import match_values

    changes: dict = {}
    if spec.selection_method and spec.random:
        levels = list(table.dim(spec.selection_method).levels)
        matched = tuple(match_values(levels, [r.strip() for r in spec.random], label=population.source,
                                     column=spec.selection_method, option="--random"))
        if matched != tuple(spec.random):
            changes["random"] = matched
    references = dict(spec.references)
    for column, value in spec.references.items():
        try:
            found = match_values(list(table.dim(column).levels), [value.strip()], label=population.source,
                                 column=column, option="--reference")
        except (InputDataError, KeyError):
            continue  # the reference step says what is wrong, in its own words
        if len(found) == 1 and found[0] != value:
            references[column] = found[0]
    if references != dict(spec.references):
        changes["references"] = references
    return dataclasses.replace(spec, **changes) if changes else spec


def _population(population: Population, spec: AuditSpec, table: CountTable) -> dict:
    rec: dict[str, Any] = {"source": population.source, "filters": list(population.steps),
           "decision_rule": population.decision_rule, "outcome": population.outcome}
    if spec.is_count_table:
        # Per-stage counts count a person at every stage reached: the people are those at the first stage.
        base = transition_table(table, spec, 0) if spec.stage else table
        rec.update(published_rows=population.rows_read,
                   people=int(base.low.sum()) if spec.stage else population.rows_audited)
        if base.bounded:  # suppressed cells: 'people' is the low end; the high end is stated too
            rec["people_bounds"] = [int(base.low.sum()), int(base.high.sum())]
    else:
        rec.update(rows_read=population.rows_read, rows_audited=population.rows_audited)
        if population.people is not None:
            rec["people"] = population.people
    if spec.stage:
        rec["stages"] = stage_design(table, spec)
    return rec


def _parameters(spec: AuditSpec) -> dict:
    params = asdict(spec)
    params["references"] = dict(spec.references)
    params["cells"] = dict(spec.cells)
    params["filters"] = [asdict(f) for f in spec.filters]
    for how_read in ("encoding", "delimiter", "sheet", "header_row"):  # the input's description, not the audit
        params.pop(how_read, None)
    # Settings for real-world files are recorded when used (results of audits without them stay as they were).
    for name, default in (("keep_rows", ()), ("decimal", None), ("thousands", None), ("all_selected", False),
                          ("period", None), ("period_freq", None), ("period_order", None),
                          ("screening_band", FOUR_FIFTHS)):
        if params.get(name) in (default, list(default) if isinstance(default, tuple) else default):
            params.pop(name, None)
    return params


def _add_bootstrap(results: dict, table: CountTable, tables: dict, spec: AuditSpec, design: dict) -> None:
    if table.bounded:
        results["bootstrap"] = {"replicates": 0, "reason": "not computed: the table has suppressed cells"}
        return
    metrics = [m for m in ("selection_rate", "base_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv", "fdr", "for",
                           "accuracy") if m not in design["undefined_metrics"]]
    # every replicate's rate, and its ratio and difference for each comparison plan, is held until the
    # percentiles are taken
    held = len(metrics) * sum(len(gt.labels) * (1 + 2 * len(plans)) for gt, plans in tables.values())
    try:
        check_replicates(spec.bootstrap, held)
    except ValueError as err:
        raise UsageError(str(err)) from None
    intervals = bootstrap_intervals(table, tables, metrics, spec.bootstrap, spec.seed, spec.level)
    index = {}
    for subset, (gt, _) in tables.items():
        for i in range(len(gt.labels)):
            index[(gt.name, gt.label(i))] = (subset, i)
    for g in results["groups"]:
        subset, i = index[(g["attribute"], g["group"])]
        for m in metrics:
            lo, hi, _ = intervals[(subset, m)]["rate"]
            g[m]["bootstrap_ci"] = [_num(lo[i]), _num(hi[i])]
    for c in results["comparisons"]:
        subset, i = index[(c["attribute"], c["group"])]
        entry = intervals.get((subset, c["metric"]))
        if entry and ("ratio", c["varies"]) in entry:
            ratio, diff = entry[("ratio", c["varies"])], entry[("difference", c["varies"])]
            c["ratio_bootstrap_ci"] = [_num(ratio[0][i]), _num(ratio[1][i])]
            c["difference_bootstrap_ci"] = [_num(diff[0][i]), _num(diff[1][i])]
    results["bootstrap"] = {"replicates": spec.bootstrap, "seed": spec.seed, "interval": "percentile",
                            "method": "multinomial resampling of the count table (equivalent to a row bootstrap)"}


def _num(x: float) -> float | None:
    import math

    return float(x) if math.isfinite(x) else None
