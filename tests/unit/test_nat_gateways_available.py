"""webstack.aws.ec2_vpc_nat_gateways_available's wait: every gateway polled together until all are
available; a failed or missing one ends it at once with the reason; the timeout names the ones
still pending (a fake EC2 client and clock: no AWS, no sleeping)."""

from __future__ import annotations

import pytest

from ansible_collections.webstack.aws.plugins.modules import ec2_vpc_nat_gateways_available as nat


class FakeEC2:
    """Answers describe_nat_gateways from a script of {id: state} reads, the last one repeated."""

    def __init__(self, *reads: dict[str, str], failure: str = ""):
        self.reads = list(reads)
        self.calls: list[list[str]] = []
        self.failure = failure

    def describe_nat_gateways(self, NatGatewayIds, aws_retry=False):
        self.calls.append(list(NatGatewayIds))
        read = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        gateways = [{"NatGatewayId": i, "State": s, "FailureMessage": self.failure} for i, s in read.items()]
        return {"NatGateways": gateways}


class Clock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_all_gateways_are_waited_for_together_until_each_is_available():
    ec2 = FakeEC2(
        {"nat-a": "pending", "nat-b": "pending"},
        {"nat-a": "available", "nat-b": "pending"},
        {"nat-a": "available", "nat-b": "available"},
    )
    clock = Clock()
    found = nat.wait(ec2, ["nat-a", "nat-b"], 600, 5, sleep=clock.sleep, clock=clock)
    assert {i: g["State"] for i, g in found.items()} == {"nat-a": "available", "nat-b": "available"}
    assert ec2.calls == [["nat-a", "nat-b"]] * 3  # one read for both, each time
    assert clock.slept == [5, 5]


def test_a_failed_gateway_ends_the_wait_at_once_with_its_reason():
    ec2 = FakeEC2({"nat-a": "available", "nat-b": "failed"}, failure="Elastic IP address is already associated")
    clock = Clock()
    with pytest.raises(ValueError, match=r"nat-b: failed \(Elastic IP address is already associated\)"):
        nat.wait(ec2, ["nat-a", "nat-b"], 600, 5, sleep=clock.sleep, clock=clock)
    assert clock.slept == []


def test_a_missing_gateway_is_named():
    with pytest.raises(ValueError, match="nat-b: not found"):
        nat.wait(FakeEC2({"nat-a": "pending"}), ["nat-a", "nat-b"], 600, 5, sleep=Clock().sleep, clock=Clock())


def test_the_timeout_names_the_gateways_still_pending():
    clock = Clock()
    ec2 = FakeEC2({"nat-a": "available", "nat-b": "pending"})
    with pytest.raises(ValueError, match=r"still pending after 30 s: nat-b$"):
        nat.wait(ec2, ["nat-a", "nat-b"], 30, 10, sleep=clock.sleep, clock=clock)
    assert clock.now <= 30
