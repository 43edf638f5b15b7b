"""The long fuzz run of the model loaders, outside the test suite: seeded mutations of a valid file of every
format (pickle, joblib, zlib joblib, skops, XGBoost JSON and UBJSON, LightGBM, ONNX) -- bytes flipped,
the file cut, a slice repeated, deep nesting inserted -- each opened through the model worker exactly as
``assess`` opens it and, when it opens, scored.  Each format runs in a child process, so that a signal
that killed auditkit itself would show (as the child's exit status) instead of ending the run.

Prints, per format and in total: files, opened (scored), refused (UnsafeModelError: the scan, a state
check, or the worker crashing, hanging or going over a limit), messages (another auditkit error),
tracebacks (any other exception: a defect) and signals in auditkit's own process (a defect).

    .venv/bin/python benchmarks/model_fuzz.py --rounds 250 --seed 19
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = """
import json, random, sys, traceback
from pathlib import Path
sys.path.insert(0, {root!r})
import numpy as np, pandas as pd
from auditkit.exceptions import AuditkitError, UnsafeModelError
from auditkit.load._limits import ModelLimits
from auditkit.load._predict import model_predict
from auditkit.load.model import load_model
from tests.test_model_hostile_files import _mutate
valid, rounds, seed, folder = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
rng = random.Random(seed)
X = pd.DataFrame(np.random.RandomState(1).rand(5, 3), columns=["a", "b", "c"])
limits = ModelLimits(timeout=20.0, memory_gb=3.0)
counts, examples = {{"opened": 0, "refused": 0, "messages": 0, "tracebacks": 0, "worker crashes": 0}}, []
raw = valid.read_bytes()
for i in range(rounds):
    path = folder / f"f{{i}}-{{valid.name}}"
    path.write_bytes(_mutate(raw, rng))
    try:
        model = load_model(path, limits=limits)
        model_predict(model, X)
        model.estimator.close()
        counts["opened"] += 1
    except UnsafeModelError as err:
        counts["refused"] += 1
        counts["worker crashes"] += "crashed (signal" in str(err)
    except AuditkitError:
        counts["messages"] += 1
    except Exception:
        counts["tracebacks"] += 1
        examples.append(traceback.format_exc()[-600:])
    path.unlink()
print("RESULT " + json.dumps({{"counts": counts, "examples": examples[:3]}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=250, help="mutated files per format")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    from tests.test_model_hostile_files import _valid_files

    total: Counter = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, valid in enumerate(_valid_files(folder)):
            proc = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT)), str(valid), str(args.rounds),
                                   str(args.seed + n), str(folder)], capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            counts = Counter(json.loads(line[7:])["counts"]) if line else Counter()
            if proc.returncode < 0:
                counts["signals"] += 1
            elif line is None:
                counts["tracebacks"] += 1
                print(proc.stderr[-1000:])
            counts["files"] += args.rounds
            total += counts
            print(f"{valid.suffix} ({valid.name}): {dict(counts)}", flush=True)
            if line and json.loads(line[7:])["examples"]:
                print("\n".join(json.loads(line[7:])["examples"]))
    print(f"total ({time.perf_counter() - started:.0f} s): files {total['files']}, opened {total['opened']}, refused "
          f"{total['refused']} (of which the worker crashed {total['worker crashes']}), messages {total['messages']}, "
          f"tracebacks {total['tracebacks']}, signals in auditkit {total['signals']}")


if __name__ == "__main__":
    main()
