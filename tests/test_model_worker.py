"""The model worker: an untrusted model file never runs in auditkit's process.

Every way a worker can fail -- a crash, a hang, too much CPU or memory -- is driven through the worker's
test hook (AUDITKIT_WORKER_TEST) so that it is tested whatever the libraries do, and through real hostile
files built here: each ends in a refusal that names the file, the step and the limit, never in a signal or
a traceback.  Scores, SHAP values and the model card from the worker are the in-process ones, bit for bit.
"""

from __future__ import annotations

import json
import pickle
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.exceptions import InputDataError, UnsafeModelError
from auditkit.load._limits import ModelLimits
from auditkit.load._predict import model_predict
from auditkit.load.model import inspect_model, load_model
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
WELFARE = ROOT / "datasets" / "welfare" / "model.skops"
FAST = ModelLimits(timeout=20.0)


@pytest.fixture(scope="module")
def forest(tmp_path_factory):
    """A small joblib random forest and rows to score."""
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] + rng.normal(size=300) > 0).astype(int)
    path = tmp_path_factory.mktemp("worker") / "forest.joblib"
    joblib.dump(RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(X, y), path)
    return path, X


def test_worker_scores_equal_in_process_scores(forest):
    """The worker's scores are the in-process (--trust-model) scores, bit for bit, across batches."""
    path, X = forest
    remote = load_model(path)
    assert type(remote.estimator).__name__ == "RemoteModel" and remote.scan.verdict == "allowed"
    local = load_model(path, trust=True)
    got, method = model_predict(remote, X, batch_size=70)
    want, want_method = model_predict(local, X, batch_size=70)
    assert method == want_method == "predict_proba[:, 1]"
    assert got.dtype == want.dtype and np.array_equal(got, want)
    remote.estimator.close()


def test_worker_shap_and_card_equal_in_process(forest):
    """SHAP values, the predict check and the model card come back from the worker unchanged."""
    from auditkit.assess import _remote_explainer
    from auditkit.explain.shap_groups import shap_by_group
    from auditkit.load._model_card import model_card

    path, X = forest
    remote, local = load_model(path), load_model(path, trust=True)
    groups = pd.DataFrame({"g": np.where(X["b"] > 0, "x", "y")})
    predict_remote = lambda df: model_predict(remote, df)[0]  # noqa: E731
    predict_local = lambda df: model_predict(local, df)[0]  # noqa: E731
    got = shap_by_group(remote.estimator, X, groups, predict=predict_remote, sample=60, background=30,
                        explainer=_remote_explainer(remote))
    want = shap_by_group(local.estimator, X, groups, predict=predict_local, sample=60, background=30)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    assert model_card(remote, protected=["b"]) == json.loads(json.dumps(model_card(local, protected=["b"])))
    remote.estimator.close()


@pytest.mark.parametrize("hook,stage,fragment", [
    ("crash:open", "opening the file", "crashed (signal 11, SIGSEGV)"),
    ("crash:score", "scoring the data", "crashed (signal 11, SIGSEGV)"),
    ("hang:score", "scoring the data", "did not finish within 3 s"),
    ("spin:open", "opening the file", "used more than 1 CPU seconds"),
    ("memory:score", "scoring the data", "memory limit of 1.5 GiB"),
])
def test_worker_failures_are_refusals(monkeypatch, forest, hook, stage, fragment):
    """A crash, a hang, the CPU limit and the memory limit each refuse the file, naming it, the step and
    the limit; auditkit itself carries on."""
    path, X = forest
    monkeypatch.setenv("AUDITKIT_WORKER_TEST", hook)
    limits = ModelLimits(timeout=3.0 if hook.startswith("hang") else 25.0, cpu=1.0, memory_gb=1.5)
    with pytest.raises(UnsafeModelError) as info:
        model = load_model(path, limits=limits)
        model_predict(model, X)
    message = str(info.value)
    assert "'forest.joblib'" in message and f"while {stage}" in message and fragment in message, message


def test_cli_assess_exits_1_when_the_worker_crashes(monkeypatch, forest, tmp_path):
    """The CLI reports a crashed worker as an error (exit 1), not by dying of the signal."""
    path, X = forest
    data = tmp_path / "rows.csv"
    X.assign(group=np.where(X["b"] > 0, "x", "y")).to_csv(data, index=False)
    monkeypatch.setenv("AUDITKIT_WORKER_TEST", "crash:score")
    result = run_cli("assess", str(path), "--data", str(data), "--protected", "group", "--top", "10",
                     "--no-explain", "--quiet")
    assert result.exit_code == 1 and "signal 11" in result.output and "Traceback" not in result.output


def test_inspect_opens_in_the_worker_and_agrees_with_assess(tmp_path):
    """A name scikit-learn merely imports (numbers.Real in sklearn.linear_model._logistic) passes the scan's
    naming rule, but the loader refuses it: inspect now says refused too, with the same reason."""
    path = tmp_path / "r.pkl"
    path.write_bytes(b"\x80\x02csklearn.linear_model._logistic\nReal\n.")
    info = inspect_model(path)
    assert info["verdict"] == "refused"
    with pytest.raises(UnsafeModelError) as err:
        load_model(path)
    assert "defined in numbers, not sklearn" in str(err.value)
    assert run_cli("inspect", str(path)).exit_code == 1


def test_inspect_shows_pickle_inputs(forest):
    """Opening a pickle in the worker is safe, so inspect shows its input names."""
    info = inspect_model(forest[0])
    assert info["verdict"] == "allowed" and info["inputs"] == ["a", "b", "c", "d"]


def test_worker_has_no_network(tmp_path):
    """Where user namespaces are allowed, the worker has no network: inspect says when it is not cut off."""
    info = inspect_model(WELFARE)
    notes = " ".join(info["notes"])
    if "could not cut itself off the network" in notes:
        pytest.skip("unprivileged namespaces are not available here")
    assert info["verdict"] == "allowed"


def test_decompression_over_the_limit_is_refused(tmp_path):
    """A small zlib joblib file that unpacks past a quarter of the memory limit is refused, not unpacked."""
    path = tmp_path / "bomb.joblib"
    path.write_bytes(zlib.compress(b"\x80\x04N" + b"\x00" * (300 << 20), 1))
    with pytest.raises(UnsafeModelError, match="decompresses to more than 201,326,592 bytes"):
        load_model(path, limits=ModelLimits(memory_gb=1.5, timeout=25.0))


def test_build_on_a_class_is_refused(tmp_path):
    """BUILD applied to an imported class would change it for the whole program (one such file made
    pandas.Index.tolist return [] for the rest of the process): refused by the scan, in every mode."""
    path = tmp_path / "build.pkl"
    path.write_bytes(b"\x80\x02cpandas\nIndex\n}X\x06\x00\x00\x00tolistNsb.")
    with pytest.raises(UnsafeModelError, match="sets the state of pandas.Index itself"):
        load_model(path)
    assert inspect_model(path)["verdict"] == "refused"


def test_lying_attributes_are_messages(tmp_path):
    """feature_names_in_ = 5, n_features_in_ = "three" and duplicate input names end in messages."""
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], [0, 1, 0])
    for attrs, fragment in (({"feature_names_in_": 5}, "records input names that are not a list of names"),
                            ({"n_features_in_": "three"}, "not a whole number"),
                            ({"feature_names_in_": np.array(["a", "a"], dtype=object)},
                             "records the input name(s) 'a' more than once")):
        bad = pickle.loads(pickle.dumps(est))
        vars(bad).update(attrs)
        path = tmp_path / "lying.pkl"
        path.write_bytes(pickle.dumps(bad))
        with pytest.raises(InputDataError) as info:
            model = load_model(path, limits=FAST)
            model_predict(model, pd.DataFrame({"a": [1.0], "b": [2.0]}))
        assert fragment in str(info.value)


def test_example_results_are_the_same_bytes_in_the_worker_and_in_process(tmp_path, monkeypatch):
    """`auditkit assess --example welfare` gives the same results JSON, to the byte, whether the model runs in
    the worker or (with --trust-model) in auditkit's process: scores, SHAP values, flips and the model card."""
    monkeypatch.chdir(tmp_path)  # the example writes its bundle into the working folder
    worker, local = tmp_path / "worker.json", tmp_path / "local.json"
    assert run_cli("assess", "--example", "welfare", "--json", worker, "--quiet", "--out", "w").exit_code == 0
    assert run_cli("assess", "--example", "welfare", "--json", local, "--quiet", "--out", "t",
                   "--trust-model").exit_code == 0
    assert worker.read_bytes() == local.read_bytes()


def test_a_failing_batch_in_flight_leaves_the_worker_in_step(tmp_path):
    """Batches are pipelined (two requests in flight): a batch the model rejects is a message, and the next
    request gets its own reply, not the one of the batch that was in flight."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    path = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit(X, (X["a"] > 0).astype(int)), path)
    remote, local = load_model(path, limits=FAST), load_model(path, trust=True)
    bad = X.copy()
    bad.iloc[150, 1] = np.nan  # the second of four batches of 100
    with pytest.raises(InputDataError, match="could not score the data"):
        model_predict(remote, bad, batch_size=100)
    got, _ = model_predict(remote, X, batch_size=100)
    assert np.array_equal(got, model_predict(local, X, batch_size=100)[0])
    remote.estimator.close()


def test_shared_memory_replies_are_read_only_from_the_room_offered():
    """auditkit reads a reply's arrays only from the region of the output file it offered, copies them out,
    and a file the worker cut short is a broken answer, never a fault in auditkit."""
    import os

    from auditkit.load._shm import ParentShared, WorkerShared, make_files
    from auditkit.load._wire import Broken, read_message, write_message

    files = make_files()
    if files is None:
        pytest.skip("no memfd_create on this platform")
    parent, worker = ParentShared(*files), WorkerShared(*files)
    r, w = os.pipe()
    try:
        worker.room = tuple(parent.offer(800))
        parent.window = worker.room
        scores = np.arange(100, dtype=np.float64)
        write_message(w, {"ok": True}, [scores], shared=worker)
        _, out = read_message(r, None, 1 << 20, frozenset({"<f8"}), parent)
        os.pwrite(files[1], bytes(800), 0)  # the worker changes the file after its reply: auditkit has a copy
        assert np.array_equal(out[0], scores)
        parent.window = (0, 400)  # a reply larger than the room offered
        write_message(w, {"ok": True}, [scores], shared=worker)
        with pytest.raises(Broken, match="outside the shared room"):
            read_message(r, None, 1 << 20, frozenset({"<f8"}), parent)
        parent.window = (0, 800)
        write_message(w, {"ok": True}, [scores], shared=worker)
        os.ftruncate(files[1], 64)  # the worker cut the file short
        with pytest.raises(Broken, match="cut short"):
            read_message(r, None, 1 << 20, frozenset({"<f8"}), parent)
        header = b'{"shared": 64, "arrays": [{"dtype": "<f8", "shape": [1], "at": 0}]}'
        os.write(w, len(header).to_bytes(8, "big") + header)  # shared memory that was never offered
        with pytest.raises(Broken, match="not offered"):
            read_message(r, None, 1 << 20, frozenset({"<f8"}), None)
    finally:
        parent.close()
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("shared", [True, False], ids=["shared memory", "pipe"])
def test_columns_picked_from_a_wider_frame_score_as_in_process(monkeypatch, forest, shared):
    """The model's columns, picked by name out of a wider frame (other columns, another order, columns held
    in separate blocks), reach the worker without a copy in auditkit and score bit for bit as in-process --
    through shared memory and through the pipe."""
    from auditkit.load import _sandbox
    from auditkit.load.model import align_features

    if not shared:
        monkeypatch.setattr(_sandbox, "make_files", lambda: None)
    path, X = forest
    wide = pd.DataFrame({"id": np.arange(len(X)), "group": ["a", "b", "c"] * (len(X) // 3)})
    for name in ["d", "b", "c", "a"]:  # one column at a time: each its own block
        wide[name] = X[name].to_numpy().copy()
    remote, local = load_model(path, limits=FAST), load_model(path, trust=True)
    features, _ = align_features(remote, wide)
    assert list(features.columns) == ["a", "b", "c", "d"]
    assert np.shares_memory(features["a"].to_numpy(), wide["a"].to_numpy())  # no copy for the worker
    got, _ = model_predict(remote, features, batch_size=70)
    want, _ = model_predict(local, align_features(local, wide)[0], batch_size=70)
    assert np.array_equal(got, want) and np.array_equal(got, model_predict(local, X, batch_size=70)[0])
    remote.estimator.close()


@pytest.mark.parametrize("shared", [True, False], ids=["shared memory", "pipe"])
def test_stacked_columns_arrive_as_one_column_major_matrix(shared):
    """Columns written one after the other (no stacking in auditkit) are read as the n x k column-major
    matrix they form."""
    import os

    from auditkit.load._shm import ParentShared, Stacked, WorkerShared, make_files
    from auditkit.load._wire import read_message, write_message

    files = make_files() if shared else None
    if shared and files is None:
        pytest.skip("no memfd_create on this platform")
    columns = [np.arange(5, dtype=np.float64) * (i + 1) for i in range(3)]
    r, w = os.pipe()
    try:
        parent = ParentShared(*files) if files else None
        write_message(w, {"step": "score"}, [Stacked(columns), np.arange(2)], shared=parent)
        _, arrays = read_message(r, None, shared=WorkerShared(*files) if files else None)
        assert np.array_equal(arrays[0], np.column_stack(columns)) and arrays[0].flags.f_contiguous
        assert np.array_equal(arrays[1], np.arange(2))
    finally:
        os.close(r)
        os.close(w)
        if parent is not None:
            parent.close()


def test_a_relative_path_is_read_from_auditkits_directory_now(forest, tmp_path, monkeypatch):
    """The helper that forks workers keeps the directory of its start; a model named by a relative path
    after auditkit changed directory (as a notebook may) is still the file auditkit means."""
    path, X = forest
    load_model(path, limits=FAST).estimator.close()  # the helper is running, started elsewhere
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "m.joblib").write_bytes(path.read_bytes())
    monkeypatch.chdir(folder)
    remote = load_model(Path("m.joblib"), limits=FAST)
    got, _ = model_predict(remote, X)
    assert np.array_equal(got, model_predict(load_model(path, trust=True), X)[0])
    remote.estimator.close()


def test_replies_are_announced_on_an_eventfd_and_a_dead_worker_is_seen(forest, monkeypatch):
    """Where Linux has them, auditkit waits for a reply on the worker's eventfd and on a pidfd of the worker
    (not on the pipe, whose writes wake the reader on the writer's core); a worker that dies while auditkit
    waits there is still a refusal naming the signal, at once rather than at the time limit."""
    import os
    import time

    path, X = forest
    remote = load_model(path, limits=ModelLimits(timeout=120.0))
    worker = remote.estimator.worker
    if not (hasattr(os, "eventfd") and hasattr(os, "pidfd_open")) or worker.exited is None:
        remote.estimator.close()
        pytest.skip("no eventfd or pidfd on this platform")
    assert worker.shared is not None and worker.shared.ready is not None
    assert np.array_equal(model_predict(remote, X)[0], model_predict(load_model(path, trust=True), X)[0])
    remote.estimator.close()
    monkeypatch.setenv("AUDITKIT_WORKER_TEST", "crash:score")
    remote = load_model(path, limits=ModelLimits(timeout=120.0))
    start = time.monotonic()
    with pytest.raises(UnsafeModelError, match="SIGSEGV"):
        model_predict(remote, X)
    assert time.monotonic() - start < 60
