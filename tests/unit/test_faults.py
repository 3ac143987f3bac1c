"""The fault-injecting proxy (tests/faults.py) against the test run's moto server: each service's
own throttling answer, a bare 503 and a reset connection, as botocore sees them without retries;
then with the standard retry mode every call still succeeds through a share of faults."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.faults import FaultProxy
from tests.faults import proxied_client as client
from webstack.layers import retries

NO_RETRY = {"mode": "standard", "total_max_attempts": 1}
CALLS = [
    ("s3", lambda c: c.list_buckets(), 503, "SlowDown"),
    ("s3", lambda c: c.head_bucket(Bucket="any"), 503, "503"),  # HEAD: no body, so only the status
    ("ec2", lambda c: c.describe_vpcs(), 503, "RequestLimitExceeded"),
    ("acm", lambda c: c.list_certificates(), 400, "ThrottlingException"),
    ("secretsmanager", lambda c: c.list_secrets(), 400, "ThrottlingException"),
    ("elbv2", lambda c: c.describe_load_balancers(), 400, "Throttling"),
    ("autoscaling", lambda c: c.describe_auto_scaling_groups(), 400, "Throttling"),
    ("rds", lambda c: c.describe_db_instances(), 400, "Throttling"),
    ("iam", lambda c: c.list_roles(), 400, "Throttling"),
    ("route53", lambda c: c.list_hosted_zones(), 400, "Throttling"),
    ("cloudfront", lambda c: c.list_distributions(), 400, "Throttling"),
]


@pytest.mark.parametrize(("service", "call", "status", "code"), CALLS, ids=[f"{c[0]}-{c[3]}" for c in CALLS])
def test_each_service_is_throttled_in_its_own_words(emulator, service, call, status, code):
    with FaultProxy(emulator.url, share=1.0, kinds=("throttle",)) as proxy, pytest.raises(ClientError) as error:
        call(client(proxy, service, NO_RETRY))
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.value.response["Error"]["Code"] == code
    assert sum(proxy.injected.values()) == 1


def test_a_bare_503_and_a_reset_connection(emulator):
    with FaultProxy(emulator.url, share=1.0, kinds=("bare-503",)) as proxy, pytest.raises(ClientError) as error:
        client(proxy, "ec2", NO_RETRY).describe_vpcs()
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with (
        FaultProxy(emulator.url, share=1.0, kinds=("reset",)) as proxy,
        pytest.raises((ConnectionClosedError, EndpointConnectionError)),
    ):
        client(proxy, "ec2", NO_RETRY).describe_vpcs()
    assert proxy.injected == {"reset:ec2": 1}


def test_the_project_retry_settings_carry_calls_through_a_third_of_faults(emulator):
    with FaultProxy(emulator.url, share=0.3) as proxy:
        s3 = client(proxy, "s3", retries())
        ec2 = client(proxy, "ec2", retries())
        s3.create_bucket(Bucket="fault-proxy-test", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        try:
            for number in range(20):
                s3.put_object(Bucket="fault-proxy-test", Key=f"k{number}", Body=b"x" * 2048)
                ec2.describe_vpcs()
            keys = s3.list_objects_v2(Bucket="fault-proxy-test")["KeyCount"]
        finally:
            for number in range(20):
                s3.delete_object(Bucket="fault-proxy-test", Key=f"k{number}")
            s3.delete_bucket(Bucket="fault-proxy-test")
    assert keys == 20
    assert {kind.split(":")[0] for kind in proxy.injected} == {"throttle", "bare-503", "reset"}
    assert proxy.forwarded > 40
