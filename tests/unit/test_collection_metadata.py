"""Collection metadata that is easy to forget when a module is added."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_module_is_in_the_aws_action_group():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    group = [entry for entry in runtime["action_groups"]["aws"] if isinstance(entry, str)]
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(group) == modules


def test_requirements_declare_the_collections_galaxy_depends_on():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    requirements = yaml.safe_load((REPO / "requirements.yml").read_text())
    declared = {c["name"]: c["version"] for c in requirements["collections"]}
    assert declared == galaxy["dependencies"]
