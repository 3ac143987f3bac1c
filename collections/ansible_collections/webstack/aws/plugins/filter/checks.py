"""A role's input checks, reduced to the lines of those that fail: what every role's
tasks/validate.yml puts in its one assert.

_network_checks | webstack.aws.failed_checks
    -> ['network_az_count: must be a number from 2 to 6 (got 1)', ...]

Each check is {name, value, rule, valid}: `valid` is a template that Ansible renders when the
filter reads it (a boolean; a string is read as Ansible's `bool` filter reads one), `value` is
shown as JSON, as the `to_json` filter writes it.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.filter.core import to_json


def failed_checks(checks) -> list[str]:
    lines = []
    for check in checks:
        valid = check["valid"]
        if not (valid if isinstance(valid, bool) else boolean(valid, strict=False)):
            lines.append(f"{check['name']}: {check['rule']} (got {to_json(check['value'])})")
    return lines


class FilterModule:
    def filters(self):
        return {"failed_checks": failed_checks}
