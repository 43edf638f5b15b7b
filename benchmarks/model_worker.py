"""What the model worker costs: scoring 1M rows in the worker against scoring them in auditkit's process.

Builds a logistic regression and a random forest on synthetic data, saves each as joblib, and scores
``--rows`` rows (default 1,000,000, ``--columns`` numeric inputs) in batches of 50,000 -- the way
``auditkit assess`` does -- once with the model opened in the worker (the default) and once opened with
``trust=True`` (in this process).  The two ways alternate, ``--repeat`` times each, so that a change in the
machine's load hits both alike.  Prints the machine's load average, and per model the time to open the
file, the median scoring time of each way (and the range), and the worker's overhead per 1M rows scored,
absolute and in percent, from the medians.

    .venv/bin/python benchmarks/model_worker.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _models(folder: Path, columns: int) -> dict[str, Path]:
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(5000, columns)), columns=[f"x{i}" for i in range(columns)])
    y = (X.iloc[:, 0] + rng.normal(size=5000) > 0).astype(int)
    out = {}
    for name, est in (("logistic regression", LogisticRegression()),
                      ("random forest (100 trees, depth 8)", RandomForestClassifier(100, max_depth=8, random_state=0))):
        path = folder / f"{name.split()[0]}.joblib"
        joblib.dump(est.fit(X, y), path)
        out[name] = path
    return out


def _worker_cpu(pid: int) -> float:
    """CPU seconds (user + system) the worker process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alternate(first, second, repeat: int, pid: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Run ``first`` (in the worker ``pid``) and ``second`` alternately ``repeat`` times each: wall and CPU
    seconds of each run (CPU: this process, plus the worker's for ``first``)."""
    times: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for fn, out, worker in ((first, times[0], pid), (second, times[1], None)):
            cpu = time.process_time() + (_worker_cpu(worker) if worker else 0.0)
            start = time.perf_counter()
            fn()
            wall = time.perf_counter() - start
            out.append((wall, time.process_time() + (_worker_cpu(worker) if worker else 0.0) - cpu))
    return times
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    from auditkit.load.model import load_model, model_predict

    print(f"load average (1, 5, 15 min) at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs")

    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(args.rows, args.columns)), columns=[f"x{i}" for i in range(args.columns)])
    # As `auditkit assess` has it: the data file holds more than the model's inputs (an id, the protected
    # attribute), the model's columns are picked out by name (align_features), then scored
    wide = data.assign(id=np.arange(args.rows), group=pd.Categorical(rng.choice(["a", "b"], args.rows)))
    wide = wide[["id", "group", *reversed(list(data.columns))]]
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _models(Path(tmp), args.columns).items():
            start = time.perf_counter()
            remote = load_model(path)
            open_worker = time.perf_counter() - start
            start = time.perf_counter()
            local = load_model(path, trust=True)
            open_local = time.perf_counter() - start
            for how, run, frame in (("the model's columns alone", model_predict, data),
                                    ("picked from a wider frame, as assess does", _as_assess, wide)):
                same = np.array_equal(run(remote, frame)[0], run(local, frame)[0])
                worker, inproc = _alternate(lambda: run(remote, frame), lambda: run(local, frame), args.repeat,
                                            remote.estimator.worker.pid)
                _report(f"{name}, {how}", args, open_worker, open_local, worker, inproc, same)
            remote.estimator.close()
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _as_assess(loaded: object, frame: pd.DataFrame) -> tuple:
    """Scoring as ``auditkit assess`` calls it: pick the model's columns by name, then score."""
    from auditkit.load.model import align_features, model_predict

    features, _ = align_features(loaded, frame)
    return model_predict(loaded, features)


def _report(name: str, args: argparse.Namespace, open_worker: float, open_local: float, worker: list,
            inproc: list, same: bool) -> None:
    """One line: the two ways' median times (and ranges), the overhead per 1M rows, CPU seconds."""
    (t_worker, c_worker), (t_local, c_local) = np.median(worker, axis=0), np.median(inproc, axis=0)
    walls = [w for w, _ in worker], [w for w, _ in inproc]
    per_million = (t_worker - t_local) / args.rows * 1e6
    print(f"{name}: open {open_worker:.2f} s in the worker, {open_local:.2f} s in-process; scoring "
          f"{args.rows:,} rows x {args.columns} columns, median of {args.repeat}: worker {t_worker:.3f} s "
          f"({min(walls[0]):.3f}-{max(walls[0]):.3f}), in-process {t_local:.3f} s ({min(walls[1]):.3f}-"
          f"{max(walls[1]):.3f}); overhead {per_million:+.3f} s per 1M rows ({(t_worker / t_local - 1) * 100:+.1f}%); "
          f"CPU seconds (auditkit + worker) {c_worker:.3f} vs in-process {c_local:.3f} "
          f"({(c_worker / c_local - 1) * 100:+.1f}%); scores identical on all rows: {same}; "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
