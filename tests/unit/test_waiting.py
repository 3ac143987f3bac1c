"""plugins/callback/waiting.py without a playbook: what each module waits for, the elapsed time's
format, the lines its thread prints while a task runs (and none after), and how runner.py's progress
shows them."""

from __future__ import annotations

import time
import types

import pytest

from ansible_collections.webstack.aws.plugins.callback import waiting
from webstack.layers import Progress


@pytest.mark.parametrize(
    ("action", "args", "expected"),
    [
        ("webstack.aws.cloudfront_distribution_spa", {"wait": "{{ cdn_wait }}"}, "distribution to reach Deployed"),
        (
            "webstack.aws.cloudfront_distribution_spa",
            {"wait": False},
            "webstack.aws.cloudfront_distribution_spa to finish",
        ),
        ("webstack.aws.cloudfront_distribution_spa", {"state": "absent"}, "distribution to be disabled and deleted"),
        ("amazon.aws.rds_instance", {"state": "{{ rds_state }}"}, "DB instance to become available"),
        ("webstack.aws.acm_certificate", {"wait": True}, "certificate validation (ISSUED)"),
        ("webstack.aws.acm_certificate", {"domain_name": "example.com"}, "webstack.aws.acm_certificate to finish"),
        ("amazon.aws.ec2_vpc_nat_gateway", {"wait": True}, "NAT gateway to become available"),
        ("amazon.aws.ec2_vpc_nat_gateway", {"state": "absent", "wait": True}, "NAT gateway to be deleted"),
        ("webstack.aws.autoscaling_rolling_refresh", {}, "instance refresh"),
        ("amazon.aws.ec2_vpc_net", {}, "amazon.aws.ec2_vpc_net to finish"),
        ("", None, "task to finish"),
    ],
)
def test_subject_names_what_the_module_waits_for(action, args, expected):
    assert waiting.subject(action, args) == expected


def test_a_read_only_lookup_in_check_mode_gets_the_generic_subject():
    assert waiting.subject("webstack.aws.acm_certificate", {"wait": True}, check_mode=True) == (
        "webstack.aws.acm_certificate to finish"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (1.9, "1s"), (59, "59s"), (90, "1m30s"), (600, "10m00s"), (3725, "1h02m")]
)
def test_elapsed(seconds, shown):
    assert waiting.elapsed(seconds) == shown


class _Display:
    def __init__(self):
        self.lines: list[str] = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)


def _task(uuid: str, name: str, action: str, args: dict | None = None):
    return types.SimpleNamespace(
        _uuid=uuid, action=action, resolved_action=action, args=args or {}, get_name=lambda: name
    )


def _result(host: str, task):
    return types.SimpleNamespace(_host=types.SimpleNamespace(get_name=lambda: host), _task=task)


def test_lines_come_every_interval_while_the_task_runs_and_stop_when_it_ends():
    callback = waiting.CallbackModule()
    callback._display = _Display()
    callback._interval = 0.2
    task = _task("t1", "cdn : Ensure the distribution", "webstack.aws.cloudfront_distribution_spa", {"wait": True})
    callback.v2_playbook_on_task_start(task, False)
    callback.v2_runner_on_start(types.SimpleNamespace(get_name=lambda: "localhost"), task)
    time.sleep(0.7)
    callback.v2_runner_on_ok(_result("localhost", task))
    shown = list(callback._display.lines)
    time.sleep(0.4)
    assert callback._display.lines == shown  # nothing once the task is done
    assert len(shown) >= 2, shown
    assert all(
        line.startswith("[waiting] cdn : Ensure the distribution \u2014 distribution to reach Deployed \u2014 ")
        for line in shown
    ), shown


def test_a_quick_task_prints_nothing_and_the_next_task_gets_its_own_lines():
    callback = waiting.CallbackModule()
    callback._display = _Display()
    callback._interval = 0.3
    quick = _task("t1", "Quick", "ansible.builtin.debug")
    callback.v2_playbook_on_task_start(quick, False)
    callback.v2_runner_on_ok(_result("localhost", quick))
    slow = _task("t2", "Create the database", "amazon.aws.rds_instance")
    callback.v2_playbook_on_task_start(slow, False)
    time.sleep(0.45)
    callback.v2_playbook_on_stats(None)
    assert callback._display.lines == ["[waiting] Create the database \u2014 DB instance to become available \u2014 0s"]


def test_a_host_still_running_keeps_the_lines_coming():
    callback = waiting.CallbackModule()
    callback._display = _Display()
    callback._interval = 0.2
    task = _task("t1", "Wait", "amazon.aws.ec2_vpc_nat_gateway")
    callback.v2_playbook_on_task_start(task, False)
    for host in ("a", "b"):
        callback.v2_runner_on_start(types.SimpleNamespace(get_name=lambda host=host: host), task)
    callback.v2_runner_on_ok(_result("a", task))
    time.sleep(0.3)
    callback.v2_runner_on_failed(_result("b", task))
    assert len(callback._display.lines) == 1
    time.sleep(0.3)
    assert len(callback._display.lines) == 1


def test_runner_progress_shows_the_waiting_lines_with_the_layer(capsys):
    progress = Progress("frontend", verbose=False)
    said = "Ensure the distribution \u2014 distribution to reach Deployed \u2014 30s"
    progress({"event": "verbose", "stdout": f"[waiting] {said}"})
    progress({"event": "verbose", "stdout": "some other Ansible output"})
    assert capsys.readouterr().err.splitlines() == [f"[frontend] waiting  {said}"]
