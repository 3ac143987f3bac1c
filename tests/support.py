"""Helpers the tests share: a runner.py driver and readers of its JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import runner
from emulator import Emulator


class Stack:
    """Runs runner.py subcommands against the test moto server and returns their JSON summary."""

    def __init__(self, emulator: Emulator, tmp: Path):
        self.emulator = emulator
        self.tmp = tmp
        self.count = 0

    def run(self, command: str, *, layers: str | None = None, extra: dict | None = None, tags=None) -> dict:
        self.count += 1
        summary_file = self.tmp / f"{self.count:02d}-{command}.json"
        argv = [command, "--env", "local", "--endpoint-url", self.emulator.url, "--summary-file", str(summary_file)]
        if layers:
            argv += ["--layers", layers]
        if tags:
            argv += ["--tags", tags]
        if extra:
            argv += ["--extra-vars", json.dumps(extra)]
        rc = runner.main(argv)
        summary = json.loads(summary_file.read_text())
        summary["exit_code"] = rc
        return summary

    def deploy(self, **kw) -> dict:
        return self.run("deploy", **kw)

    def plan(self, **kw) -> dict:
        return self.run("plan", **kw)

    def destroy(self, **kw) -> dict:
        return self.run("destroy", **kw)


def changed(summary: dict) -> int:
    return sum(host["changed"] for host in summary["hosts"].values())


def failed(summary: dict) -> int:
    return sum(host["failed"] + host["unreachable"] for host in summary["hosts"].values())


def assert_ok(summary: dict) -> dict:
    assert summary["exit_code"] == 0 and summary["status"] == "successful", json.dumps(summary, indent=2)
    return summary


def tag_filters(project: str, environment: str = "local") -> list[dict]:
    return [
        {"Name": "tag:Project", "Values": [project]},
        {"Name": "tag:Environment", "Values": [environment]},
        {"Name": "tag:ManagedBy", "Values": ["webstack"]},
    ]
