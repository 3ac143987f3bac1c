"""Address arithmetic the network role needs, without the netaddr dependency of ansible.utils."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def cidr_subnet(prefix: str, newbits: int, netnum: int) -> str:
    """Terraform's cidrsubnet(): the netnum-th subnet of prefix, newbits longer."""
    try:
        network = ipaddress.ip_network(prefix, strict=True)
    except ValueError as exc:
        raise AnsibleFilterError(f"cidr_subnet: {prefix!r} is not a network CIDR: {exc}") from exc
    new_prefix = network.prefixlen + int(newbits)
    if new_prefix > network.max_prefixlen:
        raise AnsibleFilterError(f"cidr_subnet: {prefix} has no room for {newbits} more bits")
    count = 2 ** int(newbits)
    if not 0 <= int(netnum) < count:
        raise AnsibleFilterError(
            f"cidr_subnet: netnum {netnum} is outside 0..{count - 1} for {prefix} + {newbits} bits"
        )
    size = 2 ** (network.max_prefixlen - new_prefix)
    first = int(network.network_address) + int(netnum) * size
    return str(ipaddress.ip_network((first, new_prefix)))


def is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return False
    return True


class FilterModule:
    def filters(self):
        return {"cidr_subnet": cidr_subnet}
