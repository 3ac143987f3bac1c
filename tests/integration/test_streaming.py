"""A layer's playbook run the way AWX and AAP run a job on an execution node: `ansible-runner
transmit` packs the job, `ansible-runner worker` runs it in a directory of its own, `ansible-runner
process` turns the worker's stream back into artifacts (receptor carries the stream between hosts;
here, pipes). The result and the events must equal a direct `ansible-runner run` of the same job.

Each run gets a copy of the project, and the transmitted one is deleted as soon as transmit has
sent it, so the worker can use nothing but what came through the stream: no controller file, no
runner.py. The two runs deploy side by side on the test server, each its own project and domain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from webstack.home import PLAYBOOKS
from webstack.layers import speed_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The quickest layer (the whole test stays near 20 s): its hosted zone is created, its records skipped
# (no load balancer, no distribution). Two domains, or the runs would race to create one zone.
PLAYBOOK = str((PLAYBOOKS / "dns.yml").relative_to(REPO))
# What the playbook needs from the checkout: the collection (in collections/, its playbooks'
# settings with it), ansible.cfg, and webstack/runtime/ for the emulator's consistency pauses
# (tests/conftest.py's speed-up).
PROJECT_CONTENT = ["ansible.cfg", "collections", "webstack/runtime"]
TIMEOUT_S = 240


def private_data_dir(root: Path, project: str, emulator) -> Path:
    """ansible-runner's input directory: project/, inventory/ (the local one) and env/."""
    project_dir = root / "project"
    for name in PROJECT_CONTENT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project_dir / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project_dir / name)
    shutil.copytree(REPO / "inventories" / "local", root / "inventory", symlinks=True)
    (root / "env").mkdir()
    extravars = {"webstack_project": project, "webstack_domain": f"{project}.local.test", "webstack_state": "present"}
    (root / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return root


def envvars(project_dir: Path, emulator) -> dict[str, str]:
    """The job's environment: the emulator's loopback endpoint and fake credentials, and what makes
    runner.py's jobs fast (Mitogen, installed where the job runs; the sitecustomize of the project
    copy that runs: a path where the job runs, not on the controller)."""
    return {
        **emulator.client_env(),
        **speed_env(),
        "PYTHONPATH": str(project_dir / "webstack" / "runtime"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }


def write_envvars(root: Path, values: dict[str, str]) -> None:
    (root / "env" / "envvars").write_text(yaml.safe_dump(values))


def process_env() -> dict[str, str]:
    """ansible-runner's own environment: this virtualenv's tools first, no Ansible or AWS settings
    of whoever runs the tests (each job gets its own through env/envvars)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANSIBLE_", "AWS_")) and key not in {"PYTHONPATH", "WEBSTACK_EMULATOR_PAUSE_S"}
    }
    return env | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def artifacts(artifact_dir: Path) -> dict:
    events = [json.loads(path.read_text()) for path in (artifact_dir / "job_events").glob("*.json")]
    events.sort(key=lambda event: event["counter"])
    return {
        "rc": int((artifact_dir / "rc").read_text()),
        "status": (artifact_dir / "status").read_text().strip(),
        "events": events,
    }


def outline(events: list[dict]) -> list[tuple]:
    """What a run did, event by event: the type, the task, and whether a result changed something.
    (uuids, times, pids and the resource names, which carry each run's project, differ.)"""
    shown = []
    for event in events:
        if event["event"] == "verbose":
            continue
        data = event.get("event_data", {})
        result = data.get("res") if isinstance(data.get("res"), dict) else {}
        shown.append((event["event"], data.get("task", ""), data.get("task_action", ""), result.get("changed")))
    return shown


def stats(events: list[dict]) -> dict:
    (final,) = [event for event in events if event["event"] == "playbook_on_stats"]
    return {key: final["event_data"][key] for key in ("ok", "changed", "failures", "skipped", "dark")}


@pytest.fixture
def zones(aws):
    """The runs' hosted zones, deleted afterwards (the worker's emulator serves other tests after this one)."""
    yield
    route53 = aws("route53")
    for zone in route53.list_hosted_zones()["HostedZones"]:
        if zone["Name"] in {"direct.local.test.", "streamed.local.test."}:
            route53.delete_hosted_zone(Id=zone["Id"])


def test_a_layer_run_through_transmit_worker_process_equals_a_direct_run(emulator, tmp_path, zones):
    env = process_env()

    direct = private_data_dir(tmp_path / "direct", "direct", emulator)
    write_envvars(direct, envvars(direct / "project", emulator))
    streamed = private_data_dir(tmp_path / "controller", "streamed", emulator)
    worker_dir, process_dir = tmp_path / "execution-node", tmp_path / "processed"
    write_envvars(streamed, envvars(worker_dir / "project", emulator))

    # Side by side: the direct run, and the three streaming processes joined by pipes.
    direct_run = subprocess.Popen(
        [str(BIN / "ansible-runner"), "run", str(direct), "-p", PLAYBOOK, "--ident", "job"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    transmit = subprocess.Popen(
        [str(BIN / "ansible-runner"), "transmit", str(streamed), "-p", PLAYBOOK, "--ident", "job"],
        env=env,
        stdout=subprocess.PIPE,
    )
    worker = subprocess.Popen(
        [str(BIN / "ansible-runner"), "worker", "--private-data-dir", str(worker_dir)],
        env=env,
        stdin=transmit.stdout,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
    )
    transmit.stdout.close()
    process = subprocess.Popen(
        [str(BIN / "ansible-runner"), "process", str(process_dir), "--ident", "job"],
        env=env,
        stdin=worker.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    worker.stdout.close()
    assert transmit.wait(timeout=TIMEOUT_S) == 0
    # Everything the job needs is in the stream now; the controller's copy goes.
    shutil.rmtree(streamed)
    processed_output, _ = process.communicate(timeout=TIMEOUT_S)
    assert worker.wait(timeout=TIMEOUT_S) == 0
    _, direct_errors = direct_run.communicate(timeout=TIMEOUT_S)

    expected = artifacts(direct / "artifacts" / "job")
    assert (expected["rc"], expected["status"]) == (0, "successful"), direct_errors.decode()[-3000:]
    got = artifacts(process_dir / "artifacts" / "job")
    assert process.returncode == got["rc"] == 0, processed_output.decode()[-3000:]
    assert got["status"] == "successful"
    assert (worker_dir / "project" / PLAYBOOK).is_file()  # the worker ran the copy that came through the stream

    assert stats(got["events"]) == stats(expected["events"])
    assert stats(got["events"])["changed"] == {"localhost": stats(expected["events"])["changed"]["localhost"]}
    assert stats(expected["events"])["changed"]["localhost"] > 0  # a first deploy: the two runs built something
    assert outline(got["events"]) == outline(expected["events"])
