"""The stack's own resources picked by their identity tags (plugins/filter/tags.py,
plugins/test/tags.py over module_utils/aws_names.carries_tags), as the dns role picks its alias
targets out of what the info modules list."""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.filter.tags import FilterModule
from ansible_collections.webstack.aws.plugins.test import tags as tag_tests

tagged = FilterModule().filters()["tagged"]
carrying_tags = tag_tests.TestModule().tests()["carrying_tags"]

IDENTITY = {"Project": "shop", "Environment": "prod", "ManagedBy": "webstack"}


def test_only_resources_carrying_every_identity_tag_are_picked_in_their_order():
    ours = {"Id": "E1", "Tags": {**IDENTITY, "Name": "site"}}
    other_env = {"Id": "E2", "Tags": {**IDENTITY, "Environment": "dev"}}
    untagged = {"Id": "E3", "Tags": {}}
    no_tags_key = {"Id": "E4"}
    also_ours = {"Id": "E5", "Tags": dict(IDENTITY)}
    found = tagged([other_env, ours, untagged, no_tags_key, also_ours], IDENTITY)
    assert [d["Id"] for d in found] == ["E1", "E5"]
    assert tagged(None, IDENTITY) == []


def test_amazon_aws_info_modules_lower_case_tags_are_read_by_key():
    albs = [{"load_balancer_name": "a", "tags": dict(IDENTITY)}, {"load_balancer_name": "b", "Tags": dict(IDENTITY)}]
    assert [alb["load_balancer_name"] for alb in tagged(albs, IDENTITY, "tags")] == ["a"]


def test_tag_values_compare_as_text_as_aws_keeps_them():
    assert carrying_tags(
        {"Project": "2026", "Environment": "prod", "ManagedBy": "webstack"}, {**IDENTITY, "Project": 2026}
    )
    assert not carrying_tags({"Project": "shop", "Environment": "prod"}, IDENTITY)
    assert not carrying_tags(None, IDENTITY)
    assert carrying_tags({"Any": "thing"}, {})
