"""Imported by every Python that a run against the embedded emulator starts (the emulator's client
environment puts this folder on PYTHONPATH and sets WEBSTACK_EMULATOR_PAUSE_S).

amazon.aws and community.aws modules pause for fixed times so that AWS's eventual consistency can
settle: ec2_security_group 3 s after creating a group, ec2_vpc_route_table 5 s after any change,
autoscaling_group 10 s between polls. The emulator is consistent at once, so there those pauses are
cut to WEBSTACK_EMULATOR_PAUSE_S seconds. Only sleeps called from a module's own code are cut:
botocore's retry backoff and waiters, Ansible's until/delay loops and everything else sleep as asked.
"""

import os
import sys
import time

_MODULES = ("/amazon/aws/plugins/modules/", "/community/aws/plugins/modules/")


def _cut_module_pauses(cap: float) -> None:
    sleep = time.sleep

    def pause(seconds: float) -> None:
        caller = sys._getframe(1).f_code.co_filename
        sleep(min(seconds, cap) if any(part in caller for part in _MODULES) else seconds)

    time.sleep = pause


if os.environ.get("WEBSTACK_EMULATOR_PAUSE_S"):
    _cut_module_pauses(float(os.environ["WEBSTACK_EMULATOR_PAUSE_S"]))
