#!/usr/bin/env python3
"""webstack's command line: deploy, plan, destroy and inspect the stack through ansible-runner.

Layers run in stages -- network, then backend and frontend side by side, then dns -- each layer as
its own ansible-runner job, so independent layers converge concurrently.  Every command prints one
progress line per task on stderr and a JSON summary on stdout, and writes that summary to a file.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import webstack_timeline
from emulator import Emulator, EmulatorError, answers, is_loopback_url, loopback_client_env, site_python_path

REPO = Path(__file__).resolve().parent
PLAYBOOKS = REPO / "playbooks"
INVENTORIES = REPO / "inventories"
STATE_DIR = Path(os.environ.get("WEBSTACK_STATE_DIR", Path.home() / ".cache" / "webstack"))

# Deploy order. Layers in one stage do not depend on each other and run side by side: the
# certificates (hosted zone, ACM requests, DNS validation) are issued while the network is built.
STAGES: list[list[str]] = [["network", "certificates"], ["backend", "frontend"], ["dns"]]
LOCAL_ENV = "local"
# The same line as playbooks/tasks/preflight.yml's endpoint check.
NO_ANSWER = (
    "AWS_ENDPOINT_URL: nothing answers at {url}; start the emulator (python runner.py emulator start) or fix the URL"
)
DEMO_BUILD = REPO / "demo" / "spa" / "dist"
# Every AWS client of a run retries throttling, 5xx answers and dropped connections with jittered
# backoff (botocore's standard mode); the playbooks give modules the same (webstack_aws_retries).
RETRY_MODE, RETRY_ATTEMPTS = "standard", 10


def retries() -> dict:
    """botocore's `retries` config; a new dict each time (botocore rewrites the one it is given)."""
    return {"mode": RETRY_MODE, "total_max_attempts": RETRY_ATTEMPTS}


# The lines plugins/callback/waiting.py prints while a task waits on AWS start with this.
WAITING = "[waiting]"

# Set when the run is interrupted: every running ansible-runner job is cancelled.
STOPPING = threading.Event()
# Every task result of the run, for the timeline written next to the summary (webstack_timeline.py).
TIMELINE = webstack_timeline.Recorder()


def speed_env() -> dict[str, str]:
    """What makes a job fast, for every environment (benchmarks/): Mitogen's strategy runs a play's
    modules in one persistent Python instead of a new one per task, and runtime/sitecustomize.py
    lets that Python parse botocore's models once per play instead of once per task, and the
    controller list the collections once instead of once per task. WEBSTACK_MITOGEN=0 turns Mitogen
    off (and so the collection list, which is Mitogen's)."""
    env = {"PYTHONPATH": site_python_path(), "WEBSTACK_SHARE_BOTOCORE_LOADER": "1"}
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
        "WEBSTACK_SHARE_COLLECTION_DIRS": "1",
    }


def available_layers() -> list[str]:
    return [layer for stage in STAGES for layer in stage if (PLAYBOOKS / f"{layer}.yml").exists()]


# -- argument parsing ----------------------------------------------------------------------------
class UsageError(Exception):
    """Bad command-line input: one line on stderr and exit code 2, before any AWS call."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class VarsLoader(yaml.SafeLoader):
    """YAML as Ansible writes it: a `!vault` value stays opaque here (ansible-playbook decrypts it)."""


VarsLoader.add_constructor("!vault", lambda loader, node: "<vault-encrypted>")
VarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def parse_extra_vars(values: list[str]) -> dict:
    """Accept what ansible-playbook's -e accepts: key=value pairs (shell quoting), JSON/YAML
    mappings, @file. Anything else is a UsageError naming the value and the problem."""
    merged: dict = {}
    for value in values or []:
        if value.startswith("@"):
            try:
                loaded = yaml.load(Path(value[1:]).read_text(), Loader=VarsLoader)
            except OSError as exc:
                raise UsageError(f"--extra-vars: cannot read {value[1:]}: {exc.strerror}") from None
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise UsageError(f"--extra-vars: {value[1:]} is not YAML: {_one_line(exc)}") from None
        elif value.lstrip().startswith(("{", "[")):
            try:
                loaded = yaml.load(value, Loader=VarsLoader)
            except yaml.YAMLError as exc:
                raise UsageError(f"--extra-vars: {value!r} is not valid JSON/YAML: {_one_line(exc)}") from None
        else:
            try:
                pairs = shlex.split(value)
            except ValueError as exc:
                raise UsageError(f"--extra-vars: {value!r}: {exc}") from None
            loaded = {}
            for pair in pairs:
                key, sep, val = pair.partition("=")
                if not sep or not key:
                    raise UsageError(f"--extra-vars: expected key=value, JSON or @file, got {pair!r}")
                loaded[key] = val
        if not isinstance(loaded, dict):
            raise UsageError(f"--extra-vars: {value!r} is not a mapping of variable names to values")
        merged.update(loaded)
    return merged


def _one_line(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{getattr(exc, 'problem', None) or exc}{where}".replace("\n", " ")


def parse_layers(value: str | None) -> list[str]:
    known = available_layers()
    if not value:
        return known
    wanted = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in known]
    if unknown:
        raise UsageError(f"--layers: unknown layer(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return [layer for layer in known if layer in wanted]


def known_tags() -> set[str]:
    """Every tag a playbook or role task carries, and Ansible's special ones."""
    tags = {"all", "always", "never", "tagged", "untagged"}

    def walk(node) -> None:
        if isinstance(node, dict):
            value = node.get("tags")
            if isinstance(value, str) and "{{" not in value:
                tags.update(item.strip() for item in value.split(","))
            elif isinstance(value, list):
                tags.update(str(item) for item in value)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for path in [*PLAYBOOKS.rglob("*.yml"), *REPO.glob("roles/*/tasks/*.yml")]:
        walk(yaml.load(path.read_text(), Loader=VarsLoader))
    return tags


def parse_tags(value: str | None) -> str | None:
    if not value:
        return None
    wanted = [item.strip() for item in value.split(",") if item.strip()]
    known = known_tags()
    unknown = [item for item in wanted if item not in known]
    if unknown:
        choices = ", ".join(sorted(known - {"all", "always", "never", "tagged", "untagged"}))
        raise UsageError(f"--tags: unknown tag(s) {', '.join(unknown)}; choose from {choices}")
    return ",".join(wanted)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="runner.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    envs = sorted(p.name for p in INVENTORIES.iterdir() if p.is_dir())
    common.add_argument("--env", default=LOCAL_ENV, choices=envs, help="environment = inventories/ENV (default: local)")
    common.add_argument(
        "--layers",
        help=f"comma-separated layers to act on, of: {', '.join(available_layers())} (default: all)",
    )
    common.add_argument("--tags", help="Ansible tags to limit the tasks inside the layers")
    common.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="send every AWS call to this AWS-compatible endpoint (default: $AWS_ENDPOINT_URL; "
        "local starts the embedded emulator when neither is set)",
    )
    common.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="VARS",
        help="extra variables as key=value, JSON/YAML or @file (repeatable; files go to ansible-playbook as "
        "they are, so they may hold !vault values; inline values take precedence over files)",
    )
    common.add_argument(
        "--vault-password-file", type=Path, metavar="FILE", help="decrypts the !vault values of -e @file"
    )
    common.add_argument("--summary-file", type=Path, help="where to write the JSON summary")
    common.add_argument("-v", "--verbose", action="store_true", help="show Ansible's own output")

    sub.add_parser("deploy", parents=[common], help="create or converge the stack; a second run reports changed=0")
    plan = sub.add_parser(
        "plan", parents=[common], help="check and diff mode: show what deploy would change, change nothing"
    )
    plan.add_argument(
        "--destroy", action="store_true", help="show what destroy would delete, layer by layer, and what blocks it"
    )
    plan.add_argument("--delete-data", action="store_true", help="with --destroy: plan destroy --delete-data")
    plan.add_argument(
        "--json",
        action="store_true",
        help="exit 0 when nothing would change, 2 when something would, 1 on error (the JSON summary's "
        "`changes` lists each change per layer and resource, before/after where known)",
    )
    destroy = sub.add_parser(
        "destroy",
        parents=[common],
        help="remove every resource the stack owns, in reverse order; outside local, after a teardown plan "
        "that finds every blocker first",
    )
    destroy.add_argument(
        "--confirm", metavar="ENV", help="required outside local: the environment's name, e.g. --confirm prod"
    )
    destroy.add_argument(
        "--delete-data",
        action="store_true",
        help="also delete user data: the site bucket's files and the database (a final snapshot is kept "
        "where rds_final_snapshot is on); without it a stack holding data is refused",
    )
    outputs = sub.add_parser(
        "outputs", parents=[common], help="read the stack's endpoints and ids from AWS, change nothing"
    )
    outputs.add_argument(
        "--diagram",
        type=Path,
        metavar="PATH",
        help="also draw the stack as AWS holds it: PATH.png or PATH.svg, or both for any other PATH "
        "(Graphviz's dot, which `make` installs)",
    )
    sub.add_parser(
        "verify",
        parents=[common],
        help="check the deployed stack through the AWS APIs against the architecture; one line per check",
    )

    publish = sub.add_parser(
        "publish",
        parents=[common],
        help="upload an SPA build as a new release and make it live (only what changed; atomic)",
    )
    publish.add_argument(
        "--build-dir",
        type=Path,
        help=f"the `npm run build` output (default for local: the demo SPA, {DEMO_BUILD.relative_to(REPO)})",
    )
    publish.add_argument("--keep-releases", type=int, help="releases whose assets stay in the bucket (default 3)")
    publish.add_argument("--wait", action="store_true", help="wait until the CloudFront invalidation completes")
    publish.add_argument("--ansible", action="store_true", help=VIA_ANSIBLE_HELP)
    rollback = sub.add_parser(
        "rollback", parents=[common], help="make the previous release live again, without uploading anything"
    )
    rollback.add_argument("--to", metavar="RELEASE", help="make this release live instead of the previous one")
    rollback.add_argument("--wait", action="store_true", help="wait until the CloudFront invalidation completes")
    rollback.add_argument("--ansible", action="store_true", help=VIA_ANSIBLE_HELP)

    report = sub.add_parser(
        "report",
        help="draw a run's timeline: a PNG and a self-contained HTML Gantt chart, the critical path marked",
    )
    report.add_argument(
        "--timeline", type=Path, metavar="FILE", help="a <summary>.timeline.json (default: the last run's)"
    )
    report.add_argument("--out", type=Path, metavar="DIR", help="where to write them (default: beside the timeline)")

    emu = sub.add_parser(
        "emulator",
        help="start, stop or show the persistent embedded AWS emulator used by --env local",
        description="The persistent emulator keeps a local stack alive between commands. "
        "`start` prints shell exports for running ansible-playbook by hand: "
        'eval "$(python runner.py emulator start)".',
    )
    emu.add_argument("action", choices=["start", "stop", "status"])
    return parser


# -- running -------------------------------------------------------------------------------------
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
    """Prints one line per finished task (per host); the full text stays in ansible-runner's artifacts."""

    _lock = threading.Lock()

    def __init__(self, layer: str, verbose: bool, show_diff: bool = False):
        self.layer = layer
        self.verbose = verbose
        self.show_diff = show_diff
        self.started: dict[str, float] = {}
        self.diffs: dict[str, list[str]] = {}
        self.failures: list[str] = []
        self.changes: list[dict] = []

    def __call__(self, event: dict) -> bool:
        kind = event.get("event", "")
        TIMELINE.record(self, self.layer, event)
        data = event.get("event_data", {})
        if kind == "playbook_on_task_start":
            self.started[data.get("task_uuid", "")] = time.monotonic()
        elif kind == "runner_on_file_diff" and self.show_diff:
            self.diffs.setdefault(data.get("task_uuid", ""), []).append(data.get("diff"))
        elif kind == "runner_retry":
            res = data.get("res", {})
            holders = ", ".join(res.get("in_use_by") or []) or _failure_message(res)
            attempt = f"attempt {res.get('attempts', '?')} of {res.get('retries', '?')}"
            self.say(f"[{self.layer}] waiting  {data.get('task', '')}: {holders} ({attempt})")
        elif kind in {"runner_on_ok", "runner_on_failed", "runner_on_unreachable"}:
            res = data.get("res", {})
            if kind == "runner_on_ok":
                word = "changed" if res.get("changed") else "ok"
                if res.get("changed"):
                    recorded = self.diffs.get(data.get("task_uuid", ""), [])
                    self.changes += _changes(data.get("task", ""), res, recorded)
            elif data.get("ignore_errors"):
                word = "failed (ignored)"
            else:
                word = "FAILED" if kind == "runner_on_failed" else "UNREACHABLE"
            took = time.monotonic() - self.started.get(data.get("task_uuid", ""), time.monotonic())
            line = f"[{self.layer}] {word:<8} {data.get('task', '')} ({took:.1f}s)"
            if word in {"FAILED", "UNREACHABLE"}:
                self.failures.append(_failure_message(res))
                line += f"\n    {self.failures[-1]}"
            elif word == "changed" and self.show_diff:
                line += "".join(_render_diff(diff) for diff in self.diffs.pop(data.get("task_uuid", ""), []))
            self.say(line)
        if kind == "playbook_on_stats":
            self.artifact_data = data.get("artifact_data", {})
        self._stdout(event)
        return True

    def _stdout(self, event: dict) -> None:
        """Ansible's own output with --verbose; without it, only the lines plugins/callback/waiting.py
        prints while a task waits on AWS (what it waits for and for how long)."""
        stdout = event.get("stdout") or ""
        if self.verbose and stdout:
            self.say(stdout)
        elif event.get("event") == "verbose" and stdout.startswith(WAITING):
            self.say(f"[{self.layer}] waiting  {stdout[len(WAITING) :].strip()}")

    def say(self, text: str) -> None:
        with self._lock:
            print(text, file=sys.stderr, flush=True)


def _render_diff(diff, limit: int = 40) -> str:
    """A module's before/after, as an indented unified diff of their YAML, for plan output."""
    parts = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        before, after = part.get("before", ""), part.get("after", "")
        if before == after:
            continue

        def text(value):
            return value if isinstance(value, str) else yaml.safe_dump(value, sort_keys=True, default_flow_style=False)

        lines = difflib.unified_diff(text(before).splitlines(), text(after).splitlines(), lineterm="", n=1)
        out.extend(ln for ln in lines if not ln.startswith(("---", "+++")))
    if len(out) > limit:
        out = [*out[:limit], f"... ({len(out) - limit} more lines)"]
    return "".join(f"\n      {ln}" for ln in out)


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


def _failure_message(res: dict) -> str:
    if res.get("censored"):
        return res["censored"]
    failed_items = [r for r in res.get("results", []) if isinstance(r, dict) and r.get("failed")]
    messages = [r.get("msg", "") for r in failed_items] or [res.get("msg", "")]
    # A role's checks fail in one task with one line per bad value (a list), like a loop's items.
    lines = [line for m in messages for line in (m if isinstance(m, list) else [m])]
    return "; ".join(str(m) for m in lines if m) or json.dumps(res)[:500]


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
    progress = Progress(layer, args.verbose, show_diff="--diff" in cmdline)
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


def run_stages(layers: list[str], args, target: Target, *, state: str, cmdline: str, keep_going: bool = False):
    """Runs the stages in order, reversed for state absent; a failed stage stops the run unless
    `keep_going` (a teardown plan looks for every blocker in every layer)."""
    stages = [[layer for layer in stage if layer in layers] for stage in STAGES]
    stages = [stage for stage in (reversed(stages) if state == "absent" else stages) if stage]
    extravars = {**args.inline_vars, "webstack_state": state}
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


# The stack's endpoints, in the order people look for them: (label, layer, output key).
ENDPOINTS = [
    ("site", "dns", "site_url"),
    ("api", "dns", "api_url"),
    ("CloudFront", "cdn", "domain_name"),
    ("load balancer", "load_balancer", "dns_name"),
    ("database", "rds", "endpoint"),
    ("database secret", "rds", "master_secret_arn"),
    ("CloudFront certificate", "certificate", "cloudfront_arn"),
    ("load balancer certificate", "certificate", "alb_arn"),
]


def print_outputs(outputs: dict) -> None:
    if not outputs:
        return
    endpoints = [(label, outputs[layer][key]) for label, layer, key in ENDPOINTS if outputs.get(layer, {}).get(key)]
    if endpoints:
        width = max(len(label) for label, _ in endpoints)
        print("\nEndpoints:", file=sys.stderr)
        for label, value in endpoints:
            region = f"  ({value.split(':')[3]})" if str(value).startswith("arn:aws:acm:") else ""
            print(f"  {label:<{width}}  {value}{region}", file=sys.stderr)
    print("\nOutputs:", file=sys.stderr)
    for section, values in outputs.items():
        if isinstance(values, dict):
            for key, value in values.items():
                print(f"  {section}.{key}: {json.dumps(value)}", file=sys.stderr)
        else:
            print(f"  {section}: {json.dumps(values)}", file=sys.stderr)


def release_vars(args) -> dict:
    """The static_site variables of `publish` and `rollback`, from their options."""
    values: dict = {"static_site_invalidation_wait": bool(args.wait)}
    if args.command == "rollback":
        if args.to:
            values["static_site_release"] = args.to
        return values
    build_dir = args.build_dir or (DEMO_BUILD if args.env == LOCAL_ENV else None)
    if build_dir is None:
        raise UsageError("--build-dir: required outside the local environment (the `npm run build` output)")
    if not (build_dir / "index.html").is_file():
        raise UsageError(f"--build-dir: {build_dir} has no index.html; point it at the `npm run build` output")
    values["static_site_build_dir"] = str(build_dir.resolve())
    if args.keep_releases is not None:
        values["static_site_keep_releases"] = args.keep_releases
    return values


def stack_settings(env: str, extra_vars: dict) -> dict:
    """The handful of plain settings verify needs, with Ansible's precedence for this layout:
    group_vars/all, then the environment's inventory group_vars, then --extra-vars."""
    settings: dict = {}
    sources = sorted((REPO / "group_vars" / "all").glob("*.yml"))
    sources += sorted((INVENTORIES / env / "group_vars").glob("*.yml"))
    for source in sources:
        settings.update(yaml.safe_load(source.read_text()) or {})
    settings.update(extra_vars)
    return settings


VIA_ANSIBLE_HELP = (
    "run the playbook (playbooks/<command>.yml, as AWX does) instead of calling the release library "
    "directly; the same release either way, Ansible's start-up added"
)


def _release_values(args, target: Target, extravars: dict) -> dict | None:
    """The settings publish.yml / rollback.yml resolve (group_vars, the inventory, -e, the
    static_site role's defaults), or None when a value needs Ansible or preflight would refuse."""
    if args.ansible or args.tags or args.ansible_args:
        return None
    role = yaml.safe_load((REPO / "roles" / "static_site" / "defaults" / "main.yml").read_text())
    settings = {**stack_settings(args.env, args.vars), **extravars}
    project, environment = settings["webstack_project"], settings["webstack_environment"]
    values = {"static_site_project": project, "static_site_environment": environment}
    values.update(cdn_project=project, cdn_environment=environment, webstack_region=settings["webstack_region"])
    names = ["static_site_bucket_name", "static_site_distribution_id", "static_site_keep_releases"]
    for name in [*names, "static_site_invalidation_wait_timeout", "static_site_release", *values]:
        values[name] = settings.get(name, values.get(name, role.get(name)))
    if any("{{" in str(value) for value in values.values()):
        return None
    endpoint = target.env.get("AWS_ENDPOINT_URL")
    if settings.get("webstack_require_endpoint") and not (endpoint and is_loopback_url(endpoint)):
        return None
    return values


def _release(spa_release, client, values: dict, extravars: dict, command: str, keep: int) -> tuple[dict, dict]:
    """find_site, then publish or rollback; a publish reads the bucket's listing and manifest
    while the bucket is checked, the distribution found and the build hashed."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    s3, sts = client("s3"), client("sts")
    project, environment = values["static_site_project"], values["static_site_environment"]
    bucket = values["static_site_bucket_name"] or spa_release.site_bucket_name(
        project, environment, sts.get_caller_identity()["Account"]
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        state = spa_release.read_state(s3, bucket, pool) if command == "publish" else None
        cloudfront = client("cloudfront", "us-east-1")
        gc.freeze()  # botocore's models, now loaded, are never garbage: no collection walks them again
        site = spa_release.find_site(
            s3,
            sts,
            cloudfront,
            project=project,
            environment=environment,
            bucket_name=bucket,
            distribution_id=values["static_site_distribution_id"],
            cdn_project=values["cdn_project"],
            cdn_environment=values["cdn_environment"],
            action=command,
        )
        common = dict(
            distribution_id=site["distribution_id"],
            wait=bool(extravars["static_site_invalidation_wait"]),
            wait_timeout=int(values["static_site_invalidation_wait_timeout"]),
        )
        if command == "publish":
            build_dir = extravars["static_site_build_dir"]
            return site, spa_release.publish(
                s3, cloudfront, bucket, build_dir, keep_releases=keep, state=state, **common
            )
        to = values["static_site_release"] or None
        return site, spa_release.rollback(s3, cloudfront, bucket, to=to, **common)


def release_direct(args, target: Target, extravars: dict) -> LayerResult | None:
    """publish / rollback without Ansible's start-up (issue 11): the same inputs the playbook
    resolves -- the static_site settings, the bucket and the distribution found the roles' way
    (spa_release.find_site) -- given to the same library the s3_spa_release module calls, so the
    release, its headers, manifest and invalidation are the same. None when only Ansible can
    resolve the inputs (--ansible, --tags, vault or @file variables, a templated setting, an
    endpoint the playbook's preflight would refuse): the playbook runs then."""
    values = _release_values(args, target, extravars)
    if values is None:
        return None
    endpoint = target.env.get("AWS_ENDPOINT_URL")

    import gc

    import boto3
    import botocore.session
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    _AnsibleCollectionFinder(paths=[str(REPO / "collections")])._install()
    from ansible_collections.webstack.aws.plugins.module_utils import spa_release

    command, result = args.command, LayerResult(layer=args.command)
    say = Progress(command, verbose=False).say
    started = time.monotonic()
    task = "Publish the build as the live release" if command == "publish" else "Make the earlier release live again"
    try:
        if endpoint and not answers(endpoint):
            raise spa_release.ReleaseError(NO_ANSWER.format(url=endpoint))
        keep = values["static_site_keep_releases"]
        if command == "publish" and not (str(keep).isdigit() and 1 <= int(keep) <= 100):
            raise spa_release.ReleaseError(
                f"static_site_keep_releases: must be a whole number from 1 to 100 (got {json.dumps(keep)})"
            )
        # Dates in answers stay strings: publish reads none, and a listing carries one per object.
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
        session = boto3.session.Session(
            aws_access_key_id=target.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=target.env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=target.env.get("AWS_SESSION_TOKEN"),
            botocore_session=core,
        )
        config = Config(retries=retries(), **spa_release.CLIENT_CONFIG)

        def client(service: str, region: str = values["webstack_region"]):
            return session.client(service, region_name=region, endpoint_url=endpoint, config=config)

        site, release = _release(spa_release, client, values, extravars, command, int(keep))
    except (spa_release.ReleaseError, ClientError, BotoCoreError) as exc:
        took = time.monotonic() - started
        result.failures = [str(exc)]
        say(f"[{command}] {'FAILED':<8} {task} ({took:.1f}s)\n    {exc}")
        result.status, result.rc = "failed", 2
        result.hosts = {"localhost": {"ok": 0, "changed": 0, "failed": 1, "skipped": 0, "unreachable": 0}}
        result.duration_s = round(took, 1)
        return result
    # Nor at exit, where Python's last collections would walk them all (a fifth of a no-op publish).
    gc.freeze()
    took = time.monotonic() - started
    say(f"[{command}] {'changed' if release['changed'] else 'ok':<8} {task} ({took:.1f}s)")
    reported = {key: release[key] for key in spa_release.REPORTED[command]}
    result.outputs = {**site["outputs"], "static_site_release": reported}
    result.status, result.rc, result.duration_s = "successful", 0, round(took, 1)
    result.hosts = {
        "localhost": {"ok": 1, "changed": int(bool(release["changed"])), "failed": 0, "skipped": 0, "unreachable": 0}
    }
    return result


def command_verify(args, target: Target, layers: list[str]) -> int:
    """playbooks/verify.yml, then its checks one line each (the JSON summary holds them too)."""
    endpoint = target.env.get("AWS_ENDPOINT_URL")
    if endpoint and not answers(endpoint):
        print(f"webstack: {NO_ANSWER.format(url=endpoint)}", file=sys.stderr)
        return 2
    checked = [layer for layer in layers if layer in {"backend", "frontend", "dns"}]
    extravars = {**args.inline_vars, "webstack_verify_layers": checked}
    result = run_layer("verify", PLAYBOOKS / "verify.yml", args, target, extravars, "")
    verified = result.outputs.get("verify", {})
    checks = verified.get("checks", [])
    for line in [*verified.get("lines", []), verified.get("summary")] if checks else []:
        print(line, file=sys.stderr)  # what the playbook prints
    failed = [c for c in checks if c["result"] == "FAIL"]
    summary = {
        "command": "verify",
        "env": args.env,
        "target": target.label,
        "status": "failed" if failed or result.rc != 0 else "successful",
        "rc": 1 if failed or result.rc != 0 else 0,
        "checks": checks,
    }
    write_summary(args, summary)
    return summary["rc"]


def draw_diagram(args, target: Target) -> str | None:
    """`outputs --diagram PATH`: the live stack drawn by webstack_diagram; returns what went wrong."""
    from botocore.config import Config

    import webstack_diagram

    settings = stack_settings(args.env, args.vars)
    try:
        stack = webstack_diagram.live_stack(target.env, settings, Config(retries=retries()))
        written = webstack_diagram.render(webstack_diagram.graph(stack), args.diagram)
    except Exception as exc:  # the outputs were read: say why there is no picture
        print(f"webstack: no diagram: {exc}", file=sys.stderr)
        return str(exc)
    print(f"webstack: architecture diagram: {', '.join(map(str, written))}", file=sys.stderr)
    return None


def write_summary(args, summary: dict) -> None:
    summary_file = args.summary_file or STATE_DIR / args.env / f"{summary['command']}-summary.json"
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    summary_file.write_text(json.dumps(summary, indent=2) + "\n")
    write_timeline(summary_file, summary)
    print(json.dumps(summary, indent=2))


# Where `report` finds the last run's timeline: a file naming it.
LAST_TIMELINE = STATE_DIR / "last-timeline"


def write_timeline(summary_file: Path, summary: dict) -> Path | None:
    """Every task result of the run's layer jobs, next to the summary (<summary>.timeline.json)."""
    timeline = TIMELINE.timeline(summary["command"], summary.get("env", ""))
    if not timeline["tasks"]:
        return None
    path = summary_file.with_suffix(".timeline.json")
    path.write_text(json.dumps(timeline, indent=1) + "\n")
    LAST_TIMELINE.parent.mkdir(parents=True, exist_ok=True)
    LAST_TIMELINE.write_text(f"{path.resolve()}\n")
    return path


def command_report(args) -> int:
    """A run's timeline as a PNG and a self-contained HTML page: a Gantt chart of the layer jobs
    side by side, the critical path marked."""
    source = args.timeline
    if source is None:
        if not LAST_TIMELINE.is_file():
            print("webstack: report: no run has written a timeline yet; pass --timeline FILE", file=sys.stderr)
            return 2
        source = Path(LAST_TIMELINE.read_text().strip())
    try:
        timeline = webstack_timeline.load(source)
    except (OSError, ValueError) as exc:
        print(f"webstack: report: cannot read the timeline {source}: {exc}", file=sys.stderr)
        return 2
    out = args.out or source.parent
    stem = source.name.removesuffix(".json")
    png = webstack_timeline.render_png(timeline, out / f"{stem}.png")
    page = webstack_timeline.render_html(timeline, out / f"{stem}.html")
    critical = webstack_timeline.critical_path(timeline)
    print(f"webstack: report: {png} and {page} (critical path: {' -> '.join(critical)})", file=sys.stderr)
    report = {"command": "report", "timeline": str(source), "png": str(png), "html": str(page)}
    print(json.dumps({**report, "critical_path": critical, "duration_s": timeline["duration_s"]}, indent=2))
    return 0


def command_emulator(action: str) -> int:
    if action == "start":
        try:
            emu = Emulator.start_persistent()
        except EmulatorError as exc:
            print(f"webstack: {exc}", file=sys.stderr)
            return 1
        print(f"webstack: emulator running at {emu.url} (pid {emu.pid})", file=sys.stderr)
        for key, value in {**emu.client_env(), **speed_env()}.items():
            print(f"export {key}={value}")
        return 0
    if action == "stop":
        stopped = Emulator.stop_persistent()
        print("webstack: emulator stopped" if stopped else "webstack: no emulator was running", file=sys.stderr)
        return 0
    emu = Emulator.persistent()
    print(f"running at {emu.url} (pid {emu.pid})" if emu else "not running")
    return 0 if emu else 3


def confirmed(args) -> bool:
    """Outside local, destroy needs the environment's name: --confirm ENV, or typed on a terminal."""
    if args.command != "destroy" or args.env in (LOCAL_ENV, args.confirm):
        return True
    if args.confirm is None and sys.stdin.isatty():
        typed = input(f"Destroy the {args.env} stack? Type the environment's name ({args.env}) to confirm: ")
        return typed.strip() == args.env
    return False


def guarded_destroy(layers: list[str], args, target: Target) -> tuple[list[LayerResult], list[str]]:
    """The teardown plan first (check mode, every layer, nothing deleted); any blocker in any layer
    refuses the whole destroy before the first deletion. Returns the results and the blockers."""
    say = Progress("destroy", verbose=False).say
    say("webstack: teardown plan (check mode, deletes nothing): what destroy removes, layer by layer")
    plan = run_stages(layers, args, target, state="absent", cmdline="--check --diff", keep_going=True)
    blockers = [f"[{r.layer}] {message}" for r in plan for message in r.failures]
    blockers += [f"[{r.layer}] the layer could not be planned (rc={r.rc})" for r in plan if r.rc and not r.failures]
    if blockers:
        say("webstack: destroy refused before deleting anything. Blockers:")
        for blocker in blockers:
            say(f"  - {blocker}")
        return plan, blockers
    say("webstack: no blocker: destroying")
    return run_stages(layers, args, target, state="absent", cmdline=""), []


def parse_arguments(argv: list[str] | None):
    """Everything the command line says, checked before the emulator starts or AWS is called."""
    args = build_parser().parse_args(argv)
    if args.command in {"emulator", "report"}:
        return args, []
    layers = parse_layers(args.layers)
    args.tags = parse_tags(args.tags)
    args.vars = parse_extra_vars(args.extra_vars)
    # Files go to ansible-playbook as they are (it decrypts !vault values); the rest as parsed.
    args.inline_vars = parse_extra_vars([value for value in args.extra_vars if not value.startswith("@")])
    args.ansible_args = [f"-e@{Path(value[1:]).resolve()}" for value in args.extra_vars if value.startswith("@")]
    if args.vault_password_file:
        if not os.access(args.vault_password_file, os.R_OK):
            raise UsageError(f"--vault-password-file: cannot read {args.vault_password_file}")
        args.ansible_args.append(f"--vault-password-file={args.vault_password_file.resolve()}")
    if args.command in {"publish", "rollback"}:
        release_vars(args)
    if not confirmed(args):
        given = f" (got --confirm {args.confirm})" if args.confirm else ""
        raise UsageError(
            f"--confirm: destroying {args.env} needs a confirmation naming the environment: "
            f"--confirm {args.env}{given}. Nothing was deleted."
        )
    return args, layers


def run_command(args, target: Target, layers: list[str]) -> tuple[list[LayerResult], list[str]]:
    """The layer jobs of one command, and what refused it (a guarded destroy's blockers)."""
    command = args.command
    if command == "outputs":
        return [run_layer("outputs", PLAYBOOKS / "outputs.yml", args, target, args.inline_vars, "")], []
    if command in {"publish", "rollback"}:
        extravars = {**args.inline_vars, **release_vars(args)}
        direct = release_direct(args, target, extravars)
        if direct is not None:
            return [direct], []
        return [run_layer(command, PLAYBOOKS / f"{command}.yml", args, target, extravars, "")], []
    if command == "destroy" and args.env != LOCAL_ENV:
        return guarded_destroy(layers, args, target)
    tear_down = command == "destroy" or getattr(args, "destroy", False)
    results = run_stages(
        layers,
        args,
        target,
        state="absent" if tear_down else "present",
        cmdline="--check --diff" if command == "plan" else "",
        keep_going=command == "plan" and tear_down,
    )
    return results, []


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops a run as Ctrl-C does: jobs cancelled, emulator stopped


def main(argv: list[str] | None = None) -> int:
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        return _main(argv)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    try:
        args, layers = parse_arguments(argv)
    except UsageError as exc:
        print(f"webstack: {exc}", file=sys.stderr)
        return 2
    if args.command in {"emulator", "report"}:
        return command_emulator(args.action) if args.command == "emulator" else command_report(args)

    started = time.monotonic()
    TIMELINE.reset()
    command = args.command
    try:
        with aws_target(args) as target:
            if command == "verify":
                return command_verify(args, target, layers)
            scope = f" ({', '.join(layers)})" if command in {"deploy", "plan", "destroy"} else ""
            print(f"webstack: {command} {args.env}{scope} -> {target.label}", file=sys.stderr)
            results, blockers = run_command(args, target, layers)
            summary = summarize(command, args, target, results, started)
            if blockers:
                summary.update(status="refused", rc=summary["rc"] or 1, blockers=blockers)
            if command == "outputs" and args.diagram and summary["status"] == "successful":
                problem = draw_diagram(args, target)
                if problem:
                    summary.update(status="failed", rc=1, diagram_error=problem)
    except EmulatorError as exc:
        print(f"webstack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("webstack: interrupted", file=sys.stderr)
        return 130

    if command in {"deploy", "outputs", "publish", "rollback"}:
        print_outputs(summary["outputs"])
    snapshot = summary["outputs"].get("rds", {}).get("final_snapshot_id") if command == "destroy" else None
    if snapshot:
        print(f"\nKept: the database's final snapshot {snapshot}", file=sys.stderr)
    write_summary(args, summary)
    return exit_code(args, summary)


def exit_code(args, summary: dict) -> int:
    """0 on success; `plan --json` as `terraform plan -detailed-exitcode`: 0 nothing would change,
    2 something would, 1 error."""
    detailed = getattr(args, "json", False)
    if summary["status"] != "successful":
        return 1 if detailed else (summary["rc"] or 1)
    return 2 if detailed and any(summary["changes"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
