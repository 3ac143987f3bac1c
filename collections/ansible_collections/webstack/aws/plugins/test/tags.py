"""Whether a resource's tags make it the stack's own (module_utils/aws_names.carries_tags)."""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import carries_tags


class TestModule:
    def tests(self):
        return {"carrying_tags": carries_tags}
