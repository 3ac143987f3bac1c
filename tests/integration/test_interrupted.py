"""A whole-site deploy stopped three times, at the moments that matter, then finished: it makes
exactly what one uninterrupted deploy makes, and nothing runner.py started lives on. A stack of its
own (its own project and domain), so it runs on a worker of its own beside the shared site."""

from __future__ import annotations

import signal

from tests.census import capture
from tests.faults import FaultProxy
from tests.interruptions import interrupted, made
from tests.support import assert_ok, assert_unchanged

OTHER = {"webstack_project": "t-killed", "webstack_domain": "t-killed.local.test"}


def test_a_deploy_interrupted_three_times_then_finished_makes_what_one_deploy_makes(stack, aws):
    """The deploy is stopped early (Ctrl-C, while the network is built), in the middle (SIGTERM,
    once the origin access control exists and the database is on its way) and late (SIGKILL of
    runner.py's whole process group, between the launch template and its tags); each time nothing
    runner.py started lives on. A fourth run finishes through the fault proxy. A destroy killed
    half-way and run again leaves nothing. Then an uninterrupted deploy of the same site is the
    reference: the census of what it made equals what the four interrupted runs made."""
    before = capture(aws)
    try:
        for task, how in [
            ("Ensure the VPC exists", signal.SIGINT),
            ("Ensure the origin access control that signs requests to the bucket exists", signal.SIGTERM),
            ("Ensure the launch template requires IMDSv2, encrypts its volume and has no public IP", signal.SIGKILL),
        ]:
            interrupted(stack.emulator.url, "deploy", OTHER, task, how)
        with FaultProxy(stack.emulator.url, share=0.1) as faults:
            assert_ok(stack.deploy(extra=OTHER, endpoint=faults.url))
        after_interruptions = made(capture(aws), before)
    finally:
        interrupted(
            stack.emulator.url, "destroy", OTHER, "Remove the Auto Scaling groups and their instances", signal.SIGKILL
        )
        assert_ok(stack.destroy(extra=OTHER))
    assert_unchanged(aws, before)
    try:
        assert_ok(stack.deploy(extra=OTHER))
        assert made(capture(aws), before) == after_interruptions
    finally:
        assert_ok(stack.destroy(extra=OTHER))
    assert_unchanged(aws, before)
