"""auditkit's side of the model worker: an untrusted model file is opened and run only in another process.

:func:`load_in_worker` starts a worker (:mod:`auditkit.load._worker`) for one model file and returns a
:class:`~auditkit.load._loaded.LoadedModel` whose ``estimator`` is a :class:`RemoteModel`: a handle that
sends data to the worker and gets scores, SHAP values and the model card back as plain arrays and JSON
(:mod:`auditkit.load._wire`), never as Python objects.  The same worker serves every batch and every
explanation of a run.  A worker that crashes, is killed by a limit, does not answer within the step's
time limit or sends a malformed answer is stopped, and the file is refused with
:class:`~auditkit.exceptions.UnsafeModelError`, naming the file, the step and the limit.

On Linux and macOS the worker is forked from multiprocessing's fork server (started once per session,
with numpy, pandas, scikit-learn and joblib imported), so a worker starts in a few hundredths of a second
and inherits nothing of this process but its start-up state; elsewhere it is a fresh Python process.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from .. import exceptions
from ..exceptions import AuditkitError, InputDataError, UnsafeModelError
from ._formats import ASK_INSTEAD, sha256
from ._limits import DEFAULT_LIMITS, ModelLimits
from ._loaded import LoadedModel
from ._pickle_scan import ImportRef, PickleScan
from ._remote import RemoteModel, _text
from ._shm import ParentShared, make_files
from ._wire import REPLY_DTYPES, Broken, read_message, write_message

__all__ = ["RemoteModel", "inspect_in_worker", "load_in_worker", "prestart"]

#: What the fork server imports before it forks the first worker (what opening and scoring need) ...
_PRELOAD = ["numpy", "pandas", "pyarrow", "joblib", "sklearn.base", "auditkit.load.model", "auditkit.load._worker"]
#: ... and what it imports afterwards, while no request waits (workers forked later start with them).
_LATER = ["sklearn.linear_model", "sklearn.ensemble", "sklearn.pipeline", "skops.io", "shap",
          "auditkit.explain.shap_groups"]
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the auditkit package
#: Environment variables passed to the worker (the fork server's environment is that of its start).
_ENV = ("AUDITKIT_WORKER_TEST",)
_MAX_REPLY = 1 << 34
_CRASHES = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGSYS"}


class _ForkServer:
    """The helper process that forks workers (Linux): one per session, libraries imported once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.owner = 0
        self.broken = False

    def start(self, limits: dict, env: dict, files: tuple = ()) -> tuple[int, int, int] | None:
        """A new worker: its pid, the fd to send requests on and the fd to read replies from; None if the
        fork server cannot be used (a worker is then started as its own Python process)."""
        with self.lock:
            if self.broken:
                return None
            try:
                return self._start(limits, env, files)
            except (OSError, ValueError, KeyError):
                self.broken = True
                return None

    def _start(self, limits: dict, env: dict, files: tuple) -> tuple[int, int, int]:
        if self.proc is None or self.owner != os.getpid() or self.proc.poll() is not None:
            self._launch()
        assert self.sock is not None
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        try:
            socket.send_fds(self.sock, [json.dumps({"op": "start", "limits": limits, "env": env}).encode()],
                            [req_r, rep_w, *files])
            pid = json.loads(self._answer(300.0))["pid"]
        except BaseException:
            for fd in (req_w, rep_r):
                os.close(fd)
            raise
        finally:
            os.close(req_r)
            os.close(rep_w)
        return int(pid), req_w, rep_r

    def prestart(self) -> None:
        """Launch the fork server now, without waiting for it: its imports then overlap auditkit's own."""
        with self.lock:
            if self.broken or (self.proc is not None and self.owner == os.getpid() and self.proc.poll() is None):
                return
            try:
                self._launch()
            except OSError:
                self.broken = True

    def status(self, pid: int, wait: float) -> int | None:
        """How worker ``pid`` ended (negative: the signal); None if unknown."""
        with self.lock:
            if self.sock is None or self.owner != os.getpid():
                return None
            try:
                self.sock.send(json.dumps({"op": "status", "pid": pid, "wait": wait}).encode())
                value = json.loads(self._answer(wait + 30.0)).get("status")
                return value if type(value) is int else None
            except (OSError, ValueError):
                return None

    def _answer(self, timeout: float) -> bytes:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        data = self.sock.recv(1 << 16)
        if not data:
            raise OSError("the fork server ended")
        return data

    def _launch(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = ("import sys\n"
                f"sys.path.insert(0, {_ROOT!r})\n"
                "from auditkit.load._worker import fork_server\n"
                f"fork_server({theirs.fileno()}, {_PRELOAD!r}, {_LATER!r})\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=[theirs.fileno()], start_new_session=True)
        theirs.close()
        self.sock, self.owner = mine, os.getpid()
        atexit.register(self.stop)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if proc is not None and self.owner == os.getpid():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


_SERVER = _ForkServer()

#: Suffixes of the model files opened in a worker (a published specification is read in-process).
_WORKER_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".sav", ".skops", ".onnx", ".json", ".ubj", ".txt",
                              ".model", ".bst", ".lgb"})


def prestart(model: object = None) -> None:
    """Start the model worker's fork server in the background (Linux), so that the libraries it imports
    (scikit-learn alone takes seconds) load while auditkit reads its options, template and data.  Nothing
    is started for a model file that will not need a worker (a published specification)."""
    suffix = Path(str(model)).suffix.lower() if model is not None else ".pkl"
    if sys.platform.startswith("linux") and suffix in _WORKER_SUFFIXES:
        _SERVER.prestart()


class Worker:
    """One worker process for one model file."""

    def __init__(self, path: Path, limits: ModelLimits) -> None:
        self.name, self.limits = path.name, limits
        env = {k: os.environ[k] for k in _ENV if k in os.environ}
        self.popen: subprocess.Popen | None = None
        files = make_files()
        self.shared = ParentShared(*files) if files is not None else None
        started = _SERVER.start(limits.as_dict(), env, files or ()) if sys.platform.startswith("linux") else None
        if started is None:
            started = self._spawn(limits, env, files or ())
        self.pid, self.req, self.rep = started
        self.exited = _pidfd(self.pid)
        os.set_blocking(self.req, False)
        for fd in (self.req, self.rep):
            _widen(fd)
        self.closed = False
        self.pending: list[tuple[str, float]] = []  # requests in flight: their stage and when they were sent
        self.replied = 0.0  # when the last reply came
        self.alive = [True]  # False once its end was seen (the pid may then belong to another process)
        self._finalizer = weakref.finalize(self, _stop, self.pid, self.alive, self.req, self.rep, self.popen,
                                           self.shared, self.exited)

    def _spawn(self, limits: ModelLimits, env: dict, files: tuple) -> tuple[int, int, int]:
        code = ("import sys\n"
                f"sys.path.insert(0, {_ROOT!r})\n"
                "from auditkit.load._worker import serve_stdio\n"
                "serve_stdio(sys.argv[1], sys.argv[2], sys.argv[3])\n")
        try:
            self.popen = subprocess.Popen([sys.executable, "-c", code, json.dumps(limits.as_dict()), json.dumps(env),
                                           json.dumps(list(files))], pass_fds=files,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as err:
            raise UnsafeModelError(f"Refused to open {self.name!r}: auditkit could not start its model worker "
                                   f"({err}), and it never runs an untrusted model in its own process.") from None
        assert self.popen.stdin is not None and self.popen.stdout is not None
        return self.popen.pid, os.dup(self.popen.stdin.fileno()), os.dup(self.popen.stdout.fileno())

    def exitcode(self, wait: float) -> int | None:
        """How the worker ended (negative: the signal), waiting up to ``wait`` seconds."""
        if self.popen is not None:
            try:
                code = self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                return None
        else:
            code = _SERVER.status(self.pid, wait)
        if code is not None:
            self.alive[0] = False
        return code

    def call(self, kind: str, stage: str, header: dict | None = None, arrays: list[np.ndarray] = (),
             room: int = 0) -> tuple[dict, list[np.ndarray]]:
        """Send one request; the reply and its arrays (``room``: bytes of shared memory offered for the
        reply's arrays).  Raises the worker's error, or refuses the file."""
        self.send(kind, stage, header, arrays, room)
        return self.receive()

    def send(self, kind: str, stage: str, header: dict | None = None, arrays: list[np.ndarray] = (),
             room: int = 0) -> None:
        """Send one request without waiting for its reply (:meth:`receive` gets the replies in order; two
        requests may be in flight)."""
        if self.closed:
            raise UnsafeModelError(f"The model worker for {self.name!r} has already stopped.")
        header = {**(header or {}), "step": kind}
        shared = self.shared
        try:
            if shared is not None:
                header["room"] = shared.offer(room)
            write_message(self.req, header, list(arrays), time.monotonic() + self.limits.timeout, shared)
        except Broken as err:
            raise UnsafeModelError(self._failure(stage, err)) from None
        except OSError as err:  # auditkit's side of the shared memory (e.g. no memory left for it)
            raise UnsafeModelError(self._failure(stage, Broken(f"shared memory failed: {err}"))) from None
        if shared is not None:
            if shared.placed is not None:
                shared.busy.append(shared.placed)
            shared.rooms.append(tuple(header["room"]))
        self.pending.append((stage, time.monotonic()))

    def receive(self) -> tuple[dict, list[np.ndarray]]:
        """The reply to the oldest request in flight.  Its step's time limit counts from when the worker
        could start it: when it was sent, or when the reply before it came."""
        stage, sent = self.pending.pop(0)
        shared = self.shared
        deadline = max(sent, self.replied) + self.limits.timeout
        try:
            if shared is not None:
                shared.window = shared.rooms[0]
                self._await(deadline)
            reply, out = read_message(self.rep, deadline, _MAX_REPLY, REPLY_DTYPES, shared)
        except Broken as err:
            raise UnsafeModelError(self._failure(stage, err)) from None
        except OSError as err:
            raise UnsafeModelError(self._failure(stage, Broken(f"shared memory failed: {err}"))) from None
        self.replied = time.monotonic()
        if shared is not None:
            shared.rooms.pop(0)
            if shared.busy:
                shared.busy.pop(0)
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            self._raise(stage, reply if isinstance(reply, dict) else {})
        return reply, out

    def _await(self, deadline: float) -> None:
        """Wait until the worker says on its eventfd that a reply is ready, or ends, or the deadline passes
        (what happened is then read from the pipe, as without the eventfd).

        Waiting on the pipe itself would do, but a pipe write wakes the reader on the writer's core ("sync"
        wake-up): on two cores auditkit then writes the next batch there while the worker waits for it.  An
        eventfd wakes auditkit on its own idle core.  Without an eventfd or a pidfd (to see the worker end)
        auditkit waits on the pipe."""
        ready = self.shared.ready if self.shared is not None else None
        if ready is None or self.exited is None:
            return
        left = deadline - time.monotonic()
        if left > 0 and ready in select.select([ready, self.exited], [], [], left)[0]:
            try:
                os.eventfd_read(ready)
            except (BlockingIOError, OSError):
                pass

    def close(self) -> None:
        """Stop the worker (it is stopped anyway when this object goes)."""
        self.closed = True
        self.pending.clear()
        self._finalizer()

    def _failure(self, stage: str, err: Broken) -> str:
        """Stop the worker and say why it failed: a crash, a limit, a hang, or a malformed answer."""
        code = None if err.timeout else self.exitcode(5.0)
        self.close()
        lim = self.limits
        hint = ""
        if err.timeout:
            what = f"did not finish within {lim.timeout:g} s"
            hint = "; that is the time limit of a step (raise it with --model-timeout, or ModelLimits(timeout=...))"
        elif code is not None and code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            what = f"crashed (signal {-code}, {sig})"
            if sig == "SIGXCPU":
                what = f"used more than {lim.cpu:g} CPU seconds"
                hint = "; that is the CPU limit of a step (raise it with --model-cpu, or ModelLimits(cpu=...))"
            elif sig == "SIGKILL":
                what, hint = "was killed (signal 9, SIGKILL)", "; the machine may have run out of memory"
            elif sig in _CRASHES:
                hint = (f"; it may have hit the memory limit of {lim.memory_gb:g} GiB (raise it with --model-memory), "
                        "or the file is crafted to crash the program that reads it")
        elif code is not None:
            what = f"ended the worker process (exit status {code})"
        else:
            what = f"sent a malformed answer ({err})"
        return (f"Refused {self.name!r}: the model {what} while {stage}{hint}. This ran in auditkit's model worker, "
                f"a separate process with limits ({lim.describe()}), which auditkit stopped; nothing of the file "
                f"ran in auditkit itself. {ASK_INSTEAD}")

    def _raise(self, stage: str, reply: dict) -> None:
        """Raise the error the worker met: auditkit's own errors as they are, others as a message."""
        name, message = str(reply.get("error", "")), str(reply.get("message", ""))[:20_000]
        cls = getattr(exceptions, name, None)
        if reply.get("module") == exceptions.__name__ and isinstance(cls, type) and issubclass(cls, AuditkitError):
            raise cls(message)
        lim = self.limits
        if name == "MemoryError":
            raise UnsafeModelError(
                f"Refused {self.name!r}: the model went over the worker's memory limit of {lim.memory_gb:g} GiB "
                f"while {stage}. Raise it with --model-memory (ModelLimits(memory_gb=...)) if the model is "
                f"legitimately that large. {ASK_INSTEAD}")
        if name == "RecursionError":
            raise InputDataError(f"Could not use {self.name!r}: the model nests objects too deeply to follow "
                                 f"(RecursionError while {stage}). The file is corrupt or crafted. {ASK_INSTEAD}")
        text = message.strip().splitlines()[0][:300] if message.strip() else ""
        raise InputDataError(f"The model in {self.name!r} failed while {stage} ({name[:80]}: {text}). The file may "
                             f"be corrupt, or hold state that does not fit the library reading it. {ASK_INSTEAD}")


def _widen(fd: int) -> None:
    """A 1 MiB pipe buffer where Linux allows (64 KiB by default): a batch then crosses in a few handovers
    between the two processes instead of dozens, which on a busy machine each wait for the scheduler."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (OSError, ImportError):
        pass


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when process ``pid`` ends (Linux 5.3 and later), or None."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _stop(pid: int, alive: list, req: int, rep: int, popen: subprocess.Popen | None,
          shared: ParentShared | None, exited: int | None = None) -> None:
    """Kill the worker and close its pipes.  A worker of the fork server is not reaped until auditkit asks
    how it ended, so its pid is still its own here unless ``alive`` says that was seen."""
    if popen is not None:
        popen.kill()
    elif alive[0]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for fd in (req, rep) if exited is None else (req, rep, exited):
        try:
            os.close(fd)
        except OSError:
            pass
    if shared is not None:
        shared.close()
    if popen is not None:
        for stream in (popen.stdin, popen.stdout):
            try:
                stream.close()
            except (OSError, AttributeError):
                pass
        try:
            popen.wait(5)
        except subprocess.TimeoutExpired:
            pass


def _open(path: Path, kind: str, limits: ModelLimits) -> tuple[Worker, dict]:
    worker = Worker(path, limits)
    try:
        # The helper that forks workers keeps the directory auditkit had when it started: a relative path is
        # read from auditkit's directory now (a notebook may have changed it since)
        reply, _ = worker.call("open", "opening the file", {"path": str(path), "kind": kind, "cwd": os.getcwd(),
                                                             "max_decompressed": limits.max_decompressed()})
    except BaseException:
        worker.close()
        raise
    return worker, reply


def _refusal_error(reply: dict) -> AuditkitError | None:
    refusal = reply.get("refusal")
    if not isinstance(refusal, dict):
        return None
    cls = getattr(exceptions, str(refusal.get("error")), None)
    message = str(refusal.get("message", ""))[:20_000]
    if refusal.get("module") == exceptions.__name__ and isinstance(cls, type) and issubclass(cls, AuditkitError):
        return cls(message)
    return InputDataError(f"Could not open the model file: {str(refusal.get('error'))[:80]}: {message[:300]}")


def load_in_worker(path: Path, kind: str, limits: ModelLimits | None = None) -> LoadedModel:
    """Open ``path`` in a new worker; the model, with a :class:`RemoteModel` as its estimator."""
    worker, reply = _open(path, kind, limits or DEFAULT_LIMITS)
    error = _refusal_error(reply)
    meta = reply.get("model")
    if error is not None or not isinstance(meta, dict):
        worker.close()
        raise error or UnsafeModelError(worker._failure("opening the file", Broken("no model description")))
    try:
        model = _loaded_model(path, worker, meta, reply.get("info"))
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        worker.close()
        raise UnsafeModelError(worker._failure("opening the file", Broken(f"a malformed description: {err}"))) \
            from None
    return model


def _loaded_model(path: Path, worker: Worker, meta: dict, info: Any) -> LoadedModel:
    names = meta.get("feature_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise TypeError("input names that are not text")
    needs = meta.get("needs", {})
    notes = meta.get("notes", [])
    if not (isinstance(needs, dict) and all(isinstance(v, str) for v in needs.values())
            and isinstance(notes, list) and all(isinstance(n, str) for n in notes)):
        raise TypeError("versions or notes that are not text")
    scan = _scan(path, info) if isinstance(info, dict) and info.get("imports") is not None and \
        info.get("format") in ("pickle", "joblib", "joblib-compressed", "skops") else None
    remote = RemoteModel(worker, meta)
    return LoadedModel(remote, _text(meta.get("format"), "?"), str(path), sha256(path), scan, False, needs,
                       tuple(names) if names is not None else None, tuple(notes))


def _scan(path: Path, info: dict) -> PickleScan:
    refs = tuple(ImportRef(str(i["module"]), str(i["name"]), str(i["status"]), str(i["reason"]), int(i["count"]))
                 for i in info["imports"])
    return PickleScan(str(path), str(info["format"]), info.get("protocol"), refs, str(info["verdict"]),
                      tuple(str(p) for p in info.get("problems", [])), dict(info.get("versions", {})),
                      tuple(str(n) for n in info.get("scan_notes", [])))


def inspect_in_worker(path: Path, kind: str, limits: ModelLimits | None = None) -> dict:
    """What ``auditkit inspect`` shows, found by opening the file in a worker exactly as ``assess`` does."""
    worker, reply = _open(path, kind, limits or DEFAULT_LIMITS)
    worker.close()
    info = reply.get("info")
    if not isinstance(info, dict):
        raise UnsafeModelError(worker._failure("opening the file", Broken("no description")))
    info = dict(info)
    info.update(file=str(path), sha256=sha256(path), size_bytes=path.stat().st_size)
    info.pop("versions", None)
    info.pop("scan_notes", None)
    error = _refusal_error(reply)
    if error is not None and not isinstance(error, UnsafeModelError) and info.get("imports") is None:
        raise error
    if not reply.get("network"):
        info.setdefault("notes", []).append("The model worker could not cut itself off the network on this system "
                                            "(unprivileged namespaces are not available).")
    return info
