"""auditkit._output: one writer for every output file — whole or not at all, never through a link, never
replacing a device (the /dev/null regression), '-' for standard output."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditkit._output import OutputError, open_output, replace_dir, write_bytes, write_text
from auditkit.cli import main

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "auditkit"


def _read_fifo(path: Path, into: list) -> threading.Thread:
    def reader():
        with open(path, "rb") as fh:
            into.append(fh.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path):
    """A new file gets its bytes; an existing one is replaced with its permissions kept; no temp file is left."""
    path = tmp_path / "sub" / "out.json"
    write_text(path, "one\n")
    os.chmod(path, 0o640)
    write_text(path, "two\n")
    assert path.read_text() == "two\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]


def test_an_error_while_writing_leaves_the_old_file(tmp_path):
    """An exception inside the block: the old bytes stay, the temporary file is gone."""
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), open_output(path, "w") as fh:
        fh.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    """Writing to a link is refused with the link and its target named."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "out.json"
    os.symlink(victim, link)
    with pytest.raises(OutputError, match="symbolic link .*victim"):
        write_text(link, "x")
    assert victim.read_text() == "precious" and link.is_symlink()


def test_a_folder_is_refused(tmp_path):
    """A folder given as an output file is an error, not an IsADirectoryError traceback."""
    with pytest.raises(OutputError, match="is a folder"):
        write_text(tmp_path, "x")


def test_a_fifo_is_written_directly_never_replaced(tmp_path):
    """A FIFO (what /dev/stdout or a pipe is) receives the bytes and is still a FIFO afterwards."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list = []
    thread = _read_fifo(fifo, got)
    write_bytes(fifo, b"hello")
    thread.join(5)
    assert got == [b"hello"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_cli_json_into_a_device_node_keeps_the_device(tmp_path, decisions_csv):
    """The /dev/null regression: `--json` pointed at a character device (a private copy of /dev/null made in
    tmp_path, never the machine's own) leaves it a device; as root the old helper replaced it with a file."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here (not root): the FIFO tests cover the rule")
    result = CliRunner().invoke(main, ["audit", str(decisions_csv), "--protected", "group", "--decision", "decision",
                                       "--json", str(node), "--quiet"])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("command", [
    ["audit", "{data}", "--protected", "group", "--decision", "decision", "--json", "{out}", "--quiet"],
    ["checklist", "init", "risk_profiling", "--out", "{out}", "--force"],
    ["datasets", "generate", "police-stops", "{out}", "--rows", "50"],
])
def test_cli_outputs_into_a_fifo_stay_a_fifo(tmp_path, decisions_csv, command):
    """JSON and YAML outputs of several commands written into a FIFO: the data arrives, the FIFO stays."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list = []
    thread = _read_fifo(fifo, got)
    args = [a.format(data=decisions_csv, out=fifo) for a in command]
    result = CliRunner().invoke(main, args)
    thread.join(10)
    assert result.exit_code in (0, 1), result.output
    assert got and got[0] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_json_dash_goes_to_stdout(decisions_csv):
    """`--json -` writes the results to standard output."""
    result = CliRunner().invoke(main, ["audit", str(decisions_csv), "--protected", "group", "--decision", "decision",
                                       "--json", "-"])
    assert result.exit_code == 0 and result.output.lstrip().startswith("{")


def test_replace_dir_swaps_whole_folders(tmp_path):
    """replace_dir puts the new folder in place of the old one and removes the old one."""
    old, new = tmp_path / "b", tmp_path / "new"
    old.mkdir()
    (old / "a").write_text("old")
    new.mkdir()
    (new / "b").write_text("new")
    replace_dir(new, old)
    assert [p.name for p in old.iterdir()] == ["b"] and not new.exists()


def test_no_module_writes_files_any_other_way():
    """Only auditkit/_output.py opens files for writing or replaces them: every other writer goes through it."""
    import re

    pattern = re.compile(r"\.write_text\(|\.write_bytes\(|os\.replace\(|open\([^)]*['\"][wa]b?['\"]|"
                         r"\.to_csv\(\s*(out|path)|\.to_parquet\(\s*(out|path)|NamedTemporaryFile\(")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_output.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code) and not line.lstrip().startswith((">>>", "...")):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "write through auditkit._output instead:\n" + "\n".join(offenders)


def test_an_unwritable_folder_is_an_error_not_a_traceback(tmp_path, decisions_csv):
    """--json and --out into a folder without write permission: exit 1 naming the path (skipped as root)."""
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        for option, target in (("--json", locked / "r.json"), ("--out", locked / "b")):
            result = CliRunner().invoke(main, ["audit", str(decisions_csv), "--protected", "group", "--decision",
                                               "decision", option, str(target), "--quiet"])
            assert result.exit_code == 1 and "Cannot write" in result.output, result.output
    finally:
        os.chmod(locked, 0o700)


def test_a_file_where_the_parent_folder_should_be_is_an_error(tmp_path):
    """Writing a/b.json where a is a file: an OutputError naming it."""
    (tmp_path / "a").write_text("x")
    with pytest.raises(OutputError, match="not a folder|Cannot write"):
        write_text(tmp_path / "a" / "b.json", "{}")
