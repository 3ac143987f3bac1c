#!/usr/bin/env python3
"""How long webstack takes against the embedded emulator: first deploy, no-op deploy, plan,
destroy -- with the layers of a stage side by side (as runner.py does) and, for comparison, one
after another -- and each as a ratio to the floor measured in the same run: benchmarks/floor.py,
one Python process that describes every resource of the deployed stack once, both regions.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/deploy_time.py [--layers network,backend] [--repeat 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webstack import cli  # noqa: E402
from webstack.emulator import Emulator  # noqa: E402
from webstack.layers import STAGES, available_layers  # noqa: E402


def timed(command: str, emu: Emulator, layers: str, project: str) -> tuple[float, dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as summary_file:
        argv = [command, "--env", "local", "--endpoint-url", emu.url, "--layers", layers]
        argv += ["--summary-file", summary_file.name, "-e", f"webstack_project={project}"]
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = cli.main(argv)
        took = time.monotonic() - started
        summary = json.loads(Path(summary_file.name).read_text())
    if rc != 0:
        raise SystemExit(f"{command} failed: {json.dumps(summary, indent=2)}")
    return took, summary


def floor(emu: Emulator) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "floor.py"), emu.url], check=True, capture_output=True)
    return time.monotonic() - started


def run_once(emu: Emulator, layers: str, project: str) -> dict[str, float]:
    figures = {}
    for label, command in [("deploy (create)", "deploy"), ("deploy (no-op)", "deploy"), ("plan", "plan")]:
        if label == "deploy (no-op)":
            figures["floor"] = floor(emu)
        took, summary = timed(command, emu, layers, project)
        figures[label] = took
        figures[f"{label} changed"] = sum(h["changed"] for h in summary["hosts"].values())
        for layer, res in summary["layers"].items():
            figures[f"{label} [{layer}]"] = res["duration_s"]
    figures["destroy"], _ = timed("destroy", emu, layers, project)
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
                stages = STAGES if mode == "staged" else [[layer] for stage in STAGES for layer in stage]
                with mock.patch("webstack.layers.STAGES", stages):
                    figures = run_once(emu, args.layers, f"bench-{mode}-{n}")
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
    for key in ("deploy (create)", "deploy (no-op)", "plan", "destroy"):
        print(f"{key:{width}}  {sum(results['staged'][key]) / args.repeat / floor_s:9.1f}x")


if __name__ == "__main__":
    main()
