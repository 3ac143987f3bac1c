#!/usr/bin/env python3
"""What a first deploy would take on real AWS, modelled from a real run's timeline: a first deploy
of the whole stack on a fresh embedded emulator (prod's shape: a NAT gateway per zone, Multi-AZ
database, deploy waits for the distribution), where every AWS wait is instant, with the documented
AWS latencies (../shared/REFERENCE.md, "Real AWS waits") substituted for the tasks that wait.

Three wall times, for a low, a typical and a high figure of each wait:

  sequential      every layer one after another
  as run          runner.py's stages (network | certificates -> backend | frontend -> dns), each
                  layer's tasks one after another, as the timeline shows them
  slowest branch  every part started as soon as what it really needs is there (DEPS below) and
                  independent waits side by side: the floor no ordering of these tasks can beat

and the ratio as run / slowest branch (issue 11's target: at most 1.15). Prints figures; asserts
nothing.

    .venv/bin/python benchmarks/real_aws_time.py [--timeline FILE] [--picture docs/timeline.png]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webstack import timeline as tl  # noqa: E402

# The shape prod deploys (inventories/prod): what makes a first deploy wait longest.
PROD_SHAPE = {"network_nat_gateway_mode": "per_az", "rds_multi_az": True, "cdn_wait": True}

# Seconds (low, typical, high). Documented: ../shared/REFERENCE.md's "Real AWS waits" table.
# Assumed: no figure there; kept short so that they do not flatter the ratio.
LATENCY = {
    "nat": ((90, 120, 300), "NAT gateway -> available, ~1.5-5 min (documented)"),
    "acm": ((60, 180, 300), "ACM DNS validation -> ISSUED, ~1-5 min (documented)"),
    "rds": ((900, 1500, 2160), "RDS Multi-AZ create, 15-36 min (documented)"),
    "cloudfront": ((180, 600, 1200), "CloudFront create -> Deployed, 3-20 min (documented)"),
    "rds_password": ((60, 120, 180), "RDS switch to a managed master password, 1-3 min (assumed)"),
    "asg": ((120, 180, 300), "Auto Scaling instances InService, 2-5 min (assumed)"),
}
SCENARIOS = ("low", "typical", "high")

# What each role really needs before it can start (the ideal ignores runner.py's stages): a part
# of a role waits for every earlier part of the roles named here. The hosted zone is the dns role's
# first part; certificates need it; the instances need the database's endpoint and secret.
DEPS = {
    "network": ["network"],
    "dns": ["load_balancer", "cdn"],
    "certificate": ["dns", "certificate"],
    "load_balancer": ["network", "certificate"],
    "rds": ["network", "rds"],
    "autoscaling": ["network", "load_balancer", "rds"],
    "static_site": ["cdn"],
    "cdn": ["certificate", "static_site"],
}


def ops_for(timeline: dict, scenario: int, *, ideal: bool) -> dict:
    """{id(task): Op} for the tasks that wait on AWS. A loop's waits (one NAT gateway per zone,
    each waited for before the next is created) are one after another as run, side by side in the
    ideal."""
    ops: dict[int, tl.Op] = {}

    def seconds(key: str) -> float:
        return LATENCY[key][0][scenario]

    # Since the network role waits for its NAT gateways all at once (after creating them all), its
    # own wait task; before that, the creating task waited for each gateway in turn.
    waits_for_nat = {t["job"] for t in timeline["tasks"] if t["task"] == "Wait until every NAT gateway is available"}
    for task in timeline["tasks"]:
        role, name = task["role"], task["task"]
        if role == "network" and task["action"].endswith("ec2_vpc_nat_gateway") and task["status"] == "changed":
            count = 1 if ideal else max(task.get("items", 1), 1)
            if task["job"] in waits_for_nat:
                ops[id(task)] = tl.Op("start", "nat", seconds("nat"))
            else:
                ops[id(task)] = tl.Op("block", seconds=seconds("nat") * count)
        elif role == "network" and name == "Wait until every NAT gateway is available":
            ops[id(task)] = tl.Op("wait", "nat")
        elif role == "certificate" and name.startswith("Write the DNS validation records"):
            ops[id(task)] = tl.Op("start", "acm", seconds("acm"))
        elif role == "certificate" and name.startswith("Wait until the certificates are issued"):
            ops[id(task)] = tl.Op("wait", "acm")  # skipped on the emulator: ISSUED at once
        elif role == "rds" and name.startswith("Ensure the database instance exists"):  # no_log: changed unseen
            ops[id(task)] = tl.Op("block", seconds=seconds("rds"))
        elif role == "rds" and name.startswith("Set the master password mode") and task["changed"]:
            ops[id(task)] = tl.Op("block", seconds=seconds("rds_password"))
        elif role == "autoscaling" and name.startswith("Ensure the Auto Scaling group runs") and task["changed"]:
            ops[id(task)] = tl.Op("block", seconds=seconds("asg"))
        elif role == "cdn" and name.startswith("Ensure the distribution serves") and task["changed"]:
            ops[id(task)] = tl.Op("block", seconds=seconds("cloudfront"))
    return ops


def model(timeline: dict) -> dict[str, dict]:
    figures = {}
    for index, scenario in enumerate(SCENARIOS):
        staged = tl.schedule(timeline, ops_for(timeline, index, ideal=False))
        ideal = tl.schedule(timeline, ops_for(timeline, index, ideal=True), mode="ideal", deps=DEPS)
        sequential = tl.schedule(timeline, ops_for(timeline, index, ideal=False), mode="sequential")
        figures[scenario] = {
            "sequential": sequential["end"],
            "as run": staged["end"],
            "slowest branch": ideal["end"],
            "ratio": staged["end"] / ideal["end"],
            "chain": ideal["chain"],
            "jobs": staged["jobs"],
        }
    return figures


def first_deploy(summary_dir: Path) -> Path:
    """A first deploy of every layer on a fresh embedded emulator; returns its timeline's path."""
    from webstack import cli, commands
    from webstack.emulator import Emulator

    summary = summary_dir / "deploy.json"
    with Emulator.ephemeral() as emu:
        argv = ["deploy", "--env", "local", "--endpoint-url", emu.url, "--summary-file", str(summary)]
        argv += ["-e", json.dumps({"webstack_project": "bench-model", **PROD_SHAPE})]
        # The timeline stays in the temporary directory: `report`'s last run stays the user's own.
        last = mock.patch.object(commands, "LAST_TIMELINE", summary_dir / "last-timeline")
        quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
        with quiet[0], quiet[1], last:
            rc = cli.main(argv)
    if rc != 0:
        raise SystemExit(f"the first deploy failed (rc={rc}): {summary.read_text()}")
    return summary.with_suffix(".timeline.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeline", type=Path, help="model this timeline instead of running a first deploy")
    parser.add_argument("--picture", type=Path, help="also draw the run's timeline (runner.py report) into this PNG")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="webstack-model-") as tmp:
        path = args.timeline or first_deploy(Path(tmp))
        timeline = tl.load(path)
        if args.picture:
            tl.render_png(timeline, args.picture)
            shutil.copy(path, args.picture.with_suffix(".json"))
        figures = model(timeline)

    measured = timeline["duration_s"] - min(job["start"] for job in timeline["jobs"].values())
    print(f"timeline: {timeline['command']} of {', '.join(timeline['jobs'])}, {len(timeline['tasks'])} task results,")
    print(f"  {measured:.1f} s on the emulator (layers only); shape: {json.dumps(PROD_SHAPE)}")
    print("\nwaits substituted (low / typical / high, seconds):")
    for key, (values, what) in LATENCY.items():
        print(f"  {key:<13} {' / '.join(str(v) for v in values):<17} {what}")
    print(f"\n{'minutes':<20}" + "".join(f"{s:>10}" for s in SCENARIOS))
    for row in ("sequential", "as run", "slowest branch"):
        print(f"{row:<20}" + "".join(f"{figures[s][row] / 60:10.1f}" for s in SCENARIOS))
    print(f"{'as run / slowest':<20}" + "".join(f"{figures[s]['ratio']:9.2f}x" for s in SCENARIOS))
    print(
        f"{'sequential / as run':<20}"
        + "".join(f"{figures[s]['sequential'] / figures[s]['as run']:9.2f}x" for s in SCENARIOS)
    )
    chain = [
        part
        for i, part in enumerate(figures["typical"]["chain"])
        if i == 0 or figures["typical"]["chain"][i - 1] != part
    ]
    print("\nslowest branch (typical), job/role: " + " -> ".join(chain))
    layers = figures["typical"]["jobs"]
    print(
        "as run (typical), each layer from its stage's start: "
        + ", ".join(f"{name} {(end - start) / 60:.1f} min" for name, (start, end) in layers.items())
    )
    print("\nissue 11's target: as run at most 1.15x the slowest branch")


if __name__ == "__main__":
    main()
