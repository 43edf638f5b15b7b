"""Hostile pickles aimed at numpy's C code: the scan and the loader refuse them cleanly, never crash.

numpy's C code trusts the state a pickle hands it (``dtype.__setstate__``, ``ndarray.__setstate__``,
``numpy.ndarray(shape, dtype, buffer)``, random-generator positions): a crafted file can make it read or
write outside its memory and kill the process.  Every file here crashed, or could crash, a process that
unpickled it the usual way.  Each is scanned and loaded in a separate process, so a regression shows as
a failing test, not a dead test run.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# --- a tiny pickle assembler (protocol 4 opcodes) --------------------------------------------------------


class Raw(bytes):
    """Opcodes written as they are."""

    def __add__(self, other: bytes) -> Raw:
        return Raw(bytes(self) + bytes(other))


def enc(value: object) -> bytes:
    """Opcodes that push ``value`` (plain Python values, and Raw opcodes inside them)."""
    if isinstance(value, Raw):
        return bytes(value)
    if value is None:
        return b"N"
    if value is True or value is False:
        return b"\x88" if value else b"\x89"
    if isinstance(value, int):
        if 0 <= value < 256:
            return b"K" + bytes([value])
        if -(2**31) <= value < 2**31:
            return b"J" + struct.pack("<i", value)
        data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8a" + bytes([len(data)]) + data
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return (b"\x8c" + bytes([len(data)]) if len(data) < 256 else b"X" + struct.pack("<I", len(data))) + data
    if isinstance(value, bytes):
        return (b"C" + bytes([len(value)]) if len(value) < 256 else b"B" + struct.pack("<I", len(value))) + value
    if isinstance(value, tuple):
        return b"(" + b"".join(enc(v) for v in value) + b"t"
    if isinstance(value, list):
        return b"](" + b"".join(enc(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"}(" + b"".join(enc(k) + enc(v) for k, v in value.items()) + b"u"
    raise TypeError(value)


def glob(module: str, name: str) -> Raw:
    return Raw(enc(module) + enc(name) + b"\x93")


def call(func: Raw, *args: object) -> Raw:
    return Raw(func + enc(tuple(args)) + b"R")


def build(obj: Raw, state: object) -> Raw:
    return Raw(obj + enc(state) + b"b")


def dtype(code: str, state: object | None = None, memo: bool = False) -> Raw:
    """numpy.dtype(code, False, True), optionally memoized, and (if given) its BUILD: how numpy pickles one."""
    made = call(glob("numpy", "dtype"), code, False, True) + (b"\x94" if memo else b"")
    return Raw(made) if state is None else build(Raw(made), state)


def get(index: int) -> Raw:
    return Raw(b"h" + bytes([index]))


def stream(*parts: object) -> bytes:
    """A whole pickle: protocol 4, the parts as a tuple, STOP."""
    return b"\x80\x04" + enc(tuple(parts)) + b"."


F8 = (3, "<", None, None, None, -1, -1, 0)
O8 = (3, "|", None, None, None, -1, -1, 63)
U4 = (3, "<", None, None, None, -1, -1, 0)
V8 = (3, "|", None, None, None, 8, 1, 0)


def f8() -> Raw:
    return dtype("f8", F8)


def struct_state(fields: dict, size: int, align: int = 1, flags: int = 16) -> tuple:
    return (3, "|", None, tuple(fields), fields, size, align, flags)


RECONSTRUCT = glob("numpy._core.multiarray", "_reconstruct")
NDARRAY = glob("numpy", "ndarray")
ADD = glob("numpy", "add")


def empty_array() -> Raw:
    return call(RECONSTRUCT, NDARRAY, (0,), b"b")


def nested_structs(depth: int) -> Raw:
    inner = f8()
    for _ in range(depth):
        inner = dtype("V8", struct_state({"a": (inner, 0)}, 8))
    return inner


def joblib_model_with_datetime_dtype() -> bytes:
    """A joblib'd LogisticRegression with one byte flipped: an array's dtype 'f8' becomes 'M8' (datetime),
    whose numpy state then lacks the time unit: the byte flip the fuzz test hit."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.arange(20.0).reshape(10, 2), [0, 1] * 5)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    raw = buffer.getvalue()
    assert b"\x8c\x02f8" in raw
    return raw.replace(b"\x8c\x02f8", b"\x8c\x02M8", 1)


def crafted() -> dict[str, tuple[bytes, str]]:
    """name -> (file, the phrase its refusal must contain)."""
    return {
        # dtype.__setstate__ with a state numpy never writes (the scan used to call it on the file's state)
        "datetime dtype without its unit (segfault in numpy's dtype.__setstate__)": (
            stream(dtype("M8", F8)), "without the time unit"),
        "joblib model whose array dtype byte was flipped to datetime (the fuzz crash)": (
            joblib_model_with_datetime_dtype(), "without the time unit"),
        "datetime dtype with an unknown unit": (
            stream(dtype("M8", (4, "<", None, None, None, -1, -1, 0, (None, (b"xx", 1, 1, 1))))), "time unit (b'xx'"),
        "record dtype whose fields are not dtypes": (
            stream(dtype("V8", struct_state({"a": (5, 0)}, 8))), "not (dtype, offset"),
        "record dtype whose field names are bytes (numpy leaves a NULL in its names)": (
            stream(dtype("V8", (3, "|", None, (b"a",), {"a": (f8(), 0)}, 8, 1, 16))), "field names"),
        "record dtype naming a field it does not have": (
            stream(dtype("V16", (3, "|", None, ("a", "b"), {"a": (f8(), 0)}, 16, 1, 16))),
            "field 'b'"),
        "record dtype whose field lies past its end": (
            stream(dtype("V8", struct_state({"a": (f8(), 10**12)}, 8))), "field 'a'"),
        "void dtype whose flags claim Python objects": (
            stream(dtype("V8", (3, "|", None, None, None, 8, 1, 63))), "flags 63"),
        "record dtype hiding an object field (flags 0)": (
            stream(dtype("V8", struct_state({"x": (dtype("O8", O8), 0)}, 8, 8, 0))), "where numpy writes"),
        "dtype of negative size": (
            stream(dtype("V8", (3, "|", None, None, None, -5, 1, 0))), "-5 bytes"),
        "subarray dtype of absurd shape": (
            stream(dtype("V8", (3, "|", (f8(), (10**9, 10**9)), None, None, 8, 1, 0))), "does not fill"),
        "subarray dtype of negative shape": (
            stream(dtype("V8", (3, "|", (f8(), (-1,)), None, None, 8, 1, 0))), "shape (-1,)"),
        "float dtype given fields": (
            stream(dtype("f8", (3, "<", None, ("a",), {"a": (f8(), 0)}, -1, -1, 16))), "only a void type"),
        "dtype state of the wrong length": (stream(dtype("f8", (3, "<", None))), "not the tuple numpy writes"),
        "dtype made from another dtype": (stream(call(glob("numpy", "dtype"), f8())), "not the (type code"),
        "dtype whose subarray is itself": (
            stream(dtype("V8", memo=True) + enc((3, "|", (get(0), (1,)), None, None, 8, 1, 0)) + b"b"),
            "before the file sets its state"),
        "dtypes nested 40 deep": (stream(nested_structs(40)), "nested more than"),
        # the order of operations: an array made with a dtype whose state is set afterwards (to hold objects)
        "array made before its dtype's state is set, then used (segfault)": (
            stream(dtype("V8", memo=True) + b"0",
                   build(empty_array(), (1, (1,), get(0), False, b"A" * 8)) + b"\x94",
                   build(get(0), struct_state({"x": (dtype("O8", O8), 0)}, 8, 8, 27)),
                   call(ADD, get(1), get(1))),
            "before the file sets its state"),
        "dtype given its state twice": (
            stream(build(dtype("V8", V8), struct_state({"x": (dtype("O8", O8), 0)}, 8, 8, 27))), "twice"),
        # numpy.ndarray(shape, object dtype, bytes): an array of object pointers read from the file
        "numpy.ndarray called with an object dtype and bytes (segfault)": (
            stream(call(ADD, Raw(call(NDARRAY, (1,), dtype("O8", O8), b"A" * 8) + b"\x94"), get(0))),
            "numpy.ndarray called directly"),
        "numpy.ndarray made through copyreg.__newobj__": (
            stream(call(glob("copyreg", "__newobj__"), NDARRAY, (1,), dtype("O8", O8), b"A" * 8)),
            "numpy.ndarray called directly"),
    }


def crafted_trees() -> dict[str, bytes]:
    """scikit-learn trees whose nodes lead outside the tree (their compiled predict follows them unchecked)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.tree import DecisionTreeClassifier

    X = np.random.default_rng(0).normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    state = tree.tree_.__getstate__()
    state["nodes"] = state["nodes"].copy()
    state["nodes"]["left_child"][0] = state["nodes"]["right_child"][0] = 10**6
    tree.tree_.__setstate__(state)  # scikit-learn takes it as it is
    boosted = HistGradientBoostingClassifier(max_iter=3, max_depth=2, random_state=0).fit(X, y)
    boosted._predictors[0][0].nodes["right"][0] = 10**6
    return {"tree": pickle.dumps(tree, protocol=5), "boosted": joblib_bytes(boosted)}


def joblib_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def crafted_for_the_loader() -> dict[str, tuple[bytes, str]]:
    """Files whose imports are all allowed, with array or generator state numpy would take on trust:
    the scan passes them; the loader checks the state before numpy sees it."""
    mt_state = {"bit_generator": "MT19937", "state": {"key": list(range(624)), "pos": 10**6},
                "has_gauss": 0, "gauss": 0.0}
    philox_state = {"bit_generator": "Philox", "state": {"counter": [0, 0, 0, 0], "key": [1, 2]},
                    "buffer": [0, 0, 0, 0], "buffer_pos": -(10**9), "has_uint32": 0, "uinteger": 0}
    trees = crafted_trees()
    return {
        "decision tree whose root leads outside the tree (segfault in predict)": (
            trees["tree"], "decision tree whose node 0 leads to nodes 1000000"),
        "gradient-boosting tree whose root leads outside the tree (segfault in predict)": (
            trees["boosted"], "gradient-boosting tree whose node 0 leads"),
        "object array whose item list is short (segfault in ndarray.__setstate__)": (
            stream(call(ADD, Raw(build(empty_array(), (1, (3,), dtype("O8", O8), False, [1])) + b"\x94"), get(0))),
            "3 Python objects"),
        "float array with too few bytes": (
            stream(build(empty_array(), (1, (3,), f8(), False, b"A" * 8))), "3 items of 8 bytes"),
        "array of negative shape": (stream(build(empty_array(), (1, (-3,), f8(), False, b""))), "shape (-3,)"),
        "_reconstruct making an object array directly": (
            stream(call(RECONSTRUCT, NDARRAY, (5,), dtype("O8", O8))), "_reconstruct called with"),
        "scalar from too few bytes": (
            stream(call(glob("numpy._core.multiarray", "scalar"), f8(), b"AAA")), "numpy scalar made from"),
        "_frombuffer with a shape larger than its bytes": (
            stream(call(glob("numpy._core.numeric", "_frombuffer"), b"A" * 8, f8(), (2**40,), "C")),
            "_frombuffer called with"),
        "RandomState positioned past its 624-word key (reads outside it when drawing)": (
            stream(build(call(glob("numpy.random._pickle", "__randomstate_ctor"), "MT19937"), mt_state)),
            "MT19937"),
        "Philox generator positioned far before its buffer (segfault when drawing)": (
            stream(build(call(glob("numpy.random._pickle", "__bit_generator_ctor"), "Philox"), philox_state)),
            "Philox"),
    }


# --- running files in another process --------------------------------------------------------------------

RUNNER = r'''
import json, sys, traceback
from auditkit.exceptions import InputDataError, UnsafeModelError
from auditkit.load._pickle_scan import scan_pickle
from auditkit.load._unpickle import _restricted_load
from auditkit.load.model import load_model

for path in sys.argv[1:]:
    print(json.dumps({"start": path}), flush=True)
    result = {"path": path}
    scan = scan_pickle(path)
    result["verdict"], result["problems"] = scan.verdict, list(scan.problems)
    try:
        load_model(path)
        result["load"] = "loaded"
    except UnsafeModelError as err:
        result["load"], result["message"] = "refused", str(err)
    except InputDataError as err:
        result["load"], result["message"] = "input error", str(err)
    except Exception:
        result["load"], result["message"] = "unexpected", traceback.format_exc()
    try:  # the loader alone, as if the scan had missed something: its own checks must hold
        _restricted_load(open(path, "rb").read(), path)
        result["direct"] = "loaded"
    except Exception as err:  # any clean exception will do; a crash will not
        result["direct"] = f"{type(err).__name__}: {str(err)[:300]}"
    print(json.dumps(result), flush=True)
'''


def run_files(paths: list[Path], timeout: float = 120) -> dict[str, dict]:
    """Scan and load each file in a child process; a file that kills the process is recorded as crashed
    (with the signal) and the rest are run in a new one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results: dict[str, dict] = {}
    todo = [str(p) for p in paths]
    while todo:
        proc = subprocess.run([sys.executable, "-c", RUNNER, *todo], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT, env=env)
        started = None
        for line in proc.stdout.splitlines():
            item = json.loads(line)
            if "start" in item:
                started = item["start"]
            else:
                results[item["path"]] = item
                started = None
        if proc.returncode == 0:
            break
        if started is None:  # died before or between files: nothing more to learn
            raise AssertionError(f"the runner failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        results[started] = {"path": started, "crashed": proc.returncode, "stderr": proc.stderr[-2000:]}
        todo = todo[todo.index(started) + 1:]
    return results


def _write(tmp_path: Path, files: dict[str, tuple[bytes, str]]) -> dict[str, Path]:
    paths = {}
    for i, (name, (raw, _)) in enumerate(files.items()):
        paths[name] = tmp_path / f"crafted{i:02d}.pkl"
        paths[name].write_bytes(raw)
    return paths


def test_crafted_dtypes_are_refused_by_the_scan_and_the_loader(tmp_path):
    """Each crafted file is refused by the scan, naming what is wrong, and by the loader on its own (as if
    the scan had missed it): a clean error every time, never a crash."""
    files = crafted()
    paths = _write(tmp_path, files)
    results = run_files(list(paths.values()))
    for name, (_, phrase) in files.items():
        result = results[str(paths[name])]
        assert "crashed" not in result, f"{name}: the process died (exit {result['crashed']})\n{result['stderr']}"
        assert result["verdict"] == "refused", (name, result)
        assert any(phrase in p for p in result["problems"]), (name, phrase, result["problems"])
        assert result["load"] == "refused" and "Nothing in the file was executed" in result["message"], (name, result)
        assert result["direct"], (name, result)  # the loader alone got through it, refusing or not


def test_crafted_array_state_is_refused_by_the_loader(tmp_path):
    """Files whose imports are all allowed but whose array or generator state numpy would trust: the loader
    checks it first and refuses, naming the problem."""
    files = crafted_for_the_loader()
    paths = _write(tmp_path, files)
    results = run_files(list(paths.values()))
    for name, (_, phrase) in files.items():
        result = results[str(paths[name])]
        assert "crashed" not in result, f"{name}: the process died (exit {result['crashed']})\n{result['stderr']}"
        assert result["load"] == "refused", (name, result)
        assert phrase in result["message"] and "auditkit stopped loading it" in result["message"], (name, result)
        assert phrase in result["direct"], (name, result)


# --- deterministic fuzzing ---------------------------------------------------------------------------------

FUZZER = r'''
import json, random, sys, tempfile, traceback
from pathlib import Path
from auditkit.exceptions import InputDataError, UnsafeModelError
from auditkit.load._pickle_scan import scan_bytes
from auditkit.load.model import load_model

seed, count, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
rng = random.Random(seed)
seeds = [Path(p).read_bytes() for p in paths]
# bytes worth aiming at: dtype codes, byte orders, small ints and the opcodes around a dtype's state
TARGETS = [b"f8", b"i8", b"O8", b"U", b"V", b"<", b"|", b"K\x03", b"J\xff\xff\xff\xff", b"\x87R", b"tb", b"ub",
           b"\x85", b"\x94", b"h"]
CODES = [b"M8", b"m8", b"V8", b"O8", b"U2", b"S3", b"V0", b"c16", b"b1", b"f2"]
tally = {"refused": 0, "loaded": 0, "input error": 0}
out = Path(tempfile.mkdtemp()) / "fuzz.pkl"

def mutate(raw):
    raw = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        hits = [i for t in [rng.choice(TARGETS)] for i in range(len(raw)) if raw.startswith(t, i)][:200]
        at = rng.choice(hits) if hits and kind < 0.6 else rng.randrange(len(raw))
        if kind < 0.25 and raw[at:at + 2] in (b"f8", b"i8", b"O8"):
            raw[at:at + 2] = rng.choice(CODES)
        elif kind < 0.8:
            raw[at] = rng.randrange(256)
        elif kind < 0.9:
            del raw[at:at + rng.randint(1, 8)]
        else:
            raw[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    if rng.random() < 0.1:
        raw = raw[:rng.randrange(1, len(raw))]
    return bytes(raw)

for i in range(count):
    raw = mutate(seeds[i % len(seeds)])
    out.write_bytes(raw)
    print(json.dumps({"case": i, "size": len(raw)}), flush=True)
    scan, _ = scan_bytes(raw, "fuzz")
    try:
        load_model(out)
        tally["loaded"] += 1
    except UnsafeModelError:
        tally["refused"] += 1
    except InputDataError:
        tally["input error"] += 1
    except Exception:
        print(json.dumps({"case": i, "error": traceback.format_exc()}), flush=True)
        sys.exit(3)
print(json.dumps({"tally": tally}), flush=True)
'''


@pytest.fixture(scope="module")
def fuzz_seeds(tmp_path_factory) -> list[Path]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    folder = tmp_path_factory.mktemp("seeds")
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    arrays = {"f": np.arange(6.0).reshape(2, 3), "i": np.arange(4), "o": np.array(["a", None, 3], dtype=object),
              "rec": np.array([(1, 2.0)], dtype=[("a", "<i8"), ("b", ">f8")]), "t": np.array(["2020-01-01"], "M8[ns]"),
              "u": np.array(["héllo"]), "sub": np.zeros(2, dtype=[("x", "f4", (2,))])}
    seeds = []
    for name, obj in (("tree", DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)),
                      ("lr", LogisticRegression().fit(X, y))):
        joblib.dump(obj, folder / f"{name}.joblib")
        seeds.append(folder / f"{name}.joblib")
    for protocol in (2, 5):
        (folder / f"arrays{protocol}.pkl").write_bytes(pickle.dumps(arrays, protocol=protocol))
        seeds.append(folder / f"arrays{protocol}.pkl")
    joblib.dump(arrays, folder / "arrays.joblib")
    seeds.append(folder / "arrays.joblib")
    return seeds


def test_fuzzed_models_and_arrays_never_crash(fuzz_seeds):
    """400 seeded mutations (byte flips aimed at dtype codes and states, deletions, insertions, truncation)
    of joblib'd scikit-learn models and numpy-array pickles, scanned and loaded in one child process: each
    is refused or loaded or fails with an auditkit error; the process never dies."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", FUZZER, "20240611", "400", *map(str, fuzz_seeds)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    last = next((line for line in reversed(lines) if "case" in line), None)
    assert proc.returncode == 0, (f"fuzz case {last} ended the process with exit {proc.returncode}:\n"
                                  f"{lines[-1].get('error', '') if lines else ''}{proc.stderr[-3000:]}")
    tally = lines[-1]["tally"]
    assert sum(tally.values()) == 400 and tally["refused"] > 100, tally
    assert time.monotonic() - started < 120
