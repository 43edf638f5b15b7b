"""Packaging: every subpackage is installed, and the shipped YAML and example files travel with the package."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

ROOT = Path(__file__).parents[1]

#: Packages mapped from folders outside auditkit/ (setup.cfg's package_dir), and their folders.
MAPPED = {"auditkit._audits": "audits", "auditkit._datasets.welfare": "datasets/welfare"}


def _cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _package_data(cfg: configparser.ConfigParser) -> dict[str, list[str]]:
    return {k: [p.strip() for p in v.split(",")] for k, v in cfg["options.package_data"].items()}


def test_setup_cfg_lists_every_subpackage():
    """setup.cfg's explicit package list names every folder of auditkit/ that holds an __init__.py, and
    the folders mapped into the package."""
    listed = set(_cfg()["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "auditkit").rglob("__init__.py")}
    assert found | set(MAPPED) == listed


def test_mapped_folders_are_package_dirs():
    """audits/ and datasets/welfare/ are installed as auditkit._audits and auditkit._datasets.welfare."""
    words = _cfg()["options"]["package_dir"].split()
    assert dict(zip(words[0::3], words[2::3])) == MAPPED and set(words[1::3]) == {"="}
    assert all((ROOT / folder).is_dir() for folder in MAPPED.values())


def test_shipped_yaml_is_package_data():
    """The templates and instruments of audits/ are declared as data of auditkit._audits."""
    data = _package_data(_cfg())["auditkit._audits"]
    assert "templates/*.yaml" in data and "instruments/*.yaml" in data


def test_runnable_examples_ship_inside_the_package():
    """Every file `--example` runs on (and its data card) is package data of the package its folder maps to,
    so the example works after a non-editable install; the datasets/ files are the only copy."""
    from auditkit.cli_examples import EXAMPLES
    from auditkit.datasets.registry import EXAMPLES as FILES

    cfg = _cfg()
    data = _package_data(cfg)
    folders = {folder: package for package, folder in MAPPED.items()}
    assert EXAMPLES
    for example in EXAMPLES.values():
        for name in (example.data, example.model):
            folder, _, filename = FILES[name].path.rpartition("/")
            package = folders[f"datasets/{folder}"]
            for shipped in (filename, "README.md"):
                assert (ROOT / "datasets" / folder / shipped).is_file()
                assert any(fnmatch.fnmatch(shipped, pattern) for pattern in data[package]), (package, shipped)
        assert FILES[example.data].template == example.template
    assert not (ROOT / "auditkit" / "_datasets").exists()  # no forked copy inside the source tree


def test_the_example_extra_installs_what_assess_example_asks_for():
    """`pip install '.[example]'` (the README's first command) installs every package the missing-extra
    message of `assess --example` names."""
    from auditkit.cli_examples import _ASSESS_NEEDS, _EXPLAIN_NEEDS

    extra = _cfg()["options.extras_require"]["example"]
    for _, package in _ASSESS_NEEDS + _EXPLAIN_NEEDS:
        assert f"\n{package}>=" in f"\n{extra.strip()}", package
