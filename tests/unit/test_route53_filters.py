"""Whose alias records are at the stack's names (plugins/filter/route53.py), as the dns role tells
its own records from someone else's before it overwrites (present) or deletes (absent) one."""

from __future__ import annotations

import pytest

from ansible_collections.webstack.aws.plugins.filter.route53 import FilterModule

filters = FilterModule().filters()
alias_records, record_summary = filters["alias_records"], filters["record_summary"]

CLOUDFRONT = "Z2FDTNDATAQYW2"
ALB_ZONE = "ZWKZPGTI48KDX"
OURS_CF, THEIRS_CF, GONE_CF = "d1ours.cloudfront.net", "d2theirs.cloudfront.net", "d3gone.cloudfront.net"
OURS_ALB = "shop-prod-alb-1.ap-northeast-2.elb.amazonaws.com"
THEIRS_ALB = "other-alb-9.ap-northeast-2.elb.amazonaws.com"


def alias(name, kind, target, zone=CLOUDFRONT):
    return {
        "Name": f"{name}.",
        "Type": kind,
        "AliasTarget": {"HostedZoneId": zone, "DNSName": f"{target}.", "EvaluateTargetHealth": False},
    }


def address(name, value="192.0.2.10"):
    return {"Name": f"{name}.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": value}]}


def names(records):
    return [(r["Name"], r["Type"]) for r in records]


def test_site_records_pointing_at_the_stacks_or_a_vanished_distribution_are_ours_others_theirs():
    sets = [
        alias("example.com", "A", OURS_CF.upper()),  # compared without case and trailing dot
        alias("example.com", "AAAA", GONE_CF),  # the stack's, left behind by a replaced distribution
        alias("www.example.com", "A", THEIRS_CF),  # someone else's distribution
        address("www.example.com"),  # an address record is never the stack's
        alias("www.example.com", "AAAA", "bucket.s3-website.eu-west-1.amazonaws.com", zone="Z1BKCTXD74EZPE"),
        alias("mail.example.com", "A", OURS_CF),  # not at a name asked about
        {"Name": "example.com.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"v=spf1 -all"'}]},
    ]
    split = alias_records(sets, ["example.com", "www.example.com"], "cloudfront", [OURS_CF], [THEIRS_CF])
    assert names(split["ours"]) == [("example.com.", "A"), ("example.com.", "AAAA")]
    assert names(split["theirs"]) == [
        ("www.example.com.", "A"),
        ("www.example.com.", "A"),
        ("www.example.com.", "AAAA"),
    ]


def test_without_a_listing_only_the_stacks_own_target_is_ours():
    sets = [alias("example.com", "A", OURS_CF), alias("example.com", "AAAA", GONE_CF)]
    split = alias_records(sets, ["example.com"], "cloudfront", [OURS_CF], None)
    assert names(split["ours"]) == [("example.com.", "A")]
    assert names(split["theirs"]) == [("example.com.", "AAAA")]


def test_api_records_must_alias_a_load_balancer_of_the_region():
    sets = [
        alias("api.example.com", "A", f"dualstack.{OURS_ALB}", zone=ALB_ZONE),
        alias("api.example.com", "AAAA", f"dualstack.{THEIRS_ALB}", zone=ALB_ZONE),
    ]
    split = alias_records(sets, ["api.example.com"], "elb", [OURS_ALB], [THEIRS_ALB], "ap-northeast-2")
    assert names(split["ours"]) == [("api.example.com.", "A")]
    assert names(split["theirs"]) == [("api.example.com.", "AAAA")]
    # Another region's load balancer is not in the region's listing: never taken for a vanished one.
    elsewhere = [alias("api.example.com", "A", "x-1.eu-west-1.elb.amazonaws.com", zone="Z32O12XQLNTSW2")]
    assert alias_records(elsewhere, ["api.example.com"], "elb", [OURS_ALB], [], "ap-northeast-2")["ours"] == []
    assert alias_records(elsewhere, ["api.example.com"], "elb", [OURS_ALB], [], "")["ours"] == elsewhere


def test_a_summary_names_what_a_record_points_at_and_a_bad_kind_is_refused():
    assert record_summary(alias("www.example.com", "AAAA", THEIRS_CF)) == f"AAAA www.example.com -> {THEIRS_CF}"
    assert record_summary(address("example.com")) == "A example.com -> 192.0.2.10"
    with pytest.raises(ValueError, match="kind"):
        alias_records([], ["example.com"], "s3", [], [])
