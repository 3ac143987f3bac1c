"""Running layers: each layer of a stage as its own ansible-runner job, side by side, the stages
in order; one progress line per task on stderr, and the results summed up for the JSON summary."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from webstack import timeline as webstack_timeline
from webstack.emulator import Emulator, is_loopback_url, loopback_client_env, site_python_path
from webstack.home import INVENTORIES, PLAYBOOKS, REPO, STATE_DIR, collection_module_utils


def read_stages(site: Path) -> list[list[str]]:
    """The deploy order, written once: the collection's playbooks/site.yml imports the layers in
    order, and each import's `webstack_stage` groups the layers that do not depend on each other
    (the certificates are issued while the network is built). None outside a checkout."""
    if not site.is_file():
        return []
    stages: dict[int, list[str]] = {}
    for play in yaml.safe_load(site.read_text()):
        layer = Path(play["ansible.builtin.import_playbook"]).stem
        stages.setdefault(play["vars"]["webstack_stage"], []).append(layer)
    return [stages[number] for number in sorted(stages)]


# Layers in one stage run side by side, the stages one after another.
STAGES = read_stages(PLAYBOOKS / "site.yml")
LOCAL_ENV = "local"
# The same line as playbooks/tasks/preflight.yml's endpoint check.
NO_ANSWER = (
    "AWS_ENDPOINT_URL: nothing answers at {url}; start the emulator (python runner.py emulator start) or fix the URL"
)
# Every AWS client of a run retries throttling, 5xx answers and dropped connections with jittered
# backoff (botocore's standard mode); the playbooks give modules the same (webstack_aws_retries).
RETRY_MODE, RETRY_ATTEMPTS = "standard", 10


def retries() -> dict:
    """botocore's `retries` config; a new dict each time (botocore rewrites the one it is given)."""
    return {"mode": RETRY_MODE, "total_max_attempts": RETRY_ATTEMPTS}


def aws_clients(env: dict, config=None, *, region: str | None = None, botocore_session=None):
    """`client(service, region)` on the AWS that `env` (a Target's AWS_* variables) points at, for
    what runner.py reads itself: the shortcut's state, the diagram, the direct publish."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        botocore_session=botocore_session,
    )

    def client(service: str, client_region: str | None = region):
        return session.client(
            service, region_name=client_region, endpoint_url=env.get("AWS_ENDPOINT_URL"), config=config
        )

    return client


# The lines plugins/callback/waiting.py prints while a task waits on AWS start with this.
WAITING = "[waiting]"

# Set when the run is interrupted: every running ansible-runner job is cancelled.
STOPPING = threading.Event()
# Every task result of the run, for the timeline written next to the summary (webstack/timeline.py).
TIMELINE = webstack_timeline.Recorder()


def speed_env() -> dict[str, str]:
    """What makes a job fast, for every environment (benchmarks/): Mitogen's strategy runs a play's
    modules in one persistent Python instead of a new one per task, and webstack/runtime/sitecustomize.py
    lets that Python parse botocore's models once per play instead of once per task, the
    controller freeze its garbage collector before it forks the tasks' workers, and the
    controller list the collections once instead of once per task. WEBSTACK_MITOGEN=0 turns Mitogen
    off (and so the collection list, which is Mitogen's)."""
    env = {"PYTHONPATH": site_python_path(), "WEBSTACK_SHARE_BOTOCORE_LOADER": "1", "WEBSTACK_FREEZE_GC": "1"}
    if os.environ.get("WEBSTACK_MITOGEN", "1") == "0":
        return env
    try:
        import ansible_mitogen
    except ImportError:
        return env
    strategies = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {
        **env,
        "ANSIBLE_STRATEGY_PLUGINS": str(strategies),
        "ANSIBLE_STRATEGY": "mitogen_linear",
        "WEBSTACK_SHARE_CONTROLLER_WORK": "1",
    }


def available_layers() -> list[str]:
    return [layer for stage in STAGES for layer in stage if (PLAYBOOKS / f"{layer}.yml").exists()]


@dataclass
class LayerResult:
    layer: str
    status: str = "pending"
    rc: int | None = None
    hosts: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    duration_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)


class Progress:
    """Shows each layer job's progress lines on stderr, as the webstack.aws.progress stdout callback
    prints them (one per finished task), and keeps what the summary needs: failures, plan changes,
    the timeline. The full text stays in ansible-runner's artifacts."""

    _lock = threading.Lock()
    # The events whose stdout is a progress line (with --verbose: Ansible's own output of every event).
    LINES = frozenset({"runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_retry"})

    def __init__(self, layer: str, verbose: bool):
        self.layer = layer
        self.verbose = verbose
        self.diffs: dict[str, list] = {}
        self.failures: list[str] = []
        self.changes: list[dict] = []

    def __call__(self, event: dict) -> bool:
        kind = event.get("event", "")
        TIMELINE.record(self, self.layer, event)
        data = event.get("event_data", {})
        res = data.get("res", {})
        if kind == "runner_on_file_diff":
            self.diffs.setdefault(data.get("task_uuid", ""), []).append(data.get("diff"))
        elif kind == "runner_on_ok" and res.get("changed"):
            recorded = self.diffs.pop(data.get("task_uuid", ""), [])
            self.changes += _changes(data.get("task", ""), res, recorded)
        elif kind in {"runner_on_failed", "runner_on_unreachable"} and not data.get("ignore_errors"):
            # The message the progress callback prints under the line (module_utils/progress_lines.py).
            self.failures.append(collection_module_utils("progress_lines").failure_message(res))
        if kind == "playbook_on_stats":
            self.artifact_data = data.get("artifact_data", {})
        self._stdout(kind, event.get("stdout") or "")
        return True

    def _stdout(self, kind: str, stdout: str) -> None:
        """The progress lines; with --verbose, Ansible's own output; and the lines
        plugins/callback/waiting.py prints while a task waits on AWS (what it waits for, how long)."""
        if stdout and (self.verbose or kind in self.LINES):
            self.say(stdout)
        elif kind == "verbose" and stdout.startswith(WAITING):
            self.say(f"[{self.layer}] waiting  {stdout[len(WAITING) :].strip()}")

    def say(self, text: str) -> None:
        with self._lock:
            print(text, file=sys.stderr, flush=True)


def _changes(task: str, res: dict, recorded: list) -> list[dict]:
    """What one changed task would change: one entry per changed loop item (or one for the task),
    with the module's before/after where it reports a diff."""
    parts = [r for r in res.get("results", []) if isinstance(r, dict) and r.get("changed")] or [res]
    found = []
    for part in parts:
        change: dict = {"task": task}
        item = part.get("_ansible_item_label", part.get("item"))
        if item is not None:
            change["item"] = item
        diffs = part.get("diff") or (recorded if part is res else [])
        for diff in diffs if isinstance(diffs, list) else [diffs]:
            if isinstance(diff, dict) and diff.get("before") != diff.get("after"):
                change.setdefault("before", diff.get("before"))
                change.setdefault("after", diff.get("after"))
        found.append(change)
    return found


@dataclass
class Target:
    """Where AWS calls go: environment variables for every job, and a label for people."""

    env: dict[str, str]
    label: str
    emulator: Emulator | None = None


@contextlib.contextmanager
def aws_target(args) -> Target:
    if args.endpoint_url:
        if is_loopback_url(args.endpoint_url):
            env = loopback_client_env(args.endpoint_url)
        else:
            env = {"AWS_ENDPOINT_URL": args.endpoint_url}
        yield Target(env=env, label=args.endpoint_url)
        return
    if args.env != LOCAL_ENV:
        yield Target(env={}, label="AWS (standard credential chain)")
        return
    running = Emulator.persistent()
    if running:
        yield Target(env=running.client_env(), label=f"embedded emulator {running.url}", emulator=running)
        return
    print(
        "webstack: no emulator is running, so this command starts one that stops when it ends "
        "(the stack goes with it). Keep one: python runner.py emulator start",
        file=sys.stderr,
    )
    with Emulator.ephemeral() as emu:
        yield Target(env=emu.client_env(), label=f"embedded emulator {emu.url} (ephemeral)", emulator=emu)


def run_layer(layer: str, playbook: Path, args, target: Target, extravars: dict, cmdline: str) -> LayerResult:
    import ansible_runner

    result = LayerResult(layer=layer)
    progress = Progress(layer, args.verbose)
    artifact_dir = STATE_DIR / "runner" / args.env / layer
    artifact_dir.mkdir(parents=True, exist_ok=True)
    # A fresh private data dir for every run: ansible-runner writes the extra vars and environment
    # into it and would prefer those files over the next run's values. Removed afterwards.
    data_dir = tempfile.mkdtemp(prefix=f"webstack-{layer}-")
    started = time.monotonic()
    try:
        runner = ansible_runner.run(
            private_data_dir=data_dir,
            artifact_dir=str(artifact_dir),
            project_dir=str(REPO),
            playbook=str(playbook),
            inventory=str(INVENTORIES / args.env),
            extravars=extravars,
            envvars={
                "AWS_RETRY_MODE": os.environ.get("AWS_RETRY_MODE", RETRY_MODE),
                "AWS_MAX_ATTEMPTS": os.environ.get("AWS_MAX_ATTEMPTS", str(RETRY_ATTEMPTS)),
                **target.env,
                **speed_env(),
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                # The ansible-playbook of this interpreter's environment, even when it is not activated.
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "ANSIBLE_NOCOLOR": "1",
                # plugins/callback/progress.py: one line per task, as ansible-playbook and AWX show them.
                **({} if args.verbose else {"ANSIBLE_STDOUT_CALLBACK": "webstack.aws.progress"}),
                # plugins/callback/lifeline.py: the playbook ends when this process is gone.
                "WEBSTACK_PARENT_PID": str(os.getpid()),
                # plugins/callback/waiting.py: a line while a task waits on AWS (WEBSTACK_WAITING_INTERVAL).
                "ANSIBLE_CALLBACKS_ENABLED": ",".join(
                    filter(
                        None,
                        [os.environ.get("ANSIBLE_CALLBACKS_ENABLED"), "webstack.aws.lifeline", "webstack.aws.waiting"],
                    )
                ),
            },
            cancel_callback=STOPPING.is_set,
            cmdline=shlex.join([*shlex.split(cmdline), *args.ansible_args]) or None,
            tags=args.tags or None,
            quiet=True,
            event_handler=progress,
            rotate_artifacts=5,
            json_mode=False,
        )
        if runner.rc != 0 and not runner.stats and not STOPPING.is_set():
            # ansible-playbook did not get as far as a play (a syntax error, a missing file).
            progress.say(f"[{layer}] ansible-playbook failed (rc={runner.rc}):\n{runner.stdout.read()[-4000:]}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result.duration_s = round(time.monotonic() - started, 1)
    result.status, result.rc = runner.status, runner.rc
    stats = runner.stats or {}
    for key, label in [
        ("ok", "ok"),
        ("changed", "changed"),
        ("failures", "failed"),
        ("skipped", "skipped"),
        ("dark", "unreachable"),
    ]:
        for host, count in (stats.get(key) or {}).items():
            result.hosts.setdefault(host, {}).setdefault(label, 0)
            result.hosts[host][label] += count
    for host_counts in result.hosts.values():
        for label in ("ok", "changed", "failed", "skipped", "unreachable"):
            host_counts.setdefault(label, 0)
    result.outputs = getattr(progress, "artifact_data", {}) or {}
    result.failures = progress.failures
    result.changes = progress.changes
    return result


def run_stages(
    layers: list[str],
    args,
    target: Target,
    *,
    state: str,
    cmdline: str,
    keep_going: bool = False,
    settings_checked: bool = False,
):
    """Runs the stages in order, reversed for state absent; a failed stage stops the run unless
    `keep_going` (a teardown plan looks for every blocker in every layer). `settings_checked`: every
    role's settings passed their checks for these inputs (webstack/shortcut.py), so the layers'
    preflight skips them."""
    stages = [[layer for layer in stage if layer in layers] for stage in STAGES]
    stages = [stage for stage in (reversed(stages) if state == "absent" else stages) if stage]
    extravars = {**args.inline_vars, "webstack_state": state}
    if settings_checked:
        extravars["webstack_settings_checked"] = True
    if state == "absent" and getattr(args, "delete_data", False):
        extravars["webstack_delete_data"] = True
    results: list[LayerResult] = []
    for stage in stages:
        TIMELINE.stage(stage)
        with_threads: list[tuple[threading.Thread, list]] = []
        for layer in stage:
            box: list[LayerResult] = []

            def work(layer=layer, box=box):
                try:
                    box.append(run_layer(layer, PLAYBOOKS / f"{layer}.yml", args, target, extravars, cmdline))
                except Exception as exc:  # a layer that could not run is a failed layer, not a lost one
                    Progress(layer, verbose=False).say(f"[{layer}] could not run: {type(exc).__name__}: {exc}")
                    box.append(LayerResult(layer=layer, status="error", rc=1))

            thread = threading.Thread(target=work, name=f"layer-{layer}")
            thread.start()
            with_threads.append((thread, box))
        try:
            for thread, _ in with_threads:
                thread.join()
        except KeyboardInterrupt:
            STOPPING.set()  # ansible-runner's cancel_callback: each job's playbook is ended
            for thread, _ in with_threads:
                thread.join()
            raise
        for _, box in with_threads:
            results.extend(box)
        if any(r.rc != 0 for r in results) and not keep_going:
            break  # a later stage depends on this one
    return results


def summarize(command: str, args, target: Target, results: list[LayerResult], started: float) -> dict:
    hosts: dict = {}
    outputs: dict = {}
    for res in results:
        for host, counts in res.hosts.items():
            total = hosts.setdefault(host, dict.fromkeys(counts, 0))
            for key, val in counts.items():
                total[key] = total.get(key, 0) + val
        outputs.update(res.outputs)
    failed = not results or any(r.rc != 0 for r in results)
    return {
        "command": command,
        "env": args.env,
        "target": target.label,
        "status": "failed" if failed else "successful",
        "rc": next((r.rc for r in results if r.rc), 0 if results else 1),
        "duration_s": round(time.monotonic() - started, 1),
        "hosts": hosts,
        "layers": {
            r.layer: {"status": r.status, "rc": r.rc, "duration_s": r.duration_s, "hosts": r.hosts} for r in results
        },
        "outputs": outputs,
        **({"changes": {r.layer: r.changes for r in results}} if command == "plan" else {}),
    }
