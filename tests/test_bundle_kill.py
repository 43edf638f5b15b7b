"""Killing `auditkit audit --out` at random moments leaves the old bundle or the new one, never a mixture.

A driver process imports auditkit once and forks a child per kill: the child runs the audit into an
existing bundle and sends itself SIGKILL (no clean-up, no ``finally``) at its N-th call or return in the code
that writes bundles (``auditkit/_output.py`` and ``auditkit/bundle.py``, C calls such as ``write``,
``fsync`` and ``rename`` included).  The N are seeded random draws over every call a whole run makes.
After each kill the folder must hold exactly the files and bytes of one complete run, and verify.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

KILLS = 24
SEED = 12

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork and SIGKILL")

DRIVER = r'''
import hashlib, json, os, signal, sys
from pathlib import Path
from auditkit.bundle import verify_bundle
from auditkit.cli import main

old_args, new_args, out, points = json.loads(sys.argv[1])
out = Path(out)

def run(args, kill_at):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        count = 0
        def prof(frame, event, arg):
            nonlocal count
            if event in ("call", "c_call", "return") and frame.f_code.co_filename.endswith(("_output.py", "bundle.py")):
                count += 1
                if count == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
        sys.setprofile(prof)
        try:
            main(args, standalone_mode=False)
        finally:
            sys.setprofile(None)
            os.write(w, str(count).encode())
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    calls = os.read(r, 64).decode()
    os.close(r)
    return os.WIFSIGNALED(status), int(calls or 0)

def snapshot():
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}

main(new_args, standalone_mode=False)  # imports everything once, before the children fork
verify_bundle(out)
new = snapshot()
_, total = run(old_args, 0)
old = snapshot()
print(json.dumps({"total": total, "old": old, "new": new}), flush=True)
for fraction in points:
    killed, _ = run(new_args, max(1, int(fraction * total) if fraction > 0 else total + int(fraction)))
    now = snapshot()
    state = "new" if now == new else "old" if now == old else "mixed"
    print(json.dumps({"killed": killed, "state": state, "files": sorted(now), "ok": verify_bundle(out).ok}),
          flush=True)
    if state == "new":
        run(old_args, 0)
'''


def _write(path: Path, selected_b: int) -> Path:
    rows = [("a", int(i < 30)) for i in range(100)] + [("b", int(i < selected_b)) for i in range(100)]
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(path, index=False)
    return path


def test_killed_runs_leave_the_old_or_the_new_bundle(tmp_path):
    """SIGKILL at 24 points of a run into an existing bundle (20 seeded, the last 4 calls): the folder is always
    one whole run, and verifies."""
    out = tmp_path / "b"
    args = [["audit", str(_write(tmp_path / name, sel)), "--protected", "g", "--decision", "d", "--out", str(out),
             "--quiet"] for name, sel in (("old.csv", 50), ("new.csv", 60))]
    rng = random.Random(SEED)
    # Seeded draws over the whole run, and the last four calls (around the swap) by number.
    points = sorted(rng.random() for _ in range(KILLS - 4)) + [-3, -2, -1, 0]
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps([args[0], args[1], str(out), points])],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    head, kills = lines[0], lines[1:]
    assert head["total"] > 50 and head["old"] != head["new"] and len(kills) == KILLS
    for k in kills:
        assert k["state"] in ("old", "new"), k
        assert k["ok"], k
    states = [k["state"] for k in kills if k["killed"]]
    assert "old" in states and "new" in states and len(states) >= KILLS - 2
    # What a kill leaves behind is a temporary folder named as such, never taken for the bundle.
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".b.")]
    assert all(p.name.endswith(".auditkit-tmp") for p in left)
    # ... and the next run into the same folder removes it: at most the last kill's is left.
    assert len(left) <= 1, left


def test_only_the_leftovers_of_ended_runs_of_this_machine_are_removed(tmp_path):
    """A half-written folder is removed when its process has ended; one of a running process, of another
    machine, or named as older versions named them, is left."""
    from auditkit._output import temp_dir_for
    from auditkit._stale import clear_stale, writer_tag

    host = writer_tag().split("-")[0]
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    target = tmp_path / "bundle"
    names = {"ended": f".bundle.{host}-{ended.pid}.x1.auditkit-tmp", "running": f".bundle.{host}-{os.getppid()}.x2.auditkit-tmp",
             "elsewhere": f".bundle.0000beef-{ended.pid}.x3.auditkit-tmp", "older": ".bundle.abc123.auditkit-tmp",
             "other target": f".bundle2.{host}-{ended.pid}.x4.auditkit-tmp"}
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{}")
    assert clear_stale(target) == [tmp_path / names["ended"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "ended")
    made = temp_dir_for(target)
    assert made.name.startswith(f".bundle.{writer_tag()}.") and made.name.endswith(".auditkit-tmp")

