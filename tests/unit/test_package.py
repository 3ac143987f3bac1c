"""The `webstack` package (pyproject.toml): requirements.in's pins and galaxy.yml's version, and a
`pip install` of the checkout into a fresh virtualenv gives a `webstack` command whose --help works
anywhere, outside a checkout too.

The new virtualenv sees this one's packages (a .pth file), so pip installs the package alone
(--no-deps), built by the setuptools pyproject.toml pins, which requirements.txt installs here
(--no-build-isolation --no-index: nothing is downloaded, nothing leaves the machine).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

from webstack.home import COLLECTION

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
COMMANDS = ["deploy", "plan", "destroy", "outputs", "verify", "publish", "rollback", "report", "emulator"]


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_the_package_declares_requirements_in_pins_and_the_collection_version():
    project = PYPROJECT["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    declared += PYPROJECT["build-system"]["requires"]
    assert sorted(declared) == sorted(requirement_lines(REPO / "requirements.in"))
    assert project["version"] == yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["version"]
    assert project["scripts"] == {"webstack": "webstack.cli:main"}
    assert PYPROJECT["tool"]["setuptools"]["packages"] == ["webstack"]


def test_this_environment_has_the_pinned_build_backend():
    import setuptools

    assert PYPROJECT["build-system"]["requires"] == [f"setuptools=={setuptools.__version__}"]


def run(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    # Not this checkout's settings: no WEBSTACK_HOME, no PYTHONPATH leading back to it.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WEBSTACK_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the checkout pip-installed into it; returns its bin/."""
    tmp = tmp_path_factory.mktemp("package")
    # What the build reads, copied: pip builds in the source tree (build/, *.egg-info).
    source = tmp / "source"
    shutil.copytree(REPO / "webstack", source / "webstack", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "project-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    done = run([*pip, "--no-build-isolation", "--no-index", str(source)], cwd=tmp)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return venv / "bin"


def test_pip_install_gives_a_webstack_command_whose_help_works_outside_a_checkout(installed, tmp_path):
    done = run([str(installed / "webstack"), "--help"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: webstack ")
    listed = re.findall(r"^    (\w+) ", done.stdout, re.MULTILINE)
    assert listed == COMMANDS
    done = run([str(installed / "webstack"), "deploy", "--help"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--layers" in done.stdout


def test_the_installed_command_refuses_a_command_outside_a_checkout_and_ships_its_sitecustomize(installed, tmp_path):
    done = run([str(installed / "webstack"), "deploy"], cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("webstack: no webstack checkout at ")
    assert "WEBSTACK_HOME" in done.stderr
    script = "import webstack.emulator as e; print(e.SITE_DIR)"
    site_dir = Path(run([str(installed / "python"), "-c", script], cwd=tmp_path).stdout.strip())
    assert (site_dir / "sitecustomize.py").is_file()
    assert installed.parent in site_dir.parents
