#!/usr/bin/env python3
"""How long webstack takes against the embedded emulator: first deploy, no-op deploy, plan,
the no-op deploy and plan again with --full (every layer converging), destroy -- each
`python runner.py` started from the shell, with the layers of a stage side by side (as runner.py
does) and, for comparison, one after another -- and each as a ratio to the floor measured in the
same run: benchmarks/floor.py, one Python process that describes every resource of the deployed
stack once, both regions.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/deploy_time.py [--layers network,backend] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webstack.emulator import Emulator  # noqa: E402
from webstack.layers import available_layers  # noqa: E402

# runner.py with every layer in a stage of its own: one after another.
ONE_AFTER_ANOTHER = """
import sys
from webstack import cli, layers
layers.STAGES = [[layer] for stage in layers.STAGES for layer in stage]
sys.exit(cli.main(sys.argv[1:]))
"""


def timed(command: str, emu: Emulator, layers: str, project: str, mode: str, *options: str) -> tuple[float, dict]:
    """`python runner.py COMMAND` started from the shell, as users and CI start it."""
    program = [str(REPO / "runner.py")] if mode == "staged" else ["-c", ONE_AFTER_ANOTHER]
    with tempfile.NamedTemporaryFile(suffix=".json") as summary_file, tempfile.TemporaryDirectory() as state_dir:
        argv = [sys.executable, *program, command, "--env", "local", "--endpoint-url", emu.url, "--layers", layers]
        argv += ["--summary-file", summary_file.name, "-e", f"webstack_project={project}"]
        argv += [option for option in options if option != NEW_MACHINE]
        # As a fresh CI runner: no inputs remembered as having passed the roles' checks.
        env = {**os.environ, "WEBSTACK_STATE_DIR": state_dir} if NEW_MACHINE in options else None
        started = time.monotonic()
        run = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=REPO, env=env)
        took = time.monotonic() - started
        summary = json.loads(Path(summary_file.name).read_text() or "{}")
    if run.returncode != 0:
        raise SystemExit(f"{command} failed (rc={run.returncode}):\n{run.stderr[-3000:]}")
    return took, summary


def floor(emu: Emulator) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "floor.py"), emu.url], check=True, capture_output=True)
    return time.monotonic() - started


# What each row runs; a deploy or plan of the unchanged stack takes the shortcut (README: "In
# sync"); on a new machine (CI's) it checks the settings first (playbooks/validate.yml); --full
# makes every layer converge as ansible-playbook site.yml would.
NEW_MACHINE = "<new machine>"
ROWS = [
    ("deploy (create)", "deploy"),
    ("deploy (no-op)", "deploy"),
    ("plan", "plan"),
    ("deploy (no-op, new machine)", "deploy", NEW_MACHINE),
    ("deploy (no-op, --full)", "deploy", "--full"),
    ("plan (--full)", "plan", "--full"),
]


def run_once(emu: Emulator, layers: str, project: str, mode: str) -> dict[str, float]:
    figures = {}
    for label, command, *options in ROWS:
        if label == "deploy (no-op)":
            figures["floor"] = floor(emu)
        took, summary = timed(command, emu, layers, project, mode, *options)
        figures[label] = took
        figures[f"{label} changed"] = sum(h["changed"] for h in summary["hosts"].values())
        for layer, res in summary["layers"].items():
            figures[f"{label} [{layer}]"] = res.get("duration_s") or 0.0
    figures["destroy"], _ = timed("destroy", emu, layers, project, mode)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", default=",".join(available_layers()))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    results: dict[str, dict[str, list[float]]] = {"staged": {}, "sequential": {}}
    with Emulator.ephemeral() as emu:
        for n in range(args.repeat):
            for mode in ("staged", "sequential"):
                figures = run_once(emu, args.layers, f"bench-{mode}-{n}", mode)
                for key, value in figures.items():
                    results[mode].setdefault(key, []).append(value)

    print(f"layers: {args.layers}   repeats: {args.repeat}   (seconds; moto on loopback)")
    keys = list(results["staged"])
    width = max(len(k) for k in keys)
    print(f"{'':{width}}  {'staged':>10}  {'sequential':>10}")
    for key in keys:
        staged = sum(results["staged"][key]) / args.repeat
        seq = sum(results["sequential"].get(key, [0])) / args.repeat
        print(f"{key:{width}}  {staged:10.1f}  {seq:10.1f}")
    floor_s = sum(results["staged"]["floor"]) / args.repeat
    print(f"\nstaged, as a ratio to the floor ({floor_s:.1f} s; issue 11's target for no-op deploy and plan: 8x)")
    for key in [label for label, *_ in ROWS] + ["destroy"]:
        print(f"{key:{width}}  {sum(results['staged'][key]) / args.repeat / floor_s:9.1f}x")


if __name__ == "__main__":
    main()
