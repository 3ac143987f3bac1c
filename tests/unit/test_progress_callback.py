"""The progress lines (plugins/module_utils/progress_lines.py) and the stdout callback that prints
them (plugins/callback/progress.py), without a playbook; runner.py shows the same lines from its
jobs' events (tests/integration/test_bad_input.py compares a real run of each)."""

from __future__ import annotations

import types

from ansible.plugins.loader import callback_loader

from ansible_collections.webstack.aws.plugins.module_utils.progress_lines import (
    failure_message,
    render_diff,
    result_line,
    retry_line,
)
from webstack.layers import Progress


class _Display:
    def __init__(self):
        self.lines: list[str] = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)

    def warning(self, msg, *args, **kwargs):
        self.lines.append(f"[WARNING]: {msg}")


def _task(uuid: str, name: str, action: str = "amazon.aws.ec2_vpc_net"):
    return types.SimpleNamespace(_uuid=uuid, get_name=lambda: name, action=action, resolved_action=action)


def _result(task, res: dict):
    return types.SimpleNamespace(task=task, task_name=task.get_name(), result=res)


def _callback(playbook: str = "/srv/webstack/playbooks/network.yml"):
    callback = callback_loader.get("webstack.aws.progress")  # as Ansible loads it, with its options
    callback.set_options()
    callback._display = _Display()
    play = types.SimpleNamespace(get_path=lambda: f"{playbook}:2", get_name=lambda: "Converge the network layer")
    callback.v2_playbook_on_play_start(play)
    return callback


def test_a_line_per_result_named_by_the_playbook_of_the_play():
    callback = _callback()
    for uuid, name, res, ignored in [
        ("t1", "Ensure the VPC exists", {"changed": True}, None),
        ("t2", "Find the zones", {"changed": False}, None),
        ("t3", "Check the network settings", {"msg": ["network_az_count: must be 2 to 6 (got 1)", "b: bad"]}, False),
        ("t4", "Try it", {"msg": "no"}, True),
    ]:
        task = _task(uuid, name)
        callback.v2_playbook_on_task_start(task, False)
        if ignored is None:
            callback.v2_runner_on_ok(_result(task, res))
        else:
            callback.v2_runner_on_failed(_result(task, res), ignore_errors=ignored)
    lines = "\n".join(callback._display.lines).splitlines()
    assert [line.rsplit(" (", 1)[0] if line.startswith("[") else line for line in lines] == [
        "[network] changed  Ensure the VPC exists",
        "[network] ok       Find the zones",
        "[network] FAILED   Check the network settings",
        "    network_az_count: must be 2 to 6 (got 1); b: bad",
        "[network] failed (ignored) Try it",
    ]
    assert lines[0].endswith("s)") and float(lines[0].rsplit("(", 1)[1][:-2]) < 5


def test_a_site_run_names_each_layer_and_ends_with_a_recap():
    callback = _callback("/srv/webstack/playbooks/backend.yml")
    task = _task("t1", "Ensure the load balancer exists")
    callback.v2_runner_on_unreachable(_result(task, {"msg": "Failed to connect"}))
    stats = types.SimpleNamespace(
        processed={"localhost": 1},
        summarize=lambda host: {"ok": 3, "changed": 1, "failures": 0, "skipped": 2, "unreachable": 1},
    )
    callback.v2_playbook_on_stats(stats)
    assert callback._display.lines[0].startswith("[backend] UNREACHABLE Ensure the load balancer exists (")
    assert callback._display.lines[0].endswith("\n    Failed to connect")
    recap = "[backend] recap    localhost ok=3 changed=1 failures=0 skipped=2 unreachable=1"
    assert callback._display.lines[1] == recap


def test_diff_mode_shows_the_change_under_its_changed_line_only():
    callback = _callback()
    task = _task("t1", "Ensure the NAT gateways")
    callback.v2_playbook_on_task_start(task, False)
    diff = {"before": {"mode": "single"}, "after": {"mode": "per_az"}}
    callback.v2_on_file_diff(_result(task, {"diff": diff}))
    callback.v2_runner_on_ok(_result(task, {"changed": True, "diff": diff}))
    (line,) = callback._display.lines
    assert line.splitlines()[0].startswith("[network] changed  Ensure the NAT gateways (")
    assert [ln for ln in line.splitlines()[1:] if not ln.strip().startswith("@@")] == [
        "      -mode: single",
        "      +mode: per_az",
    ]


def test_a_debug_task_says_its_message_under_its_line():
    callback = _callback("/srv/webstack/playbooks/dns.yml")
    said = "Check mode: Auto Scaling group w-local-asg would change: max_size 4 -> 6"
    callback.v2_runner_on_ok(_result(_task("t1", "Report", "ansible.builtin.debug"), {"msg": said}))
    looped = {"results": [{"msg": "Skipping api.example.com: no load balancer"}, {"skipped": True, "msg": "x"}]}
    callback.v2_runner_on_ok(_result(_task("t2", "Say which", "ansible.builtin.debug"), looped))
    callback.v2_runner_on_ok(_result(_task("t3", "Report every check", "debug"), {"msg": ["PASS  a", "FAIL  b"]}))
    callback.v2_runner_on_ok(_result(_task("t4", "Not a debug"), {"msg": "All items completed"}))
    assert [line.split("\n")[1:] for line in callback._display.lines] == [
        [f"    {said}"],
        ["    Skipping api.example.com: no load balancer"],
        ["    PASS  a", "    FAIL  b"],
        [],
    ]


def test_retries_say_what_holds_the_task():
    callback = _callback("/srv/webstack/playbooks/certificates.yml")
    holder = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/x/1/2"
    task = _task("t1", "Delete the stack's certificates")
    callback.v2_runner_retry(_result(task, {"msg": "in use", "in_use_by": [holder], "attempts": 2, "retries": 91}))
    callback.v2_runner_retry(_result(_task("t2", "Wait"), {"msg": "not yet", "attempts": 1}))
    assert callback._display.lines == [
        f"[certificates] waiting  Delete the stack's certificates: {holder} (attempt 2 of 91)",
        "[certificates] waiting  Wait: not yet (attempt 1 of ?)",
    ]


def test_failure_message_never_shows_censored_results():
    assert failure_message({"censored": "the output has been hidden", "msg": "secret"}) == "the output has been hidden"


def test_failure_message_lists_each_failed_check_as_a_loop_would():
    """A role's checks fail in one task whose message is a list, one line per bad value."""
    both = ["network_az_count: must be a number from 2 to 6 (got 1)", "network_app_port: bad (got 0)"]
    assert failure_message({"msg": both}) == "; ".join(both)
    assert failure_message({"results": [{"failed": True, "msg": m} for m in both]}) == "; ".join(both)


def test_plan_diff_shows_only_what_changes():
    text = render_diff([{"before": {"port": 80, "name": "a"}, "after": {"port": 443, "name": "a"}}])
    assert "-port: 80" in text and "+port: 443" in text
    assert render_diff([{"before": {"a": 1}, "after": {"a": 1}}]) == ""


def test_runner_shows_the_callbacks_lines_and_keeps_the_failures(capsys):
    """runner.py prints each result event's stdout (the callback's line) and nothing of the other
    events; the summary's failures come from the same failure_message."""
    runner_progress = Progress("network", verbose=False)
    changed = result_line("network", "changed", "Make it", 0.4)
    failed = f"{result_line('network', 'FAILED', 'Break it', 0.1)}\n    network_az_count: must be 2 to 6"
    waiting = retry_line("network", "Remove the subnets", {"msg": "in use", "attempts": 1, "retries": 3})
    for kind, stdout, res in [
        ("playbook_on_task_start", "", {}),
        ("runner_on_ok", changed, {"changed": True}),
        ("runner_on_skipped", "", {}),
        ("runner_retry", waiting, {}),
        ("runner_on_failed", failed, {"msg": "network_az_count: must be 2 to 6"}),
        ("playbook_on_stats", "[network] recap    localhost ok=1", {}),
    ]:
        runner_progress({"event": kind, "stdout": stdout, "event_data": {"task": "t", "res": res}})
    assert capsys.readouterr().err.splitlines() == [*changed.splitlines(), waiting, *failed.splitlines()]
    assert runner_progress.failures == ["network_az_count: must be 2 to 6"]
