"""`publish` and `rollback` without Ansible's start-up: the inputs the playbooks resolve, given to
the same release library (the collection's module_utils/spa_release.py) the s3_spa_release module
calls."""

from __future__ import annotations

import json
import time

import yaml

from webstack.emulator import answers, is_loopback_url
from webstack.home import COLLECTION, collection_module_utils, stack_settings
from webstack.layers import NO_ANSWER, LayerResult, Progress, Target, retries

VIA_ANSIBLE_HELP = (
    "run the playbook (playbooks/<command>.yml, as AWX does) instead of calling the release library "
    "directly; the same release either way, Ansible's start-up added"
)


def _release_values(args, target: Target, extravars: dict) -> dict | None:
    """The settings publish.yml / rollback.yml resolve (group_vars, the inventory, -e, the
    static_site role's defaults), or None when a value needs Ansible or preflight would refuse."""
    if args.ansible or args.tags or args.ansible_args:
        return None
    role = yaml.safe_load((COLLECTION / "roles" / "static_site" / "defaults" / "main.yml").read_text())
    settings = {**stack_settings(args.env, args.vars), **extravars}
    project, environment = settings["webstack_project"], settings["webstack_environment"]
    values = {"static_site_project": project, "static_site_environment": environment}
    values.update(cdn_project=project, cdn_environment=environment, webstack_region=settings["webstack_region"])
    names = ["static_site_bucket_name", "static_site_distribution_id", "static_site_keep_releases"]
    waits = ["static_site_invalidation_wait", "static_site_invalidation_wait_timeout"]
    for name in [*names, *waits, "static_site_release", *values]:
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

    from ansible.module_utils.parsing.convert_bool import boolean  # Ansible's reading of a boolean setting

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
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    spa_release = collection_module_utils("spa_release")
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
