#!/usr/bin/env python
"""Benchmark the counting engines: pandas, DuckDB, Dask and a bare numpy bincount, on the same rows.

Prints figures; never asserts times.  Three parts:

1. **10M rows** (one Parquet file): the count table of
   ``--protected gender nationality age_band --decision selected --truth outcome``
   by the pandas path (``rows_to_counts``), DuckDB, Dask (a local cluster of 2
   workers, 1 thread each, in the measured process) and a bare numpy pass
   (dictionary codes + one ``np.bincount``: the floor of any tool that reads the
   rows).  Every engine's count array is compared with the others.
2. **Peers at 1M rows** (benchmarks/peers.py): the per-group selection rate,
   TPR, FPR, FNR and PPV of the full intersection by ``auditkit audit``
   (pandas and DuckDB engines), fairlearn ``MetricFrame`` and aequitas
   (``Group().get_crosstabs``, from its own venv under benchmarks/_venvs/aequitas,
   made on first use, because aequitas 1.1.0 needs pandas<3), every one a whole
   process; each tool's numbers compared with auditkit's to 1e-9.
3. **100M rows** (a folder of Parquet files, about 2 GB, generated in chunks):
   the same audit and a top-10% audit on a score column, on DuckDB with
   ``memory_limit`` (default 4GB) and 2 threads; compared with numpy counts made
   file by file.

Every measurement is a separate child process: wall seconds from start to reap
(interpreter start-up and imports included), the counting step's own seconds
as the child reports them, and the child's peak RSS from the rusage that
``os.wait4`` returns for exactly that child.  This parent imports only the
standard library, because Linux starts a child's RSS high-water mark at the
parent's (see benchmarks/README.md).

Run from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/engines.py                 # all three parts: ~15-20 min on 2 cores
    .venv/bin/python benchmarks/engines.py --skip-100m     # 10M and the peers at 1M: ~4 min
    .venv/bin/python benchmarks/engines.py --only peers    # the peers at 1M only: ~2 min (+1-2 min the first
                                                           # time, to make the aequitas venv)
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402  (benchmarks/peers.py: standard library only, like this script)

PARTS = ("10m", "peers", "100m")
GROUPS = ("gender", "nationality", "age_band")
AUDIT = {"protected": list(GROUPS), "decision": "selected", "truth": "outcome"}
TOP = {"protected": list(GROUPS), "score": "score", "top": 10, "truth": "outcome"}
ROWS = [10_000_000, 100_000_000]

# The generator of benchmarks/run.py (same seed, same file name), so that either script reuses the
# other's 10M file; extended by chunk and with a score, an id and an income for the 100M folder.
GENERATE = r'''
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
path, n, seed, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "extra"
rng = np.random.default_rng(seed)
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
p_out = 0.08 * np.asarray([1.3, 1.0, 0.9, 0.8])[codes["age_band"]]
outcome = (rng.random(n) < p_out).astype(np.int8)
logit = -2.4 + 1.2 * outcome + effect
selected = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
arrays = {name: pa.DictionaryArray.from_arrays(pa.array(codes[name]), pa.array(labels)).cast(pa.string())
          for name, (labels, _, _) in levels.items()}
arrays["selected"] = pa.array(selected)
arrays["outcome"] = pa.array(outcome)
if extra:
    arrays["person_id"] = pa.array(rng.integers(0, 2**62, n, dtype=np.int64))
    arrays["score"] = pa.array(1.0 / (1.0 + np.exp(-(logit + rng.normal(0, 1, n)))))
    arrays["income"] = pa.array(rng.lognormal(10, 0.6, n).astype(np.float32))
tmp = path + ".tmp"
pq.write_table(pa.table(arrays), tmp)
os.replace(tmp, path)
'''

SCHEMA = r'''
import sys, pyarrow.parquet as pq
names = set(pq.ParquetFile(sys.argv[1]).schema_arrow.names)
print("yes" if {"gender", "nationality", "age_band", "selected", "outcome"} <= names else "no")
'''

COUNT = r'''
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from auditkit import AuditSpec
from auditkit.engines import count_rows
engine, path, out, spec, memory = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
t1 = time.perf_counter()
scheduler = cluster = None
if engine == "dask":
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    scheduler = cluster.scheduler_address
t2 = time.perf_counter()
table, population = count_rows(path, AuditSpec(**spec), engine, scheduler=scheduler,
                               memory_limit=memory or None, threads=2 if engine == "duckdb" else None)
t3 = time.perf_counter()
np.save(out, table.low)
if cluster is not None:
    cluster.close()
print(json.dumps({"imports": t1 - t0, "setup": t2 - t1, "count": t3 - t2, "rows": population.rows_read,
                  "rule": population.decision_rule}))
'''

# The floor: one pass, file by file; group columns read as the file's dictionary codes (no string is
# built), one np.bincount per file in the file's own level order, then the small count arrays are
# re-indexed to auditkit's sorted levels and added.  For a top-k spec the k-th largest score comes
# from np.partition over every score (a first pass), and ties go to the earliest rows.
FLOOR = r'''
import json, math, sys, time
import numpy as np, pyarrow.dataset as ds, pyarrow.parquet as pq
t0 = time.perf_counter()
path, out, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
groups = spec["protected"]
files = ds.dataset(path, format="parquet").files
cutoff = need = None
if "score" in spec:
    scores = np.concatenate([pq.read_table(f, columns=["score"]).column(0).to_numpy() for f in files])
    k = math.floor(len(scores) * spec["top"] / 100 + 1e-9)
    cutoff = np.partition(scores, len(scores) - k)[len(scores) - k]
    need = k - int((scores > cutoff).sum())
    del scores
decision_column = "score" if "score" in spec else "selected"
parts = []
for f in files:
    t = pq.ParquetFile(f, read_dictionary=groups).read(columns=groups + [decision_column, "outcome"])
    t = t.unify_dictionaries()
    labels = [t.column(g).chunk(0).dictionary.to_pylist() for g in groups]
    flat = np.zeros(t.num_rows, dtype=np.int64)
    for g, lab in zip(groups, labels):
        flat *= len(lab)
        flat += np.concatenate([c.indices.to_numpy() for c in t.column(g).chunks])
    d = t.column(decision_column).to_numpy()
    if cutoff is not None:
        tied = np.flatnonzero(d == cutoff)[:max(need, 0)]
        d = (d > cutoff).astype(np.int64)
        d[tied] = 1
        need -= len(tied)
    flat = (flat * 2 + d) * 3 + t.column("outcome").to_numpy()
    shape = [len(lab) for lab in labels] + [2, 3]
    parts.append((labels, np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)))
levels = [sorted(set().union(*(p[0][i] for p in parts))) for i in range(len(groups))]
counts = np.zeros([len(lv) for lv in levels] + [2, 3])
for labels, c in parts:
    index = np.ix_(*[[lv.index(x) for x in lab] for lv, lab in zip(levels, labels)], [0, 1], [0, 1, 2])
    counts[index] += c
np.save(out, counts)
print(json.dumps({"imports": 0.0, "setup": 0.0, "count": time.perf_counter() - t0, "rows": int(counts.sum())}))
'''


def run(code: str, *args: object) -> dict:
    """Run ``python -c code args``; its JSON line plus wall seconds, cpu seconds and peak MiB (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode:
        raise SystemExit(f"child failed ({proc.returncode}):\n{errors[-3000:]}")
    record = json.loads(text.strip().splitlines()[-1]) if text.strip() else {}
    record.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024)
    return record


def same(a: Path, b: Path) -> str:
    """'yes' when the two saved count arrays are equal (compared in a child: this parent has no numpy)."""
    code = ("import sys, numpy as np; "
            "print('yes' if np.array_equal(np.load(sys.argv[1]), np.load(sys.argv[2])) else 'NO')")
    result = subprocess.run([sys.executable, "-c", code, str(a), str(b)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def ensure_file(data: Path, rows: int, seed: int, regenerate: bool) -> Path:
    """The file of benchmarks/run.py for ``rows`` if it is there and has the columns, else made now."""
    path = data / f"decisions_{_short(rows)}_seed{seed}.parquet"
    if path.exists() and not regenerate:
        fits = subprocess.run([sys.executable, "-c", SCHEMA, str(path)], capture_output=True, text=True).stdout
        if fits.strip() == "yes":
            print(f"reusing {path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path}")
            return path
    t = run(GENERATE, path, rows, seed, "plain")
    print(f"generated {path.name} in {t['wall']:.1f} s")
    return path


def ensure_100m(data: Path, rows: int, chunk: int, seed: int, regenerate: bool) -> tuple[Path, float]:
    """A folder of Parquet files of ``chunk`` rows each (different seeds), made once."""
    folder = data / f"decisions_{_short(rows)}_seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(0, rows, chunk):
        path = folder / f"part-{i // chunk:04d}.parquet"
        if regenerate or not path.exists():
            run(GENERATE, path, min(chunk, rows - i), seed + i // chunk, "extra")
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**30
    print(f"{folder.name}: {rows:,} rows in {len(list(folder.glob('*.parquet')))} files, {size:.2f} GiB "
          f"(generation {time.perf_counter() - start:.0f} s, 0 if cached)")
    return folder, time.perf_counter() - start


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def warm(path: Path) -> None:
    """Read every byte once, so that every engine reads from the page cache."""
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass


def table(rows: list[tuple[str, dict, str]]) -> None:
    print(f"  {'engine':<28} {'wall s':>8} {'count s':>8} {'cpu s':>8} {'peak MiB':>9}  same counts")
    for name, r, ok in rows:
        print(f"  {name:<28} {r['wall']:>8.2f} {r['count']:>8.2f} {r['cpu']:>8.2f} {r['peak_mib']:>9.0f}  {ok}")


def part_10m(path: Path, out: Path, repeat: int) -> None:
    print(f"\n{_short(ROWS[0])} rows: count table of {', '.join(GROUPS)} x selected x outcome ({path.name})")
    warm(path)
    floor = min((run(FLOOR, path, out / "floor.npy", json.dumps(AUDIT)) for _ in range(repeat)),
                key=lambda r: r["count"])
    rows = [("numpy bincount (floor)", floor, "reference")]
    for engine in ("pandas", "duckdb", "dask"):
        best = min((run(COUNT, engine, path, out / f"{engine}.npy", json.dumps(AUDIT), "")
                    for _ in range(repeat)), key=lambda r: r["count"])
        rows.append((f"{engine}" + (" (2 workers)" if engine == "dask" else ""), best,
                     same(out / "floor.npy", out / f"{engine}.npy")))
    table(rows)
    duck = next(r for n, r, _ in rows if n == "duckdb")
    print(f"  DuckDB / floor: {duck['count'] / floor['count']:.2f}x counting, {duck['wall'] / floor['wall']:.2f}x "
          "whole process (target: within 2x)")


def part_100m(folder: Path, out: Path, memory: str) -> None:
    print(f"\n{_short(ROWS[1])} rows in a Parquet folder on DuckDB, memory_limit={memory}, threads=2 ({folder.name})")
    warm(folder)
    rows = []
    for name, spec in (("decision column", AUDIT), ("top 10% of score", TOP)):
        duck = run(COUNT, "duckdb", folder, out / "duck100.npy", json.dumps(spec), memory)
        ref = run(FLOOR, folder, out / "floor100.npy", json.dumps(spec))
        rows += [(f"duckdb: {name}", duck, same(out / "duck100.npy", out / "floor100.npy")),
                 (f"numpy: {name}", ref, "reference")]
        if "cutoff_score" in duck.get("rule", {}):
            rule = duck["rule"]
            print(f"  top 10%: cut-off {rule['cutoff_score']:.6f}, {rule['tied_at_cutoff']} tied, "
                  f"{rule['tied_selected']} of them selected")
    table(rows)


def machine() -> str:
    """Cores, processor and memory (Linux; what it can find elsewhere)."""
    cpu, mem = platform.processor() or platform.machine(), "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
        with open("/proc/meminfo") as fh:
            mem = f"{int(next(line for line in fh if line.startswith('MemTotal')).split()[1]) / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem} RAM"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the one-file comparison")
    parser.add_argument("--big-rows", type=int, default=100_000_000, help="rows of the folder run on DuckDB")
    parser.add_argument("--chunk", type=int, default=10_000_000, help="rows per file of the folder")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit of the folder run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per engine at 10M (best is shown)")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--data-dir", type=Path, default=HERE / "_data")
    parser.add_argument("--skip-100m", action="store_true")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--only", nargs="+", choices=PARTS, metavar="PART",
                        help=f"run only these parts ({', '.join(PARTS)})")
    parser.add_argument("--peer-rows", type=int, default=1_000_000, help="rows of the peer comparison")
    parser.add_argument("--peer-repeat", type=int, default=2,
                        help="runs per tool in the peer comparison, MetricFrame once (best is shown)")
    parser.add_argument("--aequitas-venv", type=Path, default=HERE / "_venvs" / "aequitas",
                        help="virtual environment for aequitas (made on first use)")
    parser.add_argument("--no-aequitas", action="store_true", help="leave aequitas out of the peers")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS) - {p for p, skip in (("100m", args.skip_100m), ("peers", args.skip_peers))
                                        if skip and not args.only}
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ROWS[:] = [args.rows, args.big_rows]
    out = args.data_dir / "out" / "engines"
    out.mkdir(parents=True, exist_ok=True)
    print(f"auditkit engine benchmark · {time.strftime('%Y-%m-%d %H:%M')} · Python {platform.python_version()} · "
          f"{machine()} · load {os.getloadavg()[0]:.2f}")
    print("wall = whole child process (start-up, imports, cluster start for dask); count = the counting "
          "call alone; cpu = the child's user + system seconds; peak = the child's ru_maxrss from os.wait4.")
    if "10m" in parts:
        part_10m(ensure_file(args.data_dir, args.rows, args.seed, args.regenerate), out, args.repeat)
    if "peers" in parts:
        peers.part_peers(ensure_file(args.data_dir, args.peer_rows, args.seed, args.regenerate), out,
                         max(1, args.peer_repeat), None if args.no_aequitas else args.aequitas_venv)
    if "100m" in parts:
        folder, _ = ensure_100m(args.data_dir, args.big_rows, args.chunk, args.seed, args.regenerate)
        part_100m(folder, out, args.memory_limit)


if __name__ == "__main__":
    main()
