#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ec2_vpc_nat_gateways_available
short_description: Wait until every one of several NAT gateways is available, all at once
version_added: 0.1.0
description:
  - Polls the NAT gateways in O(nat_gateway_ids) together until each is C(available), so that
    gateways created one after another without waiting (M(amazon.aws.ec2_vpc_nat_gateway) with
    C(wait=false)) become available side by side, 1.5-5 minutes each on AWS, instead of one after
    another. Changes nothing.
  - Fails at once when a gateway is C(failed), C(deleting) or C(deleted), with AWS's reason, and
    after O(wait_timeout) naming the gateways still pending.
  - In check mode it reads the gateways' states once and does not wait.
options:
  nat_gateway_ids:
    description: The NAT gateways to wait for.
    type: list
    elements: str
    required: true
  wait_timeout:
    description: Seconds to wait for all of them.
    type: int
    default: 600
  delay:
    description: Seconds between two reads of their states.
    type: int
    default: 5
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Wait until every NAT gateway is available
  webstack.aws.ec2_vpc_nat_gateways_available:
    nat_gateway_ids: "{{ created.results | map(attribute='nat_gateway_id') | list }}"
    wait_timeout: 600
"""

RETURN = r"""
nat_gateways:
  description: Each gateway's id and state when the module returned.
  returned: always
  type: list
  elements: dict
  contains:
    nat_gateway_id: {description: The gateway's id., type: str}
    state: {description: C(available) unless in check mode., type: str}
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402
import time  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402

GONE = ("failed", "deleting", "deleted")


def states(client, ids: list[str]) -> dict[str, dict]:
    found = client.describe_nat_gateways(NatGatewayIds=ids, aws_retry=True)["NatGateways"]
    return {gateway["NatGatewayId"]: gateway for gateway in found}


def wait(client, ids: list[str], timeout: float, delay: float, sleep=time.sleep, clock=time.monotonic) -> dict:
    """{id: gateway} once every gateway is available; ValueError naming the problem otherwise."""
    deadline = clock() + timeout
    while True:
        gateways = states(client, ids)
        missing = [i for i in ids if i not in gateways]
        gone = [gateways[i] for i in ids if gateways.get(i, {}).get("State") in GONE]
        if missing or gone:
            reasons = [f"{i}: not found" for i in missing]
            for gateway in gone:
                why = gateway.get("FailureMessage") or "no reason given"
                reasons.append(f"{gateway['NatGatewayId']}: {gateway['State']} ({why})")
            raise ValueError("NAT gateways will not become available: " + "; ".join(reasons))
        pending = [i for i in ids if gateways[i].get("State") != "available"]
        if not pending:
            return gateways
        if clock() + delay > deadline:
            raise ValueError(f"NAT gateways still pending after {timeout:g} s: {', '.join(pending)}")
        sleep(delay)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            nat_gateway_ids=dict(type="list", elements="str", required=True),
            wait_timeout=dict(type="int", default=600),
            delay=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    ids = module.params["nat_gateway_ids"]
    try:
        if not ids:
            gateways = {}
        elif module.check_mode:
            gateways = states(client, ids)
        else:
            gateways = wait(client, ids, module.params["wait_timeout"], max(module.params["delay"], 1))
    except ValueError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Could not read the NAT gateways")
    found = [{"nat_gateway_id": i, "state": gateways[i].get("State")} for i in ids if i in gateways]
    module.exit_json(changed=False, nat_gateways=found)


if __name__ == "__main__":
    main()
