"""An audit's start-up stays light: neither scipy nor pandas is imported on the audit path.

Both cost more start-up than counting millions of rows (docs/performance.md); a stray import
(pyarrow's ``to_numpy(zero_copy_only=False)`` and ``pa.scalar`` import pandas) would quietly
bring that cost back.
"""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

SCRIPT = r"""
import sys
from auditkit.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("IMPORTED", " ".join(m for m in ("scipy", "pandas") if m in sys.modules))
"""


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.rsplit("IMPORTED", 1)[1].strip()


def test_audit_of_parquet_and_csv_imports_neither_scipy_nor_pandas(tmp_path):
    n = 400
    table = pa.table({"g": [("a", "b", None, "c")[i % 4] for i in range(n)],
                      "age": [i % 7 for i in range(n)],
                      "d": [int(i % 3 == 0) for i in range(n)],
                      "y": [None if i % 11 == 0 else int(i % 5 == 0) for i in range(n)],
                      "s": [float(i % 13) for i in range(n)]})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=150)
    csv = "g,age,d,y,s\n" + "".join(f"{('a', 'b', '', 'c')[i % 4]},{i % 7},{int(i % 3 == 0)},"
                                    f"{'' if i % 11 == 0 else int(i % 5 == 0)},{i % 13}\n" for i in range(n))
    (tmp_path / "d.csv").write_text(csv, encoding="utf-8")
    for data in (tmp_path / "d.parquet", tmp_path / "d.csv"):
        common = [str(data), "--protected", "g", "--protected", "age", "--truth", "y", "--truth-positive", "1",
                  "--bootstrap", "50", "--json", str(tmp_path / "out.json"), "--quiet"]
        assert _run("audit", *common, "--decision", "d", "--positive", "1") == ""
        assert _run("audit", *common, "--score", "s", "--top", "10") == ""


def test_a_period_audit_imports_neither_scipy_nor_pandas(tmp_path):
    """Over 20 quarters, with the trend and homogeneity tests of every comparison (chi-square with 19
    degrees of freedom, computed without scipy)."""
    import datetime as dt

    n = 2000
    start = dt.date(2015, 1, 1)
    table = pa.table({"g": [("a", "b", "c")[i % 3] for i in range(n)],
                      "d": [int(i % 6 == 0 or (i % 3 == 1 and (i * 7) % 1826 // 92 % 2 == 0 and i % 2 == 0))
                            for i in range(n)],  # b's ratio jumps from quarter to quarter: a t test of trend
                      "when": pa.array([start + dt.timedelta(days=(i * 7) % 1826) for i in range(n)], pa.date32())})
    pq.write_table(table, tmp_path / "d.parquet")
    out = tmp_path / "out.json"
    assert _run("audit", str(tmp_path / "d.parquet"), "--protected", "g", "--decision", "d", "--positive", "1",
                "--period", "when", "--period-freq", "quarter", "--json", str(out), "--quiet") == ""
    import json

    periods = json.loads(out.read_text())["periods"]
    assert len(periods["levels"]) == 20
    assert "student t" in json.dumps(periods["over_time"]) and "homogeneity" in json.dumps(periods["over_time"])
