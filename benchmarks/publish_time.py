#!/usr/bin/env python3
"""`runner.py publish` against `aws s3 sync`, in one run against one embedded emulator.

Deploys the frontend layer (the site bucket and its distribution, as `runner.py deploy --layers
frontend` makes them), generates a build of 2,000 files, 24 MiB (content-hashed assets under
assets/ plus index.html), installs awscli into its own virtualenv (benchmarks/.venv-awscli, pinned)
and times, each as a fresh process started from the shell:

* `aws s3 sync BUILD s3://BUCKET` into a second bucket made like the site bucket (versioned,
  SSE-S3): first upload, again with nothing changed, again with index.html changed;
* `runner.py publish --build-dir BUILD` into the site bucket: the same three.

Each case runs --samples times, sync and publish taking turns; the figures are medians. Before each
first upload the site bucket is emptied and sync gets a new bucket. Then each publish as a ratio to
its sync (issue 11: first at most 0.5x, no change and one change at most 1.0x). Publish does what
sync cannot: two Cache-Control classes, a staged atomic release, the release manifest and a
targeted invalidation. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/publish_time.py [--files 2000] [--mib 24] [--repeat 1] [--samples 5]
                                                [--ansible N] [--profile DIR]

--profile DIR records each publish with py-spy (`py-spy record -r 100 -f raw`) into DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webstack import cli  # noqa: E402
from webstack.emulator import Emulator  # noqa: E402
from webstack.layers import aws_clients  # noqa: E402

AWSCLI_VERSION = "1.46.3"
AWSCLI_VENV = Path(__file__).resolve().parent / ".venv-awscli"
REGION = "ap-northeast-2"  # inventories/local
PROJECT = "bench-publish"
EXTENSIONS = [".js", ".js", ".js", ".css", ".svg", ".png", ".woff2", ".js.map"]


def awscli() -> Path:
    """aws from benchmarks/.venv-awscli, installed there at the pinned version when missing."""
    aws = AWSCLI_VENV / "bin" / "aws"
    if aws.exists():
        found = subprocess.run([str(aws), "--version"], capture_output=True, text=True, check=False)
        if f"aws-cli/{AWSCLI_VERSION} " in found.stdout + found.stderr:
            return aws
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(AWSCLI_VENV)], check=True)
    subprocess.run([str(AWSCLI_VENV / "bin" / "pip"), "install", "--quiet", f"awscli=={AWSCLI_VERSION}"], check=True)
    return aws


def make_build(root: Path, files: int, mib: int, seed: int = 11) -> Path:
    """A Vite-like build: index.html naming the entry chunks, the rest content-hashed under assets/.
    Sizes vary around the mean (a few large vendor chunks, many small ones), total about `mib` MiB."""
    rng = random.Random(seed)
    build = root / "dist"
    (build / "assets").mkdir(parents=True)
    weights = [rng.paretovariate(1.5) for _ in range(files - 1)]
    scale = mib * (1 << 20) / sum(weights)
    names = []
    for n, weight in enumerate(weights):
        body = rng.randbytes(max(64, int(weight * scale)))
        ext = EXTENSIONS[n % len(EXTENSIONS)]
        digest = __import__("hashlib").sha256(body).hexdigest()[:8]
        name = f"assets/chunk{n:04d}-{digest}{ext}"
        (build / name).write_bytes(body)
        names.append(name)
    scripts = "".join(f'<script type="module" src="/{n}"></script>' for n in names[:3] if n.endswith(".js"))
    (build / "index.html").write_text(
        f"<!doctype html><html><head>{scripts}</head><body><div id=root></div></body></html>\n"
    )
    return build


def change_index(build: Path, n: int) -> None:
    index = build / "index.html"
    index.write_text(index.read_text() + f"<!-- build {n} -->\n")


def client_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, **emu.client_env(), "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


def s3_client(emu: Emulator):
    return aws_clients(emu.client_env(), region=REGION)("s3")


def make_sync_bucket(emu: Emulator, name: str) -> None:
    """A bucket made the way the static_site role makes the site bucket: versioned, SSE-S3."""
    s3 = s3_client(emu)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def deploy_frontend(emu: Emulator) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as summary_file:
        argv = ["deploy", "--env", "local", "--endpoint-url", emu.url, "--layers", "frontend"]
        argv += ["--summary-file", summary_file.name, "-e", f"webstack_project={PROJECT}"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = cli.main(argv)
        summary = json.loads(Path(summary_file.name).read_text())
    if rc != 0:
        raise SystemExit(f"deploy --layers frontend failed: {json.dumps(summary, indent=2)}")
    return summary


def timed(argv: list[str], env: dict, profile: Path | None = None) -> float:
    if profile is not None:
        argv = ["py-spy", "record", "-r", "100", "-f", "raw", "-o", str(profile), "--", *argv]
        env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed (rc={done.returncode}):\n{done.stderr[-3000:]}")
    return took


def empty_site_bucket(emu: Emulator) -> None:
    """Every version and delete marker out of the site bucket: the next publish is a first one."""
    s3 = s3_client(emu)
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{PROJECT}-local-site-")):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def run_once(
    emu: Emulator, aws: Path, build: Path, n: int, samples: int, profile: Path | None, ansible: int
) -> dict[str, list]:
    """Each case `samples` times, sync and publish taking turns, so that both meet the same moments
    of a shared machine's load: the first upload (into a new sync bucket and an emptied site
    bucket), no change, index.html changed."""
    env = client_env(emu)
    publish = [sys.executable, str(REPO / "runner.py"), "publish", "--env", "local", "--endpoint-url", emu.url]
    publish += ["--build-dir", str(build), "-e", f"webstack_project={PROJECT}", "--summary-file", os.devnull]
    figures: dict[str, list] = {}
    for label in ["first", "no change", "index.html changed"]:
        for sample in range(samples):
            if label == "first":
                sync_bucket = f"bench-sync-{n}-{sample}-{int(time.time())}"
                make_sync_bucket(emu, sync_bucket)
                empty_site_bucket(emu)
                sync = [str(aws), "s3", "sync", str(build), f"s3://{sync_bucket}", "--endpoint-url", emu.url]
                sync += ["--only-show-errors"]
            if label == "index.html changed":
                change_index(build, n * 1000 + sample)
            figures.setdefault(f"sync {label}", []).append(timed(sync, env))
            out = profile / f"publish-{n}-{label.replace(' ', '-')}-{sample}.txt" if profile else None
            figures.setdefault(f"publish {label}", []).append(timed(publish, env, out))
    # The playbook route (--ansible, what AWX runs): the same release, Ansible's start-up added.
    for label in ["no change", "index.html changed"][: 2 if ansible else 0]:
        for sample in range(ansible):
            if label == "index.html changed":
                change_index(build, n * 1000 + 500 + sample)
            figures.setdefault(f"sync {label} (--ansible)", []).append(timed(sync, env))
            figures.setdefault(f"publish {label} (--ansible)", []).append(timed([*publish, "--ansible"], env))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mib", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=1, help="new builds, each published first and then sampled")
    parser.add_argument("--samples", type=int, default=5, help="runs of no change and of index.html changed")
    parser.add_argument("--profile", type=Path, help="record each publish with py-spy into this directory")
    parser.add_argument("--ansible", type=int, default=0, metavar="N", help="also N runs of each through the playbook")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    aws = awscli()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="webstack-bench-publish-") as tmp, Emulator.ephemeral() as emu:
        started = time.monotonic()
        deploy_frontend(emu)
        deployed = time.monotonic() - started
        for n in range(args.repeat):
            # A new build each repeat: a first publish is a build the bucket has never seen.
            build = make_build(Path(tmp) / str(n), args.files, args.mib, seed=11 + n)
            for key, values in run_once(emu, aws, build, n, args.samples, args.profile, args.ansible).items():
                results.setdefault(key, []).extend(values)
            shutil.rmtree(build)

    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores  Python {platform.python_version()}  "
        f"awscli {AWSCLI_VERSION}  build: {args.files} files, {args.mib} MiB  repeats: {args.repeat}  "
        f"samples: {args.samples}  load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"(seconds, median of the runs, each a fresh process; moto on loopback; frontend deployed in {deployed:.1f} s)"
    )
    print(f"{'':30}  {'aws s3 sync':>11}  {'publish':>8}  {'ratio':>6}  target")
    rows = [("first", 0.5), ("no change", 1.0), ("index.html changed", 1.0)]
    if args.ansible:
        rows += [("no change (--ansible)", 1.0), ("index.html changed (--ansible)", 1.0)]
    for label, target in rows:
        sync = statistics.median(results[f"sync {label}"])
        publish = statistics.median(results[f"publish {label}"])
        ratio = publish / sync
        verdict = "met" if ratio <= target else "NOT met"
        pairs = zip(results[f"sync {label}"], results[f"publish {label}"], strict=True)
        runs = "  ".join(f"{a:.1f}/{b:.1f}" for a, b in pairs)
        print(f"{label:30}  {sync:11.2f}  {publish:8.2f}  {ratio:5.2f}x  <= {target}x {verdict}   (runs: {runs})")


if __name__ == "__main__":
    main()
