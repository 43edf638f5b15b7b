"""The scan's budget at full size: the files of issue 19 as ``tests/test_model_scan_budget.py`` builds them
(some smaller there), each scanned once in this process, with its time, its peak traced memory and the verdict.

    .venv/bin/python benchmarks/scan_budget.py            # every file; the 1 GiB ones take a minute to build
    .venv/bin/python benchmarks/scan_budget.py --quick    # the search and padding files at 64 MiB

Give ``--auditkit PATH`` (a folder holding another auditkit package, e.g. an older checkout) to time that
version's scan instead; each file then runs in a child process with ``--timeout`` seconds and a 6 GiB
address-space limit, so that a scan that hangs or blows up is reported as such.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _files(quick: bool) -> dict[str, bytes]:
    from tests.test_model_scan_budget import dag_key, memory_pickle, padded_bz2, search_bz2, slow_pickle

    big = 64 << 20 if quick else 1 << 30
    slow = slow_pickle()
    return {"1.2 MB pickle, one list walked 170,000 times": slow, "its zlib twin": zlib.compress(slow, 9),
            "47 KB list holding itself": memory_pickle(),
            f"bz2, then {big >> 20} MiB for the fallback search": search_bz2(big),
            f"bz2, a tiny pickle padded to {(big - (1 << 24)) >> 20} MiB": padded_bz2(big - (1 << 24)),
            "371-byte dict keyed by a 60-level tuple": dag_key()}


def _scan_here(data: bytes) -> str:
    from auditkit.load._pickle_scan import scan_bytes

    tracemalloc.start()
    start = time.perf_counter()
    scan, _ = scan_bytes(data, "file")
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    why = f": {scan.problems[0][:110]}" if scan.problems else ""
    return f"{took:.1f} s, peak {peak / 2**20:,.0f} MiB traced, {scan.verdict}{why}"


_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
sys.path.insert(0, sys.argv[1])
from auditkit.load._pickle_scan import scan_bytes
data = open(sys.argv[2], "rb").read()
start = time.perf_counter()
try:
    scan, _ = scan_bytes(data, "file")
    print(f"{time.perf_counter() - start:.1f} s, {scan.verdict}")
except MemoryError:
    print(f"MemoryError after {time.perf_counter() - start:.1f} s (6 GiB address space)")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--auditkit", type=Path, help="time the scan of the auditkit package in this folder")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    for name, data in _files(args.quick).items():
        if args.auditkit is None:
            print(f"{name} ({len(data):,} bytes): {_scan_here(data)}", flush=True)
            continue
        with tempfile.NamedTemporaryFile() as fh:
            fh.write(data)
            fh.flush()
            try:
                out = subprocess.run([sys.executable, "-c", _CHILD, str(args.auditkit), fh.name], capture_output=True,
                                     text=True, timeout=args.timeout).stdout.strip()
            except subprocess.TimeoutExpired:
                out = f"not finished after {args.timeout:g} s"
        print(f"{name} ({len(data):,} bytes): {out}", flush=True)


if __name__ == "__main__":
    main()
