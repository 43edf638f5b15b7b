"""The documentation site: it builds with --strict, no page is left out of its nav, and path pages' links resolve."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PATH_PAGES = ("index.md", "researcher.md", "campaigner.md", "partner.md")

_FENCED = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_EXTERNAL_ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.IGNORECASE)
_FENCE_AS_INLINE = re.compile(r"<p><code>(bash|sh|console|text|python|yaml|json|csv|markdown|toml)\n")


def _nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _nav() -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return _nav_pages(config["nav"])


def _prose(markdown: str) -> str:
    """The Markdown without fenced code blocks and code spans, where a [x](y) is not a link."""
    return _CODE_SPAN.sub("", _FENCED.sub("", markdown))


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = unicodedata.normalize("NFKD", heading.replace("`", "")).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in _HEADING.findall(_FENCED.sub("", page.read_text(encoding="utf-8")))}


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed: pip install -e '.[test]' (or '.[docs]')")
def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict` succeeds, writes the path pages and the CLI reference, and every page renders whole.

    Rendered whole: no fenced code block came out as inline code (Python-Markdown has no fenced code inside
    list items), and no page loads a script or style sheet from another site.
    """
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    for page in ("", "researcher/", "campaigner/", "partner/", "cli-reference/", "templates/welfare-fraud-risk/"):
        assert (site / page / "index.html").is_file(), f"{page}index.html is missing from the built site"
    pages = {str(html.relative_to(site)): html.read_text(encoding="utf-8") for html in site.rglob("*.html")}
    broken = sorted(name for name, text in pages.items() if _FENCE_AS_INLINE.search(text))
    assert not broken, f"a fenced code block inside a list item rendered as inline code in: {', '.join(broken)}"
    fetching = sorted(name for name, text in pages.items() if _EXTERNAL_ASSET.search(text))
    assert not fetching, f"pages that load a script or style sheet from another site: {', '.join(fetching)}"


def test_every_page_is_in_the_nav():
    """Every .md under docs/ appears in mkdocs.yml's nav, and every nav entry is a file under docs/."""
    nav = _nav()
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    orphans = sorted(set(pages) - set(nav))
    assert not orphans, f"pages missing from the nav in mkdocs.yml: {', '.join(orphans)}"
    missing = sorted(set(nav) - set(pages))
    assert not missing, f"nav entries in mkdocs.yml with no file under docs/: {', '.join(missing)}"
    assert len(nav) == len(set(nav)), "a page appears twice in the nav"


@pytest.mark.parametrize("name", PATH_PAGES)
def test_path_page_links_resolve(name):
    """Every relative link of the home and path pages points at an existing file (and heading, for #anchors)."""
    page = DOCS / name
    problems = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not a file
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_file():
            problems.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            problems.append(f"{target}: {file.name} has no heading with the anchor #{anchor}")
    assert not problems, f"broken links in docs/{name}:\n" + "\n".join(problems)


def test_slug_matches_mkdocs_headings():
    """The anchor rule used above gives the anchors the existing pages link to."""
    assert _slug("Override rules (`extends:`)") == "override-rules-extends"
    assert _slug("Privacy: small cells are withheld") == "privacy-small-cells-are-withheld"
    assert _slug("1. Audit decisions") == "1-audit-decisions"
