"""webstack's command line: deploy, plan, destroy and inspect the stack through ansible-runner.

Layers run in stages -- network, then backend and frontend side by side, then dns -- each layer as
its own ansible-runner job, so independent layers converge concurrently.  Every command prints one
progress line per task on stderr and a JSON summary on stdout, and writes that summary to a file.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from webstack.arguments import UsageError, parse_arguments
from webstack.commands import (
    command_emulator,
    command_report,
    command_verify,
    draw_diagram,
    exit_code,
    print_outputs,
    run_command,
    write_summary,
)
from webstack.emulator import EmulatorError
from webstack.layers import TIMELINE, aws_target, summarize


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
        args, layers = parse_arguments(argv, __doc__)  # this module's docstring heads --help
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
            results, besides = run_command(args, target, layers)
            summary = {**summarize(command, args, target, results, started), **besides}
            if besides.get("blockers"):
                summary.update(status="refused", rc=summary["rc"] or 1)
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


if __name__ == "__main__":
    sys.exit(main())
