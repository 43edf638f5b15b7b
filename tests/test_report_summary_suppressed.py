"""The summary's 'no difference' is exact when suppressed cells leave a comparison open: it says the result
holds for every value the cells can take, and how many comparisons depend on them."""

from __future__ import annotations

from scipy.stats import fisher_exact

from conftest import run_cli

ARGS = ("--protected", "nationality", "--cell", "selected=selected", "--cell", "not_selected=not_selected",
        "--suppressed", "0")
#: EU and non-EU have their selected count suppressed (0 means '0 to 9'); Dutch is published in full.
TABLE = "nationality,selected,not_selected\nDutch,420,2100\nEU,0,40\nnon-EU,0,35\n"


def _summary(tmp_path, table: str, lang: str) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "t.csv").write_text(table, encoding="utf-8")
    assert run_cli("audit", tmp_path / "t.csv", *ARGS, "--out", tmp_path / "b", "--quiet").exit_code == 0
    assert run_cli("report", tmp_path / "b", "--format", "md", "--lang", lang, "--out", tmp_path / "md").exit_code == 0
    md = (tmp_path / "md" / f"report.{lang}.md").read_text(encoding="utf-8")
    return md.split("\n## ", 2)[1]


def _p_range(selected: int, not_selected: int) -> tuple[float, float]:
    """Fisher's exact p of a group against Dutch (420 of 2,520) over every value 0-9 of a suppressed cell."""
    values = [selected] if selected else range(10)
    ps = [fisher_exact([[k, not_selected], [420, 2100]])[1] for k in values]
    return min(ps), max(ps)


def test_no_difference_that_depends_on_suppressed_cells_is_said_so(tmp_path):
    """Both groups: not detected at the largest p (status uses it), detected at the smallest (scipy over every
    completion): the summary says so and counts 2, in English and in Dutch."""
    for group in ((0, 40), (0, 35)):
        low, high = _p_range(*group)
        assert low < 0.05 <= high  # the independent check that the cells decide
    en = _summary(tmp_path, TABLE, "en")
    assert "No comparison showed a difference that holds for every value the suppressed cells can take" in en
    assert "For 2 of the comparisons the result depends on suppressed cells" in en
    assert "No comparison showed a difference after adjusting" not in en
    nl = _summary(tmp_path / "nl", TABLE, "nl")
    assert "Bij 2 van de vergelijkingen hangt de uitkomst af van onderdrukte cellen" in nl


def test_no_difference_without_open_cells_keeps_the_plain_sentence(tmp_path):
    """One group open (its suppressed cell decides), one published in full and not detected: counted 1; a
    table without suppressed cells keeps the plain sentence."""
    table = "nationality,selected,not_selected\nDutch,420,2100\nEU,7,38\nnon-EU,0,40\n"
    assert fisher_exact([[7, 38], [420, 2100]])[1] >= 0.05 and _p_range(0, 40)[0] < 0.05
    assert "For 1 of the comparisons the result depends on suppressed cells" in _summary(tmp_path, table, "en")
    plain = "nationality,selected,not_selected\nDutch,420,2100\nEU,7,38\nnon-EU,60,300\n"
    assert fisher_exact([[60, 300], [420, 2100]])[1] >= 0.05
    assert "No comparison showed a difference after adjusting" in _summary(tmp_path / "plain", plain, "en")
