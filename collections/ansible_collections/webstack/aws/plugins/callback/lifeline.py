# ruff: noqa: E402  (DOCUMENTATION comes first, as in every Ansible plugin)

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: lifeline
type: aggregate
short_description: Stops the playbook when the program that started it is gone
description:
  - ansible-runner starts ansible-playbook in a session of its own, so killing the program that
    drives it (C(runner.py), a CI job's process group) leaves the playbook running with nobody to
    report to, racing the next run.
  - With C(WEBSTACK_PARENT_PID) set to the pid of the process that started ansible-playbook, this
    callback watches that parent from a thread, and every process the playbook forks (workers,
    Mitogen's multiplexer) watches the playbook. A process whose parent is gone kills itself,
    its children and the process groups they lead.
  - Without C(WEBSTACK_PARENT_PID) it does nothing. C(runner.py) enables it and sets the variable.
requirements:
  - Enabled in callbacks_enabled (C(ANSIBLE_CALLBACKS_ENABLED=webstack.aws.lifeline)).
"""

import contextlib
import os
import signal
import threading
import time

from ansible.plugins.callback import CallbackBase

POLL_SECONDS = 0.5


def _children(pid: int) -> list[int]:
    found: list[int] = []
    if not os.path.isdir("/proc"):  # not Linux: the playbook itself still goes
        return found
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _end_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    # SIGKILL, not SIGTERM: a process whose main thread waits on a worker or on Mitogen may never
    # run a SIGTERM handler. Children that lead process groups of their own go with their groups.
    for child in _children(os.getpid()):
        with contextlib.suppress(OSError):
            if os.getpgid(child) == child:
                os.killpg(child, signal.SIGKILL)
            else:
                os.kill(child, signal.SIGKILL)
    # A playbook leads its own process group when ansible-runner started it, a worker after its
    # setsid; otherwise the group is someone else's and only this process is ours to end.
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "webstack.aws.lifeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parent = os.environ.get("WEBSTACK_PARENT_PID", "")
        # Only when started directly by that parent: anything else is not ours to stop.
        if parent.isdigit() and int(parent) == os.getppid():
            _watch(int(parent))
            # Workers and Mitogen's multiplexer are forks that outlive a killed playbook (workers
            # call setsid): each watches the playbook the same way.
            os.register_at_fork(after_in_child=lambda: _watch(os.getppid()))


def _watch(parent: int) -> None:
    threading.Thread(target=_end_when_orphaned, args=(parent,), name="webstack-lifeline", daemon=True).start()
