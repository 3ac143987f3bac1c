"""Jinja tests for validating network input before any AWS call."""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.filter.network import is_cidr


class TestModule:
    def tests(self):
        return {"cidr": is_cidr}
