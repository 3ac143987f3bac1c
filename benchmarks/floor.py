#!/usr/bin/env python3
"""The floor a no-op deploy or plan is measured against: one Python process, started from the
shell (start-up and the boto3 import included), that describes every resource of the stack once,
in both regions the stack uses and the global services, with the test suite's census (every
resource type webstack creates, each with its own describe calls). Prints how many it read.

    .venv/bin/python benchmarks/floor.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3

from tests.census import capture
from webstack.emulator import FAKE_CREDENTIALS


def main(endpoint: str) -> None:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    )
    snapshot = capture(lambda service, region: session.client(service, region_name=region, endpoint_url=endpoint))
    print(sum(snapshot.census().values()))


if __name__ == "__main__":
    main(sys.argv[1])
