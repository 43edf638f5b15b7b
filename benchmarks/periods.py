#!/usr/bin/env python
"""Benchmark a period audit against the plain audit of the same file, on pandas and DuckDB.

Prints figures; never asserts times.  One generated Parquet file (default 10M rows)
with three protected attributes, a decision, an outcome, a score and a ``date``
column (a Parquet date) spread over 20 quarters (2015-Q1 to 2019-Q4).  For each
engine and decision rule, two whole ``auditkit audit`` processes:

* plain: ``--protected gender --protected nationality --decision selected --truth outcome``
  (or ``--score score --top 10``);
* period: the same with ``--period date --period-freq quarter`` (20 periods, and the
  stratified-by-period record of every comparison that a period audit adds).

Each is run ``--repeat`` times and the best wall time is shown (interpreter start-up,
reading, counting, measuring and writing the results JSON included), with the child's
CPU seconds and peak RSS from ``os.wait4``; the target is a period audit within 2x the
plain audit.  The pandas engine reads the whole file into memory; DuckDB streams it.

Run from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/periods.py                  # 10M rows: about 5 minutes on 2 cores
    .venv/bin/python benchmarks/periods.py --rows 1000000   # quick: under a minute
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from engines import machine, run  # noqa: E402  (benchmarks/engines.py: standard library only, like this script)

GENERATE = r'''
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
levels = {"gender": (["F", "M"], [0.5, 0.5]),
          "nationality": (["Dutch", "EU", "Moroccan", "Turkish", "other non-EU"], [0.7, 0.1, 0.07, 0.07, 0.06]),
          "age_band": (["18-29", "30-44", "45-64", "65+"], [0.25, 0.3, 0.3, 0.15])}
arrays = {name: pa.DictionaryArray.from_arrays(pa.array(rng.choice(len(labels), size=n, p=p).astype(np.int32)),
                                               pa.array(labels)).cast(pa.string())
          for name, (labels, p) in levels.items()}
days = rng.integers(0, (np.datetime64("2020-01-01") - np.datetime64("2015-01-01")).astype(int), n)
date = np.datetime64("2015-01-01") + days
quarter = (days * 20) // days.max().clip(1)  # 0..20: the disparity grows over time
foreign = np.asarray(arrays["nationality"].to_numpy(zero_copy_only=False)) != "Dutch"
outcome = (rng.random(n) < 0.08).astype(np.int8)
logit = -2.4 + 1.2 * outcome + foreign * (0.2 + 0.04 * quarter)
selected = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
arrays.update(selected=pa.array(selected), outcome=pa.array(outcome), date=pa.array(date.astype("datetime64[D]")),
              score=pa.array(1 / (1 + np.exp(-(logit + rng.normal(0, 1, n))))))
tmp = path + ".tmp"
pq.write_table(pa.table(arrays), tmp, row_group_size=1 << 20)
os.replace(tmp, path)
'''

AUDIT = r'''
import json, sys, time
t0 = time.perf_counter()
from auditkit.cli import main
main(sys.argv[1:], standalone_mode=False)
print(json.dumps({"in_process": time.perf_counter() - t0}))
'''

RULES = {"decision": ["--decision", "selected", "--truth", "outcome"], "top10": ["--score", "score", "--top", "10"]}
PERIOD = ["--period", "date", "--period-freq", "quarter"]


def ensure(data: Path, rows: int, seed: int, regenerate: bool) -> Path:
    """The generated file for ``rows`` (made now if missing)."""
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"periods_{rows}_seed{seed}.parquet"
    if regenerate or not path.exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", GENERATE, str(path), str(rows), str(seed)], check=True)
        print(f"generated {path.name} in {time.perf_counter() - start:.1f} s")
    return path


def best(args: list[str], repeat: int) -> dict:
    """The fastest of ``repeat`` runs of ``auditkit audit args`` (by wall time)."""
    runs = [run(AUDIT, "audit", *args) for _ in range(repeat)]
    return min(runs, key=lambda r: r["wall"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each audit (best is shown)")
    parser.add_argument("--engines", default="pandas,duckdb")
    parser.add_argument("--rules", default="decision,top10", help="decision rules: decision, top10")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--data-dir", type=Path, default=HERE / "_data")
    parser.add_argument("--regenerate", action="store_true")
    o = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"auditkit period benchmark · {time.strftime('%Y-%m-%d %H:%M')} · Python {sys.version.split()[0]} · "
          f"{machine()} · load {load:.2f}")
    path = ensure(o.data_dir, o.rows, o.seed, o.regenerate)
    print(f"{o.rows:,} rows, 20 quarters (--period date --period-freq quarter); best of {o.repeat}; "
          "wall = whole process (start-up, read, count, measure, write JSON)\n")
    print(f"  {'engine':8} {'rule':9} {'plain s':>8} {'period s':>9} {'ratio':>6}  {'plain MiB':>9} {'period MiB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for engine in o.engines.split(","):
            for rule in o.rules.split(","):
                common = [str(path), "--protected", "gender", "--protected", "nationality", *RULES[rule],
                          "--engine", engine, "--json", str(Path(tmp) / "r.json"), "--quiet"]
                plain, period = best(common, o.repeat), best(common + PERIOD, o.repeat)
                ratio = period["wall"] / plain["wall"]
                print(f"  {engine:8} {rule:9} {plain['wall']:8.2f} {period['wall']:9.2f} {ratio:6.2f}  "
                      f"{plain['peak_mib']:9.0f} {period['peak_mib']:10.0f}  {'ok' if ratio <= 2 else 'MISS'} (<= 2x)")


if __name__ == "__main__":
    main()
