"""The dns layer against the test run's moto server: a load balancer (boto3, in a make_network VPC)
and a CloudFront distribution (boto3), both tagged like the stack's; the certificates layer gives
the zone and the certificates. Every alias record, A and AAAA, points at the right target and zone
id; re-runs change nothing; check mode writes nothing; a missing target is skipped; names the
certificates do not cover fail first; absent removes only the stack's records. Bad input:
tests/integration/test_bad_input.py."""

from __future__ import annotations

import uuid

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, identity_tags, make_network

PROJECT = "t-dns"
DOMAIN = "t-dns.local.test"
# www on, as prod has it (webstack_include_www), so all six records are exercised.
BASE = {"webstack_project": PROJECT, "webstack_domain": DOMAIN, "dns_create_zone": True, "webstack_include_www": True}
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"


def make_alb(aws, project: str, cidr: str) -> dict:
    network = make_network(aws, project, cidr)
    elbv2 = aws("elbv2")
    return elbv2.create_load_balancer(
        Name=f"{project}-local-alb",
        Subnets=network["public_subnet_ids"],
        SecurityGroups=[network["security_group_ids"]["alb"]],
        Scheme="internet-facing",
        Type="application",
        Tags=[*identity_tags(project), {"Key": "Name", "Value": f"{project}-local-alb"}],
    )["LoadBalancers"][0]


def make_distribution(aws, project: str) -> dict:
    config = {
        "CallerReference": uuid.uuid4().hex,
        "Comment": project,
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {"Id": "site", "DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
    tags = [*identity_tags(project), {"Key": "Name", "Value": f"{project}-local-cdn"}]
    return aws("cloudfront", "us-east-1").create_distribution_with_tags(
        DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": tags}}
    )["Distribution"]


def zone_id(aws, domain: str = DOMAIN) -> str:
    (zone,) = [z for z in aws("route53").list_hosted_zones()["HostedZones"] if z["Name"] == domain + "."]
    return zone["Id"].split("/")[-1]


def records(aws, domain: str = DOMAIN) -> dict[tuple[str, str], dict]:
    sets = aws("route53").list_resource_record_sets(HostedZoneId=zone_id(aws, domain))["ResourceRecordSets"]
    return {(r["Name"], r["Type"]): r for r in sets}


def aliases(aws, domain: str = DOMAIN) -> dict[tuple[str, str], dict]:
    return {key: r["AliasTarget"] for key, r in records(aws, domain).items() if "AliasTarget" in r}


@pytest.fixture(scope="module")
def targets(stack, aws):
    assert_ok(stack.deploy(layers="certificates", extra=BASE))
    alb = make_alb(aws, PROJECT, "10.61.0.0/16")
    distribution = make_distribution(aws, PROJECT)
    yield {"alb": alb, "distribution": distribution}
    stack.destroy(layers="dns", extra=BASE)
    stack.destroy(layers="certificates", extra=BASE)


@pytest.fixture(scope="module")
def plan(stack, targets, aws):
    unplanned = capture(aws)
    summary = assert_ok(stack.plan(layers="dns", extra=BASE))
    assert_unchanged(aws, unplanned)
    return summary


@pytest.fixture(scope="module")
def deployed(stack, targets, plan):
    return assert_ok(stack.deploy(layers="dns", extra=BASE))


def test_check_mode_reports_the_records_and_writes_none(plan, aws):
    assert changed(plan) > 0
    assert aliases(aws) == {}


def test_api_points_at_the_load_balancer_with_its_own_zone_id(deployed, targets, aws):
    alb = targets["alb"]
    found = aliases(aws)
    for kind in ("A", "AAAA"):
        target = found[(f"api.{DOMAIN}.", kind)]
        assert target["DNSName"].rstrip(".") == f"dualstack.{alb['DNSName'].lower()}"
        assert target["HostedZoneId"] == alb["CanonicalHostedZoneId"]
        assert target["EvaluateTargetHealth"] is True


def test_site_and_www_point_at_cloudfront(deployed, targets, aws):
    domain_name = targets["distribution"]["DomainName"]
    found = aliases(aws)
    for name in (f"{DOMAIN}.", f"www.{DOMAIN}."):
        for kind in ("A", "AAAA"):
            target = found[(name, kind)]
            assert target["DNSName"].rstrip(".") == domain_name
            assert target["HostedZoneId"] == CLOUDFRONT_ZONE
            assert target["EvaluateTargetHealth"] is False
    assert len(found) == 6
    assert deployed["outputs"]["dns"]["site_url"] == f"https://{DOMAIN}"
    assert deployed["outputs"]["dns"]["api_url"] == f"https://api.{DOMAIN}"


def test_second_deploy_changes_nothing(deployed, stack, aws):
    converged = capture(aws)
    assert changed(assert_ok(stack.deploy(layers="dns", extra=BASE))) == 0
    assert_unchanged(aws, converged)


def test_a_name_the_certificate_does_not_cover_fails_before_writing(deployed, stack, aws, capsys):
    untouched = capture(aws)
    summary = stack.deploy(layers="dns", extra={**BASE, "dns_api_name": "admin"})
    assert summary["exit_code"] != 0
    err = capsys.readouterr().err
    assert "dns_api_name" in err and f"admin.{DOMAIN}" in err
    assert_unchanged(aws, untouched)


def test_records_of_a_missing_target_are_skipped_with_a_message(stack, aws, capsys):
    project, domain = "t-dns-api-only", "t-dns-api-only.local.test"
    alb = make_alb(aws, project, "10.62.0.0/16")
    extra = {**BASE, "webstack_project": project, "webstack_domain": domain}
    summary = assert_ok(stack.deploy(layers="dns", extra=extra))
    # runner.py prints one line per task that ran (skipped ones print nothing); debug says why.
    assert "ok       Say which records are skipped because their target is not deployed" in capsys.readouterr().err
    found = aliases(aws, domain)
    assert set(found) == {(f"api.{domain}.", "A"), (f"api.{domain}.", "AAAA")}
    assert found[(f"api.{domain}.", "A")]["HostedZoneId"] == alb["CanonicalHostedZoneId"]
    assert summary["outputs"]["dns"]["site_url"] == ""
    assert_ok(stack.destroy(layers="dns", extra=extra))
    assert aliases(aws, domain) == {}


def test_absent_removes_only_the_stacks_records(deployed, stack, aws):
    route53 = aws("route53")
    foreign = [
        {"Name": f"mail.{DOMAIN}.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]},
        {"Name": f"{DOMAIN}.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"v=spf1 -all"'}]},
    ]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id(aws),
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": r} for r in foreign]},
    )
    assert_ok(stack.destroy(layers="dns", extra=BASE))
    left = records(aws)
    assert not [key for key, r in left.items() if "AliasTarget" in r]
    assert (f"mail.{DOMAIN}.", "A") in left and (f"{DOMAIN}.", "TXT") in left
    assert [k for k in left if k[1] == "CNAME"], "the certificates' validation records are not the dns layer's"
    assert changed(assert_ok(stack.destroy(layers="dns", extra=BASE))) == 0  # a second destroy is a no-op
    # The certificates layer keeps the zone the stack created while foreign records are in it.
    assert_ok(stack.destroy(layers="certificates", extra=BASE))
    assert set(records(aws)) >= {(f"mail.{DOMAIN}.", "A"), (f"{DOMAIN}.", "TXT")}


def test_records_at_the_stacks_names_that_are_not_the_stacks_are_refused_and_left_as_they_were(stack, aws, capsys):
    """Route 53 records carry no tags: an address record at the apex and an alias at www to someone
    else's distribution are someone else's, so deploy fails naming dns_domain / dns_include_www
    before writing any record, and destroy keeps them. An alias to a distribution that exists no
    more is the stack's own record left behind: destroy removes it."""
    project, domain = "t-dns-foreign", "t-dns-foreign.local.test"
    route53, cloudfront = aws("route53"), aws("cloudfront", "us-east-1")
    alb = make_alb(aws, project, "10.63.0.0/16")
    ours, theirs = make_distribution(aws, project), make_distribution(aws, "someone-else")
    zone = route53.create_hosted_zone(Name=domain, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"].split("/")[-1]
    apex = {"Name": f"{domain}.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]}
    www = {
        "Name": f"www.{domain}.",
        "Type": "A",
        "AliasTarget": {
            "HostedZoneId": CLOUDFRONT_ZONE,
            "DNSName": theirs["DomainName"] + ".",
            "EvaluateTargetHealth": False,
        },
    }
    left_behind = {
        "Name": f"{domain}.",
        "Type": "AAAA",
        "AliasTarget": {
            "HostedZoneId": CLOUDFRONT_ZONE,
            "DNSName": "dgone0000.cloudfront.net.",
            "EvaluateTargetHealth": False,
        },
    }
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": r} for r in (apex, www, left_behind)]},
    )
    try:
        extra = {**BASE, "webstack_project": project, "webstack_domain": domain}
        summary = stack.deploy(layers="dns", extra=extra)
        assert summary["status"] == "failed"
        assert (
            f"dns_domain / dns_include_www: A {domain} -> 192.0.2.10, A www.{domain} -> {theirs['DomainName']} exist"
            " and point at something that is not this stack's; nothing was changed."
        ) in stack.output[-1]
        assert set(records(aws, domain)) == {(f"{domain}.", t) for t in ("SOA", "NS", "A", "AAAA")} | {
            (f"www.{domain}.", "A")
        }
        capsys.readouterr()
        assert_ok(stack.destroy(layers="dns", extra=extra))
        assert f"Keeping A {domain} -> 192.0.2.10, A www.{domain} -> {theirs['DomainName']}: not this stack's" in (
            capsys.readouterr().err
        )
        left = records(aws, domain)
        assert left[(f"{domain}.", "A")] == apex and left[(f"www.{domain}.", "A")]["AliasTarget"] == www["AliasTarget"]
        assert (f"{domain}.", "AAAA") not in left  # the stack's own record, left behind, is gone
        # Told to (a site moving onto the stack), deploy replaces them with the stack's aliases.
        assert_ok(stack.deploy(layers="dns", extra={**extra, "dns_allow_overwrite": True}))
        moved = records(aws, domain)
        for name in (f"{domain}.", f"www.{domain}."):
            assert moved[(name, "A")]["AliasTarget"]["DNSName"].rstrip(".") == ours["DomainName"]
    finally:
        kept = [r for key, r in records(aws, domain).items() if key[1] not in ("SOA", "NS")]
        if kept:
            route53.change_resource_record_sets(
                HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in kept]}
            )
        route53.delete_hosted_zone(Id=zone)
        aws("elbv2").delete_load_balancer(LoadBalancerArn=alb["LoadBalancerArn"])
        for distribution in (ours, theirs):
            current = cloudfront.get_distribution_config(Id=distribution["Id"])
            config = {**current["DistributionConfig"], "Enabled": False}
            etag = cloudfront.update_distribution(
                Id=distribution["Id"], DistributionConfig=config, IfMatch=current["ETag"]
            )
            cloudfront.delete_distribution(Id=distribution["Id"], IfMatch=etag["ETag"])
