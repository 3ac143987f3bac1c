"""Runs that are interrupted converge. A deploy of the network and certificates layers (VPC,
subnets, NAT gateways and their elastic IPs, hosted zone, certificates: the creates that would be
duplicated if a re-run did not find what a killed run made) is interrupted three times, early,
in the middle and late, by SIGINT, SIGTERM and SIGKILL of runner.py's whole process group. After
each, no ansible-playbook that runner.py started is still running. A fourth run finishes; the
census of what it made equals an uninterrupted deploy's. Then a destroy killed half-way and run
again leaves nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.census import Snapshot, capture
from tests.support import assert_ok, assert_unchanged

REPO = Path(__file__).resolve().parents[2]
LAYERS = "network,certificates"


def settings(project: str) -> dict:
    return {"webstack_project": project, "webstack_domain": f"{project}.local.test"}


def made(after: Snapshot, before: Snapshot) -> Counter:
    """How many resources of each type appeared between two snapshots."""
    return Counter({kind: len(ids) for kind, ids in after.diff(before).added.items()})


def playbooks_of(runner_pid: int) -> list[int]:
    """Processes started on behalf of runner.py (ansible-playbook, its workers, Mitogen's helpers):
    runner.py hands each job WEBSTACK_PARENT_PID."""
    marker = f"WEBSTACK_PARENT_PID={runner_pid}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def describe(pids: list[int]) -> list[str]:
    def read(pid: int, name: str) -> str:
        try:
            return (Path("/proc") / str(pid) / name).read_text().replace("\0", " ")[:160]
        except OSError:
            return "(gone)"

    return [f"{pid} {read(pid, 'cmdline')} stat: {read(pid, 'stat')}" for pid in pids]


def interrupted(stack, command: str, extra: dict, after_task: str, how: signal.Signals) -> str:
    """runner.py COMMAND in a session of its own, stopped by `how` once a task matching `after_task`
    has finished (SIGKILL goes to the whole process group, as when a CI job is cancelled). Returns
    what it printed; fails when anything it started outlives it."""
    argv = [sys.executable, str(REPO / "runner.py"), command, "--layers", LAYERS, "-e", json.dumps(extra)]
    argv += ["--endpoint-url", stack.emulator.url]
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.match(rf"\[\w+\] (changed|ok) +{after_task}", line):
            break
    else:
        pytest.fail(f"{command} ended before {after_task!r}:\n{''.join(seen)}")
    assert playbooks_of(proc.pid), "the running job's processes carry WEBSTACK_PARENT_PID"
    if how == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.send_signal(how)
    seen += proc.stderr.read().splitlines(keepends=True)
    proc.wait(60)
    printed = "".join(seen)
    deadline = time.monotonic() + 30
    while (left := playbooks_of(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"still running after {how.name} of runner.py: {describe(left)}\n{printed}"
    if how != signal.SIGKILL:
        assert proc.returncode == 130 and "webstack: interrupted" in printed, printed
    return printed


@pytest.fixture(scope="module")
def uninterrupted(stack, aws):
    """An uninterrupted deploy of the same layers, for another project: what a deploy makes."""
    empty = capture(aws)
    extra = settings("t-whole")
    assert_ok(stack.deploy(layers=LAYERS, extra=extra))
    deployed = capture(aws)
    yield made(deployed, empty), deployed
    assert_ok(stack.destroy(layers=LAYERS, extra=extra))
    assert_unchanged(aws, empty)


def test_a_deploy_interrupted_three_times_then_finished_makes_what_one_deploy_makes(stack, aws, uninterrupted):
    expected, before = uninterrupted
    extra = settings("t-killed")
    try:
        for task, how in [
            ("Ensure the VPC exists", signal.SIGINT),
            ("Ensure the NAT gateways exist in the public subnets", signal.SIGTERM),
            ("Ensure the public route table sends traffic to the internet gateway", signal.SIGKILL),
        ]:
            interrupted(stack, "deploy", extra, task, how)
        assert_ok(stack.deploy(layers=LAYERS, extra=extra))
        assert made(capture(aws), before) == expected
    finally:
        interrupted(stack, "destroy", extra, "Remove the route tables", signal.SIGKILL)
        assert_ok(stack.destroy(layers=LAYERS, extra=extra))
    assert_unchanged(aws, before)
