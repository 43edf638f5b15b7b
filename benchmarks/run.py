#!/usr/bin/env python
"""Benchmark `auditkit audit` against the read-and-count floor and fairlearn's MetricFrame.

Prints figures; never asserts times.  Targets are printed as pass/miss and a miss
does not change the exit status.

Every measurement is a whole, separate process started with ``subprocess.Popen``
and reaped with ``os.wait4(pid)``: wall seconds are ``time.perf_counter()`` from
start to reap (interpreter start-up and imports included), peak memory is that
child's own ``ru_maxrss`` from the rusage ``wait4`` returns (the kernel's RSS
high-water mark of exactly that child; the same figure as a
``getrusage(RUSAGE_CHILDREN)`` delta, without its max-over-all-children problem).

Caveat built into the design: Linux carries the *parent's* RSS high-water mark
into a child that ``exec``s after ``vfork`` (CPython's ``subprocess`` uses
vfork), so a child can never read below the parent's own peak.  This script
therefore keeps itself small: it imports only the standard library, and data
generation runs in its own child.  The parent's peak is printed; every child
figure above it is the child's own.

Run it with the project's interpreter (``.venv/bin/python benchmarks/run.py``);
see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTECTED = ("gender", "nationality", "age_band")
FULL = " × ".join(PROTECTED)
COLUMNS = list(PROTECTED) + ["selected", "outcome"]
RATES = ("selection_rate", "tpr", "fpr", "fnr", "ppv")

# --------------------------------------------------------------------------------------
# Child scripts (run with `python -c`).  Each imports only what it needs.
# --------------------------------------------------------------------------------------

GENERATE = r'''
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
# Three protected attributes of 2, 5 and 4 levels, stored as plain strings.
levels = {
    "gender": (["F", "M"], [0.5, 0.5], [0.0, 0.25]),
    "nationality": (["Dutch", "EU", "Moroccan", "Turkish", "other non-EU"],
                    [0.70, 0.10, 0.07, 0.07, 0.06], [0.0, 0.2, 0.8, 0.7, 0.5]),
    "age_band": (["18-29", "30-44", "45-64", "65+"], [0.25, 0.30, 0.30, 0.15], [0.4, 0.1, 0.0, -0.4]),
}
codes, effect = {}, np.zeros(n, dtype=np.float64)
for name, (labels, p, eff) in levels.items():
    codes[name] = rng.choice(len(labels), size=n, p=p).astype(np.int32)
    effect += np.asarray(eff)[codes[name]]
# Outcome (e.g. an error found): 8% base rate, mildly higher for the young.
p_out = 0.08 * np.asarray([1.3, 1.0, 0.9, 0.8])[codes["age_band"]]
outcome = (rng.random(n) < p_out).astype(np.int8)
# Selection depends on the outcome (the tool works somewhat) and on the group (disparity).
logit = -2.4 + 1.2 * outcome + effect
selected = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
arrays = {name: pa.DictionaryArray.from_arrays(pa.array(codes[name]), pa.array(labels)).cast(pa.string())
          for name, (labels, _, _) in levels.items()}
arrays["selected"] = pa.array(selected)
arrays["outcome"] = pa.array(outcome)
tmp = path + ".tmp"
pq.write_table(pa.table(arrays), tmp)
os.replace(tmp, path)
'''

# The floor: read the five columns with pyarrow and make one bincount of
# group x decision x outcome codes.  Any tool that must read the rows pays this.
# The string columns are read straight into dictionary arrays (Parquet already
# stores them dictionary-encoded), so no string is materialised or hashed; the
# row groups' dictionaries differ in order and are unified first.  ParquetFile.read
# (unlike pq.read_table) does not go through pyarrow.dataset, which imports pandas.
FLOOR = r'''
import sys
import numpy as np, pyarrow.parquet as pq
path = sys.argv[1]
groups = ["gender", "nationality", "age_band"]
t = pq.ParquetFile(path, read_dictionary=groups).read(columns=groups + ["selected", "outcome"])
t = t.unify_dictionaries()
flat = np.zeros(t.num_rows, dtype=np.int64)
for name in groups:
    col = t.column(name)
    flat *= len(col.chunk(0).dictionary)
    flat += np.concatenate([c.indices.to_numpy() for c in col.chunks])
flat *= 2
flat += t.column("selected").to_numpy()
flat *= 2
flat += t.column("outcome").to_numpy()
counts = np.bincount(flat)
assert counts.sum() == t.num_rows
print(counts.size, int(counts.sum()))
'''

# The same floor reading the string columns as strings and dictionary-encoding
# them (hashing every value), as a general tool that does not know the file's
# encoding does.  Shown for reference; the targets use FLOOR.
FLOOR_STRINGS = r'''
import sys
import numpy as np, pyarrow.parquet as pq, pyarrow.compute as pc
path = sys.argv[1]
groups = ["gender", "nationality", "age_band"]
t = pq.ParquetFile(path).read(columns=groups + ["selected", "outcome"])
flat = np.zeros(t.num_rows, dtype=np.int64)
for name in groups:
    enc = pc.dictionary_encode(t.column(name))  # one dictionary across chunks
    flat *= len(enc.chunk(0).dictionary)
    flat += np.concatenate([c.indices.to_numpy() for c in enc.chunks])
flat *= 2
flat += t.column("selected").to_numpy()
flat *= 2
flat += t.column("outcome").to_numpy()
counts = np.bincount(flat)
assert counts.sum() == t.num_rows
print(counts.size, int(counts.sum()))
'''

# The bootstrap's own cost, without process start-up, import or row-reading noise:
# count the rows into the 160-cell table (group x selected x outcome) once, then run
# auditkit.audit on that count table (count_column) with bootstrap 0 and bootstrap N
# alternately in one process, best of R each.  The table's total is the file's row
# count, the only way the row count can reach the multinomial resampling.
BOOT_INPROCESS = r'''
import json, sys, time
import pandas as pd
from auditkit import audit
path, n_boot, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cols = ["gender", "nationality", "age_band", "selected", "outcome"]
counts = (pd.read_parquet(path, columns=cols).groupby(cols, observed=True).size().rename("n").reset_index())
kw = dict(protected=("gender", "nationality", "age_band"), decision="selected", truth="outcome", count_column="n")
audit(counts, bootstrap=100, **kw)  # warm-up, untimed
best = {"0": [float("inf")] * 2, str(n_boot): [float("inf")] * 2}
for _ in range(repeat):
    for b in (0, n_boot):
        w, c = time.perf_counter(), time.process_time()
        audit(counts, bootstrap=b, **kw)
        w, c = time.perf_counter() - w, time.process_time() - c
        best[str(b)] = [min(best[str(b)][0], w), min(best[str(b)][1], c)]
best["cells"], best["total"] = len(counts), int(counts["n"].sum())
print(json.dumps(best))
'''

METRICFRAME = r'''
import json, sys
import numpy as np, pandas as pd
from fairlearn.metrics import (MetricFrame, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import precision_score
path, n_boot, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
df = pd.read_parquet(path, columns=["gender", "nationality", "age_band", "selected", "outcome"])

def ppv(y_true, y_pred):
    return precision_score(y_true, y_pred, zero_division=np.nan)

metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
           "fnr": false_negative_rate, "ppv": ppv}
kw = dict(n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=0) if n_boot else {}
mf = MetricFrame(metrics=metrics, y_true=df["outcome"], y_pred=df["selected"],
                 sensitive_features=df[["gender", "nationality", "age_band"]], **kw)
bg = mf.by_group
res = {"index": [list(map(str, k)) for k in bg.index], "n_boot": n_boot}
for m in metrics:
    res[m] = [None if pd.isna(v) else float(v) for v in bg[m]]
if n_boot:
    ci = mf.by_group_ci
    res["ci_shape"] = [len(ci), *map(int, ci[0].shape)]
with open(out, "w") as fh:
    json.dump(res, fh)
'''


# --------------------------------------------------------------------------------------
# Measuring one child process
# --------------------------------------------------------------------------------------

class Run:
    def __init__(self, wall: float, cpu: float, peak_mib: float, rc: int, stdout: str, stderr: str,
                 others: float | None = None):
        self.wall, self.cpu, self.peak_mib, self.others = wall, cpu, peak_mib, others
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def others_busy(interval: float = 0.5) -> float | None:
    """CPU cores kept busy by other processes over ``interval`` seconds (this script sleeps meanwhile)."""
    a = cpu_jiffies()
    time.sleep(interval)
    b = cpu_jiffies()
    if a is None or b is None:
        return None
    return (b[0] - a[0]) / _TICK / interval


class QuietGate:
    """Wait (up to a budget) for the machine to be idle before each measurement."""

    def __init__(self, per_run: float, budget: float, threshold: float = 0.3):
        self.per_run, self.budget, self.threshold, self.waited = per_run, budget, threshold, 0.0

    def wait(self) -> float | None:
        """Seconds waited are charged to the budget; returns the other-process load seen last."""
        t0 = time.perf_counter()
        while True:
            busy = others_busy()
            spent = time.perf_counter() - t0
            if (busy is None or busy < self.threshold or spent >= self.per_run
                    or self.waited + spent >= self.budget):
                self.waited += spent
                return busy


def measure(cmd: list[str]) -> Run:
    """Run ``cmd`` as a child: wall seconds, CPU seconds (user + system) and peak RSS (MiB) from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        j0 = cpu_jiffies()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        j1 = cpu_jiffies()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    peak = usage.ru_maxrss * scale / 2**20
    cpu = usage.ru_utime + usage.ru_stime
    # Cores other processes kept busy while the child ran (machine-wide busy time minus the child's).
    others = None if j0 is None or j1 is None else max(0.0, ((j1[0] - j0[0]) / _TICK - cpu) / wall)
    return Run(wall, cpu, peak, proc.returncode, stdout, stderr, others)


def parent_peak_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def warm(path: Path) -> None:
    """Read the file once so every tool finds it in the page cache (reads 1 MiB at a time)."""
    with open(path, "rb") as fh:
        while fh.read(1 << 20):
            pass


# --------------------------------------------------------------------------------------
# Reporting helpers
# --------------------------------------------------------------------------------------

def human(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suffix}"
    return f"{n:,}"


def versions() -> list[str]:
    out = []
    for pkg in ("auditkit", "numpy", "pyarrow", "pandas", "fairlearn", "scikit-learn", "scipy"):
        try:
            out.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return out


def machine() -> str:
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            kib = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
            mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem} RAM, {platform.system()} {platform.release()}"


def audit_numbers(path: Path) -> dict[tuple[str, ...], dict[str, float | None]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for g in doc["groups"]:
        if g["attribute"] == FULL:
            key = tuple(g["levels"][a] for a in PROTECTED)
            out[key] = {m: g[m]["value"] for m in RATES}
    return out


def metricframe_numbers(path: Path) -> dict[tuple[str, ...], dict[str, float | None]]:
    doc = json.loads(path.read_text())
    return {tuple(k): {m: doc[m][i] for m in RATES} for i, k in enumerate(doc["index"])}


def compare_numbers(a: dict, b: dict, metric: str, tol: float = 1e-9) -> tuple[bool, float, int]:
    """Whether both give the same groups and the same ``metric`` to ``tol``; max abs difference."""
    worst, same = 0.0, set(a) == set(b)
    for key in set(a) & set(b):
        x, y = a[key][metric], b[key][metric]
        if x is None or y is None:
            same &= x is None and y is None
            continue
        worst = max(worst, abs(x - y))
    return same and worst <= tol, worst, len(set(a) & set(b))


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else (f"{x:,.0f}×" if x >= 100 else f"{x:.2f}×")


# --------------------------------------------------------------------------------------

def loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000,10000000",
                    help="Comma-separated row counts (default: %(default)s).")
    ap.add_argument("--bootstrap", type=int, default=1000, help="Audit bootstrap replicates (default: %(default)s).")
    ap.add_argument("--bootstrap-probe", type=int, default=0,
                    help="Also time the audit with this many replicates, so that the bootstrap's cost stands "
                         "well above the run-to-run noise (default: %(default)s = skip; e.g. 10000).")
    ap.add_argument("--inprocess-bootstrap", type=int, default=10000,
                    help="Replicates of the in-process bootstrap timing: auditkit.audit() of the file's count "
                         "table with bootstrap 0 and with this many, alternately in one process, best of "
                         "--inprocess-repeat each; the difference, scaled to 1,000 replicates, is the bootstrap's own cost "
                         "(default: %(default)s; 0 = skip).")
    ap.add_argument("--inprocess-repeat", type=int, default=5,
                    help="Pairs (bootstrap 0, bootstrap N) of the in-process count-table timing; the best of "
                         "each is used (default: %(default)s).")
    ap.add_argument("--repeat", type=int, default=3,
                    help="Runs of each floor and each audit per size; the best (lowest) wall time and the "
                         "largest peak are reported (default: %(default)s). MetricFrame runs once.")
    ap.add_argument("--fairlearn-max-rows", type=int, default=1_000_000,
                    help="Largest size at which MetricFrame (no bootstrap) runs (default: %(default)s).")
    ap.add_argument("--fairlearn-boot-max-rows", type=int, default=100_000,
                    help="Largest size at which MetricFrame with --fairlearn-n-boot runs (default: %(default)s).")
    ap.add_argument("--fairlearn-n-boot", type=int, default=10,
                    help="MetricFrame bootstrap replicates (default: %(default)s).")
    ap.add_argument("--no-fairlearn", action="store_true", help="Skip MetricFrame entirely.")
    ap.add_argument("--seed", type=int, default=20261129, help="Data seed (default: %(default)s).")
    ap.add_argument("--data-dir", type=Path, default=HERE / "_data",
                    help="Where generated Parquet files and outputs are cached (default: benchmarks/_data).")
    ap.add_argument("--regenerate", action="store_true", help="Regenerate the data even if cached.")
    ap.add_argument("--quiet-wait", type=float, default=10.0,
                    help="Before each measurement wait up to this many seconds for other processes to use "
                         "< 0.3 cores (default: %(default)s; 0 = never wait).")
    ap.add_argument("--quiet-budget", type=float, default=240.0,
                    help="Total seconds the whole run may spend waiting for quiet (default: %(default)s).")
    args = ap.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    py = sys.executable
    auditkit_exe = str(Path(py).parent / "auditkit")
    if not Path(auditkit_exe).exists():
        print(f"auditkit executable not found next to {py}; run with the project's venv python.", file=sys.stderr)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    outdir = args.data_dir / "out"
    outdir.mkdir(exist_ok=True)
    repeat = max(1, args.repeat)

    started = time.perf_counter()
    pyver = subprocess.run([py, "--version"], capture_output=True, text=True).stdout.strip()
    print("auditkit benchmark —", _dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    print(f"Machine: {machine()}")
    print(f"Python: {pyver} ({py})")
    print("Packages: " + ", ".join(versions()))
    print(f"Sizes: {', '.join(f'{s:,}' for s in sizes)}; audit --bootstrap {args.bootstrap}; "
          f"floors and audits {repeat}× per size (best wall, max peak); MetricFrame once, up to "
          f"{args.fairlearn_max_rows:,} rows (n_boot={args.fairlearn_n_boot} up to "
          f"{args.fairlearn_boot_max_rows:,})" + ("; fairlearn skipped" if args.no_fairlearn else ""))
    print("Each figure is one whole child process: wall = start to exit, interpreter start-up and imports "
          "included; cpu = user + system seconds; peak = the child's ru_maxrss from os.wait4 (MiB). "
          "Files are in the page cache (warm reads). 'others' = cores other processes kept busy during "
          "the run (the machine is shared; wall time is inflated when this is high, cpu time much less so).")
    print(f"Load average at start: {loadavg()}")
    print()

    baseline = measure([py, "-c", "pass"])
    print(f"Baseline `python -c pass`: {baseline.wall:.3f} s, {baseline.peak_mib:.0f} MiB")

    # ---- data
    files: dict[int, Path] = {}
    for n in sizes:
        path = args.data_dir / f"decisions_{human(n)}_seed{args.seed}.parquet"
        if args.regenerate or not path.exists():
            r = measure([py, "-c", GENERATE, str(path), str(n), str(args.seed)])
            if r.rc:
                print(r.stderr, file=sys.stderr)
                return 1
            print(f"Generated {path.name}: {n:,} rows, {path.stat().st_size / 2**20:.1f} MiB, "
                  f"{r.wall:.1f} s, peak {r.peak_mib:.0f} MiB")
        else:
            print(f"Cached    {path.name}: {n:,} rows, {path.stat().st_size / 2**20:.1f} MiB")
        files[n] = path
    print()

    # ---- runs
    results: dict[tuple[int, str], list[Run]] = {}
    audit_json: dict[int, Path] = {}
    mf_json: dict[tuple[int, int], Path] = {}
    inproc: dict[int, dict] = {}

    gate = QuietGate(args.quiet_wait, args.quiet_budget)

    def run(cmd: list[str]) -> Run:
        if args.quiet_wait > 0:
            gate.wait()
        return measure(cmd)

    def record(n: int, tool: str, r: Run, i: int) -> None:
        results.setdefault((n, tool), []).append(r)
        others = "" if r.others is None else f"   (other processes: {r.others:.1f} cores busy)"
        print(f"  {tool:<28} run {i}: {r.wall:8.2f} s wall {r.cpu:8.2f} s cpu {r.peak_mib:7.0f} MiB{others}",
              flush=True)
        if r.rc:
            print(f"  FAILED ({tool}, {n:,} rows, exit {r.rc}):\n{r.stderr[-3000:]}", flush=True)

    def audit_cmd(path: Path, boot: int, out: Path) -> list[str]:
        return [auditkit_exe, "audit", str(path), *sum((["--protected", p] for p in PROTECTED), []),
                "--decision", "selected", "--truth", "outcome", "--bootstrap", str(boot),
                "--json", str(out), "--quiet"]

    T_FLOOR, T_FLOOR_STR = "floor", "floor (strings)"
    T_FULL, T_B0 = f"audit (bootstrap {args.bootstrap})", "audit (bootstrap 0)"
    T_MF, T_MFB = "MetricFrame", f"MetricFrame (n_boot {args.fairlearn_n_boot})"
    probe = args.bootstrap_probe > 0 and args.bootstrap_probe != args.bootstrap
    T_PROBE = f"audit (bootstrap {args.bootstrap_probe})" if probe else "audit (probe off)"
    for n in sizes:
        path = files[n]
        warm(path)
        audit_json[n] = outdir / f"audit_{human(n)}.json"
        audit_json[n].unlink(missing_ok=True)  # never compare against a stale file
        print(f"{n:,} rows (load average {loadavg()}):", flush=True)
        for i in range(1, repeat + 1):
            for tool, cmd in ((T_FLOOR, [py, "-c", FLOOR, str(path)]),
                              (T_FLOOR_STR, [py, "-c", FLOOR_STRINGS, str(path)]),
                              (T_B0, audit_cmd(path, 0, outdir / f"audit_{human(n)}_b0.json")),
                              (T_FULL, audit_cmd(path, args.bootstrap, audit_json[n])),
                              (T_PROBE, audit_cmd(path, args.bootstrap_probe, outdir / f"audit_{human(n)}_probe.json"))):
                if tool == T_PROBE and not probe:
                    continue
                record(n, tool, run(cmd), i)
        if args.inprocess_bootstrap > 0:
            r = run([py, "-c", BOOT_INPROCESS, str(path), str(args.inprocess_bootstrap),
                     str(max(1, args.inprocess_repeat))])
            if r.rc == 0:
                inproc[n] = json.loads(r.stdout.strip().splitlines()[-1])
                b0, bn = inproc[n]["0"], inproc[n][str(args.inprocess_bootstrap)]
                print(f"  {'count table b0/b' + str(args.inprocess_bootstrap) + ' in-process':<28} "
                      f"best of {max(1, args.inprocess_repeat)}: "
                      f"{b0[0]:.2f} / {bn[0]:.2f} s wall, {b0[1]:.2f} / {bn[1]:.2f} s cpu "
                      f"({inproc[n]['cells']} cells, total {inproc[n]['total']:,})", flush=True)
            else:
                print(f"  in-process bootstrap timing FAILED (exit {r.rc}):\n{r.stderr[-3000:]}", flush=True)
        if not args.no_fairlearn:
            for tool, boot, limit in ((T_MF, 0, args.fairlearn_max_rows),
                                      (T_MFB, args.fairlearn_n_boot, args.fairlearn_boot_max_rows)):
                if n > limit:
                    continue
                out = outdir / f"metricframe_{human(n)}_boot{boot}.json"
                out.unlink(missing_ok=True)
                record(n, tool, run([py, "-c", METRICFRAME, str(path), str(boot), str(out)]), 1)
                mf_json[(n, boot)] = out
    print(f"Load average at end: {loadavg()}; waited {gate.waited:.0f} s in total for a quiet machine.")
    print()

    def ok_runs(n: int, tool: str) -> list[Run]:
        return [r for r in results.get((n, tool), []) if r.rc == 0]

    def wall(n: int, tool: str) -> float | None:
        runs = ok_runs(n, tool)
        return min(r.wall for r in runs) if runs else None

    def cpu(n: int, tool: str) -> float | None:
        runs = ok_runs(n, tool)
        return min(r.cpu for r in runs) if runs else None

    def peak(n: int, tool: str) -> float | None:
        runs = ok_runs(n, tool)
        return max(r.peak_mib for r in runs) if runs else None

    def div(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b == 0 else a / b

    # ---- table
    tools = [T_FLOOR, T_FLOOR_STR, T_B0, T_FULL, T_PROBE, T_MF, T_MFB]
    print(f"Results: wall seconds (best of {repeat}; MetricFrame 1 run), cpu seconds (best), peak RSS (MiB, max)")
    print(f"  {'rows':>12}  {'tool':<28} {'wall s':>9} {'cpu s':>9} {'peak MiB':>9} {'÷ floor':>8} {'others':>7}")
    for n in sizes:
        for t in tools:
            if wall(n, t) is None:
                continue
            best = min(ok_runs(n, t), key=lambda r: r.wall)
            busy = "?" if best.others is None else f"{best.others:.1f}"
            print(f"  {n:>12,}  {t:<28} {wall(n, t):9.2f} {cpu(n, t):9.2f} {peak(n, t):9.0f} "
                  f"{fmt_ratio(div(wall(n, t), wall(n, T_FLOOR))):>8} {busy:>7}")
    print()

    # ---- ratios
    print("Ratios")
    for n in sizes:
        print(f"  {n:>12,} rows: audit/floor time {fmt_ratio(div(wall(n, T_FULL), wall(n, T_FLOOR)))} "
              f"(bootstrap 0: {fmt_ratio(div(wall(n, T_B0), wall(n, T_FLOOR)))}; vs the strings floor: "
              f"{fmt_ratio(div(wall(n, T_FULL), wall(n, T_FLOOR_STR)))}); audit − floor "
              f"{wall(n, T_FULL) - wall(n, T_FLOOR):.2f} s; "
              f"peak memory audit/floor {fmt_ratio(div(peak(n, T_FULL), peak(n, T_FLOOR)))}")
    boot_cost = {n: wall(n, T_FULL) - wall(n, T_B0) for n in sizes
                 if wall(n, T_FULL) is not None and wall(n, T_B0) is not None}
    boot_cpu = {n: cpu(n, T_FULL) - cpu(n, T_B0) for n in boot_cost}
    noise = {n: max(max(r.wall for r in ok_runs(n, t)) - min(r.wall for r in ok_runs(n, t)) for t in (T_B0, T_FULL))
             for n in boot_cost if len(ok_runs(n, T_B0)) > 1 and len(ok_runs(n, T_FULL)) > 1}
    for n, c in boot_cost.items():
        spread = f"; run-to-run spread of these audits up to {noise[n]:.2f} s" if n in noise else ""
        print(f"  bootstrap {args.bootstrap} cost (audit {args.bootstrap} − audit 0) at {n:>12,} rows: "
              f"{c:6.2f} s wall, {boot_cpu[n]:6.2f} s cpu{spread}")
    probe_cost = {n: wall(n, T_PROBE) - wall(n, T_B0) for n in sizes
                  if wall(n, T_PROBE) is not None and wall(n, T_B0) is not None}
    probe_cpu = {n: cpu(n, T_PROBE) - cpu(n, T_B0) for n in probe_cost}
    for n, c in probe_cost.items():
        per = 1000 / args.bootstrap_probe
        print(f"  bootstrap {args.bootstrap_probe} cost (audit {args.bootstrap_probe} − audit 0) at {n:>12,} rows: "
              f"{c:6.2f} s wall, {probe_cpu[n]:6.2f} s cpu  = {c * per:.3f} s wall per 1000 replicates")
    mb = args.inprocess_bootstrap
    inproc_cost = {n: (d[str(mb)][1] - d["0"][1]) * 1000 / mb for n, d in inproc.items()}
    for n, d in inproc.items():
        print(f"  bootstrap {mb} cost on the count table in-process (bootstrap {mb} − bootstrap 0, best of "
              f"{max(1, args.inprocess_repeat)}) at {n:>12,} rows: {d[str(mb)][0] - d['0'][0]:6.2f} s wall, "
              f"{d[str(mb)][1] - d['0'][1]:6.2f} s cpu = {inproc_cost[n]:.3f} s cpu per 1000 replicates")
    mf_points = []
    for n in sizes:
        if wall(n, T_MF) is not None:
            r_full, r_b0 = div(wall(n, T_MF), wall(n, T_FULL)), div(wall(n, T_MF), wall(n, T_B0))
            mf_points.append((f"MetricFrame (no bootstrap) / audit (bootstrap {args.bootstrap}) at {human(n)}",
                              r_full))
            print(f"  MetricFrame (no bootstrap) / audit at {n:>12,} rows: {fmt_ratio(r_full)} vs audit with "
                  f"bootstrap {args.bootstrap}; {fmt_ratio(r_b0)} vs audit with bootstrap 0")
        if wall(n, T_MFB) is not None:
            r = div(wall(n, T_MFB), wall(n, T_FULL))
            mf_points.append((f"MetricFrame (n_boot {args.fairlearn_n_boot}) / audit (bootstrap "
                              f"{args.bootstrap}) at {human(n)}", r))
            print(f"  MetricFrame (n_boot {args.fairlearn_n_boot}) / audit (bootstrap {args.bootstrap}) at "
                  f"{n:>12,} rows: {fmt_ratio(r)}")
    for n in sizes:
        for t in (T_MF, T_MFB):
            if wall(n, t) is not None:
                print(f"  ceiling: {t} / floor at {n:>12,} rows: {fmt_ratio(div(wall(n, t), wall(n, T_FLOOR)))} "
                      "(no tool that starts a process and reads the rows can beat this ratio)")
    print()

    # ---- same numbers
    print(f"Same numbers (full intersection {FULL}, tolerance 1e-9)")
    same_all = []
    for (n, boot), mf_path in sorted(mf_json.items()):
        if not mf_path.exists() or not audit_json[n].exists():
            print(f"  {n:>12,} rows: output missing, cannot compare")
            same_all.append(False)
            continue
        a, b = audit_numbers(audit_json[n]), metricframe_numbers(mf_path)
        ok, worst, k = compare_numbers(a, b, "selection_rate")
        same_all.append(ok)
        others = []
        for m in RATES[1:]:
            ok_m, worst_m, _ = compare_numbers(a, b, m)
            others.append(f"{m} {'yes' if ok_m else 'no'} ({worst_m:.1e})")
        label = "MetricFrame" if not boot else f"MetricFrame n_boot {boot}"
        print(f"  {n:>12,} rows, {label}: same numbers: {'yes' if ok else 'no'} "
              f"({k} of {len(a)} groups, selection_rate max |diff| {worst:.1e}); also {', '.join(others)}")
    if not same_all:
        print("  (no MetricFrame run to compare)")
    print()

    # ---- targets
    def verdict(ok: bool | None) -> str:
        return "n/a " if ok is None else ("pass" if ok else "MISS")

    print("Targets (reported, never enforced)")
    big = max(sizes)
    r = div(wall(big, T_FULL), wall(big, T_FLOOR))
    print(f"  [{verdict(None if r is None else r <= 2)}] full audit within 2× the floor at {big:,} rows: "
          f"{fmt_ratio(r)}" + ("" if big >= 10_000_000 else "  (the target is stated at 10M rows)"))
    def flat(costs: dict[int, float]) -> tuple[bool, str]:
        lo, hi = min(costs.values()), max(costs.values())
        mean = statistics.mean(costs.values())
        return ((hi - lo) <= max(0.1, 0.25 * abs(mean)),
                f"{lo:.2f} to {hi:.2f} s across {human(min(costs))}–{human(max(costs))} rows")

    rule = "pass if max − min ≤ max(0.1 s, 25% of the mean)"
    checks = []
    if len(inproc_cost) >= 2:
        checks.append((f"count table in-process, cpu per 1000 replicates from {mb}", inproc_cost))
    checks += [(f"bootstrap {args.bootstrap} as audit {args.bootstrap} − audit 0 processes, cpu", boot_cpu),
               (f"bootstrap {args.bootstrap} as audit {args.bootstrap} − audit 0 processes, wall", boot_cost)]
    if len(probe_cost) >= 2:
        checks += [(f"bootstrap {args.bootstrap_probe} as processes, cpu", probe_cpu),
                   (f"bootstrap {args.bootstrap_probe} as processes, wall", probe_cost)]
    checks = [(what, costs) for what, costs in checks if len(costs) >= 2]
    if checks:
        what, costs = checks[0]
        ok, text = flat(costs)
        print(f"  [{verdict(ok)}] bootstrap time independent of row count ({what}): {text} ({rule})")
        for what, costs in checks[1:]:
            ok, text = flat(costs)
            print(f"         also {what}: {text} ({'pass' if ok else 'miss'}; a difference of two whole "
                  "processes, so start-up and sharing noise are in it)")
    else:
        print("  [n/a ] bootstrap time independent of row count: needs two sizes")
    if mf_points:
        for label, ratio in mf_points:
            print(f"  [{verdict(None if ratio is None else ratio >= 100)}] ≥100× faster than MetricFrame: "
                  f"{label}: {fmt_ratio(ratio)}")
    else:
        print("  [n/a ] ≥100× faster than MetricFrame: MetricFrame not run")
    m = div(peak(big, T_FULL), peak(big, T_FLOOR))
    print(f"  [{verdict(None if m is None else m <= 2)}] peak memory within 2× the floor's at {big:,} rows: "
          f"{fmt_ratio(m)}" + ("" if m is None else f" ({peak(big, T_FULL):.0f} vs {peak(big, T_FLOOR):.0f} MiB)"))
    if same_all:
        print(f"  [{verdict(all(same_all))}] same per-group selection rates as MetricFrame (1e-9)")
    print()
    print(f"Parent process peak RSS {parent_peak_mib():.0f} MiB (no child figure can read below it). "
          f"Total benchmark time {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
