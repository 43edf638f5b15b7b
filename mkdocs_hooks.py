"""MkDocs hook (mkdocs.yml ``hooks:``): links to repository files outside docs/ become text on the site.

A page may link to a file elsewhere in the repository, such as ``../benchmarks/README.md``. On GitHub the
link works; on the built site there is nothing to link to, and MkDocs reports it as not found. Rather
than lower that check for every link, this hook rewrites only links whose target exists in the
repository outside docs/: the link becomes its text followed by the file's path
("how to run it: `benchmarks/README.md` in the repository"). A link to a file that does not exist is
left alone, so ``mkdocs build --strict`` still fails on it. Fenced code blocks are not touched.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s#]+)(?:#[^)\s]*)?\)")
_FENCED = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def outside_docs_target(target: str, page_dir: Path, docs_dir: Path, repo: Path) -> Path | None:
    """The repository file a relative link points at, when it lies outside ``docs_dir``; else None."""
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    path = (page_dir / target).resolve()
    if path.is_relative_to(docs_dir) or not path.is_relative_to(repo) or not path.exists():
        return None
    return path


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Rewrite the page's links to repository files outside docs/ as text naming the file."""
    docs_dir = Path(config["docs_dir"]).resolve()
    repo = Path(config["config_file_path"]).resolve().parent
    page_dir = (docs_dir / page.file.src_uri).parent

    def rewrite(match: re.Match[str]) -> str:
        path = outside_docs_target(match["target"], page_dir, docs_dir, repo)
        if path is None:
            return match[0]
        name, text = path.relative_to(repo).as_posix(), match["text"]
        return text if name in text else f"{text}: `{name}` in the repository"

    out, start = [], 0
    for block in _FENCED.finditer(markdown):
        out += [_LINK.sub(rewrite, markdown[start:block.start()]), block[0]]
        start = block.end()
    out.append(_LINK.sub(rewrite, markdown[start:]))
    return "".join(out)
