"""A deploy stopped three times and then finished makes what one deploy makes, and nothing runner.py
started outlives it. Its reference is the census of the shared site's deploy (the same settings
under other names), published by tests/integration/test_site.py from another worker, so this file
runs beside that one instead of after it; run without the site test, it deploys a reference of
its own first."""

from __future__ import annotations

import signal

import pytest

from tests.census import capture
from tests.faults import FaultProxy
from tests.interruptions import interrupted, made, published_census
from tests.support import assert_ok, assert_unchanged

KILLED = {"webstack_project": "t-killed", "webstack_domain": "t-killed.local.test"}
REFERENCE = {"webstack_project": "t-reference", "webstack_domain": "t-reference.local.test"}
SITE_TESTS = "tests/integration/test_site.py::"


@pytest.fixture(scope="module")
def one_deploy(request, stack, aws, tmp_path_factory):
    """What one uninterrupted deploy makes: a function, so the wait for the site's census comes
    after this file's own runs (the site's deploy is well done by then)."""
    if any(item.nodeid.startswith(SITE_TESTS) for item in request.session.items):
        return lambda: published_census(tmp_path_factory)
    before = capture(aws)
    assert_ok(stack.deploy(extra=REFERENCE))
    census = made(capture(aws), before)
    assert_ok(stack.destroy(extra=REFERENCE))
    assert_unchanged(aws, before)
    return lambda: census


def test_a_deploy_interrupted_three_times_then_finished_makes_what_one_deploy_makes(one_deploy, stack, aws):
    """The deploy is stopped early (Ctrl-C, while the network is built), in the middle (SIGTERM,
    once the origin access control exists and the database is on its way) and late (SIGKILL of
    runner.py's whole process group, between the launch template and its tags); each time nothing
    runner.py started lives on. A fourth run finishes through a fault proxy, and the census of what
    the four runs made equals what one uninterrupted deploy makes. A destroy killed half-way and
    run again leaves nothing."""
    before = capture(aws)
    try:
        for task, how in [
            ("Ensure the VPC exists", signal.SIGINT),
            ("Ensure the origin access control that signs requests to the bucket exists", signal.SIGTERM),
            ("Ensure the launch template requires IMDSv2, encrypts its volume and has no public IP", signal.SIGKILL),
        ]:
            interrupted(stack.emulator.url, "deploy", KILLED, task, how)
        with FaultProxy(stack.emulator.url, share=0.1) as faults:
            assert_ok(stack.deploy(extra=KILLED, endpoint=faults.url))
        assert sum(faults.injected.values()) > 0
        assert made(capture(aws), before) == one_deploy()
    finally:
        interrupted(
            stack.emulator.url, "destroy", KILLED, "Remove the Auto Scaling groups and their instances", signal.SIGKILL
        )
        assert_ok(stack.destroy(extra=KILLED))
    assert_unchanged(aws, before)
