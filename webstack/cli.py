"""webstack's command line: deploy, plan, destroy and inspect the stack through ansible-runner.

Layers run in stages -- network, then backend and frontend side by side, then dns -- each layer as
its own ansible-runner job, so independent layers converge concurrently.  Every command prints one
progress line per task on stderr and a JSON summary on stdout, and writes that summary to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from webstack import timeline as webstack_timeline
from webstack.emulator import Emulator, EmulatorError, answers
from webstack.home import (
    DEMO_BUILD,
    PLAYBOOKS,
    REPO,
    STATE_DIR,
    collection_module_utils,
    environments,
    is_checkout,
    stack_settings,
)
from webstack.layers import (
    LOCAL_ENV,
    NO_ANSWER,
    TIMELINE,
    LayerResult,
    Progress,
    Target,
    available_layers,
    aws_target,
    retries,
    run_layer,
    run_stages,
    speed_env,
    summarize,
)
from webstack.release import VIA_ANSIBLE_HELP, release_direct


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


def program_name() -> str:
    """`webstack` when run as the installed console script, else runner.py (the documented entry point)."""
    return "webstack" if Path(sys.argv[0]).name == "webstack" else "runner.py"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=program_name(),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    # Outside a checkout there are no inventories: --help works, a command is refused (parse_arguments).
    common.add_argument(
        "--env",
        default=LOCAL_ENV,
        choices=environments() or None,
        help="environment = inventories/ENV (default: local)",
    )
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
    common.add_argument(
        "-v", "--verbose", action="store_true", help="show Ansible's own output (its default callback) instead"
    )

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


def release_vars(args) -> dict:
    """The static_site variables of `publish` and `rollback`, from their options; without --wait
    the inventory's static_site_invalidation_wait holds (prod's waits)."""
    values: dict = {"static_site_invalidation_wait": True} if args.wait else {}
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


def draw_diagram(args, target: Target) -> str | None:
    """`outputs --diagram PATH`: the live stack drawn by webstack_diagram; returns what went wrong."""
    from botocore.config import Config

    from webstack import diagram as webstack_diagram

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
    if not is_checkout(REPO):
        raise UsageError(
            f"no webstack checkout at {REPO} (its galaxy.yml and playbooks/): run from one or set WEBSTACK_HOME"
        )
    layers = parse_layers(args.layers)
    args.tags = parse_tags(args.tags)
    # Files go to ansible-playbook as they are (it decrypts !vault values); the rest as parsed.
    # Inline values take precedence over files, in the jobs and in runner.py's own settings alike.
    args.inline_vars = parse_extra_vars([value for value in args.extra_vars if not value.startswith("@")])
    args.vars = {**parse_extra_vars([value for value in args.extra_vars if value.startswith("@")]), **args.inline_vars}
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
