#!/usr/bin/env python3
"""How long webstack takes against the embedded emulator: first deploy, no-op deploy, plan,
destroy -- with the layers of a stage side by side (as runner.py does) and, for comparison, one
after another. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/deploy_time.py [--layers network,backend] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import runner  # noqa: E402
from emulator import Emulator  # noqa: E402


def timed(command: str, emu: Emulator, layers: str, project: str) -> tuple[float, dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as summary_file:
        argv = [command, "--env", "local", "--endpoint-url", emu.url, "--layers", layers]
        argv += ["--summary-file", summary_file.name, "-e", f"webstack_project={project}"]
        started = time.monotonic()
        with mock.patch("sys.stdout"), mock.patch("sys.stderr"):
            rc = runner.main(argv)
        took = time.monotonic() - started
        summary = json.loads(Path(summary_file.name).read_text())
    if rc != 0:
        raise SystemExit(f"{command} failed: {json.dumps(summary, indent=2)}")
    return took, summary


def run_once(emu: Emulator, layers: str, project: str) -> dict[str, float]:
    figures = {}
    for label, command in [("deploy (create)", "deploy"), ("deploy (no-op)", "deploy"), ("plan", "plan")]:
        took, summary = timed(command, emu, layers, project)
        figures[label] = took
        figures[f"{label} changed"] = sum(h["changed"] for h in summary["hosts"].values())
        for layer, res in summary["layers"].items():
            figures[f"{label} [{layer}]"] = res["duration_s"]
    figures["destroy"], _ = timed("destroy", emu, layers, project)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", default=",".join(runner.available_layers()))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    results: dict[str, dict[str, list[float]]] = {"staged": {}, "sequential": {}}
    with Emulator.ephemeral() as emu:
        for n in range(args.repeat):
            for mode in ("staged", "sequential"):
                stages = runner.STAGES if mode == "staged" else [[layer] for stage in runner.STAGES for layer in stage]
                with mock.patch.object(runner, "STAGES", stages):
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


if __name__ == "__main__":
    main()
