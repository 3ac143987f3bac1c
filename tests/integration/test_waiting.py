"""Progress through long waits (plugins/callback/waiting.py): while the emulator holds a new CloudFront
distribution InProgress and the cdn role waits for Deployed (cdn_wait), the output says what the
task waits for and for how long, every WEBSTACK_WAITING_INTERVAL seconds (1 here, 30 by default):
in runner.py's progress on stderr, its JSON summary on stdout still one JSON document, and in a
plain ansible-playbook run whose callback the project's ansible.cfg enables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, destroy_unless_gone
from webstack.home import PLAYBOOKS
from webstack.layers import speed_env

REPO = Path(__file__).resolve().parents[2]
PROJECT = "t-wait"
PLAIN_PROJECT = "t-wait-plain"
# Long enough for several 1 s lines, short enough for the suite.
HOLD_S = 6
TASK = "Ensure the distribution"
SUBJECT = "distribution to reach Deployed"
PLAYBOOK = ["ansible-playbook", "-i", "inventories/local", str(PLAYBOOKS / "frontend.yml"), "--tags", "cdn"]


def settings(project: str) -> dict:
    """The cdn role alone (playbooks/frontend.yml --tags cdn), waiting for Deployed; the origin is
    only a name in the distribution's config, so no bucket is needed."""
    return {
        "webstack_project": project,
        "cdn_wait": True,
        "cdn_origin_domain_name": f"{project}-origin.s3.ap-northeast-2.amazonaws.com",
    }


def waited(text: str, prefix: str) -> list[int]:
    """The elapsed seconds of every waiting line about the distribution's task."""
    task = rf"(?:webstack\.aws\.cdn : )?{re.escape(TASK)}[^\n]*"
    pattern = re.compile(rf"^{re.escape(prefix)}{task} \u2014 {SUBJECT} \u2014 (\d+)s$", re.M)
    return [int(seconds) for seconds in pattern.findall(text)]


@pytest.fixture
def held(emulator):
    """New distributions stay InProgress for HOLD_S seconds; afterwards at once again, since the
    worker's emulator serves the other tests too."""
    emulator.set_transition("cloudfront::distribution", {"progression": "time", "seconds": HOLD_S})
    yield
    emulator.set_transition("cloudfront::distribution", {"progression": "immediate"})


@pytest.fixture
def quickly(monkeypatch):
    monkeypatch.setenv("WEBSTACK_WAITING_INTERVAL", "1")


def test_runner_shows_what_a_deploy_waits_for_and_its_summary_stays_json(stack, aws, held, quickly):
    before = capture(aws)
    try:
        summary = assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=settings(PROJECT)))
        stdout, stderr = stack.output[-2], stack.output[-1]
        assert json.loads(stdout)["status"] == summary["status"] == "successful"
        seconds = waited(stderr, "[frontend] waiting  ")
        assert len(seconds) >= 2, stderr
        assert seconds == sorted(seconds) and seconds[0] >= 1, seconds
        # The lines come while the task runs: its own result line follows them.
        assert stderr.rindex(f"{SUBJECT} \u2014") < stderr.index(f"] changed  {TASK}")
    finally:
        destroy_unless_gone(stack, aws, before, layers="frontend", tags="cdn", extra=settings(PROJECT))
    assert_unchanged(aws, before)


def test_plain_ansible_playbook_shows_what_it_waits_for(stack, emulator, aws, held, quickly):
    before = capture(aws)
    env = {
        **{k: v for k, v in os.environ.items() if k != "ANSIBLE_CALLBACKS_ENABLED"},
        **emulator.client_env(),
        **speed_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_NOCOLOR": "1",
    }
    extra = {**settings(PLAIN_PROJECT), "webstack_state": "present"}
    try:
        # From the checkout, so its ansible.cfg (callbacks_enabled) applies, as for a user.
        proc = subprocess.run(
            [*PLAYBOOK, "--extra-vars", json.dumps(extra)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
        seconds = waited(proc.stdout, "[waiting] ")
        assert len(seconds) >= 2, proc.stdout[-6000:]
        assert seconds == sorted(seconds) and seconds[0] >= 1, seconds
        # The project's stdout callback (webstack.aws.progress): the task's result line follows them.
        assert proc.stdout.rindex(f"{SUBJECT} \u2014") < proc.stdout.index(f"[frontend] changed  {TASK}")
    finally:
        destroy_unless_gone(stack, aws, before, layers="frontend", tags="cdn", extra=settings(PLAIN_PROJECT))
    assert_unchanged(aws, before)
