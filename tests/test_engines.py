"""The engine contract: pandas, DuckDB and Dask give identical count tables, populations and results.

One suite runs every engine on the same files (CSV, one Parquet file, a folder
of Parquet files split across row groups) and requires, for each audit, the
same CountTable (dims, level order, low/high), the same Population record and
the same results JSON apart from the ``engine`` field; and the same message for
each mistake in the data.  The pandas path (``rows_to_counts``) is the
reference.  Dask runs on a two-worker local cluster started here.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditkit import AuditSpec, Filter, InputDataError, UsageError
from auditkit.audit import measure
from auditkit.engines import ENGINES, count_rows, input_kind, iter_batches
from conftest import local_cluster

pytest.importorskip("duckdb")
pytest.importorskip("distributed")

N = 3000


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Address of a local Dask cluster: 2 in-process workers, 1 thread each, no dashboard."""
    # distributed warns on shutdown when a comm or worker is closed while the scheduler still talks
    # to it, and on startup about the dashboard; neither says anything about the counts. Only those
    # warnings are silenced, and only while the cluster starts and stops.
    cluster = local_cluster()
    yield cluster.scheduler_address
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ResourceWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        cluster.close()


def _frame() -> pd.DataFrame:
    """Decisions with every trap: blank, whitespace-only and declared-missing group values, a value that
    differs only by a space, an empty intersection, ties among scores, blank scores, a blank decision,
    unknown outcomes, and stage, method, stratum and filter columns."""
    rng = np.random.default_rng(20261129)
    nationality = rng.choice(["NL", "EU", "EU ", "TR", "MA", "", "  ", "NA"], N,
                             p=[0.4, 0.15, 0.05, 0.12, 0.12, 0.06, 0.04, 0.06])
    gender = rng.choice(["F", "M"], N)
    gender[(nationality == "TR") & (rng.random(N) < 0.2)] = "X"  # X occurs with TR only: empty intersections
    score = np.round(rng.random(N), 2)  # 101 values over 3,000 rows: many ties at any cut-off
    gappy = np.where(rng.random(N) < 0.02, np.nan, score)
    flag = (score + rng.normal(0, 0.2, N) > 0.75).astype(int)
    outcome = (rng.random(N) < 0.3 + 0.3 * flag).astype(int)
    frame = pd.DataFrame({
        "nationality": nationality, "gender": gender,
        "region": rng.choice(["north", "south", "east"], N),
        "stage": rng.choice(["1 risk", "2 selected", "3 visit"], N),
        "method": rng.choice(["model", "random"], N, p=[0.8, 0.2]),
        "municipality": rng.choice(["Amsterdam", "Rotterdam", "Den Haag", "Utrecht"], N),
        "flag": flag, "flag_gappy": pd.array(np.where(rng.random(N) < 0.01, None, flag), dtype="Int64"),
        "score": score, "score_gappy": gappy,
        "score_comma": [f"{v:.2f}".replace(".", ",") for v in score],
        "outcome": pd.array(np.where(rng.random(N) < 0.03, None, outcome), dtype="Int64"),
        "outcome3": np.where(rng.random(N) < 0.05, "?", outcome.astype(str)),
    })
    return _periods(_people(frame, rng), rng)


def _periods(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Period columns: ISO dates with blanks, day-first dates, a datetime column (a timestamp in Parquet),
    year numbers, quarter labels in two spellings, model versions; and the traps: a value that is no
    date, and day-month-year dates that never show which part is the day."""
    day = np.datetime64("2014-01-01") + rng.integers(0, 6 * 365, N)
    text = day.astype(str)
    frame["date"] = np.where(rng.random(N) < 0.02, "", text)
    frame["dmy"] = [f"{d[8:10]}/{d[5:7]}/{d[:4]}" for d in text]
    frame["when"] = pd.to_datetime(day)
    frame["year"] = day.astype("datetime64[Y]").astype(int) + 1970
    quarter = (day.astype("datetime64[M]").astype(int) % 12) // 3 + 1
    frame["quarter"] = [f"{y}{'-' if i % 2 else ''}Q{q}" for i, (y, q) in enumerate(zip(frame["year"], quarter))]
    frame["version"] = rng.choice(["v1", "v2", "v10"], N)
    frame["date_typo"] = np.where(np.arange(N) == 2222, "soon", text)
    frame["date_unclear"] = [f"0{1 + i % 9}-0{1 + (i * 7) % 9}-2019" for i in range(N)]
    return frame


def _people(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Person ids for multi-stage audits: rows i and i + N/2 (in different files and partitions) are one
    person when their stages differ, of one household; repeated at one stage, blank, or of two nationalities
    in the columns that must be refused."""
    half = N // 2
    pair = np.arange(N) % half
    stage = frame["stage"].to_numpy()
    same = np.tile(stage[:half] == stage[half:], 2)
    frame["person"] = np.where(same, [f"U{i:05d}" for i in range(N)], [f"P{p:05d}" for p in pair])
    frame["household"] = rng.choice(["A", "B", "C"], half, p=[0.6, 0.3, 0.1])[pair]
    frame["person_dup"] = [f"D{p:05d}" for p in pair]
    frame["person_blank"] = np.where(rng.random(N) < 0.01, " ", frame["person"])
    return frame


@pytest.fixture(scope="module")
def sources() -> Iterator[dict[str, Path]]:
    """The same rows as CSV, one Parquet file (typed columns) and a folder of three Parquet files."""
    # A folder of its own: pytest prunes old tmp_path folders when other sessions start on the machine.
    with tempfile.TemporaryDirectory(prefix="auditkit-engines-") as name:
        yield _write(Path(name))


def _write(root: Path) -> dict[str, Path]:
    frame = _frame()
    frame.to_csv(root / "decisions.csv", index=False)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, root / "decisions.parquet", row_group_size=700)
    folder = root / "exports"
    folder.mkdir()
    for i, start in enumerate(range(0, N, 1100)):
        pq.write_table(table.slice(start, 1100), folder / f"part-{i}.parquet", row_group_size=500)
    return {"csv": root / "decisions.csv", "parquet": root / "decisions.parquet", "folder": folder}


SPECS = {
    "decision, outcome, missing values, strata": AuditSpec(
        protected=("nationality", "gender"), decision="flag", truth="outcome", strata=("region",),
        missing_values=("NA",), test="chi2"),
    "stage column in stage order": AuditSpec(
        protected=("nationality",), decision="flag", stage="stage", stage_order=("1 risk", "2 selected", "3 visit")),
    "selection method": AuditSpec(
        protected=("gender",), decision="flag", truth="outcome", selection_method="method", random=("random",)),
    "filters and a dropped blank decision": AuditSpec(
        protected=("nationality",), decision="flag_gappy", drop_missing=True, truth="outcome3", truth_positive=("1",),
        truth_negative=("0",), filters=(Filter("region", ("north", "south")), Filter("municipality", ("Utrecht",),
                                                                                   keep=False))),
    "top 11% with ties": AuditSpec(protected=("nationality", "gender"), score="score", top=11, truth="outcome",
                                   test="chi2", bootstrap=20),
    "top-n with ties, blank scores dropped, filter": AuditSpec(
        protected=("gender",), score="score_gappy", top_n=333, drop_missing=True,
        filters=(Filter("municipality", ("Utrecht",), keep=False),)),
    "threshold": AuditSpec(protected=("nationality",), score="score", threshold=0.5, truth="outcome", test="chi2"),
    "decimal-comma scores": AuditSpec(protected=("gender",), score="score_comma", top=5),
    "people at several stages": AuditSpec(
        protected=("household",), decision="flag", truth="outcome", stage="stage",
        stage_order=("1 risk", "2 selected", "3 visit"), person="person"),
    "people, threshold, filter": AuditSpec(
        protected=("household",), score="score_gappy", threshold=0.5, drop_missing=True, stage="stage",
        person="person", filters=(Filter("municipality", ("Utrecht",), keep=False),)),
    "period: dates by quarter, blanks, strata": AuditSpec(
        protected=("nationality",), decision="flag", truth="outcome", strata=("region",), period="date",
        period_freq="quarter"),
    "period: day-first dates by month, top 11%": AuditSpec(
        protected=("gender",), score="score", top=11, period="dmy", period_freq="month"),
    "period: a datetime column by ISO week, filter": AuditSpec(
        protected=("gender",), decision="flag", period="when", period_freq="week",
        filters=(Filter("region", ("north", "south")),)),
    "period: years and quarter labels as they are": AuditSpec(
        protected=("gender", "nationality"), decision="flag", period="quarter", missing_values=("NA",)),
    "period: model versions in their order, threshold": AuditSpec(
        protected=("gender",), score="score", threshold=0.6, truth="outcome", period="version",
        period_order=("v1", "v2", "v10")),
}


def _run(engine: str, source: Path, spec: AuditSpec, scheduler: str) -> tuple:
    return count_rows(source, spec, engine, scheduler=scheduler if engine == "dask" else None)


def _results(table: object, population: object, spec: AuditSpec, source: Path, engine: str) -> str:
    result = measure(table, population, spec, input_kind=input_kind(source), engine=engine)  # type: ignore[arg-type]
    results = result.results
    assert results.pop("engine") == engine
    return json.dumps(results, sort_keys=False, default=str)


_REFERENCE: dict = {}


def _reference(source: Path, spec: AuditSpec) -> tuple:
    """The pandas path's table and population (cached: several tests compare with them)."""
    key = (str(source), repr(spec))
    if key not in _REFERENCE:
        _REFERENCE[key] = count_rows(source, spec, "pandas")
    return _REFERENCE[key]


#: Results JSON is compared on one kind of source per case, in turn (measuring costs far more than
#: counting, and the results are a function of the table and population, compared on every kind).
JSON_KIND = {case: ("csv", "parquet", "folder")[i % 3] for i, case in enumerate(SPECS)}


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
@pytest.mark.parametrize("kind", ["csv", "parquet", "folder"])
@pytest.mark.parametrize("case", list(SPECS))
def test_engine_gives_the_reference_counts_and_results(engine: str, kind: str, case: str,
                                                       sources: dict[str, Path], scheduler: str) -> None:
    """Same CountTable (levels in order, low/high), Population and results JSON as the pandas path."""
    spec, source = SPECS[case], sources[kind]
    ref_table, ref_population = _reference(source, spec)
    table, population = _run(engine, source, spec, scheduler)
    assert table.dims == ref_table.dims
    assert np.array_equal(table.low, ref_table.low) and np.array_equal(table.high, ref_table.high)
    assert table.notes == ref_table.notes
    assert population == ref_population
    if kind == JSON_KIND[case]:
        key = ("json", str(source), repr(spec))
        if key not in _REFERENCE:
            _REFERENCE[key] = _results(ref_table, ref_population, spec, source, "pandas")
        assert _results(table, population, spec, source, engine) == _REFERENCE[key]


def test_the_cases_exercise_what_they_claim(sources: dict[str, Path]) -> None:
    """The reference itself has ties split at the cut-off, missing groups, empty intersections, drops."""
    table, population = _reference(sources["csv"], SPECS["top 11% with ties"])
    rule = population.decision_rule
    assert 0 < rule["tied_selected"] < rule["tied_at_cutoff"]
    assert "(missing)" in table.dim("nationality").levels
    assert (table.low.sum(axis=(2, 3)) == 0).any()  # empty nationality x gender cells stay in the table
    _, population = _reference(sources["folder"], SPECS["top-n with ties, blank scores dropped, filter"])
    assert [s["step"].split()[0] for s in population.steps] == ["removed", "removed"]
    assert 0 < population.decision_rule["tied_selected"] < population.decision_rule["tied_at_cutoff"]
    table, _ = _reference(sources["csv"], SPECS["decision, outcome, missing values, strata"])
    assert any("differ only in spaces" in n for n in table.notes)


def test_the_period_cases_exercise_what_they_claim(sources: dict[str, Path]) -> None:
    """Periods in time order (not text order), blanks as '(missing)', two spellings of a quarter merged."""
    table, _ = _reference(sources["csv"], SPECS["period: dates by quarter, blanks, strata"])
    assert table.dim("date").role == "period"
    assert table.dim("date").levels == (*(f"{y}-Q{q}" for y in range(2014, 2020) for q in range(1, 5)), "(missing)")
    table, _ = _reference(sources["parquet"], SPECS["period: years and quarter labels as they are"])
    assert len(table.dim("quarter").levels) == 24 and table.dim("quarter").levels[:2] == ("2014-Q1", "2014-Q2")
    table, _ = _reference(sources["folder"], SPECS["period: model versions in their order, threshold"])
    assert table.dim("version").levels == ("v1", "v2", "v10")
    table, _ = _reference(sources["parquet"], SPECS["period: a datetime column by ISO week, filter"])
    assert table.dim("when").levels[0] == "2014-W01" and len(table.dim("when").levels) >= 6 * 52


def test_glob_equals_the_folder(sources: dict[str, Path], scheduler: str) -> None:
    """A glob over the folder's files counts what the folder counts (pandas reads only the folder)."""
    spec = SPECS["top 11% with ties"]
    ref_table, ref_population = _reference(sources["folder"], spec)
    for engine in ("duckdb", "dask"):
        table, population = _run(engine, sources["folder"] / "part-*.parquet", spec, scheduler)
        assert np.array_equal(table.low, ref_table.low)
        assert asdict(population) == {**asdict(ref_population), "source": "part-*.parquet"}


def test_duckdb_ranks_a_large_k_within_a_quantile_bound(sources: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """For a large k DuckDB sorts only the scores above an approximate quantile: same cut-off and ties."""
    import auditkit.engines._duckdb as duck

    monkeypatch.setattr(duck, "_TOP_N", 0)  # take the bounded path even for this small file
    spec = SPECS["top 11% with ties"]
    ref_table, ref_population = _reference(sources["folder"], spec)
    table, population = count_rows(sources["folder"], spec, "duckdb")
    assert np.array_equal(table.low, ref_table.low) and population == ref_population


def test_count_table_input_is_read_in_memory_by_every_engine(tmp_path: Path) -> None:
    """A published count table is small: every engine delegates it to the pandas path."""
    path = tmp_path / "published.csv"
    path.write_text("g,decision,n\na,selected,10\na,not selected,90\nb,selected,<5\nb,not selected,80\n")
    spec = AuditSpec(protected=("g",), decision="decision", positive=("selected",), count_column="n",
                     suppressed=("<5",))
    ref = count_rows(path, spec, "pandas")
    for engine in ("duckdb", "dask"):
        table, population = count_rows(path, spec, engine)
        assert np.array_equal(table.high, ref[0].high) and population == ref[1]


ERRORS = {
    "misspelt column": (AuditSpec(protected=("nationalty",), decision="flag"), "csv"),
    "positive value not found": (AuditSpec(protected=("gender",), decision="flag", positive=("maybe",)), "csv"),
    "outcome with three values": (AuditSpec(protected=("gender",), decision="flag", truth="outcome3"), "csv"),
    "blank scores without drop_missing": (AuditSpec(protected=("gender",), score="score_gappy", top=10), "folder"),
    "blank decision without drop_missing": (AuditSpec(protected=("gender",), decision="flag_gappy"), "parquet"),
    "scores that are text": (AuditSpec(protected=("gender",), score="nationality", threshold=0.5), "csv"),
    "unknown filter value": (AuditSpec(protected=("gender",), decision="flag",
                                       filters=(Filter("region", ("west",)),)), "parquet"),
    "every row filtered out": (AuditSpec(protected=("gender",), decision="flag", filters=(
        Filter("region", ("north",)), Filter("region", ("north",), keep=False))), "csv"),
    "top-n larger than the rows": (AuditSpec(protected=("gender",), score="score", top_n=N + 1), "folder"),
    "unknown stage in the order": (AuditSpec(protected=("gender",), decision="flag", stage="stage",
                                             stage_order=("1 risk", "visit")), "csv"),
    "a stage the order leaves out": (AuditSpec(protected=("gender",), decision="flag", stage="stage",
                                               stage_order=("1 risk", "3 visit")), "parquet"),
    "a person twice at one stage": (AuditSpec(protected=("household",), decision="flag", stage="stage",
                                              person="person_dup"), "folder"),
    "a person in two groups": (AuditSpec(protected=("nationality",), decision="flag", stage="stage",
                                         person="person"), "csv"),
    "rows without a person id": (AuditSpec(protected=("household",), decision="flag", stage="stage",
                                           person="person_blank"), "parquet"),
    "dates without --period-freq": (AuditSpec(protected=("gender",), decision="flag", period="date"), "csv"),
    "a period value that is no date": (AuditSpec(protected=("gender",), decision="flag", period="date_typo",
                                                 period_freq="year"), "folder"),
    "day-month-year dates never settled": (AuditSpec(protected=("gender",), decision="flag", period="date_unclear",
                                                     period_freq="month"), "parquet"),
    "a version the order leaves out": (AuditSpec(protected=("gender",), decision="flag", period="version",
                                                 period_order=("v1", "v2")), "csv"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_mistakes_give_the_reference_message(case: str, sources: dict[str, Path], scheduler: str) -> None:
    """Each engine raises the pandas path's InputDataError, word for word (row numbers included)."""
    spec, kind = ERRORS[case]
    with pytest.raises(InputDataError) as ref:
        count_rows(sources[kind], spec, "pandas")
    for engine in ("duckdb", "dask"):
        with pytest.raises(InputDataError) as got:
            _run(engine, sources[kind], spec, scheduler)
        assert str(got.value) == str(ref.value), engine


def test_unknown_engine_and_misplaced_scheduler_are_usage_errors(sources: dict[str, Path]) -> None:
    """--engine with a typo gets 'Did you mean'; --scheduler needs the dask engine."""
    spec = SPECS["threshold"]
    with pytest.raises(UsageError, match="Did you mean 'duckdb'"):
        count_rows(sources["csv"], spec, "duckbd")
    with pytest.raises(UsageError, match="needs --engine dask"):
        count_rows(sources["csv"], spec, "duckdb", scheduler="tcp://127.0.0.1:8786")
    assert ENGINES == ("pandas", "duckdb", "dask")


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_hold_every_row_once_in_file_order(engine: str, sources: dict[str, Path], scheduler: str) -> None:
    """iter_batches yields bounded batches whose concatenation is the file's column, in order."""
    expected = pq.read_table(sources["folder"], columns=["score", "gender"]).to_pandas()
    batches = list(iter_batches(sources["folder"], ["score", "Gender"], engine, batch_rows=400, progress=False,
                                scheduler=scheduler if engine == "dask" else None))
    assert all(len(b) <= 400 for b in batches) and len(batches) >= 6
    got = pd.concat(batches, ignore_index=True)
    assert list(got.columns) == ["score", "gender"]
    assert got["score"].astype(float).tolist() == expected["score"].tolist()
    assert got["gender"].astype(str).tolist() == expected["gender"].tolist()


@pytest.mark.parametrize("rows,bad,fields", [
    ("a,1\nb,0\na,1,EXTRA\nb,1\n", 4, 3),          # a stray delimiter: one field too many
    ("a,1\nb\na,1\n", 3, 1),                        # a field missing
    ("a,1\nb,0,x,y\na,1\n", 3, 4),                  # two too many
    ('a,1\n"b,c",0\na,1\nb,1,z\n', 5, 3),           # a quoted delimiter is a value; an unquoted one is not
])
@pytest.mark.parametrize("engine", ENGINES)
def test_rows_of_another_width_are_refused_by_every_engine(tmp_path: Path, engine: str, rows: str, bad: int,
                                                            fields: int) -> None:
    """A row with more or fewer fields than the header is refused, with the same message, by every engine
    (Dask's CSV reader would drop a row's extra fields, or fill a short row with blanks, and count it)."""
    path = tmp_path / "ragged.csv"
    path.write_text("g,d\n" + rows, encoding="utf-8")
    spec = AuditSpec(protected=("g",), decision="d", positive=("1",))
    with pytest.raises(InputDataError, match=rf"ragged\.csv: row {bad} .*has {fields} fields but the header has 2"):
        count_rows(path, spec, engine)


def test_a_trailing_empty_field_is_refused_in_memory_and_by_dask_and_ignored_by_duckdb(tmp_path: Path) -> None:
    """``b,1,`` under a two-column header: pyarrow (the in-memory reader, and Dask's check) refuses the row;
    DuckDB's reader drops trailing empty fields even in strict mode, so there the row counts with its
    values in place (g=b, d=1) -- the one way the engines differ on ragged rows (docs/large-data.md)."""
    path, plain = tmp_path / "ragged.csv", tmp_path / "plain.csv"
    path.write_text("g,d\na,1\nb,0\nb,1,\n", encoding="utf-8")
    plain.write_text("g,d\na,1\nb,0\nb,1\n", encoding="utf-8")
    spec = AuditSpec(protected=("g",), decision="d", positive=("1",))
    for engine in ("pandas", "dask"):
        with pytest.raises(InputDataError, match=r"row 4 .*has 3 fields but the header has 2"):
            count_rows(path, spec, engine)
    got, want = count_rows(path, spec, "duckdb")[0], count_rows(plain, spec, "duckdb")[0]
    assert np.array_equal(got.low, want.low) and got.dims == want.dims
