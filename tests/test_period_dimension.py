"""The period dimension: dates and period labels read as periods, ordered in time, on every input.

Readings are checked against a hand-made table and pandas' own calendar (``Timestamp.to_period``,
``isocalendar``); the audit's figures with a period against the same audit with the period bucketed
by pandas and given as a stratum.  Engine agreement is in tests/test_engines.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import auditkit
from auditkit import AuditSpec, InputDataError, UsageError
from auditkit.cli import main
from auditkit.engines import count_rows
from auditkit.load.periods import label, read_period

READINGS = {
    "2014": ("year", dt.date(2014, 1, 1)),
    "2019Q3": ("quarter", dt.date(2019, 7, 1)),
    "2019-Q4": ("quarter", dt.date(2019, 10, 1)),
    "q2 2020": ("quarter", dt.date(2020, 4, 1)),
    "2019-03": ("month", dt.date(2019, 3, 1)),
    "2019/11": ("month", dt.date(2019, 11, 1)),
    "2019-W09": ("week", dt.date(2019, 2, 25)),
    "2020W53": ("week", dt.date(2020, 12, 28)),
    "2019-03-01": ("day", dt.date(2019, 3, 1)),
    "2019/3/1": ("day", dt.date(2019, 3, 1)),
    "2019-03-01T23:59:59Z": ("day", dt.date(2019, 3, 1)),
    "2019-03-01 10:30:00.250000+01:00": ("day", dt.date(2019, 3, 1)),
    "13-02-2019": ("day", dt.date(2019, 2, 13)),
    "01.03.2019": ("day", dt.date(2019, 3, 1)),
}


@pytest.mark.parametrize(("text", "expected"), list(READINGS.items()))
def test_each_way_of_writing_a_period_is_read(text: str, expected: tuple) -> None:
    """Years, quarters, months, ISO weeks and dates (ISO, date-times, day first) each read as written."""
    assert read_period(text, day_first=True) == expected


@pytest.mark.parametrize("text", ["soon", "2019-13", "2019-02-30", "2019-W54", "2019Q5", "19-03", "", "2019-3-1-2"])
def test_what_is_no_period_is_not_read(text: str) -> None:
    """Impossible months, days and weeks, and other text, are no period."""
    assert read_period(text) is None


def test_labels_agree_with_pandas_calendar() -> None:
    """Every day of 2014-2021 gets pandas' year, quarter, month and ISO week."""
    for day in pd.date_range("2014-01-01", "2021-12-31", freq="D"):
        date = day.date()
        iso = day.isocalendar()
        assert label(date, "year") == str(day.to_period("Y"))
        assert label(date, "quarter") == str(day.to_period("Q")).replace("Q", "-Q")
        assert label(date, "month") == str(day.to_period("M"))
        assert label(date, "week") == f"{iso.year}-W{iso.week:02d}"
        assert label(date, "day") == str(day.to_period("D"))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Six years of decisions; group B is selected more often in 2016-2018 only."""
    rng = np.random.default_rng(16)
    n = 6000
    day = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    group = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    years = day.year.to_numpy()
    p = np.where((group == "B") & (years >= 2016) & (years <= 2018), 0.25, 0.1)
    return pd.DataFrame({"group": group, "flag": (rng.random(n) < p).astype(int),
                         "date": day.strftime("%Y-%m-%d"), "dmy": day.strftime("%d-%m-%Y"), "when": day,
                         "version": rng.choice(["v1", "v2", "v10"], n),
                         "quarter": [str(d.to_period("Q")) for d in day]})


def test_a_period_audit_pools_over_periods_and_counts_each_period(frame: pd.DataFrame) -> None:
    """--period date --period-freq quarter: the plain audit's groups and figures (pooled over the periods;
    only the multiple-testing family grows), and per quarter the counts pandas finds for that quarter."""
    spec = dict(protected=("group",), decision="flag", references={"group": "A"})
    period = auditkit.audit(frame, period="date", period_freq="quarter", **spec).results
    plain = auditkit.audit(frame, **spec).results
    assert period["groups"] == plain["groups"]
    drop = ("p_holm", "p_bh", "status")
    assert [{k: v for k, v in c.items() if k not in drop} for c in period["comparisons"]] == \
        [{k: v for k, v in c.items() if k not in drop} for c in plain["comparisons"]]
    quarter = frame["when"].dt.to_period("Q").astype(str).str.replace("Q", "-Q")
    expected = frame.groupby([quarter, "group"])["flag"].agg(["size", "sum"])
    per_period = period["periods"]["per_period"]
    assert [p["period"] for p in per_period] == sorted(quarter.unique())
    for p in per_period:
        for g in p["groups"]:
            assert (g["n"], g["selected"]) == tuple(int(v) for v in expected.loc[(p["period"], g["group"])])


def test_levels_follow_time_not_text(frame: pd.DataFrame, tmp_path: Path) -> None:
    """Months sort by date (2014-02 before 2014-10), day-first dates by their day, versions as ordered."""
    table, _ = count_rows(_csv(frame, tmp_path), AuditSpec(protected=("group",), decision="flag", period="dmy",
                                                 period_freq="month"), "pandas")
    months = table.dim("dmy").levels
    assert months == tuple(f"{y}-{m:02d}" for y in range(2014, 2020) for m in range(1, 13))[:len(months)]
    table, _ = count_rows(_csv(frame, tmp_path), AuditSpec(protected=("group",), decision="flag", period="version",
                                                 period_order=("v1", "v2", "v10")), "pandas")
    assert table.dim("version").levels == ("v1", "v2", "v10") and table.dim("version").role == "period"
    counted = table.low.sum(axis=(0, 3))  # version x decision
    for i, v in enumerate(("v1", "v2", "v10")):
        rows = frame[frame["version"] == v]
        assert counted[i].tolist() == [int((rows["flag"] == 0).sum()), int((rows["flag"] == 1).sum())]


def _csv(frame: pd.DataFrame, folder: Path, name: str = "decisions.csv") -> Path:
    frame.drop(columns=["when"]).to_csv(folder / name, index=False)
    return folder / name


def test_a_count_table_with_a_year_column(tmp_path: Path) -> None:
    """An agency's counts per year and group: the year is the period, in order, and the counts add up."""
    path = tmp_path / "published.csv"
    rows = ["year,group,decision,n"]
    counts = {}
    for year in (2019, 2014, 2016, 2015, 2017, 2018):
        for group, base in (("A", 500), ("B", 200)):
            selected = base // 10 + (year - 2010) * (3 if group == "B" else 1)
            counts[(year, group)] = selected
            rows += [f"{year},{group},selected,{selected}", f"{year},{group},not selected,{base - selected}"]
    path.write_text("\n".join(rows) + "\n")
    spec = AuditSpec(protected=("group",), decision="decision", positive=("selected",), count_column="n",
                     period="year", references={"group": "A"})
    table, _ = count_rows(path, spec, "pandas")
    assert table.dim("year").levels == ("2014", "2015", "2016", "2017", "2018", "2019")
    selected = table.low[..., 1, :].sum(axis=-1)  # group x year
    assert selected[1].tolist() == [counts[(y, "B")] for y in range(2014, 2020)]
    results = auditkit.audit(path, spec).results
    assert results["periods"]["levels"] == [str(y) for y in range(2014, 2020)]
    b = next(g for g in results["groups"] if g["group"] == "B")
    assert b["selected"] == sum(counts[(y, "B")] for y in range(2014, 2020))


def _run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_cli_period_options_and_their_mistakes(frame: pd.DataFrame, tmp_path: Path) -> None:
    """--period/--period-freq on audit; each mistake a clear message and the right exit code."""
    path = _csv(frame, tmp_path)
    out = tmp_path / "r.json"
    done = _run("audit", str(path), "--protected", "group", "--decision", "flag", "--period", "date",
                "--period-freq", "year", "--json", str(out), "--quiet")
    assert done.exit_code == 0, done.output
    results = json.loads(out.read_text())
    assert results["parameters"]["period"] == "date" and results["parameters"]["period_freq"] == "year"
    assert results["periods"]["levels"] == [str(y) for y in range(2014, 2020)]
    done = _run("audit", str(path), "--protected", "group", "--decision", "flag", "--period", "date")
    assert done.exit_code == 1 and "holds dates (e.g. '2014-01-01'); say which periods" in done.output
    done = _run("audit", str(path), "--protected", "group", "--decision", "flag", "--period-freq", "year")
    assert done.exit_code == 2 and "give --period COL too" in done.output
    done = _run("audit", str(path), "--protected", "group", "--decision", "flag", "--period", "date",
                "--period-freq", "decade")
    assert done.exit_code == 2
    done = _run("audit", str(path), "--protected", "group", "--decision", "flag", "--period", "quarter",
                "--period-freq", "month")
    assert done.exit_code == 1 and "cannot place '2014Q1' (a quarter) in one month" in done.output


def test_ambiguous_and_mixed_dates_are_refused(tmp_path: Path) -> None:
    """01-03-2019 with no part above 12 anywhere is refused; day first and month first together too."""
    base = "g,d,when\n" + "".join(f"{'AB'[i % 2]},{i % 3 == 0:d},{{}}\n" for i in range(40))
    unclear = tmp_path / "unclear.csv"
    unclear.write_text(base.format(*["01-03-2019", "02-03-2019"] * 20))
    with pytest.raises(InputDataError, match=r"writes dates as '01-03-2019' \(first at row 2, counting the header"):
        auditkit.audit(unclear, protected=("g",), decision="d", period="when", period_freq="month")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(base.format(*["13-03-2019", "03-13-2019"] * 20))
    with pytest.raises(InputDataError, match="both day first .* and month first"):
        auditkit.audit(mixed, protected=("g",), decision="d", period="when", period_freq="month")
    settled = tmp_path / "settled.csv"
    settled.write_text(base.format(*["01-03-2019", "13-03-2019"] * 20))
    table, _ = count_rows(settled, AuditSpec(protected=("g",), decision="d", period="when", period_freq="day"),
                          "pandas")
    assert table.dim("when").levels == ("2019-03-01", "2019-03-13")


def test_period_options_that_contradict_are_usage_errors() -> None:
    """--period-order and --period-freq exclude each other; a period column has one role."""
    with pytest.raises(UsageError, match="Give one"):
        AuditSpec(protected=("g",), decision="d", period="v", period_order=("a", "b"), period_freq="year")
    with pytest.raises(UsageError, match="named twice"):
        AuditSpec(protected=("g",), decision="d", period="g")
    with pytest.raises(UsageError, match="names 'a' twice"):
        AuditSpec(protected=("g",), decision="d", period="v", period_order=("a", "a"))


def test_years_mixed_with_months_need_a_freq(tmp_path: Path) -> None:
    """Labels of two kinds are not periods of one kind: --period-freq year puts both in years."""
    path = tmp_path / "mixed.csv"
    path.write_text("g,d,p\n" + "".join(f"{'AB'[i % 2]},{i % 3 == 0:d},{('2019', '2020-03')[i % 2]}\n"
                                        for i in range(40)))
    with pytest.raises(InputDataError, match="mixes months and years"):
        auditkit.audit(path, protected=("g",), decision="d", period="p")
    table, _ = count_rows(path, AuditSpec(protected=("g",), decision="d", period="p", period_freq="year"), "pandas")
    assert table.dim("p").levels == ("2019", "2020")


def test_a_template_sets_the_period(tmp_path: Path) -> None:
    """data.period {column, freq} in a template becomes --period/--period-freq; a column in two roles is named."""
    from auditkit.templates import check_template, load_template

    path = tmp_path / "yearly.yaml"
    path.write_text("auditkit_template: 1\nextends: welfare-fraud-risk\ndata:\n  period: {column: date, freq: year}\n")
    fields = load_template(str(path)).spec_fields()
    assert (fields["period"], fields["period_freq"]) == ("date", "year")
    twice = tmp_path / "twice.yaml"
    twice.write_text("auditkit_template: 1\nextends: welfare-fraud-risk\ndata:\n  strata: [date]\n"
                     "  period: {column: date, order: [a, b]}\n")
    assert any("already plays another role" in str(p) for p in check_template(str(twice)))


def test_a_count_table_per_model_version_and_stage(tmp_path: Path) -> None:
    """Counts per model version and process stage: the version is the period (in the order given), the
    stage its own dimension; each version's people at each stage add up."""
    path = tmp_path / "versions.csv"
    lines = ["version,stage,group,decision,n"]
    for v, version in enumerate(("v2", "v1", "v3")):
        for s, stage in enumerate(("1 risk", "2 visit")):
            for group, share in (("A", 300), ("B", 100)):
                selected = share // (5 - v) // (s + 1)
                lines += [f"{version},{stage},{group},yes,{selected}", f"{version},{stage},{group},no,{share - selected}"]
    path.write_text("\n".join(lines) + "\n")
    spec = AuditSpec(protected=("group",), decision="decision", positive=("yes",), count_column="n",
                     period="version", period_order=("v1", "v2", "v3"), stage="stage",
                     stage_order=("1 risk", "2 visit"))
    table, _ = count_rows(path, spec, "pandas")
    assert [(d.name, d.role) for d in table.dims] == [("group", "protected"), ("version", "period"),
                                                      ("stage", "stage")]
    assert table.dim("version").levels == ("v1", "v2", "v3")
    # group B, version v1 (written second), stage '1 risk': 100 // 4 // 1 = 25 selected of 100
    assert table.low[1, 0, 0, 1, :].sum() == 25 and table.low[1, 0, 0, :, :].sum() == 100
