"""Layout checked where readers see it: a real browser at phone and desktop widths, and the PDF's pages.

The browser test loads the report in headless Chromium inside a frame of the wanted width (Chromium's own
window cannot be narrower than 500 px) and measures, with a script in the test page (never in the report),
whether anything runs off the side.  The PDF test reads text positions with pypdf: each table caption
stands on the same page as its table's header row, each chart title with the chart's axis label.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from auditkit.report import build_document, render_report
from conftest import run_cli
from test_report_outputs import CHROMIUM

_PROBE = """<script>
var f = document.getElementById("f");
f.addEventListener("load", function () {
  var d = f.contentDocument, w = d.documentElement.clientWidth, bad = [];
  d.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect(), inline = f.contentWindow.getComputedStyle(e).display === "inline";
    var scrolls = e.closest(".table-wrap") && e.closest(".table-wrap") !== e;
    if (r.right > w + 1 && !inline && !scrolls) { bad.push(e.tagName + " " + (e.id || e.className) + " " + Math.round(r.right)); }
  });
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({width: w, scroll: d.documentElement.scrollWidth, bad: bad.slice(0, 20)});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def welfare(tmp_path_factory):
    """The decisions example with the agency's side, so that every kind of section is laid out."""
    out = tmp_path_factory.mktemp("layout") / "welfare"
    assert run_cli("audit", "--example", "welfare", "--out", str(out), "--quiet").exit_code == 0
    (out / "response.yaml").write_text(
        "claims:\n  - {id: C1, claim: The model does not discriminate., says: no_difference, attribute: nationality}\n"
        "reply: {asked: '2026-11-01'}\n", encoding="utf-8")
    return out


def _measure(page: Path, width: int, tmp_path: Path) -> dict:
    wrapper = tmp_path / f"wrap-{width}.html"
    wrapper.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" style="border:0" width="{width}" '
                       f'height="900" srcdoc="{html.escape(page.read_text(encoding="utf-8"), quote=True)}"></iframe>'
                       f'{_PROBE}</body></html>', encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000", "--dump-dom",
           wrapper.resolve().as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        dom, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-500:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_nothing_runs_off_a_phone_or_a_desktop_screen(welfare, tmp_path, lang):
    """At 375 px and 1280 px the page is no wider than the window and no block sticks out (wide tables scroll
    inside their own box)."""
    page = render_report(welfare, lang=lang, formats=("html",), out_dir=tmp_path / "out")[0]
    for width in (375, 1280):
        got = _measure(page, width, tmp_path)
        assert got["width"] <= width and got["scroll"] <= got["width"], got
        assert got["bad"] == [], got


def test_the_probe_sees_an_overflow(tmp_path):
    """The measurement itself: a 600 px wide block in a 375 px frame is reported."""
    if not CHROMIUM:
        pytest.skip("no chromium on this machine")
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><html><body><div id="wide" style="width:600px">x</div></body></html>')
    got = _measure(page, 375, tmp_path)
    assert got["scroll"] > got["width"] and any("wide" in b for b in got["bad"])


def _pages(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [" ".join(p.extract_text().split()) for p in PdfReader(str(pdf)).pages]


def _places(pages: list[str], text: str) -> list[tuple[int, int]]:
    """Every (page, offset) where ``text`` (its first 40 characters) begins."""
    probe = " ".join(text.split())[:40]
    out = []
    for n, page in enumerate(pages):
        at = page.find(probe)
        while at >= 0:
            out.append((n, at))
            at = page.find(probe, at + 1)
    return out


def _blocks(section):
    for b in section.blocks:
        yield b
    for sub in section.subsections:
        yield from _blocks(sub)


def test_pdf_keeps_captions_with_their_tables_and_chart_titles_with_their_labels(welfare, tmp_path):
    """Every table caption is followed, on the same page, by its first column header; every chart title by
    its axis label (text positions read back from the PDF with pypdf)."""
    doc = build_document(welfare, "en")
    pages = _pages(render_report(welfare, lang="en", formats=("pdf",), out_dir=tmp_path)[0])
    checked = 0
    for section in doc.sections:
        for b in _blocks(section):
            if b.kind == "table" and b.rows:
                pair = (b.caption, b.header[0])
            elif b.kind == "chart" and getattr(b.body, "axis_label", ""):
                pair = (b.title, b.body.axis_label)
            else:
                continue
            follow = " ".join(pair[1].split())[:30]
            # a caption can begin like a chart title ('Selection rate by X' and 'Selection rate by X, with 95%
            # intervals'): the pair holds when some occurrence of the caption has its header after it on its page
            places = _places(pages, pair[0])
            assert places, f"{pair[0]!r} is on no page"
            skip = len(" ".join(pair[0].split())[:40])  # a title that contains its axis label must not pass by it
            assert any(follow in pages[page][at + skip:] for page, at in places), \
                f"{pair[0]!r} is on page {places[0][0] + 1} without {pair[1]!r} after it"
            checked += 1
    assert checked >= 15


def test_a_long_chart_label_wraps_instead_of_being_cut():
    """The README model's SHAP chart labelled 'dutch_language_requirement_…': a label wraps onto a second line
    and is shortened only when two lines cannot hold it."""
    from auditkit.report._document import Chart, GroupedBars, Series
    from auditkit.report._svg import chart_svg

    name = "dutch_language_requirement_met"
    chart = Chart(id="c", title="t", description="d",
                  body=GroupedBars(categories=("age", name), series=(Series("women", (0.1, -0.2)),),
                                   axis_label="x", domain=(-0.3, 0.3), ticks=((0.0, "0"),)))
    svg = str(chart_svg(chart))
    import re

    assert "".join(re.findall(r">([^<]*)</tspan>", svg)) == name and "…" not in svg
    long = Chart(id="c", title="t", description="d",
                 body=GroupedBars(categories=("x" * 90,), series=(Series("a", (0.1,)),), axis_label="x",
                                  domain=(0.0, 1.0), ticks=((0.0, "0"),)))
    assert "…" in str(chart_svg(long))
