"""`assess --engine duckdb|dask`: batch scoring gives the pandas engine's results, sample included.

The data is scored batch by batch (batches smaller than the file, across
several Parquet row groups), the scores are counted by the engine, and the
explanations run on a seeded sample; the results JSON must equal the in-memory
path's apart from the ``engine`` field, on CSV and Parquet.  Dask runs with
local threads, and once on a two-worker local cluster started here and given
by its address, as ``--scheduler`` does.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import assert_user_error, local_cluster, run_cli
from sklearn.linear_model import LogisticRegression

from auditkit import EngineError, Filter, InputDataError, UsageError
from auditkit._assess_batches import _Sample
from auditkit.assess import EXPLAIN_SAMPLE, SCORE_COLUMN, AssessOptions, assess, sample_positions
from auditkit.cli import main
from auditkit.engines import iter_batches

pytest.importorskip("duckdb")
pytest.importorskip("distributed")

N = 2400
FEATURES = ["is_dutch", "language_other", "income", "months"]


@pytest.fixture(scope="module")
def case() -> Iterator[dict[str, Path]]:
    """A model on four inputs and the same rows as CSV and as Parquet in row groups of 500."""
    rng = np.random.default_rng(7)
    nationality = rng.choice(["NL", "EU", "other", "", "NA"], N, p=[0.6, 0.15, 0.17, 0.04, 0.04])
    X = pd.DataFrame({
        "is_dutch": (nationality == "NL").astype(int),
        "language_other": (rng.random(N) < np.where(nationality == "NL", 0.1, 0.7)).astype(int),
        "income": rng.normal(0, 1, N).round(3),
        "months": rng.integers(0, 120, N),
    })
    logit = -2 - 1.0 * X.is_dutch + 1.2 * X.language_other - 0.5 * X.income
    y = (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    model = LogisticRegression().fit(X, y)
    data = X.assign(nationality=nationality, gender=rng.choice(["F", "M"], N),
                    region=rng.choice(["north", "south", "east"], N),
                    fraud=np.where(rng.random(N) < 0.5, "", np.where(rng.random(N) < 0.2, "Ja", "Nee")))
    with tempfile.TemporaryDirectory(prefix="auditkit-assess-engines-") as name:
        root = Path(name)
        joblib.dump(model, root / "model.joblib")
        data.to_csv(root / "applicants.csv", index=False)
        data.to_parquet(root / "applicants.parquet", index=False, row_group_size=500)
        yield {"model": root / "model.joblib", "csv": root / "applicants.csv",
               "parquet": root / "applicants.parquet", "root": root}


SPEC = dict(protected=("nationality", "gender"), top=10, truth="fraud", truth_positive=("Ja",),
            missing_values=("NA",), filters=(Filter("region", ("east",), keep=False),))
OPTIONS = AssessOptions(batch_size=300, explain_sample=700, shap_sample=150, flip=("language_other",))


def _results(case: dict[str, Path], kind: str, engine: str, options: AssessOptions = OPTIONS,
             scheduler: str | None = None, **fields: object) -> dict:
    result = assess(case["model"], case[kind], options=options, engine=engine, scheduler=scheduler,
                    **(fields or SPEC))
    results = json.loads(json.dumps(result.results, default=str))
    assert results.pop("engine") == engine
    return results


_REFERENCE: dict = {}


def _reference(case: dict[str, Path], kind: str) -> dict:
    if kind not in _REFERENCE:
        _REFERENCE[kind] = _results(case, kind, "pandas")
    return _REFERENCE[kind]


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_batch_scoring_gives_the_pandas_results(case, kind, engine):
    """Scored in batches of 300 and counted by the engine: the whole results JSON equals the pandas path's."""
    assert _results(case, kind, engine) == _reference(case, kind)


def test_the_case_exercises_what_it_claims(case):
    """The reference has a filter, a missing group, a top-k cut-off and a sample smaller than the population."""
    ref = _reference(case, "parquet")
    assert [s["step"].split()[0] for s in ref["population"]["filters"]] == ["removed"]
    assert any(g["group"] == "(missing)" for g in ref["groups"])
    sample = ref["explanations"]["sample"]
    assert sample["rows"] == 700 < sample["of"] == ref["explanations"]["population_rows"]
    assert sample["seed"] == 0 and "Explanations ran on a seeded random sample" in ref["scoring"]["notes"][-1]
    assert ref["explanations"]["flips"] and ref["explanations"]["shap"]["overall"]
    assert ref["scoring"]["rows_scored"] == N and pq.ParquetFile(case["parquet"]).num_row_groups == 5


def test_dask_on_a_cluster_gives_the_same_results(case):
    """With a scheduler address the cluster reads the partitions; the results are the same."""
    cluster = local_cluster()
    try:
        got = _results(case, "parquet", "dask", scheduler=cluster.scheduler_address)
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ResourceWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            cluster.close()
    assert got == _reference(case, "parquet")


def test_without_a_sample_size_small_data_is_explained_whole(case):
    """explain_sample=None: every row in memory, EXPLAIN_SAMPLE rows in batches; below it both explain all."""
    options = AssessOptions(batch_size=1000, shap_sample=100)
    ref = _results(case, "csv", "pandas", options, protected=("gender",), threshold=0.3)
    got = _results(case, "csv", "duckdb", options, protected=("gender",), threshold=0.3)
    assert got == ref and "sample" not in got["explanations"] and N < EXPLAIN_SAMPLE


def test_model_decision_in_batches(case):
    """--model-decision (the rule known only once the model has scored) works in batches too."""
    options = AssessOptions(batch_size=500, explain=False, model_decision=True)
    fields = dict(protected=("nationality",))
    assert _results(case, "parquet", "duckdb", options, **fields) == _results(case, "parquet", "pandas", options,
                                                                              **fields)


@pytest.mark.parametrize("batch", [1, 7, 250, 5000])
def test_the_sample_does_not_depend_on_the_batches(batch):
    """Bottom-k over seeded keys: the rows kept in batches are sample_positions' rows, in file order."""
    import pyarrow as pa

    rows = np.arange(3000)
    keep = (rows % 3) != 0  # a filter: the sample is drawn from the audited rows only
    sample = _Sample(100, seed=5)
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        sample.add(pa.table({"row": part}), keep[start:start + batch])
    expected = np.flatnonzero(keep)[sample_positions(int(keep.sum()), 100, seed=5)]
    assert sample.frame()["row"].tolist() == expected.tolist()
    assert sample.seen == keep.sum()
    assert sample_positions(50, 100, seed=5).tolist() == list(range(50))
    assert sample_positions(3000, 100, 1).tolist() != sample_positions(3000, 100, 2).tolist()


def test_a_missing_model_input_gives_the_pandas_message(case, tmp_path):
    """A column the model needs is missing: the same message from every engine, before any row is scored."""
    path = tmp_path / "short.parquet"
    pd.read_parquet(case["parquet"]).drop(columns=["months"]).rename(columns={"income": "Income "}).to_parquet(path)
    messages = set()
    for engine in ("pandas", "duckdb", "dask"):
        with pytest.raises(InputDataError) as err:
            assess(case["model"], path, options=OPTIONS, engine=engine, **SPEC)
        messages.add(str(err.value))
    (message,) = messages
    assert "needs 1 input column(s) the data does not have: 'months'" in message


def test_a_score_column_in_the_data_is_refused(case, tmp_path):
    """The data may not already hold the score column, whatever the engine."""
    path = tmp_path / "scored.parquet"
    pd.read_parquet(case["parquet"]).assign(**{SCORE_COLUMN: 0.5}).to_parquet(path)
    with pytest.raises(InputDataError, match="already has a column named"):
        assess(case["model"], path, options=OPTIONS, engine="duckdb", **SPEC)


def test_bad_engine_options_are_usage_errors(case):
    """--scheduler without --engine dask, and an unknown engine, stop before the model is opened."""
    result = run_cli("assess", case["model"], "--data", case["parquet"], "--protected", "gender", "--top", "10",
                     "--engine", "duckdb", "--scheduler", "tcp://127.0.0.1:1")
    assert_user_error(result, 2, "--scheduler tcp://127.0.0.1:1", "needs --engine dask")
    with pytest.raises(UsageError, match="Did you mean 'duckdb'"):
        assess(case["model"], case["parquet"], engine="duckbd", protected=("gender",), top=10)
    with pytest.raises(UsageError, match="'explain_sample' parameter of AssessOptions"):
        assess(case["model"], case["parquet"], options=AssessOptions(explain_sample=0), protected=("gender",), top=10)


@pytest.mark.parametrize(("engine", "module", "extra"), [("duckdb", "duckdb", "duckdb"),
                                                         ("dask", "dask.dataframe", "dask")])
def test_a_missing_engine_package_names_the_extra(case, monkeypatch, engine, module, extra):
    """Without the engine's package assess stops (exit 1) with the pip command of its extra."""
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(EngineError, match=rf"pip install 'auditkit\[{extra}\]'"):
        assess(case["model"], case["parquet"], engine=engine, protected=("gender",), top=10)
    result = run_cli("assess", case["model"], "--data", case["parquet"], "--protected", "gender", "--top", "10",
                     "--engine", engine)
    assert_user_error(result, 1, f"pip install 'auditkit[{extra}]'")


def test_cli_records_the_engine_and_the_sample_size(case, tmp_path):
    """The bundle's manifest says which engine ran and which sample size was used; verify re-runs it."""
    out = tmp_path / "bundle"
    args = ["assess", str(case["model"]), "--data", str(case["csv"]), "--protected", "nationality", "--top", "10",
            "--engine", "dask", "--shap-sample", "100", "--no-progress", "--out", str(out), "--quiet", "--no-report"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "manifest.json").read_text())["run"]
    assert run["engine"] == "dask" and run["assess_options"]["explain_sample"] == EXPLAIN_SAMPLE
    verified = CliRunner().invoke(main, ["verify", str(out), "--data", str(case["csv"]), "--model",
                                         str(case["model"])])
    assert verified.exit_code == 0, verified.output


# --- typed batches from CSV ----------------------------------------------------------------------


@pytest.fixture
def typed_csv(tmp_path: Path) -> Path:
    lines = ["n,x,flag,text,blank"] + [f"{i},{i / 4},{'true' if i % 2 else 'false'},{'' if i % 5 else 'a b'},"
                                        for i in range(1, 200)]
    lines[7] = "NA,,false, spaced ,"
    path = tmp_path / "typed.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
def test_csv_batches_have_the_in_memory_types(typed_csv, engine):
    """DuckDB and Dask read CSV text; the batches get the types, nulls and blanks of the in-memory reader
    (a column with no value at all stays text, where the in-memory reader makes it a column of nulls)."""
    expected = pd.concat(iter_batches(typed_csv, None, "pandas", batch_rows=50, progress=False), ignore_index=True)
    got = pd.concat(iter_batches(typed_csv, None, engine, batch_rows=50, progress=False), ignore_index=True)
    pd.testing.assert_frame_equal(got.drop(columns="blank"), expected.drop(columns="blank"))
    assert list(got.dtypes.astype(str))[:4] == ["float64", "float64", "bool", "str"]
    assert expected["text"].tolist()[:7] == ["", "", "", "", "a b", "", " spaced "]
    assert expected["blank"].isna().all() and (got["blank"] == "").all()


def test_a_value_beyond_the_inferred_type_names_the_column(typed_csv, monkeypatch):
    """Types come from the first 16 MiB; a later value that does not fit is an error naming column and value."""
    import auditkit.engines._batches as batches

    text = typed_csv.read_text().replace("\n199,", "\nseven,")
    typed_csv.write_text(text)
    monkeypatch.setattr(batches, "_INFER_BYTES", 64)
    with pytest.raises(InputDataError, match=r"column 'n' holds 'seven'.*--engine pandas"):
        list(iter_batches(typed_csv, ["n"], "duckdb", batch_rows=50, progress=False))
