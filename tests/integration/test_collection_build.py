"""`ansible-galaxy collection build` makes a tarball that installs and works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from webstack.home import COLLECTION

BIN = Path(sys.executable).parent


def run(*argv, cwd, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_built_collection_installs_and_resolves_elsewhere(tmp_path):
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), cwd=COLLECTION)
    (tarball,) = tmp_path.glob("webstack-aws-*.tar.gz")
    with tarfile.open(tarball) as packed:
        top = {name.split("/")[0] for name in packed.getnames()}
    # The collection and only it: no runner.py, webstack package, inventories, tests or demo.
    assert top == {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "meta", "plugins", "roles", "playbooks"}
    installed = tmp_path / "installed"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "AWS_"))} | {
        "ANSIBLE_COLLECTIONS_PATH": str(installed),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    run(
        str(BIN / "ansible-galaxy"),
        "collection",
        "install",
        "--offline",
        "--no-deps",
        "-p",
        str(installed),
        str(tarball),
        cwd=elsewhere,
        env=env,
    )
    assert (
        installed / "ansible_collections" / "webstack" / "aws" / "roles" / "network" / "tasks" / "main.yml"
    ).exists()

    playbook = elsewhere / "check.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.assert:\n"
        "        that:\n"
        "          - \"'10.0.0.0/16' | webstack.aws.cidr_subnet(8, 1) == '10.0.1.0/24'\"\n"
        "          - \"'10.0.0.0/16' is webstack.aws.cidr\"\n"
        "    - ansible.builtin.include_role:\n"
        "        name: webstack.aws.network\n"
        "        tasks_from: validate\n"
        "      vars:\n"
        "        network_project: p\n"
        "        network_environment: e\n"
    )
    out = run(str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), cwd=elsewhere, env=env)
    assert "failed=0" in out
    # The collection's playbooks run by name, with the settings they ship (playbooks/group_vars),
    # and refuse a bad setting before any AWS call.
    hosts = elsewhere / "hosts"
    hosts.write_text(f"[webstack]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    site = [str(BIN / "ansible-playbook"), "-i", str(hosts), "webstack.aws.site", "-e", "webstack_state=bogus"]
    proc = subprocess.run(site, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "webstack_state must be present or absent (got bogus)" in proc.stdout
    doc = run(str(BIN / "ansible-doc"), "-l", "webstack.aws", cwd=elsewhere, env=env)
    assert "webstack.aws." in doc
