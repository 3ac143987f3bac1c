# ruff: noqa: E402  (DOCUMENTATION comes first, as in every Ansible plugin)

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: progress
type: stdout
short_description: One line per task result, the lines runner.py shows
version_added: 0.1.0
description:
  - "Prints one line per finished task and host: the layer in brackets, the result (ok, changed, FAILED,
    failed (ignored) or UNREACHABLE), the task and its seconds, e.g. '[network] changed  Ensure the VPC exists (1.3s)'.
    A failure's message follows on an indented line."
  - In diff mode (C(--diff), C(runner.py plan)) a changed line is followed by the change as a short unified diff of the
    module's before and after.
  - A C(debug) task's message follows its line, indented, one line per item of a list (the roles
    say there what C(plan) found, such as an Auto Scaling group that would change, and how).
  - "Each retry of an C(until) loop prints '[<layer>] waiting  <task>: <what holds it> (attempt N of M)'."
  - Skipped tasks print nothing; the run ends with one C(recap) line per host.
  - The layer is the name of the playbook file the play comes from (C(backend) for C(playbooks/backend.yml)), so a run
    of C(site.yml) names each layer.
  - C(runner.py) uses it for every job (with C(--verbose), Ansible's default output instead). For C(ansible-playbook),
    set C(ANSIBLE_STDOUT_CALLBACK=webstack.aws.progress) or C(stdout_callback) in C(ansible.cfg) (the project's does);
    in AWX, C(ANSIBLE_STDOUT_CALLBACK) in the job's environment, which the project's execution environment sets.
requirements:
  - Set as the stdout callback (it replaces Ansible's default output).
options:
  diff_lines:
    description: At most this many lines of diff under a changed line; the rest is counted.
    type: int
    default: 40
    env:
      - name: WEBSTACK_PROGRESS_DIFF_LINES
    ini:
      - section: callback_progress
        key: diff_lines
"""

import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

from ansible_collections.webstack.aws.plugins.module_utils.progress_lines import (
    failure_message,
    render_diff,
    result_line,
    retry_line,
)

DEBUG = {"ansible.builtin.debug", "ansible.legacy.debug", "debug"}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "webstack.aws.progress"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._layer = "play"
        self._started: dict[str, float] = {}
        self._diffs: dict[str, list] = {}

    def _say(self, text: str) -> None:
        self._display.display(text)

    def v2_playbook_on_play_start(self, play):
        # get_path() is "<file>:<line>"; a layer's play lives in playbooks/<layer>.yml.
        self._layer = Path(play.get_path().rsplit(":", 1)[0]).stem or play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.monotonic()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_on_file_diff(self, result):
        self._diffs.setdefault(result.task._uuid, []).append(result.result.get("diff"))

    def _result(self, result, word: str, message: str = "") -> None:
        took = time.monotonic() - self._started.get(result.task._uuid, time.monotonic())
        line = result_line(self._layer, word, result.task_name or result.task.get_name(), took)
        for said in [message] if message else _debug_messages(result):
            line += f"\n    {said}"
        diffs = self._diffs.pop(result.task._uuid, [])
        if word == "changed" and diffs:
            line += "".join(render_diff(diff, self.get_option("diff_lines")) for diff in diffs)
        # Warnings and deprecations as Ansible shows them; a failure's error is the line above, so
        # the default callback's error block (with its source excerpt) is left out.
        self._handle_warnings(result.result)
        self._say(line)

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result.result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._result(result, "failed (ignored)")
        else:
            self._result(result, "FAILED", failure_message(result.result))

    def v2_runner_on_unreachable(self, result):
        self._result(result, "UNREACHABLE", failure_message(result.result))

    def v2_runner_retry(self, result):
        self._say(retry_line(self._layer, result.task_name or result.task.get_name(), result.result))

    def v2_playbook_on_stats(self, stats):
        for host in sorted(stats.processed):
            counts = stats.summarize(host)
            figures = " ".join(
                f"{key}={counts[key]}" for key in ("ok", "changed", "failures", "skipped", "unreachable")
            )
            self._say(f"[{self._layer}] recap    {host} {figures}")


def _debug_messages(result) -> list[str]:
    """What a debug task says: its msg, or each looped item's, a list giving one line per entry."""
    if (getattr(result.task, "resolved_action", None) or result.task.action) not in DEBUG:
        return []
    said: list = []
    for part in result.result.get("results") or [result.result]:
        if isinstance(part, dict) and "msg" in part and not part.get("skipped"):
            said += part["msg"] if isinstance(part["msg"], list) else [part["msg"]]
    return [str(text) for text in said]
