"""Test-run fixtures: one moto server per pytest worker, boto3 clients on it, and a runner.py driver.

Nothing here reaches anything but loopback: the server is started by the run itself and every AWS
client and ansible-runner job is pointed at it with fake credentials.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# runner.py keeps ansible-runner's artifacts outside the repository; in tests, in a temp dir of each
# process's own (xdist workers inherit the controller's environment, and two workers rotating one
# artifact dir would delete each other's runs).
os.environ["WEBSTACK_STATE_DIR"] = tempfile.mkdtemp(prefix="webstack-test-state-")
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

# A run started in the background of a shell without job control (`make test &`) inherits SIGINT
# ignored, and so would every runner.py the tests stop with Ctrl-C's signal: a Python handler here
# becomes the default again in the processes the tests start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Make `ansible_collections.webstack.aws` (this checkout) and the bundled collections importable,
# the way ansible-test does, so unit tests import modules and module_utils by their real names.
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[str(REPO / "collections")])._install()

import boto3  # noqa: E402

from tests.support import Stack  # noqa: E402
from webstack.emulator import FAKE_CREDENTIALS, Emulator  # noqa: E402

REGION = "ap-northeast-2"


@pytest.fixture(scope="session")
def emulator():
    with Emulator.ephemeral() as emu:
        yield emu


@pytest.fixture(scope="session")
def aws(emulator):
    """aws("ec2") or aws("acm", "us-east-1"): a boto3 client on the test run's moto server."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    )

    def client(service: str, region: str = REGION):
        return session.client(service, region_name=region, endpoint_url=emulator.url)

    return client


@pytest.fixture(scope="module")
def stack(emulator, tmp_path_factory):
    return Stack(emulator, tmp_path_factory.mktemp("stack"))


# The longest groups start first, so that no worker is left running one alone at the end of the run
# while the other is idle (each takes minutes; everything else is shorter and fills in around them).
# xdist would otherwise start the groups with the most tests first (pyproject's addopts turn that off
# with --no-loadscope-reorder), which put the shared site's group (163 s alone with -n0 on
# 2026-12-05, several minutes beside the others) last.
# Longest first, by the last runs' times and the runs each file makes; unlisted files follow in
# collection order.
LONGEST_FIRST = [
    "tests/integration/test_site.py",
    "tests/integration/test_interrupted.py",
    "tests/integration/test_destroy_guard.py",
    "tests/molecule/test_scenarios.py",
    "tests/integration/test_network.py",
    "tests/integration/test_cdn.py",
    "tests/integration/test_load_balancer.py",
    "tests/integration/test_certificates.py",
    "tests/integration/test_dns.py",
    "tests/integration/test_autoscaling.py",
    "tests/integration/test_rds.py",
    "tests/integration/test_bad_input.py",
    "tests/integration/test_static_site.py",
    "tests/integration/test_publish.py",
]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """Keep each test file on one xdist worker (its tests share one deployed stack), but spread
    molecule scenarios, which are independent, one by one; the longest groups first (the sort is
    stable: a file's tests keep their order)."""
    for item in items:
        group = item.nodeid.split("::")[0]
        if item.get_closest_marker("molecule"):
            group = item.nodeid
        item.add_marker(pytest.mark.xdist_group(group))

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
