"""Every fenced `auditkit …` command in README.md and docs/ runs as written.

Rules for whoever writes docs (also in docs/index.md, "Commands in these pages run"):

1. Blocks fenced as ```bash, ```sh, ```shell, ```console or ``` (no language) are run; ```text, ```yaml,
   ```python and the rest are not (use ```text for output).
2. Each page runs in its own empty temporary folder holding copies of the repository's ``datasets/``, ``examples/``,
   ``audits/`` and ``auditkit/locale/``. Its blocks run top to bottom: files and ``export``s of an earlier
   block are there for a later one. Write paths relative to the repository root. A block holding only
   file commands (mkdir, cp, mv, cat, sed, echo, printf, export, rm, touch) is run too.
3. ``auditkit …`` lines (also after a ``$ `` prompt, or after ``pip install … && ``, whose pip part is not
   run) run in-process; any other line runs in bash (cp, sed, mkdir, heredocs, export). A line ending in
   ``\\`` continues on the next; ``# comments`` are ignored.
4. Each auditkit command must exit 0, unless the line before the block is ``<!-- docs-test: exit N -->``.
5. A block that cannot run here (network, a cluster, files the reader brings, ``...`` elisions) needs the
   line ``<!-- docs-test: skip REASON -->`` before it; an unmarked command with ``...``, ``…`` or ``<…>``
   fails this test with that advice.
6. The placeholders BUNDLE, DATA, MODEL and DIR (whole arguments) stand for: a bundle of the welfare example
   (``auditkit audit datasets/welfare/decisions.csv --template welfare-fraud-risk``), made once;
   ``datasets/welfare/decisions.csv``; ``datasets/welfare/model.skops``; a new folder.
7. To keep this fast, an ``auditkit audit|assess`` command seen before on another page (its inputs are the
   repository's files, so the same bytes come out) is not run again: its files are copied in.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditkit.cli import main

ROOT = Path(__file__).parents[1]
RUN_INFO = {"bash", "sh", "shell", "console", ""}
COPIED = ("datasets", "audits", "auditkit/locale", "examples")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
                    re.M | re.S)
_MARK = re.compile(r"<!--\s*docs-test:\s*(?P<what>skip|exit)\s*(?P<arg>[^>]*?)\s*-->\s*$")
_AUDITKIT = re.compile(r"^(\$ )?(pip install [^&]*&& )?(?P<cmd>auditkit( .*)?)$", re.S)
_HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
_ELIDED = re.compile(r"\.\.\.|…|<[^>]+>")
#: A block of only these commands is run too (it makes files a later block needs).
FILE_COMMANDS = {"mkdir", "cp", "mv", "cat", "sed", "echo", "printf", "export", "rm", "touch"}
PLACEHOLDERS = {"DATA": "datasets/welfare/decisions.csv", "MODEL": "datasets/welfare/model.skops", "DIR": "out-dir"}
BUNDLE_COMMAND = "auditkit audit datasets/welfare/decisions.csv --template welfare-fraud-risk --out {} --quiet"


@dataclass
class Block:
    """One runnable fenced block: where it is, its logical lines, and what its marker says."""

    page: str
    line: int
    lines: list[str]
    skip: str | None = None
    exit_code: int = 0


@dataclass
class Page:
    """State while a page runs: its folder and environment."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)


def _logical_lines(body: str) -> list[str]:
    """Lines with continuations joined and heredocs kept whole; comment-only and blank lines dropped."""
    raw, out, i = body.splitlines(), [], 0
    while i < len(raw):
        line = raw[i]
        while line.endswith("\\") and i + 1 < len(raw):
            i += 1
            line = line[:-1].rstrip() + " " + raw[i].strip()
        heredoc = _HEREDOC.search(line)
        if heredoc and not line.lstrip().startswith("auditkit"):
            end = heredoc.group(1)
            while i + 1 < len(raw) and raw[i].strip() != end:
                i += 1
                line += "\n" + raw[i]
        i += 1
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
    return out


def blocks(path: Path) -> list[Block]:
    """The runnable blocks of a page that hold at least one auditkit command."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        if m["info"].strip() not in RUN_INFO:
            continue
        lines = _logical_lines(m["body"])
        if not lines or not (any(_AUDITKIT.match(line) for line in lines)
                             or all(line.split()[0] in FILE_COMMANDS for line in lines)):
            continue
        block = Block(str(path.relative_to(ROOT)), text[: m.start()].count("\n") + 1, lines)
        before = text[: m.start()].rstrip().splitlines()
        mark = _MARK.search(before[-1]) if before else None
        if mark and mark["what"] == "skip":
            block.skip = mark["arg"] or "marked"
        elif mark:
            block.exit_code = int(mark["arg"])
        found.append(block)
    return found


PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "cli-reference.md")
_CACHE: dict[str, tuple[int, str, dict[str, bytes]]] = {}


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*") if p.is_file()}


def _bundle(page: Page, tmp_root: Path) -> str:
    """The BUNDLE placeholder: the welfare example's bundle, made once and copied in."""
    if not (page.folder / "bundle").exists():
        _auditkit(page, shlex.split(BUNDLE_COMMAND.format("bundle"))[1:], BUNDLE_COMMAND.format("bundle"))
    return "bundle"


def _auditkit(page: Page, args: list[str], text: str) -> tuple[int, str]:
    """Run one auditkit command in the page's folder, or copy in what the same command made before."""
    cacheable = args[:1] in (["audit"], ["assess"]) and "--out" in args or args[:2] in (["assess", "--example"],
                                                                                         ["audit", "--example"])
    if cacheable and text in _CACHE:
        code, output, files = _CACHE[text]
        for rel, data in files.items():
            (page.folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (page.folder / rel).write_bytes(data)
        return code, output
    before = _snapshot(page.folder)
    cwd = os.getcwd()
    os.chdir(page.folder)
    try:
        result = CliRunner().invoke(main, args, env=page.env, prog_name="auditkit")
    finally:
        os.chdir(cwd)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"`{text}` ended in a traceback") from result.exception
    if cacheable and not page.env:
        after = _snapshot(page.folder)
        _CACHE[text] = (result.exit_code, result.output,
                        {rel: (page.folder / rel).read_bytes() for rel in after if before.get(rel) != after[rel]})
    return result.exit_code, result.output


def _shell(page: Page, line: str) -> None:
    """Run a non-auditkit line in bash, keeping the variables it exports."""
    env = {**os.environ, **page.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", f"set -e\n{line}\nenv -0"], cwd=page.folder, env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, f"`{line}` failed: {done.stderr.decode(errors='replace')[-800:]}"
    after = dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    page.env.update({k: v for k, v in after.items() if os.environ.get(k) != v and k not in ("PWD", "SHLVL", "_",
                                                                                             "OLDPWD", "PATH")})


def _run_block(page: Page, block: Block, tmp_root: Path) -> None:
    for line in block.lines:
        match = _AUDITKIT.match(line)
        if match is None:
            _shell(page, line)
            continue
        command = match["cmd"]
        if _ELIDED.search(command):
            pytest.fail(f"{block.page}:{block.line}: `{command}` has an elision or <placeholder>; write a command "
                        "that runs, or put <!-- docs-test: skip REASON --> on the line before the block.")
        args = shlex.split(command, comments=True)[1:]
        args = [_bundle(page, tmp_root) if a == "BUNDLE" else PLACEHOLDERS.get(a, a) for a in args]
        code, output = _auditkit(page, args, shlex.join(["auditkit", *args]))
        assert code == block.exit_code, (f"{block.page}:{block.line}: `{command}` exited {code}, expected "
                                         f"{block.exit_code}:\n{output[-2000:]}")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_run(path, tmp_path):
    """Each page's fenced auditkit commands run in a fresh folder, in order, and exit as documented."""
    runnable = [b for b in blocks(path) if b.skip is None]
    if not any(_AUDITKIT.match(line) for b in runnable for line in b.lines):
        pytest.skip("no runnable auditkit command on this page")
    page = Page(tmp_path / "work")
    page.folder.mkdir()
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, page.folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for block in runnable:
        _run_block(page, block, tmp_path)


def test_readme_inline_report_command_runs(tmp_path, monkeypatch):
    """The README's inline `auditkit report BUNDLE --lang nl --format pdf` runs (it once needed --out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inline = [c for c in re.findall(r"`(auditkit [^`]+)`", readme)
              if "BUNDLE" in c.split() and not any(re.fullmatch(r"[A-Z][A-Z0-9_.]+", a) and a != "BUNDLE"
                                                   for a in c.split())]
    assert any(c.startswith("auditkit report BUNDLE") for c in inline)
    page = Page(tmp_path)
    shutil.copytree(ROOT / "datasets", tmp_path / "datasets")
    for command in inline:
        args = [_bundle(page, tmp_path) if a == "BUNDLE" else a for a in shlex.split(command)[1:]]
        code, output = _auditkit(page, args, command)
        assert code == 0, f"`{command}`: {output}"
    assert (tmp_path / "bundle" / "report.nl.pdf").is_file()


def test_the_rules_catch_an_unmarked_elision(tmp_path):
    """The checker itself: an elided command fails, a marked block is skipped, a marked exit code is used."""
    page = tmp_path / "page.md"
    page.write_text("```bash\nauditkit audit data.csv ...\n```\n\n<!-- docs-test: skip needs network -->\n```bash\n"
                    "auditkit datasets fetch compas\n```\n\n<!-- docs-test: exit 1 -->\n```bash\nauditkit verify .\n"
                    "```\n```text\nauditkit 0.1.0 — output\n```\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = blocks(page)
    finally:
        ROOT = saved
    assert [(b.skip, b.exit_code) for b in found] == [(None, 0), ("needs network", 0), (None, 1)]
    with pytest.raises(pytest.fail.Exception, match="docs-test: skip"):
        _run_block(Page(tmp_path), found[0], tmp_path)
