"""Group names, column names and template text stay inert in every output: Markdown, HTML, CSV, terminal.

The Markdown report is rendered by a CommonMark renderer (markdown-it-py, raw HTML enabled as CommonMark
allows) and opened in headless Chromium; a payload that ran would change the page's title.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from test_report import make_bundle
from test_report_outputs import CHROMIUM, _chromium

import auditkit
from auditkit.report import render_report
from auditkit.report._markdown import escape_markdown, render_markdown  # noqa: F401 - the renderer under test
from auditkit.results import comparison_rows, group_rows, summary_text, write_csv

#: Each one sets the page title to PWNED if it runs; several break out of a code span with blank lines.
PAYLOADS = [
    "a\n\n<img src=x onerror=\"document.title='PWNED'\">",
    "b\r\r<script>document.title='PWNED'</script>",
    "c\r\n\r\n<svg onload=\"document.title='PWNED'\"></svg>",
    "d`\n\n<details open ontoggle=\"document.title='PWNED'\">x</details>",
    "e\n\n[click](javascript:document.title='PWNED')",
    "f <iframe srcdoc=\"<script>parent.document.title='PWNED'</script>\"></iframe>",
    "g &lt;img src=x onerror=&quot;document.title='PWNED'&quot;&gt;",
    "h\x1b[2J\x1b]0;title\x07 \u202eevil\u202c",
    "i www.example.org https://example.org/x a@b.org",
]
TITLE = "inert-check"


def _hostile_results() -> dict:
    groups, decisions = [], []
    for i, name in enumerate(["reference", *PAYLOADS]):
        n, chosen = 200, 20 + 10 * i
        groups += [name] * n
        decisions += [1] * chosen + [0] * (n - chosen)
    frame = pd.DataFrame({"group <b>`x`\n\n<img src=x onerror=\"document.title='PWNED'\">": groups, "d": decisions})
    return auditkit.audit(frame, protected=(frame.columns[0],), decision="d", references={frame.columns[0]: "reference"},
                          max_depth=1).results


@pytest.fixture(scope="module")
def hostile_bundle(tmp_path_factory) -> Path:
    results = _hostile_results()
    attribute = results["attributes"][0]["attribute"]
    findings = [{
        "id": f"F-{i:08d}", "rule": "selection-rate-disparity", "kind": "disparity", "severity": "high",
        "statement": {"en": f"{p} were selected more often.", "nl": f"{p} werden vaker geselecteerd."},
        "recommendation": {"en": p, "nl": p}, "population": {"en": p, "nl": p},
        "evidence": [f"comparisons/{attribute}/{p}/selection_rate"], "rights": [p], "provisions": [p],
    } for i, p in enumerate(PAYLOADS)]
    return make_bundle(tmp_path_factory.mktemp("hostile") / "bundle", results=results, findings=findings)


@pytest.fixture(scope="module")
def markdown_text(hostile_bundle) -> str:
    (path,) = render_report(hostile_bundle, lang="en", formats=("md",), out_dir=hostile_bundle.parent / "md")
    return path.read_text(encoding="utf-8")


def _commonmark(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(text)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):  # noqa: D102
        self.tags.add(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]


def _page(body: str) -> str:
    return f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title></head><body>{body}</body></html>'


def test_commonmark_builds_no_tag_or_link_from_data(markdown_text):
    """Only the tags the report's own structure makes; no attribute at all (no href, no handler)."""
    parser = _Tags()
    parser.feed(_commonmark(markdown_text))
    assert parser.tags <= {"h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "code", "pre", "strong", "em",
                           "table", "thead", "tbody", "tr", "th", "td", "blockquote", "hr", "br"}
    assert [a for a in parser.attributes if a[1] != "style"] == []  # markdown-it aligns table cells with style


def test_every_payload_is_shown_as_text(markdown_text):
    """Escaping keeps the words: each payload's script text is in the rendered page, as text."""
    html = _commonmark(markdown_text)
    assert html.count("document.title=") >= len(PAYLOADS) - 2
    assert "\x1b" not in markdown_text and "\u202e" not in markdown_text and "\r" not in markdown_text


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
def test_no_payload_runs_in_a_real_browser(markdown_text, tmp_path):
    """The CommonMark rendering of the Markdown report, opened in Chromium: the title is unchanged."""
    page = tmp_path / "report.html"
    page.write_text(_page(_commonmark(markdown_text)), encoding="utf-8")
    dom, _, urls = _chromium(page, tmp_path)
    assert f"<title>{TITLE}</title>" in dom and "PWNED</title>" not in dom
    assert urls == []


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
def test_the_browser_check_sees_a_payload_that_runs(tmp_path):
    """The check is not vacuous: the same payloads written unescaped do change the title."""
    raw = "\n\n".join(f"`{p}`" for p in PAYLOADS[:2])
    page = tmp_path / "raw.html"
    page.write_text(_page(_commonmark(raw)), encoding="utf-8")
    dom, _, _ = _chromium(page, tmp_path)
    assert "<title>PWNED</title>" in dom


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
def test_no_payload_runs_in_the_html_report(hostile_bundle, tmp_path):
    """The HTML report (Jinja, autoescape, inline SVG) of the same bundle: no script, no handler, no change."""
    (path,) = render_report(hostile_bundle, lang="en", formats=("html",), out_dir=tmp_path / "html")
    html = path.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    assert not {"script", "iframe", "img", "details"} & parser.tags
    assert not [a for a in parser.attributes if a[1].startswith("on") or "javascript:" in (a[2] or "")]
    dom, _, urls = _chromium(path, tmp_path)
    assert "PWNED</title>" not in dom and urls == []


def test_markdown_code_spans_hold_line_breaks_as_visible_escapes(markdown_text):
    """An evidence id with a blank line stays one code span, showing \\n, not a paragraph break."""
    html = _commonmark(markdown_text)
    assert "<code>comparisons/group &lt;b&gt;`x`\\n\\n&lt;img src=x onerror=" in html
    assert "/a\\n\\n&lt;img src=x onerror=&quot;document.title='PWNED'&quot;&gt;/selection_rate</code>" in html


@pytest.mark.parametrize(("text", "expected"), [
    ("[x](javascript:alert(1))", r"\[x\](javascript\:alert(1))"),
    ("<https://evil.example>", r"\<https\://evil.example\>"),
    ("see www.evil.example", r"see www\.evil.example"),
    ("mail a@b.org", r"mail a\@b.org"),
    ("a\r\rb\n\nc", "a  b  c"),
    ("x\x1b[31m", r"x\\x1b\[31m"),
])
def test_escape_markdown_defuses_links_breaks_and_controls(text, expected):
    assert escape_markdown(text) == expected


# ------------------------------------------------------------------------------------------------ CSV

@pytest.mark.parametrize("value", ["=1+1", "x;=1+1;y", "x,=1+1", "x\t=1+1", "x|=1+1", "a; +cmd", "@SUM(A1)",
                                   "-2+3", "\uff1d1+1", "x;\uff0b1"])
def test_csv_cells_never_start_a_formula_after_any_delimiter(tmp_path, value):
    """Split on ',', ';', tab or '|' (as spreadsheets in different locales do): no piece starts a formula."""
    path = tmp_path / "t.csv"
    write_csv([{"group": value, "n": 3}], path)
    (row,) = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for piece in re.split(r"[,;\t|]", row["group"]):
        assert not piece.lstrip().startswith(("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")), piece


def test_csv_is_fully_quoted_and_keeps_numbers(tmp_path):
    path = tmp_path / "t.csv"
    write_csv([{"group": "a", "n": 3, "rate": 0.5, "missing": None}], path)
    assert path.read_text(encoding="utf-8") == '"group","n","rate","missing"\n"a","3","0.5",""\n'


def test_the_audit_csv_output_neutralises_hostile_group_names(tmp_path):
    """groups.csv and comparisons.csv of an audit whose groups are the payloads and x;=1+1;y."""
    frame = pd.DataFrame({"g": ["ok"] * 50 + ["x;=1+1;y"] * 50 + ["=HYPERLINK(\"http://e\")"] * 50,
                          "d": ([1] * 10 + [0] * 40) * 3})
    results = auditkit.audit(frame, protected=("g",), decision="d", references={"g": "ok"}, max_depth=1).results
    for rows in (group_rows(results), comparison_rows(results)):
        path = tmp_path / "out.csv"
        write_csv(rows, path)
        text = path.read_text(encoding="utf-8")
        assert '"x;\'=1+1;y"' in text and "\"'=HYPERLINK" in text
        assert ";=1" not in text and '"=' not in text


# ------------------------------------------------------------------------------------------- terminal

def test_terminal_summary_shows_control_characters_as_escapes():
    frame = pd.DataFrame({"g\x1b[2J": ["ok"] * 40 + ["bad\x1b]0;owned\x07\r\nname"] * 40, "d": ([1] * 5 + [0] * 35) * 2})
    results = auditkit.audit(frame, protected=("g\x1b[2J",), decision="d", max_depth=1).results
    text = summary_text(results)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "bad\\x1b]0;owned\\x07\\r\\nname" in text


def test_cli_output_passes_no_escape_sequence(tmp_path):
    """Everything the CLI prints, errors included, goes through the terminal filter."""
    from click.testing import CliRunner

    from auditkit.cli import main

    data = tmp_path / "d.csv"
    data.write_text("g,d\nok,1\nok,0\n\"x\x1b[31m\",1\n\"x\x1b[31m\",0\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["audit", str(data), "--protected", "g", "--decision", "d"])
    assert done.exit_code == 0, done.output
    assert "\x1b" not in done.output and "x\\x1b[31m" in done.output
    done = CliRunner().invoke(main, ["audit", str(data), "--protected", "g\x1b[2J", "--decision", "d"])
    assert done.exit_code == 1 and "\x1b" not in done.output


def test_the_pdf_of_a_hostile_bundle_renders(hostile_bundle, tmp_path):
    """WeasyPrint lays out the same payloads (control characters included) without an error."""
    pytest.importorskip("weasyprint")
    paths = render_report(hostile_bundle, lang="en", formats=("pdf",), out_dir=tmp_path / "pdf")
    assert paths and all(p.stat().st_size > 1000 for p in paths)
