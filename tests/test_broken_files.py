"""Every bad file is a clear error, exit 1, naming the file: never a traceback (issue 11).

The corpus is built here: binary bytes, truncated files, old-Mac line endings, empty and
header-only files, a file without read permission, a folder where a file was meant, files
under the wrong extension, a named pipe, and ``--json`` pointing at a folder.  The CLI is
walked over every one of them on ``audit`` (each engine) and ``verify --data``.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import assert_no_traceback, assert_user_error, run_cli, write_text

AUDIT = ("--protected", "g", "--decision", "d", "--min-group-size", "1", "--quiet")


def _xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["g", "d"])
    wb.active.append(["a", 1])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _parquet_bytes() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"g": ["a", "b"], "d": ["1", "0"]}), out)
    return out.getvalue()


def _corpus(root: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """name -> (path, fragments the message must hold)."""
    files: dict[str, tuple[bytes | None, tuple[str, ...]]] = {
        "binary.csv": (bytes(range(256)) * 8, ("binary.csv", "not a text file")),
        "truncated.xlsx": (_xlsx_bytes()[:700], ("truncated.xlsx", "could not be opened as a .xlsx spreadsheet")),
        "truncated.parquet": (_parquet_bytes()[:60], ("truncated.parquet", "cut short or damaged")),
        "truncated.csv": (b"g,d\na,1\nb,0\na", ("truncated.csv", "row 4")),
        "empty.csv": (b"", ("empty.csv", "empty")),
        "blank.csv": (b"\n\n  \n", ("blank.csv", "empty")),
        "header.csv": (b"g,d\n", ("header.csv", "header but no rows")),
        "header.xlsx": (None, ("header.xlsx", "no rows")),
        "workbook.csv": (_xlsx_bytes(), ("workbook.csv", "rename it to .xlsx")),
        "table.parquet.csv": (_parquet_bytes(), ("table.parquet.csv", "rename it to .parquet")),
        "text.parquet": (b"g,d\na,1\n", ("text.parquet", "rename it to .csv")),
        "zip.ods": (b"PK\x03\x04" + b"\x00" * 40, ("zip.ods", "could not be opened as a .ods spreadsheet")),
        "table.sav": (b"$FL2", ("table.sav", "'.sav'")),
        "table.numbers": (b"PK\x03\x04", ("table.numbers", "export it")),
        "utf16.csv": ("g,d\na,1\n".encode("utf-16"), ("utf16.csv", "--encoding utf-16")),
        "gzip.csv": (b"\x1f\x8b\x08\x00" + b"\x00" * 20, ("gzip.csv", "gzip")),
    }
    out = {}
    for name, (content, fragments) in files.items():
        path = root / name
        if content is None:
            wb = openpyxl.Workbook()
            wb.active.append(["g", "d"])
            wb.save(path)
        else:
            path.write_bytes(content)
        out[name] = (path, fragments)
    (root / "folder.csv").mkdir()
    out["folder.csv"] = (root / "folder.csv", ("folder.csv", "is a folder"))
    (root / "empty-folder").mkdir()
    out["empty-folder"] = (root / "empty-folder", ("empty-folder", "holds no Parquet files"))
    out["missing.csv"] = (root / "missing.csv", ("missing.csv", "does not exist"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.csv")
        out["pipe.csv"] = (root / "pipe.csv", ("pipe.csv", "not a regular file"))
    return out


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_the_cli_never_shows_a_traceback_on_a_broken_file(tmp_path, engine):
    """Each broken file: exit 1, the file named, the fix said; on every engine."""
    for name, (path, fragments) in _corpus(tmp_path).items():
        result = run_cli("audit", path, *AUDIT, "--engine", engine)
        try:
            assert_user_error(result, 1, *fragments)
        except AssertionError as err:
            raise AssertionError(f"{name} ({engine}): {err}") from None


def test_old_mac_line_endings_are_read(tmp_path):
    """A file whose lines end in a lone CR (old Mac) is read like any other, on every engine."""
    path = write_text(tmp_path / "cr.csv", "g,d\na,1\nb,0\na,0\n", newline="\r")
    for engine in ("pandas", "duckdb", "dask"):
        result = run_cli("audit", path, *AUDIT, "--engine", engine, "--json", "-")
        assert result.exit_code == 0, (engine, result.output)
        assert '"rows_audited": 3' in result.output


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    """A file without read permission (simulated: the tests may run as root, who reads everything)."""
    path = write_text(tmp_path / "locked.csv", "g,d\na,1\n")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == str(path) else real(p, mode))
    assert_user_error(run_cli("audit", path, *AUDIT), 1, "locked.csv", "permission denied")


def test_json_pointing_at_a_folder_is_refused_before_the_run(tmp_path):
    path = write_text(tmp_path / "d.csv", "g,d\na,1\nb,0\n")
    (tmp_path / "out").mkdir()
    assert_user_error(run_cli("audit", path, *AUDIT, "--json", tmp_path / "out"), 1, "--json", "is a folder",
                      "results.json")
    assert_user_error(run_cli("inspect", path, "--json", tmp_path / "out"), 1, "is a folder")


def test_json_that_cannot_be_written_is_a_message(tmp_path):
    path = write_text(tmp_path / "d.csv", "g,d\na,1\nb,0\n")
    blocker = write_text(tmp_path / "file", "x")
    assert_user_error(run_cli("audit", path, *AUDIT, "--json", blocker / "r.json"), 1, "cannot write", "not a folder")


def test_verify_with_a_broken_data_file_is_a_message(tmp_path):
    good = write_text(tmp_path / "d.csv", "g,d\na,1\nb,0\n")
    result = run_cli("audit", good, *AUDIT, "--out", tmp_path / "b", "--no-report")
    assert result.exit_code == 0, result.output
    for name, (path, fragments) in _corpus(tmp_path / "corpus" if (tmp_path / "corpus").mkdir() is None
                                           else tmp_path).items():
        result = run_cli("verify", tmp_path / "b", "--data", path)
        assert_no_traceback(result)
        assert result.exit_code == 1, (name, result.output)


def test_a_broken_file_inside_a_zip_named_xlsx_is_a_message(tmp_path):
    """A zip archive that is not a workbook (wrong content under .xlsx)."""
    path = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    assert_user_error(run_cli("audit", path, *AUDIT), 1, "notes.xlsx", "could not be opened")
