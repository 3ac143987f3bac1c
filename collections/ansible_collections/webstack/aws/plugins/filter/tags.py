"""Finding the stack's own resources in what an info module listed, by the stack's identity tags.

albs.load_balancers | webstack.aws.tagged(identity_tags, 'tags')        -> those carrying every tag
info.cloudfront.summary.distributions | webstack.aws.tagged(identity_tags) -> (their `Tags`)
zone_tags is webstack.aws.carrying_tags(identity_tags)                   -> true or false
"""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import carries_tags


def tagged(resources, wanted, key: str = "Tags") -> list:
    """The resources whose tags (under `key`: `Tags` as AWS names them, `tags` as amazon.aws's
    info modules do) hold every wanted tag, in their order."""
    return [resource for resource in resources or [] if carries_tags(resource.get(key), wanted)]


class FilterModule:
    def filters(self):
        return {"tagged": tagged}
