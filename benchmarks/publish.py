#!/usr/bin/env python
"""Benchmark the publishing step at scale: findings, small-cell suppression and the report, by number of groups.

Prints figures; never asserts a time.  For each size G it writes a published count table of G/5
neighbourhoods × 5 nationalities (G intersection groups, plus the G/5 + 5 single-attribute groups), with
selected and not-selected counts averaging 1,000 people per intersection (10,000 groups stand for about
10 million rows: the rows themselves are irrelevant to publishing, which reads the count table only), and
times two whole ``auditkit`` processes:

* ``audit TABLE --json`` — reading and measuring only;
* ``audit TABLE --out BUNDLE`` — the same plus findings, the bundle, suppression and the HTML report
  (and, above 40 groups per attribute, the table file ``report.en.csv``).

The publishing cost is the difference.  Each process is started with ``subprocess.Popen`` and reaped with
``os.wait4``: wall seconds from start to reap, CPU seconds (user + system) and the peak resident memory
(``ru_maxrss``) of exactly that child.  On a shared machine the wall time grows with the load; the CPU time
does not, so both are printed (and the load average).  ``--outcomes`` adds tp/fp/tn/fn cells (a table
with outcomes: the suppression then protects 17 counts per group instead of 3).

Run it from the repository root with the project's interpreter::

    python benchmarks/publish.py                      # 100, 1,000, 10,000 groups (about 3 minutes)
    python benchmarks/publish.py --groups 100000      # 100,000 groups (several minutes, several GB)
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NATIONALITIES = ("Dutch", "EU", "Moroccan", "Turkish", "other")


def write_table(path: Path, groups: int, seed: int, outcomes: bool) -> int:
    """A wide count table of groups/5 areas × 5 nationalities; returns the number of people it stands for."""
    rng = np.random.default_rng(seed)
    areas = max(1, groups // len(NATIONALITIES))
    people = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["area", "nationality", *(("tp", "fp", "tn", "fn") if outcomes else ("selected", "not_selected"))])
        for a in range(areas):
            for j, nat in enumerate(NATIONALITIES):
                n = int(rng.integers(20, 1980))
                s = int(rng.binomial(n, 0.05 + 0.03 * j + 0.02 * (a % 11 == 0)))
                people += n
                if outcomes:
                    tp = int(rng.binomial(s, 0.2))
                    fn = int(rng.binomial(n - s, 0.02))
                    w.writerow([f"area{a:06d}", nat, tp, s - tp, n - s - fn, fn])
                else:
                    w.writerow([f"area{a:06d}", nat, s, n - s])
    return people


def run(cmd: list[str]) -> dict:
    """Run one child process; its wall and CPU seconds and peak memory, and whether it succeeded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.stderr.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "ok": os.waitstatus_to_exitcode(status) == 0, "err": err.strip().splitlines()[-1:] }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="100,1000,10000", help="intersection groups per run (comma-separated)")
    parser.add_argument("--outcomes", action="store_true", help="tp/fp/tn/fn cells instead of selected/not selected")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    auditkit = str(Path(sys.executable).with_name("auditkit"))
    cells = (["--cell", "tp=tp", "--cell", "fp=fp", "--cell", "tn=tn", "--cell", "fn=fn"] if args.outcomes
             else ["--cell", "selected=selected", "--cell", "not_selected=not_selected"])
    print(f"auditkit publishing benchmark; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
          f"{'with outcomes' if args.outcomes else 'selection only'}")
    header = (f"{'groups':>8} {'all groups':>10} {'people':>12} {'measure s':>10} {'measure cpu':>11} "
              f"{'total s':>8} {'total cpu':>9} {'publish cpu':>11} {'cpu ms/group':>12} {'peak MB':>8} "
              f"{'report KB':>9} {'csv rows':>8}")
    print(header)
    for groups in (int(g) for g in args.groups.split(",")):
        with tempfile.TemporaryDirectory(prefix="auditkit-publish-") as tmp:
            table = Path(tmp) / "table.csv"
            people = write_table(table, groups, args.seed, args.outcomes)
            base = [auditkit, "audit", str(table), "--protected", "area", "--protected", "nationality", *cells,
                    "--quiet"]
            measured = run(base + ["--json", str(Path(tmp) / "r.json")])
            full = run(base + ["--out", str(Path(tmp) / "bundle")])
            bundle = Path(tmp) / "bundle"
            report = bundle / "report.en.html"
            table_file = bundle / "report.en.csv"
            total_groups = groups + groups // len(NATIONALITIES) + len(NATIONALITIES)
            csv_rows = sum(1 for _ in table_file.open(encoding="utf-8")) - 1 if table_file.exists() else 0
            publish = full["cpu"] - measured["cpu"]
            status = "" if full["ok"] and measured["ok"] else f"  FAILED: {full['err'] or measured['err']}"
            print(f"{groups:>8,} {total_groups:>10,} {people:>12,} {measured['wall']:>10.1f} {measured['cpu']:>11.1f} "
                  f"{full['wall']:>8.1f} {full['cpu']:>9.1f} {publish:>11.1f} "
                  f"{1000 * full['cpu'] / total_groups:>12.2f} {full['peak_mb']:>8.0f} "
                  f"{(report.stat().st_size / 1024 if report.exists() else 0):>9.0f} {csv_rows:>8,}{status}",
                  flush=True)


if __name__ == "__main__":
    main()
