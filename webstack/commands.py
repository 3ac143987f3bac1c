"""What the commands do besides running the layer stages: verify's checks, the report, the
emulator, the guarded destroy, and the endpoints, summary and timeline a run leaves. Kept out of
cli so that main() reads as the course of one run, and out of arguments, which finishes its checks
before anything here touches AWS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from webstack import timeline as webstack_timeline
from webstack.arguments import release_vars
from webstack.emulator import Emulator, EmulatorError, answers
from webstack.home import PLAYBOOKS, STATE_DIR, collection_module_utils
from webstack.layers import (
    LOCAL_ENV,
    NO_ANSWER,
    TIMELINE,
    LayerResult,
    Progress,
    Target,
    retries,
    run_layer,
    run_stages,
    speed_env,
)
from webstack.release import release_direct
from webstack.settings import resolve
from webstack.shortcut import Shortcut

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
    arn_region = collection_module_utils("aws_names").arn_region
    endpoints = [(label, outputs[layer][key]) for label, layer, key in ENDPOINTS if outputs.get(layer, {}).get(key)]
    if endpoints:
        width = max(len(label) for label, _ in endpoints)
        print("\nEndpoints:", file=sys.stderr)
        for label, value in endpoints:
            region = f"  ({arn_region(value)})" if str(value).startswith("arn:aws:acm:") else ""
            print(f"  {label:<{width}}  {value}{region}", file=sys.stderr)
    print("\nOutputs:", file=sys.stderr)
    for section, values in outputs.items():
        if isinstance(values, dict):
            for key, value in values.items():
                print(f"  {section}.{key}: {json.dumps(value)}", file=sys.stderr)
        else:
            print(f"  {section}: {json.dumps(values)}", file=sys.stderr)


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
    # The progress callback prints the checks under the playbook's report task; Ansible's own
    # output (--verbose) shows them as a list, so they follow one per line.
    for line in [*verified.get("lines", []), verified.get("summary")] if checks and args.verbose else []:
        print(line, file=sys.stderr)
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


# What finds the stack to draw: its tags and region, and the zone of its domain.
DIAGRAM_SETTINGS = ["webstack_project", "webstack_environment", "webstack_region", "webstack_domain"]


def draw_diagram(args, target: Target) -> str | None:
    """`outputs --diagram PATH`: the live stack drawn by webstack_diagram; returns what went wrong."""
    from botocore.config import Config

    from webstack import diagram as webstack_diagram

    try:
        settings = resolve(args.env, args.vars, DIAGRAM_SETTINGS)
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


def run_command(args, target: Target, layers: list[str]) -> tuple[list[LayerResult], dict]:
    """The layer jobs of one command, and what the summary says about them besides: a guarded
    destroy's blockers, deploy and plan's verdict on the stack's record (webstack/shortcut.py)."""
    command = args.command
    if command == "outputs":
        return [run_layer("outputs", PLAYBOOKS / "outputs.yml", args, target, args.inline_vars, "")], {}
    if command in {"publish", "rollback"}:
        extravars = {**args.inline_vars, **release_vars(args)}
        direct = release_direct(args, target, extravars)
        if direct is not None:
            return [direct], {}
        return [run_layer(command, PLAYBOOKS / f"{command}.yml", args, target, extravars, "")], {}
    if command == "destroy" and args.env != LOCAL_ENV:
        results, blockers = guarded_destroy(layers, args, target)
        return results, {"blockers": blockers} if blockers else {}
    tear_down = command == "destroy" or getattr(args, "destroy", False)
    shortcut = None if tear_down else Shortcut.open(args, target, layers)
    if shortcut and (in_sync := shortcut.check(layers)):
        return in_sync, shortcut.verdict
    results = run_stages(
        layers,
        args,
        target,
        state="absent" if tear_down else "present",
        cmdline="--check --diff" if command == "plan" else "",
        keep_going=command == "plan" and tear_down,
        settings_checked=bool(shortcut and shortcut.settings_checked),
    )
    if shortcut and command == "deploy":
        shortcut.record(results)
    return results, shortcut.verdict if shortcut else {}


def exit_code(args, summary: dict) -> int:
    """0 on success; `plan --json` as `terraform plan -detailed-exitcode`: 0 nothing would change,
    2 something would, 1 error."""
    detailed = getattr(args, "json", False)
    if summary["status"] != "successful":
        return 1 if detailed else (summary["rc"] or 1)
    return 2 if detailed and any(summary["changes"].values()) else 0
