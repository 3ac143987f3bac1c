"""Stopping runner.py half-way, as a cancelled CI job or a lost runner does, and checking that
nothing it started lives on; and the census of one uninterrupted deploy, which the shared site's
worker publishes for the interrupted deploy's worker to compare with."""

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

from tests.census import Snapshot

REPO = Path(__file__).resolve().parents[1]


def made(after: Snapshot, before: Snapshot) -> Counter:
    """How many resources of each type appeared between two snapshots."""
    return Counter({kind: len(ids) for kind, ids in after.diff(before).added.items()})


# The shared site (tests/integration/test_site.py) and the interrupted deploy
# (tests/integration/test_interrupted.py) run on different pytest workers, each with its own moto
# server, so the site's census reaches the other worker as a file in the run's shared temp dir.
SITE_CENSUS = "site-census.json"


def run_dir(tmp_path_factory) -> Path:
    """A directory every worker of this pytest run shares (xdist workers' temp dirs are siblings)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def publish_census(tmp_path_factory, census: Counter | None) -> None:
    """What one deploy made, for the other worker; None says the deploy failed (it stops waiting)."""
    path = run_dir(tmp_path_factory) / SITE_CENSUS
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(None if census is None else dict(census)))
    partial.replace(path)  # whole or not at all for the reader


def published_census(tmp_path_factory, timeout: float = 900) -> Counter:
    """The census the shared site's worker published, waiting for it up to `timeout` seconds."""
    path = run_dir(tmp_path_factory) / SITE_CENSUS
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the shared site published no census in {timeout:.0f} s ({path})")
        time.sleep(1)
    census = json.loads(path.read_text())
    if census is None:
        pytest.fail("the shared site's deploy failed, so there is no census to compare with")
    return Counter(census)


def processes_of(runner_pid: int) -> list[int]:
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


def interrupted(
    endpoint: str, command: str, extra: dict, after_task: str, how: signal.Signals, layers: str = ""
) -> str:
    """runner.py COMMAND in a session of its own, stopped by `how` once a task matching `after_task`
    has finished (SIGKILL goes to the whole process group, as when a CI job is cancelled). Returns
    what it printed; fails when anything it started outlives it."""
    argv = [sys.executable, str(REPO / "runner.py"), command, "-e", json.dumps(extra), "--endpoint-url", endpoint]
    argv += ["--layers", layers] if layers else []
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.match(rf"\[\w+\] (changed|ok) +{re.escape(after_task)}", line):
            break
    else:
        pytest.fail(f"{command} ended before {after_task!r}:\n{''.join(seen)}")
    assert processes_of(proc.pid), "the running job's processes carry WEBSTACK_PARENT_PID"
    if how == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.send_signal(how)
    seen += proc.stderr.read().splitlines(keepends=True)
    proc.wait(60)
    printed = "".join(seen)
    deadline = time.monotonic() + 30
    while (left := processes_of(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"still running after {how.name} of runner.py: {describe(left)}\n{printed}"
    if how != signal.SIGKILL:
        assert proc.returncode == 130 and "webstack: interrupted" in printed, printed
    return printed
