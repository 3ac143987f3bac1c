"""Whose alias records are at the stack's names. The dns role writes alias A and AAAA records
(api.<domain> -> its load balancer, <domain> and www.<domain> -> its distribution) and must neither
overwrite nor delete a record there that is someone else's. Route 53 records carry no tags, so a
record is judged by what it points at:

record_sets | webstack.aws.alias_records(names, 'cloudfront', stack_targets, other_targets)
    -> {'ours': [...], 'theirs': [...]}   (the A and AAAA records at those names)
"""

from __future__ import annotations

import re

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import CLOUDFRONT_HOSTED_ZONE_ID, normalize_name

KINDS = ("cloudfront", "elb")


def target_name(dns_name: str) -> str:
    """An alias target compared: lower case, no trailing dot, no `dualstack.` (the roles point at
    the load balancer's dualstack name, the info modules list its plain one)."""
    name = normalize_name(dns_name)
    return name[len("dualstack.") :] if name.startswith("dualstack.") else name


def _of_kind(alias: dict, kind: str, region: str) -> bool:
    """An alias to a CloudFront distribution, or to an Application Load Balancer of the region."""
    if kind == "cloudfront":
        return alias.get("HostedZoneId") == CLOUDFRONT_HOSTED_ZONE_ID
    where = re.escape(region.lower()) if region else r"[a-z0-9-]+"
    return re.search(rf"\.{where}\.elb\.amazonaws\.com$", target_name(alias.get("DNSName"))) is not None


def _is_ours(record: dict, kind: str, stack: set, other: set | None, region: str) -> bool:
    alias = record.get("AliasTarget")
    if not alias or not _of_kind(alias, kind, region):
        return False  # an address record, or an alias to something the stack never points at
    target = target_name(alias.get("DNSName"))
    if target in stack:
        return True
    if other is None:
        return False  # the targets that exist were not listed: whose it is cannot be told
    return target not in other  # a target that exists no more: the stack's record left behind


def alias_records(record_sets, names, kind: str, stack_targets, other_targets=None, region: str = "") -> dict:
    """The A and AAAA records at `names` split into the stack's and someone else's.

    kind: `cloudfront` (the site names) or `elb` (the api name). stack_targets: the DNS names of the
    stack's targets (those carrying its tags). other_targets: the DNS names of every other target of
    that kind that exists (every distribution; every load balancer of the region), or None when they
    were not listed. A record is the stack's when it is an alias of that kind pointing at one of the
    stack's targets, or (other_targets listed) at one that no longer exists; any other record there
    (an address record, an alias to another kind of target, to someone else's target, or to one
    nobody listed) is someone else's.
    """
    if kind not in KINDS:
        raise ValueError(f"alias_records: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    wanted = {normalize_name(name) for name in names or []}
    stack = {target_name(target) for target in stack_targets or [] if target}
    other = None if other_targets is None else {target_name(target) for target in other_targets}
    split: dict[str, list] = {"ours": [], "theirs": []}
    for record in record_sets or []:
        if record.get("Type") in ("A", "AAAA") and normalize_name(record.get("Name")) in wanted:
            split["ours" if _is_ours(record, kind, stack, other, region) else "theirs"].append(record)
    return split


def record_summary(record: dict) -> str:
    """`A www.example.com -> d111.cloudfront.net` (alias) or `A example.com -> 192.0.2.10` (address)."""
    alias = record.get("AliasTarget")
    points_at = (
        normalize_name(alias.get("DNSName"))
        if alias
        else ", ".join(value.get("Value", "") for value in record.get("ResourceRecords") or [])
    )
    return f"{record.get('Type')} {normalize_name(record.get('Name'))} -> {points_at}"


class FilterModule:
    def filters(self):
        return {"alias_records": alias_records, "record_summary": record_summary}
