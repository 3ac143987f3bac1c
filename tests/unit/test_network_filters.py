"""The address arithmetic behind the network role's subnet plan."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webstack.aws.plugins.filter.network import cidr_subnet, is_cidr


@pytest.mark.parametrize(
    ("prefix", "newbits", "netnum", "expected"),
    [
        ("10.20.0.0/16", 4, 0, "10.20.0.0/20"),
        ("10.20.0.0/16", 4, 1, "10.20.16.0/20"),
        ("10.20.0.0/16", 4, 8, "10.20.128.0/20"),
        ("10.20.0.0/16", 8, 255, "10.20.255.0/24"),
        ("192.168.0.0/24", 4, 3, "192.168.0.48/28"),
    ],
)
def test_cidr_subnet_matches_terraform(prefix, newbits, netnum, expected):
    assert cidr_subnet(prefix, newbits, netnum) == expected


@pytest.mark.parametrize(
    ("prefix", "newbits", "netnum", "message"),
    [
        ("10.20.0.0/16", 4, 16, "outside 0..15"),
        ("10.20.0.0/30", 4, 0, "no room"),
        ("10.20.0.1/16", 4, 0, "not a network CIDR"),
        ("ten/16", 4, 0, "not a network CIDR"),
    ],
)
def test_cidr_subnet_rejects_what_does_not_fit(prefix, newbits, netnum, message):
    with pytest.raises(AnsibleFilterError, match=message):
        cidr_subnet(prefix, newbits, netnum)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.0.0.0/0", True), ("::/0", True), ("10.0.0.0/8", True), ("10.0.0.1/8", False), ("everyone", False)],
)
def test_is_cidr(value, expected):
    assert is_cidr(value) is expected
