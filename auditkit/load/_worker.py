"""The model worker's side: a process that opens one model file and does everything with the model.

:func:`serve` runs in a child process (:mod:`auditkit.load._sandbox` starts it).  Before it reads
anything from the file it cuts itself off the network (a new user and network namespace, on Linux where
unprivileged namespaces are allowed), sets its resource limits (address space, open files, no file
writes, no core dumps, no new privileges) and sends library output to /dev/null.  Then it answers
requests, one at a time, with :mod:`auditkit.load._wire` messages: ``open`` (scan and load the file, with
the same function ``inspect`` and ``assess`` use), ``score`` (one batch), ``shap`` (one explanation),
``card`` (the model card).  Before each step the CPU limit is moved to what the worker has used so far
plus the step's budget.  Any exception becomes an error reply; a crash or a limit ends the process,
which the parent reports.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from typing import Any

from ._wire import Broken, decode_frame, read_message, write_message

__all__ = ["fork_server", "serve", "serve_stdio"]

_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_NO_NEW_PRIVS = 38


def fork_server(fd: int, preload: list[str], later: list[str] = ()) -> None:
    """The helper that forks workers (Linux): started once per session by :mod:`auditkit.load._sandbox`, it
    imports ``preload``, then gets each worker's pipe ends and shared files over a Unix socket (``fd``), forks
    the worker, answers its pid, and later how it ended; while no request waits it imports ``later`` one by
    one (so the first worker does not wait for libraries only explanations need).  Never returns."""
    import select
    import socket

    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)
    for module in preload:
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - a library that is not installed is imported by the worker if needed
            pass
    sock = socket.socket(fileno=fd)
    ended: dict = {}
    later = list(later)
    while True:
        while later and not select.select([sock], [], [], 0)[0]:
            try:
                __import__(later.pop(0))
            except Exception:  # noqa: BLE001 - as above
                pass
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 5)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        request = json.loads(msg)
        if request["op"] == "start":
            pid = os.fork()
            if pid == 0:
                sock.close()
                serve(fds[0], fds[1], request["limits"], request["env"], tuple(fds[2:5]))
            for f in fds:
                os.close(f)
            answer = {"pid": pid}
        else:
            answer = {"status": _ended(int(request["pid"]), float(request["wait"]), ended)}
        sock.send(json.dumps(answer).encode())


def _ended(pid: int, wait: float, ended: dict) -> int | None:
    """How worker ``pid`` ended (negative: the signal), waiting up to ``wait`` seconds; None if it has not.
    Only this worker is reaped: until then its pid cannot be reused, so auditkit can never signal another
    process by mistake."""
    deadline = time.monotonic() + wait
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return ended.pop(pid, None)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def serve_stdio(limits: str, env: str, files: str = "[]") -> None:
    """A worker started as its own Python process (where there is no fork server): requests on stdin,
    replies on stdout, and the shared files (if any) at the descriptors ``files`` lists."""
    rfd, wfd = os.dup(0), os.dup(1)
    serve(rfd, wfd, json.loads(limits), json.loads(env), tuple(json.loads(files)))


def serve(rfd: int, wfd: int, limits: dict, env: dict, files: tuple = ()) -> None:
    """The worker's loop: requests from ``rfd``, replies to ``wfd``, arrays through the two shared ``files``
    (input, output; :mod:`auditkit.load._shm`) where given; never returns."""
    from ._shm import WorkerShared

    shared = WorkerShared(*files) if len(files) in (2, 3) else None
    isolated = _isolate()
    _set_limits(limits)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # libraries that print must not mix with the replies (they go through their own pipe)
    os.dup2(devnull, 2)
    os.environ.update(env)
    sys.dont_write_bytecode = True
    state: dict = {"limits": limits, "network": isolated, "scorers": {}}
    while True:
        try:
            header, arrays = read_message(rfd, shared=shared)
        except Broken:
            os._exit(0)
        if shared is not None:
            room = header.get("room")
            ok = isinstance(room, list) and len(room) == 2 and all(type(n) is int and n >= 0 for n in room)
            shared.room = (room[0], room[1]) if ok else (0, 0)
        kind = header.get("step")
        if kind == "close":
            os._exit(0)
        _cpu_budget(limits["cpu"])
        try:
            _test_hook(env.get("AUDITKIT_WORKER_TEST", ""), kind)
            reply, out = _HANDLERS[kind](state, header, arrays)
            reply["ok"] = True
        except BaseException as err:  # noqa: BLE001 - every failure is reported; the parent decides
            reply, out = _error(err), []
        del arrays
        try:
            write_message(wfd, reply, out, shared=shared)
        except (TypeError, ValueError) as err:  # a reply JSON cannot carry: report that instead
            write_message(wfd, _error(err), [])
        except Broken:
            os._exit(0)
        if shared is not None:
            shared.replied()
        del out
        if shared is not None:
            shared.release()


def _error(err: BaseException) -> dict:
    return {"ok": False, "error": type(err).__name__, "module": type(err).__module__,
            "message": str(err)[:20_000]}


def _isolate() -> bool:
    """A new user and network namespace: no network interface but loopback, which is down.  Must run while
    the process has one thread (it does: it was just forked).  False where the platform does not allow it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
            return False
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            try:  # kernel control files, not output: written with os.write
                fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
        return True
    except (OSError, AttributeError):
        return False


def _set_limits(limits: dict) -> None:
    """Address space, open files, no file writes, no core dumps; soft and hard alike where they go down."""
    memory = int(limits["memory_gb"] * 2**30)
    for name, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NOFILE, int(limits["open_files"])),
                        (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(name)
            top = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(name, (top, top))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write to a file fails (EFBIG) instead of killing the worker


def _cpu_budget(seconds: float) -> None:
    """Let this step use ``seconds`` of CPU time from now (SIGXCPU ends the worker past it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (int(used + seconds) + 1, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def _test_hook(hook: str, kind: str) -> None:
    """``AUDITKIT_WORKER_TEST=crash:STEP`` / ``hang:STEP`` / ``spin:STEP`` / ``memory:STEP``: misbehave at a
    step, so that the tests drive every way a worker can fail, whatever the model libraries do."""
    what, _, step = hook.partition(":")
    if step != kind:
        return
    if what == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif what == "hang":
        time.sleep(3600)
    elif what == "spin":
        while True:
            pass
    elif what == "memory":
        import numpy as np

        hog = []
        while True:
            hog.append(np.empty(1 << 28, dtype=np.uint8))  # address space, not memory: the limit stops it


# --------------------------------------------------------------------------------------------------
# The steps


def _open(state: dict, header: dict, arrays: list) -> tuple[dict, list]:
    from pathlib import Path

    from . import _skops
    from .model import describe

    _skops.MAX_MEMBER = int(header["max_decompressed"])
    from . import _pickle_scan

    _pickle_scan.MAX_BYTES = int(header["max_decompressed"])
    if isinstance(header.get("cwd"), str) and not os.path.isabs(str(header["path"])):
        try:
            os.chdir(header["cwd"])  # where auditkit is: a relative path means the same file to both
        except OSError:
            pass  # a directory since removed: the path cannot be found, which opening the file says
    info, loaded, error = describe(Path(header["path"]), header["kind"])
    state["model"] = loaded
    reply: dict = {"info": info, "network": state["network"]}
    if error is not None:
        reply["refusal"] = _error(error)
    if loaded is not None:
        reply["model"] = _meta(loaded)
    return reply, []


def _meta(loaded: Any) -> dict:
    from ._loaded import OnnxModel, n_inputs

    est = loaded.estimator
    return {"format": loaded.format, "needs": dict(loaded.needs), "notes": list(loaded.notes),
            "feature_names": list(loaded.feature_names) if loaded.feature_names is not None else None,
            "n_inputs": n_inputs(est), "class": "ONNX graph" if isinstance(est, OnnxModel)
            else f"{type(est).__module__}.{type(est).__qualname__}"}


def _loaded(state: dict) -> Any:
    loaded = state.get("model")
    if loaded is None:
        raise RuntimeError("no model is open in this worker")
    return loaded


def _score(state: dict, header: dict, arrays: list) -> tuple[dict, list]:
    import numpy as np

    from ._predict import _checked_scorer, _run

    loaded = _loaded(state)
    key = json.dumps(header.get("selected"))
    if key not in state["scorers"]:
        state["scorers"][key] = _checked_scorer(loaded, header.get("selected"))
    score, method = state["scorers"][key]
    frame = decode_frame(header["frame"], arrays)
    out = _run(score, frame, loaded) if len(frame) else np.empty(0)
    return {"method": method}, [np.asarray(out, dtype=np.float64).reshape(-1)]


def _shap(state: dict, header: dict, arrays: list) -> tuple[dict, list]:
    import numpy as np

    from ..explain.shap_groups import explain_model
    from ._predict import model_predict

    loaded = _loaded(state)
    X = decode_frame(header["frame"], arrays)
    rows, bg = (np.asarray(arrays[i], dtype=np.int64) for i in (header["rows"], header["bg"]))
    ex, features, check = explain_model(loaded.estimator, lambda df: model_predict(loaded, df)[0], X, rows, bg,
                                        int(header["seed"]))
    reply = {"explainer": ex.explainer, "scale": ex.scale, "base": float(ex.base),
             "background_rows": ex.background_rows, "perturbation": ex.perturbation, "notes": list(ex.notes),
             "features": features, "check": check}
    return reply, [np.asarray(ex.values, dtype=np.float64), np.asarray(ex.output, dtype=np.float64)]


def _card(state: dict, header: dict, arrays: list) -> tuple[dict, list]:
    from ._model_card import model_card

    loaded = _loaded(state)
    if header.get("names_given") and header.get("names") is not None:  # names auditkit was given (--features)
        import dataclasses

        loaded = dataclasses.replace(loaded, feature_names=tuple(header["names"]), names_given=True)
    card = model_card(loaded, protected=list(header["protected"]), proxies=list(header["proxies"]))
    return {"card": json.loads(json.dumps(card, default=_plain))}, []


def _plain(value: Any) -> Any:
    """numpy numbers as Python numbers (what the results' JSON writer does with them too)."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} in the model card")


_HANDLERS = {"open": _open, "score": _score, "shap": _shap, "card": _card}
