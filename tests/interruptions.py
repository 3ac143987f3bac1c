"""Stopping runner.py half-way, as a cancelled CI job or a lost runner does, and checking that
nothing it started lives on."""

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
