"""The execution environment's build context: `ansible-builder create` from execution-environment.yml,
and the same introspection the image build runs, both offline.

No image is built here (no container runtime, no registry); what the build would install is all
in the context `create` writes, and in what its introspect step makes of the collections.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from webstack.emulator import free_port
from webstack.home import COLLECTION

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# amazon.aws and community.aws as the `ansible` pip package installs them.
SITE_COLLECTIONS = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#;]+)", line.strip())
        if match:
            found[match[1].lower()] = match[2]
    return found


def offline_env() -> dict[str, str]:
    """Any HTTP(S) request goes to a closed loopback port and fails: nothing here may need the network."""
    proxy = f"http://127.0.0.1:{free_port()}"
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    return env | {"http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy}


def run(*argv, cwd: Path) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ee") / "context"
    run(
        str(BIN / "ansible-builder"),
        "create",
        "--file",
        str(REPO / "execution-environment.yml"),
        "--context",
        str(out),
        "--output-filename",
        "Containerfile",
        cwd=REPO,
    )
    return out


def test_the_containerfile_installs_the_tested_ansible_on_python_3_11(context):
    containerfile = (context / "Containerfile").read_text()
    lock = pins(REPO / "requirements.txt")
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.MULTILINE)[1].split()
    assert sorted(refs) == [f"ansible-core=={lock['ansible-core']}", f"ansible-runner=={lock['ansible-runner']}"]
    # The three stages that put collections, Python and system packages into the image.
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert "/output/scripts/install-from-bindep" in containerfile


def test_the_context_pins_boto3_and_botocore_as_the_repository_lock_does(context):
    lock = pins(REPO / "requirements.txt")
    shipped = pins(context / "_build" / "requirements.txt")
    assert shipped == {"boto3": lock["boto3"], "botocore": lock["botocore"]}
    assert pins(COLLECTION / "meta" / "requirements.txt") == shipped


def test_the_image_installs_the_collections_galaxy_yml_depends_on(context):
    wanted = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["dependencies"]
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {c["name"]: c["version"] for c in galaxy["collections"]} == wanted


def test_introspection_reads_the_collection_meta_and_keeps_every_range_satisfiable(context, tmp_path):
    """The image build's own introspect step, on the collections an image with webstack.aws holds:
    the collection's meta/execution-environment.yml is found, and the pins satisfy amazon.aws's and
    community.aws's own ranges (pip would otherwise refuse the build)."""
    collections = tmp_path / "collections" / "ansible_collections"
    for namespace, name, source in [
        ("webstack", "aws", COLLECTION),
        ("amazon", "aws", SITE_COLLECTIONS / "amazon" / "aws"),
        ("community", "aws", SITE_COLLECTIONS / "community" / "aws"),
    ]:
        (collections / namespace).mkdir(parents=True, exist_ok=True)
        (collections / namespace / name).symlink_to(source)
    build = context / "_build"
    run(
        sys.executable,
        str(build / "scripts" / "introspect.py"),
        "introspect",
        str(collections.parent),
        "--user-pip=requirements.txt",
        "--user-bindep=bindep.txt",
        f"--write-pip={tmp_path / 'pip.txt'}",
        f"--write-bindep={tmp_path / 'bindep.txt'}",
        cwd=build,
    )
    python = [line.split("#")[0].strip() for line in (tmp_path / "pip.txt").read_text().splitlines()]
    sources = (tmp_path / "pip.txt").read_text()
    for collection in ("amazon.aws", "community.aws", "webstack.aws"):
        assert f"from collection {collection}" in sources
    # meta/requirements.txt, not the repository's development lock (requirements.txt, outside the collection).
    ours = [line.split("#")[0].strip() for line in sources.splitlines() if line.endswith("collection webstack.aws")]
    assert ours == [f"{name}=={version}" for name, version in pins(COLLECTION / "meta" / "requirements.txt").items()]
    lock = pins(REPO / "requirements.txt")
    for line in filter(None, python):
        requirement = Requirement(line)
        assert requirement.specifier.contains(lock[requirement.name.lower()]), line
    system = (tmp_path / "bindep.txt").read_text()
    assert "mailcap [platform:rpm]  # from collection webstack.aws" in system


def test_the_image_makes_the_progress_callback_the_one_ansible_runner_wraps(context):
    """AWX runs jobs through ansible-runner, which wraps the stdout callback ANSIBLE_STDOUT_CALLBACK
    names (ORIGINAL_STDOUT_CALLBACK): with this, its jobs print the lines runner.py prints."""
    final_stage = (context / "Containerfile").read_text().rsplit("\nFROM ", 1)[1]
    assert "\nENV ANSIBLE_STDOUT_CALLBACK=webstack.aws.progress\n" in final_stage
