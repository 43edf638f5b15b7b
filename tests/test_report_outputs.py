"""Report files: PDF text, same bytes on every run, the golden HTML, a real browser, and `auditkit report`."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import auditkit
from auditkit.cli_report import report
from auditkit.report import render_report
from test_report import FINDINGS, make_bundle

GOLDEN = Path(__file__).parent / "test_report_data" / "small.en.html"
CHROMIUM: str = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else "")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The small bundle of test_report, shared by this module."""
    return make_bundle(tmp_path_factory.mktemp("outputs") / "bundle")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def rendered(bundle) -> dict:
    """The English report in all three formats (WeasyPrint's warnings collected under 'warnings')."""
    handler = _Records()
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        paths = render_report(bundle, lang="en", formats=("html", "pdf", "md"), out_dir=bundle.parent / "out")
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    return {**{p.suffix[1:]: p for p in paths}, "warnings": [r.getMessage() for r in handler.records]}


def test_pdf_has_page_numbers_the_citation_and_every_finding_id(rendered, bundle):
    """The PDF's text holds 'page / pages' on every page, the manifest sha256 and each finding id."""
    from pypdf import PdfReader

    assert rendered["warnings"] == []  # e.g. CSS WeasyPrint ignores, or a resource it was asked to fetch
    reader = PdfReader(rendered["pdf"])
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) >= 3
    for number, text in enumerate(pages, 1):
        assert re.search(rf"\b{number} / {len(pages)}\b", text), (number, text[-200:])
    text = "\n".join(pages)
    sha = __import__("hashlib").sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    assert sha[:32] in re.sub(r"\s", "", text)
    for f in FINDINGS:
        assert text.count(f["id"]) >= 2, f["id"]  # in the heading and in the margin
    assert reader.metadata.title.startswith("Audit of decisions in")


def test_same_bundle_gives_the_same_bytes(bundle, rendered, tmp_path):
    """Rendering again gives byte-identical HTML, Markdown and PDF (no clock, no random ids)."""
    again = render_report(bundle, lang="en", formats=("html", "pdf", "md"), out_dir=tmp_path / "again")
    for path in again:
        assert path.read_bytes() == Path(rendered[path.suffix[1:]]).read_bytes(), path.name


def _normalise(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "<style>…</style>", html, flags=re.S)
    html = re.sub(r"\b[0-9a-f]{64}\b", "SHA256", html)
    html = html.replace(f"auditkit {auditkit.__version__}", "auditkit VERSION")
    return "\n".join(line.rstrip() for line in html.splitlines()) + "\n"


def test_html_matches_the_golden_file(rendered):
    """The normalised HTML of the small bundle is unchanged (AUDITKIT_UPDATE_GOLDEN=1 refreshes it on purpose)."""
    html = _normalise(rendered["html"].read_text(encoding="utf-8"))
    if os.environ.get("AUDITKIT_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == html, (
        "The report HTML changed; if on purpose, AUDITKIT_UPDATE_GOLDEN=1 pytest tests/test_report_outputs.py")


def _chromium(page: Path, out: Path) -> tuple[str, str, list[str]]:
    """Load ``page`` headless: (DOM after load, stderr with console messages, URLs the page requested)."""
    profile = out / "profile"
    netlog = out / "net.json"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--hide-scrollbars", "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}",
           f"--screenshot={out / 'shot.png'}", "--window-size=1200,2000", "--dump-dom", page.resolve().as_uri()]
    # Its own session, so that on a timeout the whole browser (zygotes and renderers) is stopped, not just the parent.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    events = json.loads(netlog.read_text(encoding="utf-8")).get("events", []) if netlog.exists() else []
    # Chromium's own background requests have no page behind them; the page's requests carry its file:// origin.
    urls = sorted({e["params"]["url"] for e in events if "url" in e.get("params", {})
                   and "file://" in str(e["params"].get("network_isolation_key", ""))
                   and not e["params"]["url"].startswith("file:")})
    return stdout, stderr, urls


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
def test_a_real_browser_shows_every_finding_with_no_request_and_no_console_error(rendered, tmp_path):
    """Headless Chromium loads the HTML: a non-blank screenshot, every finding id, no request out, no console error."""
    from PIL import Image

    dom, log, urls = _chromium(rendered["html"], tmp_path)
    assert urls == [] and "CONSOLE" not in log
    for f in FINDINGS:
        assert f'id="{f["id"]}"' in dom
    with Image.open(tmp_path / "shot.png") as shot:
        assert shot.size == (1200, 2000)
        grey = shot.convert("L")
        dark = sum(grey.histogram()[:200])
        assert dark > 0.02 * 1200 * 2000 and len(shot.convert("RGB").getcolors(1 << 24)) > 20


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on this machine (.ci/run installs it from the distribution)")
def test_the_browser_check_would_see_an_outgoing_request(tmp_path):
    """The request check is not vacuous: a page with an external image is caught."""
    page = tmp_path / "external.html"
    page.write_text('<!DOCTYPE html><html lang="en"><title>t</title><img src="http://127.0.0.1:9/x.png" alt="">',
                    encoding="utf-8")
    _, _, urls = _chromium(page, tmp_path)
    assert urls == ["http://127.0.0.1:9/x.png"]


# --- the command ----------------------------------------------------------------------------------

def test_cli_writes_every_requested_format(bundle, tmp_path):
    """`auditkit report BUNDLE --lang nl --format pdf --format md --out DIR` writes both files and lists them."""
    result = CliRunner().invoke(report, [str(bundle), "--lang", "nl", "--format", "md", "--format", "html",
                                         "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.nl.md").exists() and (tmp_path / "r" / "report.nl.html").exists()
    assert "report.nl.md" in result.output


def test_cli_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    """A folder without manifest.json exits 1 and names the missing file."""
    (tmp_path / "results.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(report, [str(tmp_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "has no manifest.json and no findings.json" in result.output
    assert "Traceback" not in result.output


def test_cli_refuses_an_unknown_language_with_a_suggestion(bundle, tmp_path):
    """--lang nll exits 1, suggests nl and lists the available languages."""
    result = CliRunner().invoke(report, [str(bundle), "--lang", "nll", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "Did you mean 'nl'?" in result.output and "'en', 'nl'" in result.output


def test_cli_report_into_the_bundle_keeps_it_verifiable(tmp_path):
    """`auditkit report B --lang nl --out B` lists the new report, so `verify` still passes (no UNLISTED)."""
    from auditkit.bundle import verify_bundle
    from auditkit.cli import main

    rows = ["g,d"] + [f"{'a' if i % 3 else 'b'},{int(i % 4 == 0)}" for i in range(120)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    copy = tmp_path / "b"
    made = CliRunner().invoke(main, ["audit", str(tmp_path / "d.csv"), "--protected", "g", "--decision", "d",
                                     "--positive", "1", "--out", str(copy), "--quiet"])
    assert made.exit_code == 0, made.output
    assert verify_bundle(copy).ok
    result = CliRunner().invoke(report, [str(copy), "--lang", "nl", "--out", str(copy)])
    assert result.exit_code == 0, result.output
    checked = verify_bundle(copy)
    assert checked.ok and not checked.unlisted, checked
    (copy / "report.nl.html").write_text("edited", encoding="utf-8")
    assert "report.nl.html" in " ".join(verify_bundle(copy).edited)  # and it is really checked
