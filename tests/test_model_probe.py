"""The crash probe (with --trust-model) and the model worker (without): a model file that crashes or hangs
its loader is refused, never kills this process.

Corrupt XGBoost UBJSON and LightGBM text files really do crash their C++ parsers (SIGSEGV, SIGABRT);
each corruption is first tried with the bare library in a subprocess, and where that crashes, auditkit
must refuse the file with a message naming the signal.  The signal and timeout paths are also driven
through the test hooks (AUDITKIT_PROBE_TEST_CRASH / _HANG) so they are tested whatever the libraries do.
"""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import os
import re
from pathlib import Path

import numpy as np
import pytest

from auditkit.exceptions import InputDataError, UnsafeModelError
from auditkit.load import _probe
from auditkit.load.model import load_model
from tests.conftest import assert_user_error, run_cli

xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

# Tries each file with the bare library in a forked child of one helper process (one import, not one per
# file) and prints each child's exit status: 0, 1 (the library raised) or -signal.
BARE = """
import os, sys, xgboost, lightgbm, onnxruntime
open_ = {".json": lambda p: xgboost.Booster(model_file=p), ".ubj": lambda p: xgboost.Booster(model_file=p),
         ".txt": lambda p: lightgbm.Booster(model_file=p),
         ".onnx": lambda p: onnxruntime.InferenceSession(p, providers=["CPUExecutionProvider"])}
for path in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.dup2(1, 2)
        try:
            open_[os.path.splitext(path)[1]](path)
        except Exception:
            os._exit(1)
        os._exit(0)
    status = os.waitpid(pid, 0)[1]
    print("status", -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status), flush=True)
"""


def _bare_statuses(paths: list[Path]) -> list[int]:
    out = subprocess.run([sys.executable, "-c", BARE, *map(str, paths)], capture_output=True, text=True,
                         timeout=120).stdout
    return [int(line.split()[1]) for line in out.splitlines() if line.startswith("status ")]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.RandomState(0)
    X = rng.rand(80, 3)
    y = (X[:, 0] > 0.5).astype(int)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, y), 3)
    booster.save_model(str(folder / "m.json"))
    booster.save_model(str(folder / "m.ubj"))
    lightgbm.train({"verbose": -1, "num_leaves": 4}, lightgbm.Dataset(X, y), 3).save_model(str(folder / "m.txt"))
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression().fit(X, y)
    (folder / "m.pkl").write_bytes(pickle.dumps(lr))
    try:
        from skl2onnx import to_onnx

        (folder / "m.onnx").write_bytes(to_onnx(lr, X[:1].astype(np.float32)).SerializeToString())
    except ImportError:
        pass
    return {p.suffix: p for p in folder.iterdir()}


def _corruptions(raw: bytes, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    out = [(f"cut{c}", raw[: int(len(raw) * c)]) for c in (0.1, 0.5, 0.9)]
    for i in range(3):
        flipped = bytearray(raw)
        for _ in range(8):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        out.append((f"flip{i}", bytes(flipped)))
    return out


@pytest.fixture(scope="module")
def corrupt(models, tmp_path_factory) -> list[tuple[Path, int]]:
    """Truncated and byte-flipped copies of each native model, with how the bare library fares on each."""
    if not hasattr(os, "fork"):
        pytest.skip("the bare-library check forks")
    folder = tmp_path_factory.mktemp("corrupt")
    paths = []
    for suffix in (".json", ".ubj", ".txt", ".onnx"):
        if suffix in models:
            for name, data in _corruptions(models[suffix].read_bytes(), seed=len(suffix)):
                paths.append(folder / f"{name}{suffix}")
                paths[-1].write_bytes(data)
    statuses = _bare_statuses(paths)
    assert len(statuses) == len(paths)
    return list(zip(paths, statuses))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the crashing corruptions were found on Linux")
def test_corrupt_native_files_never_kill_the_process(corrupt):
    """Each corrupt file is refused (its loader crashed in the model worker) or fails with the loader's clean
    error.  Files that crashed the bare library must not have opened."""
    crashed_bare = 0
    for path, bare in corrupt:
        try:
            load_model(path).estimator.close()
        except UnsafeModelError as err:
            assert "model worker" in str(err) and path.name in str(err), str(err)
            assert "while opening the file" in str(err)
            assert re.search(r"crashed \(signal \d+, SIG\w+\)", str(err)), str(err)
        except InputDataError as err:  # the child met the loader's own error: that message, raised as it is
            assert "signal" not in str(err)
        else:
            assert bare >= 0, f"{path.name} crashed the bare library (status {bare}) but opened"
        crashed_bare += bare < 0
    assert crashed_bare, "no corruption crashed a bare parser: the probe was not really tested"


@pytest.mark.parametrize("suffix", [".json", ".txt", ".pkl", ".onnx"])
def test_crash_hook_refuses_with_the_signal(monkeypatch, models, suffix):
    if suffix not in models:
        pytest.skip("skl2onnx is not installed")
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_CRASH", "load")
    with pytest.raises(UnsafeModelError, match=r"crashed \(signal 11, SIGSEGV\) while reading m\."):
        load_model(models[suffix], trust=True)
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_CRASH", "predict")
    with pytest.raises(UnsafeModelError, match=r"the model crashed \(signal 11, SIGSEGV\) while scoring"):
        load_model(models[suffix], trust=True)
    monkeypatch.delenv("AUDITKIT_PROBE_TEST_CRASH")
    notes = load_model(models[suffix], trust=True).notes  # the helper survives a crashed child
    assert not any("probe" in note for note in notes), notes


def test_crash_in_one_shot_mode(monkeypatch, models):
    """Without the Linux helper (other systems), each probe is a fresh process: same refusal."""
    monkeypatch.setattr(_probe, "_SERVER", type("NoServer", (), {"run": lambda self, *a: None})())
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_CRASH", "load")
    with pytest.raises(UnsafeModelError, match=r"crashed \(signal 11, SIGSEGV\) while reading m\.onnx"):
        load_model(models[".onnx"], trust=True)
    monkeypatch.delenv("AUDITKIT_PROBE_TEST_CRASH")
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_HANG", "1")
    monkeypatch.setenv("AUDITKIT_PROBE_TIMEOUT", "4")
    with pytest.raises(UnsafeModelError, match=r"did not finish within 4 s"):
        load_model(models[".onnx"], trust=True)
    monkeypatch.delenv("AUDITKIT_PROBE_TEST_HANG")
    monkeypatch.delenv("AUDITKIT_PROBE_TIMEOUT")  # a fresh process importing onnxruntime can take 4 s on a busy machine
    bad = models[".onnx"].with_name("bad.onnx")
    bad.write_bytes(b"not onnx")
    with pytest.raises(InputDataError, match="not an ONNX model onnxruntime can open"):
        load_model(bad, trust=True)


def test_hang_times_out(monkeypatch, models):
    load_model(models[".pkl"], trust=True)  # warm the helper so the timeout measures the load, not the imports
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_HANG", "1")
    monkeypatch.setenv("AUDITKIT_PROBE_TIMEOUT", "1")
    with pytest.raises(UnsafeModelError, match=r"did not finish within 1 s .*AUDITKIT_PROBE_TIMEOUT"):
        load_model(models[".pkl"], trust=True)
    monkeypatch.delenv("AUDITKIT_PROBE_TEST_HANG")
    load_model(models[".pkl"], trust=True)


def test_bad_timeout_is_a_usage_error(monkeypatch, models):
    monkeypatch.setenv("AUDITKIT_PROBE_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="AUDITKIT_PROBE_TIMEOUT"):
        load_model(models[".pkl"], trust=True)


def test_no_probe_env_and_skops_skip_it(monkeypatch, models, tmp_path):
    def boom(*args):
        raise AssertionError("probed")

    monkeypatch.setattr("auditkit.load.model.probe", boom)
    monkeypatch.setenv("AUDITKIT_NO_PROBE", "1")
    load_model(models[".pkl"], trust=True)
    monkeypatch.delenv("AUDITKIT_NO_PROBE")
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    skops_io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "m.skops")
    load_model(tmp_path / "m.skops", trust=True)  # pure-Python loader: not probed
    with pytest.raises(AssertionError, match="probed"):
        load_model(models[".pkl"], trust=True)


def test_trust_model_is_probed_too(monkeypatch, models):
    monkeypatch.setenv("AUDITKIT_PROBE_TEST_CRASH", "load")
    with pytest.raises(UnsafeModelError, match="SIGSEGV"):
        load_model(models[".pkl"], trust=True)


def test_child_errors_are_raised_as_they_are(tmp_path, monkeypatch):
    """A refused pickle or a file its loader rejects gets the usual message, once, from the child's load;
    the file is not parsed again in this process."""
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(os.system))
    with pytest.raises(UnsafeModelError, match="posix.system") as info:
        load_model(path)
    assert "separate test process" not in str(info.value)
    bad = tmp_path / "bad.json"
    bad.write_text('{"learner": 1}')
    monkeypatch.setattr("auditkit.load.model._open", lambda *a: pytest.fail("parsed in-process"))
    with pytest.raises(InputDataError, match="not an XGBoost model xgboost can open"):
        load_model(bad)


def test_cli_inspect_refuses_a_crashing_file(monkeypatch, models):
    monkeypatch.setenv("AUDITKIT_WORKER_TEST", "crash:open")
    assert_user_error(run_cli("inspect", models[".txt"]), 1, "crashed (signal 11, SIGSEGV) while opening the file")
