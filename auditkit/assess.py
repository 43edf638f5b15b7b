"""`assess`: open a government model safely, score the data, measure and explain its disparities.

The measuring core is the same as :func:`auditkit.audit`: the model's scores
become one more column, the decision rule (threshold, top k%, or the model's
own prediction) turns them into decisions, and the count tables take over.
Explanations (SHAP by group, proxies, counterfactual flips, archetypes, bias
clusters) run on the audited population and state their samples and seeds.

With ``engine='duckdb'`` or ``'dask'`` the data is never held in memory: it is
scored in batches (:mod:`auditkit._assess_batches`) and the explanations run
on a seeded sample of the audited rows.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audit import AuditResult, audit
from .exceptions import InputDataError, UsageError
from .load.data import Source, read_columns
from .spec import AuditSpec

__all__ = ["EXPLAIN_SAMPLE", "SCORE_COLUMN", "AssessOptions", "assess"]

#: Name of the column holding the model's scores in the audited table.
SCORE_COLUMN = "auditkit_model_score"

#: Rows kept for the explanations when the data is scored in batches (engines 'duckdb' and 'dask')
#: and ``AssessOptions.explain_sample`` is not given.
EXPLAIN_SAMPLE = 100_000


@dataclass(frozen=True)
class AssessOptions:
    """How to open the model and which explanations to run.

    ``explain_sample`` caps the audited rows the explanations run on: a seeded random sample (the
    audit's ``seed``), the same rows whatever the engine.  None explains every row with the pandas
    engine and :data:`EXPLAIN_SAMPLE` rows with 'duckdb' and 'dask'.  ``batch_size`` is the number of
    rows scored at a time.  ``model_limits`` bounds the worker process the model runs in.
    """

    trust_model: bool = False
    model_decision: bool = False
    explain: bool = True
    shap_sample: int = 2000
    flip: tuple[str, ...] = ()
    #: Flip-test every input that is a protected attribute or recodes one (``--no-flip`` sets it False).
    auto_flip: bool = True
    constraints: str | None = None
    archetypes: str | None = None
    clusters: bool = False
    progress: bool = False
    batch_size: int = 50_000
    explain_sample: int | None = None
    #: For a published specification given as a CSV of weights: 'logistic' or 'identity'.
    link: str | None = None
    #: The model's inputs in its order, for a model that records no input names (``--features``).
    features: tuple[str, ...] | None = None
    #: Limits of the worker process the model runs in (:class:`~auditkit.load._limits.ModelLimits`);
    #: None: the defaults.  Not used with ``trust_model`` (the model then runs in this process).
    model_limits: Any = None
    #: A second model scored on the same rows with the same rule (``--compare-model``;
    #: :mod:`auditkit._assess_compare`), and the ``link`` of a CSV of weights given as that model.
    compare_model: str | None = None
    compare_link: str | None = None


@dataclass(frozen=True)
class Scored:
    """The audit of the model's scores and the rows its explanations run on (in file order)."""

    result: AuditResult
    spec: AuditSpec
    method: str
    features: list[str]
    notes: list[str]
    rows_scored: int
    population_rows: int
    #: Model inputs, every column read, and scores of the explained rows.
    X: Any
    frame: Any
    scores: np.ndarray
    sampled: bool
    #: (frame, scores, audited row positions) of every row, kept for ``compare_model``.
    whole: Any = None
    #: The rows score behaviour is measured on (:mod:`auditkit._assess_outcomes`); None without --truth.
    outcomes: Any = None


def _frame(data: Source, encoding: str | None, delimiter: str | None, sheet: str | None = None,
           header_row: int | None = None) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise InputDataError(f"The data must be a file path or a pandas DataFrame; got {type(data).__name__}.")
    src = read_columns(data, None, encoding=encoding, delimiter=delimiter, infer_types=True, sheet=sheet,
                       header_row=header_row)
    return src.table.to_pandas()


def _decision_spec(fields: dict[str, Any], method: str, options: AssessOptions,
                   cutoff: float | None = None) -> AuditSpec:
    """The audit spec with the model's scores as the score column and the decision rule checked."""
    given = [k for k in ("decision", "count_column", "cell_column", "cells") if fields.get(k)]
    if given or fields.get("score") not in (None, SCORE_COLUMN):
        raise UsageError("auditkit assess decides from the model's scores: drop --decision, --score and count-table "
                         "options, and give --threshold T, --top PCT, --top-n N or --model-decision.")
    rules = [r for r in ("threshold", "top", "top_n") if fields.get(r) is not None]
    if options.model_decision:
        if rules:
            raise UsageError("--model-decision uses the model's own prediction; drop --threshold/--top/--top-n.")
        # predict() of a binary classifier selects where P(selected) > 0.5 (or the decision function > 0);
        # the next float above the bar reproduces the strict inequality with auditkit's score >= T rule.
        if cutoff is not None:  # a published scorecard flags a case whose points reach its cut-off
            return AuditSpec(**{**fields, "score": SCORE_COLUMN, "threshold": float(cutoff)})
        bar = 0.0 if method.startswith("decision_function") else 0.5
        return AuditSpec(**{**fields, "score": SCORE_COLUMN, "threshold": float(np.nextafter(bar, 1))})
    if len(rules) != 1:
        raise UsageError("Say how scores become decisions: --threshold T (score >= T), --top PCT, --top-n N, "
                         "or --model-decision (the model's own prediction).")
    return AuditSpec(**{**fields, "score": SCORE_COLUMN})


def spec_cutoff(loaded: Any) -> float | None:
    """The cut-off of a published scorecard (its own decision rule), else None."""
    spec = getattr(loaded.estimator, "auditkit_spec_", None)
    return spec.cutoff if spec is not None and spec.kind == "scorecard" else None


def spec_notes(loaded: Any) -> list[str]:
    """What scoring showed about a published specification: unlisted reference levels, unused levels."""
    steps = getattr(loaded.estimator, "steps", None)
    if getattr(loaded.estimator, "auditkit_spec_", None) is None or not steps:
        return []
    return list(loaded.notes) + steps[0][1].unseen_levels()


def _check_options(options: AssessOptions) -> None:
    for name in ("batch_size", "explain_sample"):
        value = getattr(options, name)
        if value is None and name == "explain_sample":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"The {name!r} parameter of AssessOptions must be a positive whole number; got "
                             f"{value!r} instead.")


def assess(model: str | os.PathLike, data: Source, spec: AuditSpec | None = None,
           options: AssessOptions | None = None, *, engine: str = "pandas", scheduler: str | None = None,
           **fields: Any) -> AuditResult:
    """Score ``data`` with ``model``, measure disparities, and explain them.

    Give the audit's fields as keywords (``protected=("nationality",), top=10``)
    or an :class:`AuditSpec` whose ``score`` is :data:`SCORE_COLUMN`.  The
    protected attributes need not be model inputs.  The model file is opened
    only after a whole-file import scan (pickle, joblib) unless
    ``options.trust_model`` is set.

    ``engine`` is as in :func:`auditkit.audit`: with ``'duckdb'`` or ``'dask'``
    (and a file path) the data is read and scored in batches of
    ``options.batch_size`` rows, never whole; the scores and the audit's
    columns go to a temporary Parquet file that the engine counts (so top-k
    ranks every row), and the explanations run on a seeded sample of at most
    ``options.explain_sample`` audited rows.  The results are those of the
    pandas engine given the same ``explain_sample``.
    """
    from .engines import check_engine, require_engine
    from .load.model import load_model

    options = options or AssessOptions()
    check_engine(engine, scheduler)
    if spec is not None:
        if fields:
            raise TypeError("Give either an AuditSpec or keyword fields, not both.")
        fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    _decision_spec(fields, "", options)  # check the options before the (slow) model loading and scoring
    _check_options(options)
    if options.compare_model is not None or options.compare_link is not None:
        from ._assess_compare import check_compare

        check_compare(options, engine)
    path = data if engine != "pandas" and isinstance(data, (str, os.PathLike)) else None
    if path is not None:
        require_engine(engine, scheduler)
    loaded = load_model(model, trust=options.trust_model, link=options.link, limits=options.model_limits)
    try:
        if path is not None:
            from ._assess_batches import score_in_batches

            scored = score_in_batches(loaded, path, fields, options, engine, scheduler)
        else:
            scored = _score_in_memory(loaded, data, fields, options, engine, scheduler)
        result = _finish(loaded, data, scored, options)
        if options.compare_model is not None:
            from ._assess_compare import add_model_comparison

            add_model_comparison(result.results, scored, fields, options)
        return result
    finally:
        if hasattr(loaded.estimator, "close") and getattr(type(loaded.estimator), "remote", False):
            loaded.estimator.close()


def _score_in_memory(loaded: Any, data: Source, fields: dict[str, Any], options: AssessOptions, engine: str,
                     scheduler: str | None) -> Scored:
    from .load._features import name_inputs
    from .load.model import align_features, model_predict

    frame = _frame(data, fields.get("encoding"), fields.get("delimiter"), fields.get("sheet"), fields.get("header_row"))
    if SCORE_COLUMN in frame.columns:
        raise InputDataError(f"The data already has a column named {SCORE_COLUMN!r}; rename it.")
    loaded, input_notes = name_inputs(loaded, list(frame.columns), fields, options.features)
    features, align_notes = align_features(loaded, frame)
    align_notes = input_notes + list(align_notes)
    scores, method = model_predict(loaded, features, batch_size=options.batch_size, progress=options.progress)
    scored = frame.assign(**{SCORE_COLUMN: scores})
    run_spec = _decision_spec(fields, method, options, spec_cutoff(loaded))
    result = audit(scored, run_spec, engine=engine, scheduler=scheduler)
    rows = audited = np.flatnonzero(_population_mask(frame, run_spec))
    population = len(rows)
    if options.explain_sample is not None and population > options.explain_sample:
        rows = rows[sample_positions(population, options.explain_sample, run_spec.seed)]
    outcomes = None
    if run_spec.truth:
        from ._assess_outcomes import outcome_rows

        outcomes = outcome_rows(frame.iloc[audited], scores[audited], run_spec.truth, run_spec.seed)
    return Scored(result, run_spec, method, list(features.columns), list(align_notes), int(len(scores)), population,
                  features.iloc[rows].reset_index(drop=True), frame.iloc[rows].reset_index(drop=True), scores[rows],
                  len(rows) < population, (frame, scores, audited) if options.compare_model else None,
                  outcomes)


def _finish(loaded: Any, data: Source, scored: Scored, options: AssessOptions) -> AuditResult:
    """The results document: the audit, the scoring record, the explanations and the model card."""
    run_spec = scored.spec
    results = scored.result.results
    if isinstance(data, (str, os.PathLike)):
        results["input"].update(source=os.path.basename(str(data)), kind=_kind(data))
        results["population"]["source"] = results["input"]["source"]
    results["input"]["model"] = _model_record(loaded, scored.method, scored.features)
    notes = list(scored.notes) + spec_notes(loaded)
    if scored.sampled and options.explain:
        notes.append(f"Explanations ran on a seeded random sample of {len(scored.X):,} of the "
                     f"{scored.population_rows:,} audited rows (seed {run_spec.seed}); the disparities were measured "
                     "on every row.")
    results["scoring"] = {"rows_scored": scored.rows_scored, "method": scored.method, "notes": notes,
                          "decision": "model prediction" if options.model_decision else "rule on scores"}
    predict = _predictor(loaded)
    decide = _decider(results["population"]["decision_rule"])
    explanations: dict[str, Any] = {}
    if options.explain:
        explanations = _explain(loaded, scored.X, scored.frame, scored.scores, predict, decide, run_spec, options)
        explanations["population_rows"] = scored.population_rows
        if scored.sampled:
            explanations["sample"] = {"rows": int(len(scored.X)), "of": scored.population_rows,
                                      "seed": run_spec.seed, "method": SAMPLE_METHOD}
    from .load._model_card import model_card

    strong = sorted({p["feature"] for p in explanations.get("proxies", []) if p.get("strong")})
    from ._assess_direct import mark_card

    results["model_card"] = mark_card(model_card(loaded, protected=run_spec.protected, proxies=strong),
                                      explanations.get("direct_use"))
    results["explanations"] = explanations
    if run_spec.truth and scored.outcomes is not None:
        from ._assess_outcomes import sample_record
        from ._assess_scores import score_behaviour_record

        o = scored.outcomes
        results["score_behaviour"] = score_behaviour_record(o.frame, _groups(o.frame, run_spec), o.scores, results,
                                                            run_spec, scored.method, sample_record(o, run_spec.seed))
    return AuditResult(scored.result.counts, results)


#: How the explained rows are drawn, as the results state it.
SAMPLE_METHOD = ("uniform without replacement: each audited row gets a SplitMix64 key from its position among the "
                 "audited rows and the seed; the rows with the smallest keys are kept, in file order (the same rows "
                 "for every engine and batch size)")

_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _splitmix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele, Lea and Flood 2014) on uint64 values, wrapping."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def sample_keys(seed: int, positions: np.ndarray) -> np.ndarray:
    """One pseudo-random 64-bit key per position among the audited rows, fixed by ``seed``.

    >>> sample_keys(0, np.arange(3)).dtype
    dtype('uint64')
    """
    mixed = int(_splitmix(np.array([seed & _MASK], dtype=np.uint64))[0])
    with np.errstate(over="ignore"):
        return _splitmix(np.asarray(positions, dtype=np.uint64) + np.uint64(mixed))


def smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest keys (a tie goes to the lower index), in index order."""
    if len(keys) <= k:
        return np.arange(len(keys))
    return np.sort(np.lexsort((np.arange(len(keys)), keys))[:k])


def sample_positions(n: int, k: int, seed: int) -> np.ndarray:
    """Positions (in order) of the seeded sample of ``k`` of ``n`` audited rows.

    >>> sample_positions(10, 3, seed=0).tolist() == sample_positions(10, 3, seed=0).tolist()
    True
    """
    return smallest(sample_keys(seed, np.arange(n)), k)


def _kind(path: str | os.PathLike) -> str:
    from .engines import input_kind

    return input_kind(path)


def _model_record(loaded: Any, method: str, features: list[str]) -> dict:
    scan = loaded.scan
    return {"file": os.path.basename(str(loaded.path)), "format": loaded.format, "sha256": loaded.sha256,
            "trusted": loaded.trusted, "needs": dict(loaded.needs), "scoring_method": method,
            "features": features, "notes": list(loaded.notes),
            "imports": [dataclasses.asdict(i) for i in scan.imports] if scan is not None else []}


def _population_mask(frame: Any, spec: AuditSpec) -> np.ndarray:
    """Rows the audit's filters keep, found by the audit's own filter code, so that the
    explanations cover exactly the audited population."""
    mask = np.ones(len(frame), dtype=bool)
    if spec.filters:
        from .load.rows import _apply_filters

        src = read_columns(frame, [f.column for f in spec.filters])
        kept = _apply_filters(src, spec, [])
        mask[:] = False
        mask[np.asarray(kept.row_numbers, dtype=np.int64)] = True  # DataFrame rows are numbered from 0
    return mask


def _predictor(loaded: Any) -> Callable[[Any], np.ndarray]:
    from .load.model import model_predict

    return lambda X: model_predict(loaded, X)[0]


def _decider(rule: dict) -> Callable[[np.ndarray], np.ndarray]:
    """A fixed bar for counterfactual rows: the threshold, or the observed top-k cut-off score."""
    bar = rule.get("threshold", rule.get("cutoff_score"))
    if bar is None:
        return lambda s: np.zeros(len(s), dtype=np.int8)
    return lambda s: (np.asarray(s) >= bar).astype(np.int8)


def _groups(frame: Any, spec: AuditSpec) -> Any:
    from .measure._counts import MISSING

    groups = frame[list(spec.protected)].astype("string").apply(lambda c: c.str.strip())
    return groups.mask(groups.isna() | (groups == ""), MISSING).astype(str)


def _remote_explainer(loaded: Any) -> Callable | None:
    """SHAP in the model worker, for a model that runs there (None: explain it here)."""
    remote = loaded.estimator
    if not getattr(type(remote), "remote", False):
        return None
    from .explain._shap_explainers import Explanation
    from .exceptions import UnsafeModelError

    def run(X: Any, rows: np.ndarray, bg: np.ndarray, seed: int) -> tuple[Any, list[str], Any]:
        r = remote.explain(X, rows, bg, seed)
        texts = [r.get(k) for k in ("explainer", "scale", "perturbation")]
        notes, check, base, background = r.get("notes"), r.get("check"), r.get("base"), r.get("background_rows")
        if not (all(isinstance(t, str) for t in texts) and isinstance(notes, list)
                and all(isinstance(n, str) for n in notes) and isinstance(base, (int, float))
                and (background is None or type(background) is int) and (check is None or isinstance(check, dict))):
            raise UnsafeModelError(f"Refused {os.path.basename(str(loaded.path))!r}: the model worker sent a "
                                   "malformed SHAP explanation.")
        ex = Explanation(texts[0], texts[1], r["values"], float(base), r["output"], background, texts[2], notes)
        return ex, r["features"], check

    return run


def _explain(loaded: Any, X: Any, frame: Any, scores: np.ndarray, predict: Callable, decide: Callable,
             spec: AuditSpec, options: AssessOptions) -> dict:
    from .explain.flips import flip_test, load_constraints
    from .explain.proxies import proxy_scan
    from .explain.shap_groups import shap_by_group

    groups = _groups(frame, spec)
    out: dict[str, Any] = {
        "population_rows": int(len(X)),  # the audited rows; the caller corrects it for a sample
        "shap": shap_by_group(loaded.estimator, X, groups, predict=predict, reference_groups=dict(spec.references),
                              sample=options.shap_sample, seed=spec.seed, explainer=_remote_explainer(loaded)),
        "proxies": proxy_scan(X, groups, seed=spec.seed),
    }
    from ._assess_direct import direct_use_flips

    for extra in options.flip:
        if extra not in X.columns:
            from ._text import did_you_mean

            raise InputDataError(f"--flip {extra!r} is not a model input.{did_you_mean(extra, X.columns)}")
    constraints = load_constraints(options.constraints) if options.constraints else None
    out["flips"], out["direct_use"] = direct_use_flips(X, frame, spec, predict, decide, constraints,
                                                       enabled=options.auto_flip)
    covered = {c for f in out["flips"] for c in f["inputs"]}
    for extra in dict.fromkeys(options.flip):
        if extra not in covered:  # an input already tested as direct use of an attribute is not tested twice
            out["flips"].append(flip_test(predict, decide, X, extra, constraints=constraints, level=spec.level,
                                          seed=spec.seed))
    if options.archetypes:
        from .explain.archetypes import archetype_defaults, load_archetypes, score_archetypes

        out["archetypes"] = score_archetypes(load_archetypes(options.archetypes), predict, list(X.columns),
                                             decide=decide, defaults=archetype_defaults(X), reference_scores=scores)
    if options.clusters:
        from .explain.clusters import bias_clusters

        out["clusters"] = bias_clusters(X, decide(scores).astype(float), seed=spec.seed)
    return out
