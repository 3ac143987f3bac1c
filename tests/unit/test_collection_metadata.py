"""Collection metadata that is easy to forget when a module is added."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from webstack.home import COLLECTION

REPO = Path(__file__).resolve().parents[2]


def test_every_module_is_in_the_aws_action_group():
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    group = [entry for entry in runtime["action_groups"]["aws"] if isinstance(entry, str)]
    modules = sorted(p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(group) == modules


def test_requirements_declare_the_collections_galaxy_depends_on():
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    requirements = yaml.safe_load((REPO / "requirements.yml").read_text())
    declared = {c["name"]: c["version"] for c in requirements["collections"]}
    assert declared == galaxy["dependencies"]


@pytest.mark.parametrize("module", sorted((COLLECTION / "plugins" / "modules").glob("*.py")), ids=lambda p: p.stem)
def test_every_modules_documentation_is_yaml_with_version_added(module):
    """ansible-doc (and ansible-lint) read these three strings as YAML."""
    names = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    strings = {
        node.targets[0].id: node.value.value
        for node in ast.parse(module.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in names
    }
    assert set(strings) == names
    documentation = yaml.safe_load(strings["DOCUMENTATION"])
    assert documentation["module"] == module.stem and documentation["version_added"]
    yaml.safe_load(strings["EXAMPLES"])
    yaml.safe_load(strings["RETURN"])


PLUGINS = sorted(
    [*(COLLECTION / "plugins" / "callback").glob("*.py"), *(COLLECTION / "plugins" / "lookup").glob("*.py")]
)


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_plugins_documentation_is_yaml_whose_description_is_text(plugin):
    """Ansible loads a callback through its DOCUMENTATION (options): an unquoted ': ' in a line
    turns that line into a mapping, and ansible-doc and the callback's loading fail on it."""
    (documentation,) = [
        node.value.value
        for node in ast.parse(plugin.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION"
    ]
    parsed = yaml.safe_load(documentation)
    assert parsed["name"] == plugin.stem
    assert all(isinstance(line, str) for line in parsed["description"]), parsed["description"]
    for option in (parsed.get("options") or {}).values():
        assert isinstance(option["description"], str | list), option
