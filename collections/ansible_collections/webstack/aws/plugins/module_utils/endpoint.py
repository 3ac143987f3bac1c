# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where webstack's AWS calls may go.

The one definition of a loopback endpoint, for the playbooks' preflight (the test
webstack.aws.loopback_url), the molecule scenarios and runner.py (through emulator.py). Standard
library only: the Jinja test loads it in every task's worker, and runner.py without the AWS SDK.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_url(url) -> bool:
    """An http(s) URL on this machine: localhost, 127.0.0.0/8 or ::1, the host read as an address
    (a name like 127.evil.com could resolve anywhere)."""
    try:
        parts = urlsplit(str(url or ""))
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
