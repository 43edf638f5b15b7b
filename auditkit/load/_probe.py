"""The crash probe: open a model file once in a separate process before opening it in this one.

XGBoost, LightGBM and onnxruntime parse their files in C++, and a scanned pickle can still hand crafted
state to compiled code (pandas block placement, KD-tree or libsvm state).  A corrupt or crafted file
can then crash the process that reads it -- with a pickle or a native model, that would be the user's
whole auditkit session, gone without a message.  So :func:`probe` first loads the file in a child process,
with exactly the loader auditkit uses in-process (the restricted unpickler for pickles, the native
loader otherwise), and scores two rows of zeros when the model says how many inputs it takes.  If the
child dies by a signal, ends the process itself, or does not finish within ``AUDITKIT_PROBE_TIMEOUT``
seconds (120), the file is refused with :class:`~auditkit.exceptions.UnsafeModelError`.  If the child
raised one of auditkit's errors (not a model, refused by the scan, wrong versions), that same error is
raised here, without parsing the file again in this process; any other exception is left to the
in-process load to report.

On Linux the child is forked from a small helper process started once per session (with
``subprocess``, so it inherits nothing of the caller's state but its environment) that keeps the model
libraries imported: a probe then costs a fork and the load, not a fresh Python start and the imports.
Elsewhere, or if the helper cannot be used, each probe is a fresh ``python -c`` process.

``AUDITKIT_NO_PROBE=1`` turns the probe off (for trusted pipelines that open many files).
``AUDITKIT_PROBE_TEST_CRASH`` / ``AUDITKIT_PROBE_TEST_HANG`` make the child kill itself with SIGSEGV /
sleep after loading: they exist only so the tests can exercise the crash and timeout paths.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..exceptions import UnsafeModelError, UsageError

__all__ = ["PROBED", "probe", "probe_enabled", "probe_timeout"]

#: Formats whose loaders run compiled code on the file's contents (skops is pure Python: not probed).
PROBED = frozenset({"xgboost", "lightgbm", "onnx", "pickle", "joblib"})
DEFAULT_TIMEOUT = 120.0
_TEST_HOOKS = ("AUDITKIT_PROBE_TEST_CRASH", "AUDITKIT_PROBE_TEST_HANG")
_EXC = 3  # the child's exit status when loading raised an ordinary exception
_NOSTART = 4  # the child could not even import auditkit: the probe cannot run here
_PRELOAD = {"xgboost": ("xgboost",), "lightgbm": ("lightgbm",), "onnx": ("onnxruntime", "onnx"),
            "pickle": ("joblib", "sklearn.base"), "joblib": ("joblib", "sklearn.base")}
_WHO = {"xgboost": "the XGBoost parser", "lightgbm": "the LightGBM parser", "onnx": "onnxruntime",
        "pickle": "the restricted pickle loader (in compiled code receiving the file's data)",
        "joblib": "the restricted joblib loader (in compiled code receiving the file's data)"}
#: Libraries whose modules the helper may import to keep later children warm (never the file's own modules).
_WARM = frozenset({"numpy", "scipy", "pandas", "sklearn", "joblib", "xgboost", "lightgbm", "onnxruntime", "onnx"})
_MARK = b"\x00auditkit-probe "
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the auditkit package


def probe_enabled() -> bool:
    """False when ``AUDITKIT_NO_PROBE`` is set to 1/true/yes."""
    return os.environ.get("AUDITKIT_NO_PROBE", "").strip().lower() not in ("1", "true", "yes", "on")


def probe_timeout() -> float:
    """Seconds a probe may take: ``AUDITKIT_PROBE_TIMEOUT``, default 120."""
    text = os.environ.get("AUDITKIT_PROBE_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"AUDITKIT_PROBE_TIMEOUT must be a number of seconds above 0; got {text!r}.")
    return value


def probe(path: Path, kind: str, trust: bool, scan: tuple | None = None) -> str | None:
    """Load ``path`` in a child process; raise :class:`UnsafeModelError` if that crashes or hangs.

    If the child raised an auditkit error (the file is not a model, is refused, needs other versions), that
    error is raised here as it is, and the file is not parsed again in this process.  Returns None when the
    child loaded the file (or raised another exception: the in-process load then reports it), or a note
    saying why the probe could not run (the caller then opens the file without it).  ``scan`` (a pickle's
    scan and the SHA-256 of the bytes scanned) is handed to the child, which then does not scan again.
    """
    timeout = probe_timeout()
    request = {"path": str(path), "kind": kind, "trust": bool(trust),
               "env": {k: os.environ[k] for k in _TEST_HOOKS if k in os.environ}}
    if scan is not None:
        from ._scan_once import scan_to_dict

        request["scan"], request["digest"] = scan_to_dict(scan[0]), scan[1]
    outcome = None
    if sys.platform.startswith("linux"):
        outcome = _SERVER.run(request, timeout)
    if outcome is None:
        outcome = _one_shot(request, timeout)
    status, reports = outcome
    stage = reports.get("stage", "")
    if status == _EXC:
        _reraise(reports)
    if status in (0, _EXC):
        return None
    if status == _NOSTART:
        return ("The crash probe could not start a Python process to test the file in, so it was opened "
                "without one.")
    raise UnsafeModelError(_crash_message(path.name, kind, status, stage, timeout))


def _reraise(reports: dict) -> None:
    """Raise the auditkit error the child met, as it was: a file that made its loader fail is not parsed
    again in this process (a parser that failed on it once may crash on it the next time)."""
    from .. import exceptions

    cls = getattr(exceptions, str(reports.get("error")), None)
    if reports.get("module") == exceptions.__name__ and isinstance(cls, type) and issubclass(
            cls, exceptions.AuditkitError):
        raise cls(reports.get("message", ""))


def _crash_message(name: str, kind: str, status: int | str, stage: str, timeout: float) -> str:
    who = "the model" if stage == "predict" else _WHO.get(kind, "the loader")
    doing = "while scoring two test rows with it" if stage == "predict" else f"while reading {name}"
    advice = ("Ask the agency for a fresh export of the model, or for it in another format (ONNX or skops), "
              "or for the model's scores on a data file (audit those with `auditkit audit --score`).")
    if status == "timeout":
        return (f"Refused to open {name!r}: {who} did not finish within {timeout:g} s {doing}, in a separate "
                "test process (which auditkit stopped). The file may be crafted to hang, or just very large: "
                "if you expect it to take longer, set AUDITKIT_PROBE_TIMEOUT to more seconds. " + advice)
    if isinstance(status, int) and status < 0:
        try:
            sig = f"signal {-status}, {signal.Signals(-status).name}"
        except ValueError:
            sig = f"signal {-status}"
        what = f"crashed ({sig})"
        if -status == getattr(signal, "SIGKILL", 9):
            what += "; it may have run out of memory"
    else:
        what = f"ended the process (exit status {status})"
    return (f"Refused to open {name!r}: {who} {what} {doing}, in a separate test process, so auditkit did not "
            f"open it in this one. The file is corrupt or crafted to crash the program that reads it. "
            + advice)


# --------------------------------------------------------------------------------------------------
# Running a probe


def _one_shot(request: dict, timeout: float) -> tuple[int | str, dict]:
    """A fresh Python process for this one probe."""
    code = ("import os, sys\n"
            f"sys.path.insert(0, {_ROOT!r})\n"
            "try:\n"
            "    from auditkit.load._probe import _attempt\n"
            "except BaseException:\n"
            f"    os._exit({_NOSTART})\n"
            "_attempt(__import__('json').loads(sys.argv[1]), 1)\n")
    if len(json.dumps(request)) > 100_000:  # over what one argument may hold: the child scans for itself
        request = {k: v for k, v in request.items() if k not in ("scan", "digest")}
    try:
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(request)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        return "timeout", _reports(err.stdout or b"")
    except OSError:  # no usable sys.executable (embedded or frozen Python)
        return _NOSTART, {}
    return proc.returncode, _reports(proc.stdout)


class _Server:
    """The helper process on Linux: forks one child per probe, with the model libraries already imported."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.owner = 0
        self.buffer = b""
        self.broken = False

    def run(self, request: dict, timeout: float) -> tuple[int | str, dict] | None:
        """The child's exit status (negative: the signal) or "timeout", and the stage it reached; None if the
        helper cannot be used (then a one-shot process is used instead)."""
        with self.lock:
            if self.broken:
                return None
            try:
                return self._run(request, timeout)
            except (OSError, ValueError, _Gone):
                self.stop()
                self.broken = True
                return None

    def _run(self, request: dict, timeout: float) -> tuple[int | str, dict]:
        if self.proc is None or self.owner != os.getpid() or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        started = self._read(max(timeout, 300.0))  # the helper imports the libraries the format needs first
        if "pid" not in started:
            raise _Gone(started)
        try:
            done = self._read(timeout)
        except TimeoutError:
            os.kill(started["pid"], signal.SIGKILL)
            done = self._read(30.0)  # the helper reaps the child and reports it
            return "timeout", done.get("reports", {})
        return done["status"], done.get("reports", {})

    def _start(self) -> None:
        code = ("import sys\n"
                f"sys.path.insert(0, {_ROOT!r})\n"
                "from auditkit.load._probe import _serve\n"
                "_serve()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.owner = os.getpid()
        self.buffer = b""
        atexit.register(self.stop)

    def _read(self, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _Gone("the helper process ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or self.owner != os.getpid():
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class _Gone(Exception):
    """The helper process is not answering as it should."""


_SERVER = _Server()


# --------------------------------------------------------------------------------------------------
# The child side


def _serve() -> None:
    """The helper's loop: one JSON request a line on stdin; for each, fork a child that tries the load, then
    report {"pid": n} and, once it ended, {"status": s, "stage": ...} on stdout (negative status: a signal)."""
    out = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # whatever the libraries print must not mix with the answers
    os.dup2(devnull, 2)
    for line in sys.stdin:
        request = json.loads(line)
        for module in ("numpy", "pandas", *_PRELOAD.get(request["kind"], ())):
            try:
                __import__(module)  # importing runs no code from the file: the child starts warm
            except Exception:  # noqa: BLE001 - the child reports what goes wrong
                pass
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(out)
            os.close(reader)
            _attempt(request, writer)
        os.close(writer)
        os.write(out, (json.dumps({"pid": pid}) + "\n").encode())
        _, status = os.waitpid(pid, 0)
        raw = b""
        while len(raw) < 1 << 20:
            chunk = os.read(reader, 65536)
            if not chunk:
                break
            raw += chunk
        os.close(reader)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        reports = _reports(raw)
        for module in reports.pop("modules", ()):
            if module.split(".")[0] in _WARM and module not in sys.modules:
                try:
                    __import__(module)  # the next child starts with what this one needed
                except Exception:  # noqa: BLE001
                    pass
        os.write(out, (json.dumps({"status": code, "reports": reports}) + "\n").encode())


def _attempt(request: dict, report_fd: int) -> None:
    """Load the file the way auditkit does, score two rows if the width is known, and end the process:
    0 if that worked, 3 if it raised (with the error reported, for the parent to raise as it is); a crash
    ends the process by itself.  What happened is written to ``report_fd``, a line each."""
    status = 0
    try:
        for key in _TEST_HOOKS:
            os.environ.pop(key, None)
        os.environ.update(request.get("env", {}))
        from . import model as _model

        if request.get("scan") is not None:  # the parent's scan of the file: not scanned again here
            from ._scan_once import seed

            seed(request["kind"], request["digest"], request["scan"])
        loaded = _model._open(Path(request["path"]), request["kind"], request["trust"])
        if os.environ.get("AUDITKIT_PROBE_TEST_CRASH") == "load":
            os.kill(os.getpid(), signal.SIGSEGV)
        _report(report_fd, {"stage": "predict"})
        _try_predict(loaded)
        _report(report_fd, {"modules": sorted(m for m in list(sys.modules) if m.split(".")[0] in _WARM)})
        if os.environ.get("AUDITKIT_PROBE_TEST_CRASH") in ("1", "predict"):
            os.kill(os.getpid(), signal.SIGSEGV)
        if os.environ.get("AUDITKIT_PROBE_TEST_HANG") == "1":
            time.sleep(3600)
    except BaseException as err:  # noqa: BLE001 - any ordinary failure: the parent raises it, or loads to see it
        status = _EXC
        try:
            _report(report_fd, {"error": type(err).__name__, "module": type(err).__module__, "message": str(err)})
        except BaseException:  # noqa: BLE001
            pass
    os._exit(status)


def _report(fd: int, item: dict) -> None:
    os.write(fd, _MARK + json.dumps(item).encode() + b"\n")


def _reports(raw: bytes) -> dict:
    """The child's reports, merged (lines without the marker are library output: ignored)."""
    merged: dict = {}
    for line in raw.splitlines():
        if line.startswith(_MARK):
            try:
                merged.update(json.loads(line[len(_MARK):]))
            except ValueError:
                pass
    return merged


def _try_predict(loaded) -> None:
    """Score two rows of zeros, if the model says cheaply how many inputs it takes; failures don't matter."""
    try:
        import numpy as np
        import pandas as pd

        from ._loaded import n_inputs
        from ._predict import model_predict

        width = n_inputs(loaded.estimator)
        if not isinstance(width, int) or not 0 < width <= 100_000:
            return
        names = list(loaded.feature_names or [f"x{i}" for i in range(width)])
        model_predict(loaded, pd.DataFrame(np.zeros((2, width)), columns=names))
    except Exception:  # noqa: BLE001 - only a crash matters here; errors surface when the user scores
        pass
