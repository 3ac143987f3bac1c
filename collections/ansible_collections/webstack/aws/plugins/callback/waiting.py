# ruff: noqa: E402  (DOCUMENTATION comes first, as in every Ansible plugin)

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: waiting
type: aggregate
short_description: Says what a long task waits for and for how long, while it runs
description:
  - Modules return only when they are done, so a task that waits on AWS (a distribution reaching
    Deployed, a DB instance becoming available, a certificate being validated, a NAT gateway leaving
    pending, an instance refresh) prints nothing for minutes.
  - While a task is unfinished, this callback prints every O(interval) seconds one line
    C([waiting] <task> — <what it waits for> — <elapsed>), e.g.
    C([waiting] Ensure the distribution — distribution to reach Deployed — 1m30s). What it waits
    for comes from the task's module (and whether its state is C(absent)); other modules get a generic subject.
  - Lines go through Ansible's display, so they appear in plain C(ansible-playbook) output whatever
    the stdout callback, and in ansible-runner's event stream as C(verbose) events, which
    C(runner.py) shows as C([<layer>] waiting ...) lines on stderr.
requirements:
  - Enabled in callbacks_enabled (the project's ansible.cfg does; C(runner.py) adds it to
    C(ANSIBLE_CALLBACKS_ENABLED)).
options:
  interval:
    description: Seconds between two lines about the same task; the first comes after this long.
    type: float
    default: 30
    env:
      - name: WEBSTACK_WAITING_INTERVAL
    ini:
      - section: callback_waiting
        key: interval
"""

import threading
import time

from ansible.plugins.callback import CallbackBase

MARKER = "[waiting]"

# What a task of this module waits for, by the module's short name and whether its state is
# absent. Modules not listed get GENERIC.
SUBJECTS = {
    "cloudfront_distribution_spa": ("distribution to reach Deployed", "distribution to be disabled and deleted"),
    "cloudfront_distribution": ("distribution to reach Deployed", "distribution to be disabled and deleted"),
    "cloudfront_spa_error_pages": ("distribution to reach Deployed", "distribution to reach Deployed"),
    "cloudfront_origin_access_control": ("origin access control", "origin access control to be released"),
    "cloudfront_function": ("CloudFront Function", "CloudFront Function to be released"),
    "cloudfront_security_headers_policy": ("response headers policy", "response headers policy to be released"),
    "cloudfront_invalidation": ("invalidation to complete", "invalidation to complete"),
    "s3_spa_release": ("release upload and invalidation", "release upload and invalidation"),
    "rds_instance": ("DB instance to become available", "DB instance to be deleted"),
    "rds_instance_managed_password": ("DB instance to become available", "DB instance to become available"),
    "acm_certificate": ("certificate validation (ISSUED)", "certificate to be released and deleted"),
    "ec2_vpc_nat_gateway": ("NAT gateway to become available", "NAT gateway to be deleted"),
    "autoscaling_rolling_refresh": ("instance refresh", "instance refresh"),
    "autoscaling_group": ("Auto Scaling group's instances", "Auto Scaling group to be deleted"),
    "elb_application_lb": ("load balancer", "load balancer to be deleted"),
    "route53": ("record change to reach INSYNC", "record change to reach INSYNC"),
}
GENERIC = "{module} to finish"
# Modules that wait only when told to (`wait`): without it, or with a literal false, their subject
# is the generic one. A templated `wait` counts as waiting.
WAIT_WHEN_TOLD = {
    "acm_certificate",
    "cloudfront_distribution_spa",
    "cloudfront_invalidation",
    "ec2_vpc_nat_gateway",
    "route53",
    "s3_spa_release",
}
FALSE = {"false", "no", "off", "0"}


def subject(action: str, args: dict, check_mode=None) -> str:
    """What a task of module `action` (short or fully qualified) with `args` waits for. A task in
    check mode (`check_mode: true`, a read-only lookup) waits for nothing of AWS's."""
    args = args or {}
    short = (action or "task").rsplit(".", 1)[-1]
    absent = str(args.get("state", "")).strip() == "absent"
    told = str(args.get("wait", "false")).strip().lower() not in FALSE
    if check_mode is True or short not in SUBJECTS or (short in WAIT_WHEN_TOLD and not absent and not told):
        return GENERIC.format(module=action or "task")
    return SUBJECTS[short][1 if absent else 0]


def elapsed(seconds: float) -> str:
    """1m30s, 45s, 1h02m."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def line(task: str, what: str, seconds: float) -> str:
    return f"{MARKER} {task} \u2014 {what} \u2014 {elapsed(seconds)}"


class _Running:
    def __init__(self, uuid: str, name: str, what: str, interval: float):
        self.uuid = uuid
        self.name = name
        self.what = what
        self.started = time.monotonic()
        self.due = self.started + interval
        self.hosts: set[str] = set()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "webstack.aws.waiting"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cond = threading.Condition()
        self._running: _Running | None = None
        self._thread: threading.Thread | None = None
        self._interval = 30.0

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._interval = max(float(self.get_option("interval")), 0.1)

    # -- the task being waited on --------------------------------------------------------------
    def _start(self, task) -> None:
        action = getattr(task, "resolved_action", None) or task.action
        what = subject(action, task.args, getattr(task, "check_mode", None))
        running = _Running(task._uuid, task.get_name().strip(), what, self._interval)
        with self._cond:
            self._running = running
            if self._thread is None:
                self._thread = threading.Thread(target=self._speak, name="webstack-waiting", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _done(self, host=None, task=None) -> None:
        with self._cond:
            running = self._running
            if running is None or (task is not None and task._uuid != running.uuid):
                return
            if host is not None and running.hosts:
                running.hosts.discard(host.get_name())
                if running.hosts:
                    return
            self._running = None
            self._cond.notify_all()

    def _speak(self) -> None:
        with self._cond:
            while True:
                running = self._running
                if running is None:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                if now < running.due:
                    self._cond.wait(running.due - now)
                    continue
                # Under the lock: a task that ends meanwhile cannot get a line after its result.
                self._display.display(line(running.name, running.what, now - running.started))
                running.due += self._interval * (1 + int((now - running.due) // self._interval))

    # -- Ansible's events ------------------------------------------------------------------------
    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def v2_runner_on_start(self, host, task):
        with self._cond:
            if self._running is not None and self._running.uuid == task._uuid:
                self._running.hosts.add(host.get_name())

    def v2_runner_on_ok(self, result):
        self._done(result._host, result._task)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result._host, result._task)

    def v2_runner_on_skipped(self, result):
        self._done(result._host, result._task)

    def v2_runner_on_unreachable(self, result):
        self._done(result._host, result._task)

    def v2_playbook_on_play_start(self, play):
        self._done()

    def v2_playbook_on_no_hosts_remaining(self):
        self._done()

    def v2_playbook_on_stats(self, stats):
        self._done()
