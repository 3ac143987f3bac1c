"""Jinja tests for where AWS calls may go.

webstack_aws_endpoint_url is webstack.aws.loopback_url -> an http(s) URL on this machine
"""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.module_utils.endpoint import is_loopback_url


class TestModule:
    def tests(self):
        return {"loopback_url": is_loopback_url}
