"""`publish` and `rollback` without the playbook's start-up: the inputs the playbooks resolve, given to
the same release library (the collection's module_utils/spa_release.py) the s3_spa_release module
calls."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

# Ansible's reading of a boolean setting. Imported before collection_module_utils installs Ansible's
# collection loader, which would first read ansible.builtin's 370 KB routing table (0.1 s).
from ansible.module_utils.parsing.convert_bool import boolean

from webstack.emulator import answers, is_loopback_url
from webstack.home import collection_module_utils
from webstack.layers import NO_ANSWER, LayerResult, Progress, Target, aws_clients, retries
from webstack.settings import Unresolved, resolve_remembered

VIA_ANSIBLE_HELP = (
    "run the playbook (playbooks/<command>.yml, as AWX does) instead of calling the release library "
    "directly; the same release either way, Ansible's start-up added"
)


# What the release reads: the static_site role's settings (and the cdn role's names, by which the
# distribution is found), resolved as publish.yml / rollback.yml resolve them.
RELEASE_SETTINGS = [
    "webstack_region",
    "webstack_require_endpoint",
    "static_site_project",
    "static_site_environment",
    "static_site_bucket_name",
    "static_site_distribution_id",
    "static_site_keep_releases",
    "static_site_invalidation_wait",
    "static_site_invalidation_wait_timeout",
    "static_site_release",
    "cdn_project",
    "cdn_environment",
]


def _playbook_asked(args) -> bool:
    """--ansible, --tags or raw ansible-playbook arguments: only the playbook can honour them."""
    return bool(args.ansible or args.tags or args.ansible_args)


def _release_values(args, target: Target, extravars: dict) -> dict | None:
    """The settings publish.yml / rollback.yml resolve (the roles' defaults, group_vars, the
    inventory, -e), resolved by Ansible, or None when the playbook must run: _playbook_asked,
    vault or @file variables, a value Ansible cannot resolve without them, an endpoint preflight
    would refuse."""
    if _playbook_asked(args):
        return None
    try:
        values = resolve_remembered(args.env, extravars, RELEASE_SETTINGS, roles=("static_site", "cdn"))
    except Unresolved:
        return None
    endpoint = target.env.get("AWS_ENDPOINT_URL")
    if values.get("webstack_require_endpoint") and not (endpoint and is_loopback_url(endpoint)):
        return None
    return values


def _scan_meanwhile(spa_release, command: str, extravars: dict):
    """publish: a future of the build's files, hashed on another thread while Ansible resolves the
    settings (hashlib lets go of the interpreter while it reads the build's bytes)."""
    if command != "publish":
        return None
    pool = ThreadPoolExecutor(max_workers=1)
    scanned = pool.submit(spa_release.scan_build, extravars["static_site_build_dir"])
    pool.shutdown(wait=False)
    return scanned


def _release(spa_release, client, values: dict, extravars: dict, command: str, keep: int, scanned) -> tuple[dict, dict]:
    """find_site, then publish or rollback; a publish reads the bucket's listing and manifest
    while the bucket is checked and the distribution found."""
    import gc

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
            wait=boolean(values["static_site_invalidation_wait"], strict=False),
            wait_timeout=int(values["static_site_invalidation_wait_timeout"]),
        )
        if command == "publish":
            build_dir = extravars["static_site_build_dir"]
            return site, spa_release.publish(
                s3, cloudfront, bucket, build_dir, keep_releases=keep, state=state, scanned=scanned, **common
            )
        to = values["static_site_release"] or None
        return site, spa_release.rollback(s3, cloudfront, bucket, to=to, **common)


def release_direct(args, target: Target, extravars: dict) -> LayerResult | None:
    """publish / rollback without the playbook's start-up (issue 11): the same inputs the playbook
    resolves -- the static_site settings, the bucket and the distribution found the roles' way
    (spa_release.find_site) -- given to the same library the s3_spa_release module calls, so the
    release, its headers, manifest and invalidation are the same. None when the playbook must
    run (see _release_values)."""
    if _playbook_asked(args):  # before the build is hashed for a release the playbook makes
        return None
    spa_release = collection_module_utils("spa_release")
    scanned = _scan_meanwhile(spa_release, args.command, extravars)
    values = _release_values(args, target, extravars)
    if values is None:
        return None
    endpoint = target.env.get("AWS_ENDPOINT_URL")

    import gc

    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    line = collection_module_utils("progress_lines").result_line

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
        config = Config(retries=retries(), **spa_release.CLIENT_CONFIG)
        client = aws_clients(target.env, config, region=values["webstack_region"], botocore_session=core)
        site, release = _release(spa_release, client, values, extravars, command, int(keep), scanned)
    except (spa_release.ReleaseError, ClientError, BotoCoreError) as exc:
        took = time.monotonic() - started
        result.failures = [str(exc)]
        say(f"{line(command, 'FAILED', task, took)}\n    {exc}")
        result.status, result.rc = "failed", 2
        result.hosts = {"localhost": {"ok": 0, "changed": 0, "failed": 1, "skipped": 0, "unreachable": 0}}
        result.duration_s = round(took, 1)
        return result
    # Nor at exit, where Python's last collections would walk them all (a fifth of a no-op publish).
    gc.freeze()
    took = time.monotonic() - started
    say(line(command, "changed" if release["changed"] else "ok", task, took))
    reported = {key: release[key] for key in spa_release.REPORTED[command]}
    result.outputs = {**site["outputs"], "static_site_release": reported}
    result.status, result.rc, result.duration_s = "successful", 0, round(took, 1)
    result.hosts = {
        "localhost": {"ok": 1, "changed": int(bool(release["changed"])), "failed": 0, "skipped": 0, "unreachable": 0}
    }
    return result
