"""A seeded fuzz of `auditkit verify`: every file of a bundle mutated (bytes, truncation, JSON structure and
types, with and without the manifest's hashes recomputed). Each mutation must fail verification (exit 1)
and none may end in a traceback."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from auditkit.bundle import manifest_hash, manifest_text
from auditkit.cli import main

SEED = 12
MUTATIONS = 160
_VALUES = [None, True, False, 0, -1, 1.5, 1e308, "", "x", "../../etc/passwd", "report.en.html", [], {}, [[[[]]]],
           {"path": "x"}, "0" * 64, [1, "a", None], {"__proto__": 1}, "\u202e\u0000", -(2 ** 70)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    rows = [("a", int(i < 30)) for i in range(120)] + [("b", int(i < 60)) for i in range(120)]
    pd.DataFrame(rows, columns=["g", "d"]).to_csv(root / "d.csv", index=False)
    result = CliRunner().invoke(main, ["audit", str(root / "d.csv"), "--protected", "g", "--decision", "d",
                                       "--out", str(root / "b"), "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "b"


def _nodes(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, path + (i,))


def _mutate_json(value, rng):
    nodes = list(_nodes(value))
    path = rng.choice(nodes[1:] or nodes)
    if not path:
        return rng.choice(_VALUES)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    key, kind = path[-1], rng.randrange(4)
    if kind == 0 and isinstance(parent, dict):
        del parent[key]
    elif kind == 1 and isinstance(parent, dict):
        parent[f"unknown_{rng.randrange(99)}"] = rng.choice(_VALUES)
    elif kind == 2 and isinstance(parent, list):
        parent.append(parent[key])
    else:
        parent[key] = rng.choice(_VALUES)
    return value


def _rehash(b: Path) -> None:
    m = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    if not isinstance(m, dict):
        return
    for key in ("files", "reports"):
        for entry in m.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str) and (b / entry["path"]).is_file():
                data = (b / entry["path"]).read_bytes()
                entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    cited = manifest_hash(manifest_text({k: v for k, v in m.items() if k != "reports"}).encode())
    for entry in m.get("reports") or []:
        if isinstance(entry, dict):
            entry["manifest_sha256"] = cited
    (b / "manifest.json").write_text(manifest_text(m), encoding="utf-8")


def _mutate(b: Path, rng: random.Random) -> str:
    files = sorted(p for p in b.iterdir() if p.is_file())
    target = rng.choice(files)
    raw = target.read_bytes()
    kind = rng.choice(["truncate", "flip", "append", "delete", "json", "json", "json-rehashed", "json-rehashed"])
    if kind.startswith("json") and target.suffix == ".json":
        try:
            value = _mutate_json(json.loads(raw), rng)
        except (ValueError, IndexError, KeyError):
            return "skip"
        text = manifest_text(value) if target.name == "manifest.json" and isinstance(value, dict) else \
            json.dumps(value, indent=2, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        if kind == "json-rehashed" and target.name != "manifest.json":
            _rehash(b)
    elif kind == "truncate":
        target.write_bytes(raw[: rng.randrange(len(raw))])
    elif kind == "flip":
        i = rng.randrange(len(raw))
        target.write_bytes(raw[:i] + bytes([raw[i] ^ (1 << rng.randrange(8))]) + raw[i + 1:])
    elif kind == "append":
        target.write_bytes(raw + rng.choice([b" ", b"\n", b"{}", b"\x00", "é".encode()]))
    elif kind == "delete":
        target.unlink()
    else:
        kind = "flip-fallback"
        target.write_bytes(raw[:-2] + b"!" + raw[-1:])
    return f"{kind} {target.name}"


def test_verify_fails_every_mutation_without_a_traceback(bundle, tmp_path):
    """160 seeded mutations: each gives exit 1 and a normal message, never a traceback or a pass."""
    rng = random.Random(SEED)
    counted = 0
    for n in range(MUTATIONS):
        work = tmp_path / f"m{n}"
        shutil.copytree(bundle, work)
        before = {p.name: p.read_bytes() for p in work.iterdir()}
        what = _mutate(work, rng)
        after = {p.name: p.read_bytes() for p in work.iterdir()}
        if what == "skip" or before == after:
            shutil.rmtree(work)
            continue
        result = CliRunner().invoke(main, ["verify", str(work)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (what, repr(result.exception))
        assert result.exit_code == 1, (what, result.output)
        assert "Traceback" not in result.output
        counted += 1
        shutil.rmtree(work)
    assert counted > MUTATIONS * 0.8


def test_verify_with_data_never_crashes_on_mutations(bundle, tmp_path):
    """With --data, mutated bundles (manifest and run record included) end in exit 1 with a message."""
    rng = random.Random(SEED + 1)
    data = bundle.parent / "d.csv"
    for n in range(12):
        work = tmp_path / f"d{n}"
        shutil.copytree(bundle, work)
        target = work / "manifest.json"
        value = _mutate_json(json.loads(target.read_text(encoding="utf-8")), rng)
        target.write_text(manifest_text(value) if isinstance(value, dict) else json.dumps(value), encoding="utf-8")
        result = CliRunner().invoke(main, ["verify", str(work), "--data", str(data)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code == 1, result.output
