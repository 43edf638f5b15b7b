"""What the model worker costs: scoring 1M rows in the worker against scoring them in auditkit's process.

Builds a logistic regression and a random forest on synthetic data, saves each as joblib, and scores
``--rows`` rows (default 1,000,000, ``--columns`` numeric inputs) in batches of 50,000 -- the way
``auditkit assess`` does -- once with the model opened in the worker (the default) and once opened with
``trust=True`` (in this process).  Prints, per model, the time to open the file, the scoring time of each
way (best of ``--repeat``), and the worker's overhead per 1M rows scored, absolute and in percent.

    .venv/bin/python benchmarks/model_worker.py --rows 1000000
"""

from __future__ import annotations

import argparse
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


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from auditkit.load.model import load_model, model_predict

    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(args.rows, args.columns)), columns=[f"x{i}" for i in range(args.columns)])
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _models(Path(tmp), args.columns).items():
            start = time.perf_counter()
            remote = load_model(path)
            open_worker = time.perf_counter() - start
            start = time.perf_counter()
            local = load_model(path, trust=True)
            open_local = time.perf_counter() - start
            same = np.array_equal(model_predict(remote, data.iloc[:1000])[0], model_predict(local, data.iloc[:1000])[0])
            t_worker = _time(lambda: model_predict(remote, data), args.repeat)
            t_local = _time(lambda: model_predict(local, data), args.repeat)
            per_million = (t_worker - t_local) / args.rows * 1e6
            print(f"{name}: open {open_worker:.2f} s in the worker, {open_local:.2f} s in-process; scoring "
                  f"{args.rows:,} rows x {args.columns} columns: worker {t_worker:.2f} s, in-process {t_local:.2f} s; "
                  f"overhead {per_million:+.2f} s per 1M rows ({(t_worker / t_local - 1) * 100:+.1f}%); "
                  f"scores identical: {same}")
            remote.estimator.close()


if __name__ == "__main__":
    main()
