"""Packaging: every subpackage is installed, and the shipped YAML travels with the package."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_setup_cfg_lists_every_subpackage():
    """setup.cfg's explicit package list names every folder of auditkit/ that holds an __init__.py."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "auditkit").rglob("__init__.py")}
    assert found | {"auditkit._audits"} == listed


def test_shipped_yaml_is_package_data():
    """The templates and instruments of audits/ are declared as data of auditkit._audits."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["options"]["package_dir"].split() == ["auditkit._audits", "=", "audits"]
    data = cfg["options.package_data"]["auditkit._audits"]
    assert "templates/*.yaml" in data and "instruments/*.yaml" in data
