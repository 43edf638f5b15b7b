#!/usr/bin/env python
"""Benchmark `auditkit assess` on the pandas, DuckDB and Dask engines: wall time and peak memory.

Prints figures; never asserts times.  A Parquet file of synthetic welfare
decisions (``auditkit.datasets.generate("welfare")``, default 1M rows, row
groups of 100,000) is scored by the shipped welfare model
(``datasets/welfare/model.skops``) under the ``welfare-fraud-risk`` template
(top 10% of the scores), once per engine:

* ``scoring``: ``--no-explain``: reading, scoring and counting only;
* ``explained``: with the explanations (SHAP by group, proxies, flip tests) on
  a seeded sample of ``--explain-sample`` rows (default 100,000).

With the same sample size every engine explains the same rows, so the results
JSON of the three engines must be identical apart from the ``engine`` field;
the script checks that and says so.

Every run is a separate child process (the ``auditkit`` command): wall
seconds from start to reap (interpreter start-up and imports included) and the
child's peak RSS from the rusage that ``os.wait4`` returns for exactly that
child.  This parent imports only the standard library (Linux starts a child's
RSS high-water mark at the parent's; see benchmarks/README.md).

Run from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/assess_engines.py                 # 1M rows: ~1.5 min on 2 cores
    .venv/bin/python benchmarks/assess_engines.py --rows 5000000 # 5M rows: ~2.5 min
    .venv/bin/python benchmarks/assess_engines.py --rows 200000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "datasets" / "welfare" / "model.skops"
ENGINES = ("pandas", "duckdb", "dask")

GENERATE = r'''
import sys
import pyarrow as pa, pyarrow.parquet as pq
from auditkit.datasets import generate
path, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
frame = generate("welfare", rows=rows, seed=seed).frame
pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=100_000)
'''


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, and stderr of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{text}")
    return wall, usage.ru_maxrss / 1024, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--explain-sample", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--keep", type=Path, help="Keep the generated file and results in this folder.")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="auditkit-bench-assess-") as name:
        work = opts.keep or Path(name)
        work.mkdir(parents=True, exist_ok=True)
        data = work / f"welfare-{opts.rows}.parquet"
        if not data.exists():
            wall, _, _ = run_child([sys.executable, "-c", GENERATE, str(data), str(opts.rows), str(opts.seed)])
            print(f"generated {opts.rows:,} rows in {wall:.1f} s: {data.stat().st_size / 2**20:.1f} MiB Parquet")
        print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'run':<10} {'engine':<7} {'wall s':>7} {'peak MiB':>9}")
        outputs: dict[str, dict[str, dict]] = {}
        for run, extra in (("scoring", ["--no-explain"]),
                           ("explained", ["--explain-sample", str(opts.explain_sample)])):
            for engine in ENGINES:
                out = work / f"{run}-{engine}.json"
                args = [sys.executable, "-c", "from auditkit.cli import main; main()", "assess", str(MODEL), "--data", str(data),
                        "--template", "welfare-fraud-risk", "--engine", engine, "--no-progress", "--quiet",
                        "--json", str(out), *extra]
                wall, peak, _ = run_child(args)
                results = json.loads(out.read_text(encoding="utf-8"))
                results.pop("engine")
                outputs.setdefault(run, {})[engine] = results
                print(f"{run:<10} {engine:<7} {wall:7.1f} {peak:9.0f}", flush=True)
            same = all(outputs[run][e] == outputs[run]["pandas"] for e in ENGINES)
            print(f"{run}: results JSON identical across engines (apart from 'engine'): {'yes' if same else 'NO'}")
        sample = outputs["explained"]["pandas"]["explanations"].get("sample")
        if sample:
            print(f"explained rows: a seeded sample of {sample['rows']:,} of {sample['of']:,} (seed {sample['seed']})")


if __name__ == "__main__":
    main()
