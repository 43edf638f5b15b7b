#!/usr/bin/env python
"""Peers at 1M rows: auditkit (pandas and DuckDB engines), fairlearn MetricFrame and aequitas, same rows.

Prints figures; never asserts times.  Part of ``benchmarks/engines.py``
(``--only peers``); ``python benchmarks/peers.py [engines.py options]`` is the
same as ``python benchmarks/engines.py --only peers [options]``.

Every tool computes selection rate, TPR, FPR, FNR and PPV for each group of the
full intersection gender × nationality × age_band (40 groups) of the same
Parquet file, each in a whole separate process timed like benchmarks/run.py:
wall seconds from start to reap (interpreter start-up and imports included),
user + system CPU seconds and the child's own peak RSS, both from the rusage
that ``os.wait4`` returns for exactly that child.

- ``auditkit audit`` with ``--engine pandas`` and ``--engine duckdb`` (the
  default ``--bootstrap 0``; it still measures every attribute and every
  intersection, 7 tables and 89 groups, with intervals and Fisher tests);
- fairlearn ``MetricFrame`` after ``pandas.read_parquet`` (as in run.py);
- aequitas ``Group().get_crosstabs`` on one combined attribute column (the
  three columns joined with " × "), read with ``pandas.read_parquet``.

aequitas 1.1.0 (the newest release on the package registry) requires pandas<3
while auditkit's environment has pandas 3, so aequitas runs from its own
virtual environment, created on first use under ``benchmarks/_venvs/aequitas``
(``python -m venv`` + ``pip install 'aequitas==1.1.0' pyarrow``) and reused
afterwards.  If it cannot be installed, imported or run, the reason is printed
and the other tools go on.

Each tool's numbers are compared with those of ``auditkit audit --engine
pandas`` to 1e-9 (metric by metric: "same numbers: yes/no (max |diff|)").

This module imports only the standard library (a child's peak RSS can never
read below its parent's: see benchmarks/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure as _run_measure  # noqa: E402

HERE = Path(__file__).resolve().parent
GROUPS = ("gender", "nationality", "age_band")
FULL = " × ".join(GROUPS)
RATES = ("selection_rate", "tpr", "fpr", "fnr", "ppv")
# aequitas' names of the same rates (get_crosstabs columns).  Its "ppr" is a group's share of all
# predicted positives, not the selection rate; "pprev" (predicted prevalence) is pp / group size.
AEQUITAS_NAMES = {"selection_rate": "pprev", "tpr": "tpr", "fpr": "fpr", "fnr": "fnr", "ppv": "precision"}
AEQUITAS_PIN = "aequitas==1.1.0"
TOLERANCE = 1e-9

METRICFRAME = r'''
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from fairlearn.metrics import (MetricFrame, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import precision_score
t1 = time.perf_counter()
path, out = sys.argv[1], sys.argv[2]
groups = ["gender", "nationality", "age_band"]
df = pd.read_parquet(path, columns=groups + ["selected", "outcome"])
t2 = time.perf_counter()

def ppv(y_true, y_pred):
    return precision_score(y_true, y_pred, zero_division=np.nan)

metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
           "fnr": false_negative_rate, "ppv": ppv}
bg = MetricFrame(metrics=metrics, y_true=df["outcome"], y_pred=df["selected"],
                 sensitive_features=df[groups]).by_group
t3 = time.perf_counter()
res = {"index": [list(map(str, k)) for k in bg.index]}
for m in metrics:
    res[m] = [None if pd.isna(v) else float(v) for v in bg[m]]
with open(out, "w") as fh:
    json.dump(res, fh)
print(json.dumps({"steps": {"imports": t1 - t0, "read": t2 - t1, "MetricFrame": t3 - t2}}))
'''

# Run by the aequitas venv's interpreter.  get_crosstabs requires the attribute columns to be of
# dtype object (pandas 2 reads Parquet strings as object), a binary score column and a binary label
# column; it counts with one df.groupby([attribute, score, label]).size() per attribute column.
AEQUITAS = r'''
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from aequitas.group import Group
t1 = time.perf_counter()
path, out, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
groups = ["gender", "nationality", "age_band"]
df = pd.read_parquet(path, columns=groups + ["selected", "outcome"])
t2 = time.perf_counter()
df["intersection"] = df["gender"] + " × " + df["nationality"] + " × " + df["age_band"]
t3 = time.perf_counter()
xt, _ = Group().get_crosstabs(df, attr_cols=["intersection"], score_col="selected", label_col="outcome")
t4 = time.perf_counter()
res = {"index": [v.split(" × ") for v in xt["attribute_value"]], "rows": int(xt["group_size"].sum())}
for ours, theirs in names.items():
    res[ours] = [None if pd.isna(v) else float(v) for v in xt[theirs]]
with open(out, "w") as fh:
    json.dump(res, fh)
print(json.dumps({"steps": {"imports": t1 - t0, "read": t2 - t1, "combined column": t3 - t2,
                            "get_crosstabs": t4 - t3}}))
'''

# Run by the aequitas venv's interpreter: the import check, and the versions it prints.
AEQUITAS_CHECK = r'''
import json, platform
from importlib import metadata
from aequitas.group import Group
import pandas, pyarrow
Group()
print(json.dumps({"python": platform.python_version(),
                  **{p: metadata.version(p) for p in ("aequitas", "pandas", "numpy", "pyarrow")}}))
'''


def measure(cmd: list[str]) -> dict:
    """``run.measure`` (the one timing method of every benchmark here) as a dict, with the JSON line
    the child prints last merged in."""
    record = dict(vars(_run_measure(cmd)))
    lines = record["stdout"].strip().splitlines()
    if record["rc"] == 0 and lines and lines[-1].startswith("{"):
        record.update(json.loads(lines[-1]))
    return record


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_aequitas(venv: Path) -> tuple[Path | None, dict | None]:
    """The aequitas venv's interpreter and its versions, creating the venv on first use; (None, None) if unusable.

    Never raises: every failure is printed with its reason.
    """
    py = venv_python(venv)

    def check() -> tuple[dict | None, str]:
        try:
            r = subprocess.run([str(py), "-c", AEQUITAS_CHECK], capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
        if r.returncode:
            return None, r.stderr
        try:
            return json.loads(r.stdout.strip().splitlines()[-1]), ""
        except (ValueError, IndexError):
            return None, f"unexpected output: {r.stdout[-500:]!r}"

    if py.exists():
        versions, why = check()
        if versions is not None:
            print(f"  aequitas venv: reusing {_show(venv)}")
            return py, versions
        print(f"  aequitas venv: {_show(venv)} exists but aequitas does not import; installing again. Reason:\n"
              f"{_tail(why)}")
    start = time.perf_counter()
    try:
        if not py.exists():
            venv.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True,
                               timeout=600, stdin=subprocess.DEVNULL)
            if r.returncode:
                print(f"  aequitas SKIPPED: `python -m venv {_show(venv)}` failed (exit {r.returncode}):\n"
                      f"{_tail(r.stderr + r.stdout)}")
                return None, None
        log = venv / "install.log"
        with open(log, "w") as fh:
            r = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", AEQUITAS_PIN,
                                "pyarrow"], stdout=fh, stderr=subprocess.STDOUT, timeout=1800,
                               stdin=subprocess.DEVNULL)
        if r.returncode:
            print(f"  aequitas SKIPPED: `pip install '{AEQUITAS_PIN}' pyarrow` into {_show(venv)} failed "
                  f"(exit {r.returncode}; full log {_show(log)}):\n{_tail(log.read_text(errors='replace'))}")
            return None, None
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"  aequitas SKIPPED: could not create its venv {_show(venv)}: {exc}")
        return None, None
    versions, why = check()
    if versions is None:
        print(f"  aequitas SKIPPED: installed into {_show(venv)} but `from aequitas.group import Group` "
              f"fails:\n{_tail(why)}")
        return None, None
    print(f"  aequitas venv: created {_show(venv)} and installed '{AEQUITAS_PIN}' pyarrow in "
          f"{time.perf_counter() - start:.0f} s (log: {_show(venv / 'install.log')})")
    return py, versions


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def audit_numbers(path: Path) -> dict[tuple[str, ...], dict[str, float | None]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {tuple(g["levels"][a] for a in GROUPS): {m: g[m]["value"] for m in RATES}
            for g in doc["groups"] if g["attribute"] == FULL}


def table_numbers(path: Path) -> dict[tuple[str, ...], dict[str, float | None]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {tuple(k): {m: doc[m][i] for m in RATES} for i, k in enumerate(doc["index"])}


def compare(a: dict, b: dict, metric: str) -> tuple[bool, float]:
    """Whether ``b`` has the same groups as ``a`` and the same ``metric`` to 1e-9; the largest |difference|."""
    worst, ok = 0.0, set(a) == set(b)
    for key in set(a) & set(b):
        x, y = a[key][metric], b[key][metric]
        if x is None or y is None:
            ok &= x is None and y is None
            continue
        worst = max(worst, abs(x - y))
    return ok and worst <= TOLERANCE, worst


def versions_here() -> str:
    out = []
    for pkg in ("auditkit", "pandas", "numpy", "pyarrow", "duckdb", "fairlearn", "scikit-learn"):
        try:
            out.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return ", ".join(out)


def part_peers(path: Path, out: Path, repeat: int, aequitas_venv: Path | None) -> None:
    """Time every tool on ``path`` (best of ``repeat`` runs, MetricFrame once) and compare their numbers."""
    import platform

    rows = path.name.split("_")[1]
    print(f"\nPeers at {rows} rows: selection rate, TPR, FPR, FNR, PPV of the 40 groups of {FULL} "
          f"({path.name})")
    auditkit = Path(sys.executable).parent / "auditkit"
    print(f"  auditkit env: Python {platform.python_version()}, {versions_here()}")
    aeq_py = aeq_versions = None
    if aequitas_venv is None:
        print("  aequitas: skipped (--no-aequitas)")
    else:
        aeq_py, aeq_versions = ensure_aequitas(aequitas_venv)
        if aeq_versions:
            print(f"  aequitas env ({_show(aequitas_venv)}): Python {aeq_versions['python']}, "
                  + ", ".join(f"{p} {aeq_versions[p]}" for p in ("aequitas", "pandas", "numpy", "pyarrow")))
    out.mkdir(parents=True, exist_ok=True)

    def audit_cmd(engine: str, target: Path) -> list[str]:
        return [str(auditkit), "audit", str(path), *sum((["--protected", g] for g in GROUPS), []),
                "--decision", "selected", "--truth", "outcome", "--engine", engine, "--json", str(target),
                "--quiet"]

    aeq_label = f"aequitas {aeq_versions['aequitas']}" if aeq_versions else "aequitas"
    tools = [  # (label, command or None, output JSON, runs, reader of the output)
        ("auditkit --engine pandas", audit_cmd("pandas", out / "peers_audit_pandas.json"),
         out / "peers_audit_pandas.json", repeat, audit_numbers),
        ("auditkit --engine duckdb", audit_cmd("duckdb", out / "peers_audit_duckdb.json"),
         out / "peers_audit_duckdb.json", repeat, audit_numbers),
        ("fairlearn MetricFrame", [sys.executable, "-c", METRICFRAME, str(path), str(out / "peers_metricframe.json")],
         out / "peers_metricframe.json", 1, table_numbers),
        (aeq_label, None if aeq_py is None else
         [str(aeq_py), "-c", AEQUITAS, str(path), str(out / "peers_aequitas.json"), json.dumps(AEQUITAS_NAMES)],
         out / "peers_aequitas.json", repeat, table_numbers),
    ]
    _warm(path)
    print(f"  load average at start: {_loadavg()}")
    best: dict[str, dict] = {}
    runs_ok: dict[str, list[dict]] = {}
    failed: set[str] = set()
    for label, cmd, target, runs, _ in tools:
        if cmd is None:
            continue
        target.unlink(missing_ok=True)  # never compare against a stale file
        for i in range(1, runs + 1):
            r = measure(cmd)
            busy = "" if r["others"] is None else f"  (other processes: {r['others']:.1f} cores busy)"
            print(f"  {label:<26} run {i}: {r['wall']:7.2f} s wall {r['cpu']:7.2f} s cpu "
                  f"{r['peak_mib']:6.0f} MiB{busy}", flush=True)
            if r["rc"]:
                print(f"  {label} FAILED (exit {r['rc']}); going on without it:\n{_tail(r['stderr'], 25)}")
                failed.add(label)
                break
            runs_ok.setdefault(label, []).append(r)
        if label in runs_ok:
            best[label] = {**min(runs_ok[label], key=lambda x: x["wall"]),
                           "peak_mib": max(x["peak_mib"] for x in runs_ok[label])}
    print(f"  load average at end: {_loadavg()}")

    print(f"  {'tool':<26} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9} {'others':>7}  (best wall of the runs, "
          "largest peak)")
    for label, *_ in tools:
        if label in best:
            r = best[label]
            busy = "?" if r["others"] is None else f"{r['others']:.1f}"
            print(f"  {label:<26} {r['wall']:>7.2f} {r['cpu']:>7.2f} {r['peak_mib']:>9.0f} {busy:>7}")
        else:
            why = "failed" if label in failed else "not run"
            print(f"  {label:<26} {'—':>7} {'—':>7} {'—':>9} {'—':>7}  ({why})")
    for label, *_ in tools:
        steps = best.get(label, {}).get("steps")
        if steps:
            print(f"  {label} inside its process: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))

    numbers = {label: read(target) for label, cmd, target, _, read in tools if label in best and target.exists()}
    ref_label = next((label for label in ("auditkit --engine pandas", "auditkit --engine duckdb")
                      if label in numbers), None)
    print(f"  same numbers as {ref_label or 'auditkit'} (each rate of each group of {FULL}, tolerance "
          f"{TOLERANCE:g}):")
    if ref_label is None:
        print("    auditkit produced no results; nothing to compare")
        return
    ref = numbers[ref_label]
    for label, *_ in tools:
        if label == ref_label:
            continue
        if label not in numbers:
            print(f"    {label:<26} not compared (no output)")
            continue
        got = numbers[label]
        checks = {m: compare(ref, got, m) for m in RATES}
        shared = len(set(ref) & set(got))
        names = "" if not label.startswith("aequitas") else \
            " [aequitas: " + ", ".join(f"{AEQUITAS_NAMES[m]}" for m in RATES) + "]"
        print(f"    {label:<26} same numbers: {'yes' if all(ok for ok, _ in checks.values()) else 'NO'} "
              f"({shared} of {len(ref)} groups){names}: "
              + ", ".join(f"{m} {'yes' if ok else 'no'} (max |diff| {worst:.1e})" for m, (ok, worst) in checks.items()))
    print(f"  this parent's own peak RSS: {_own_peak_mib():.0f} MiB (no child figure can read below it)")


def _own_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20


def _warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    import engines

    engines.main(["--only", "peers", *sys.argv[1:]])
