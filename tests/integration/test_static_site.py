"""The static_site role (frontend layer, --tags static_site) against the test run's moto server:
a private, encrypted, versioned bucket; a policy that requires TLS and admits only the stack's
distribution; idempotence, check mode, an update and absent, read back with boto3. Bad input:
tests/integration/test_bad_input.py."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.census import capture
from tests.integration.test_publish import make_distribution
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone

PROJECT = "t-static"
BASE = {"webstack_project": PROJECT}
FAKE_ARN = "arn:aws:cloudfront::123456789012:distribution/EFAKE1234567"
# The distribution the tests make with boto3 (the cdn role's stand-in) is not the role's to remove.
DISTRIBUTION = ("cloudfront:distribution",)


def deploy(stack, **extra):
    return stack.deploy(layers="frontend", tags="static_site", extra={**BASE, **extra})


def policy(s3, bucket) -> dict:
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    return {s["Sid"]: s for s in statements}


def lifecycle_days(s3, bucket) -> int:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    (rule,) = [r for r in rules if r["ID"] == "webstack-expire-noncurrent"]
    return rule["NoncurrentVersionExpiration"]["NoncurrentDays"]


@pytest.fixture(scope="module")
def s3(aws):
    return aws("s3")


@pytest.fixture(scope="module")
def bucket(aws):
    return f"{PROJECT}-local-site-{aws('sts').get_caller_identity()['Account']}"


@pytest.fixture(scope="module")
def before(aws):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, aws, s3, bucket, before):
    """First deploy without a distribution (TLS statement only), then with one tagged like the cdn
    role's, found by tag; then a third deploy that must change nothing."""
    cloudfront = aws("cloudfront", "us-east-1")
    first = assert_ok(deploy(stack))
    tls_only = policy(s3, bucket)
    tags = {"Name": f"{PROJECT}-local-cdn", "Project": PROJECT, "Environment": "local", "ManagedBy": "webstack"}
    distribution = make_distribution(cloudfront, bucket, tags)
    second = assert_ok(deploy(stack))
    third = assert_ok(deploy(stack))
    yield {"first": first, "second": second, "third": third, "tls_only": tls_only, "distribution": distribution}
    destroy_unless_gone(stack, aws, before, DISTRIBUTION, layers="frontend", tags="static_site", extra=BASE)
    current = cloudfront.get_distribution_config(Id=distribution["Id"])
    config = {**current["DistributionConfig"], "Enabled": False}
    etag = cloudfront.update_distribution(Id=distribution["Id"], DistributionConfig=config, IfMatch=current["ETag"])
    cloudfront.delete_distribution(Id=distribution["Id"], IfMatch=etag["ETag"])


def test_bucket_is_private_encrypted_and_versioned(deployed, s3, bucket):
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert lifecycle_days(s3, bucket) == 30
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    identity = {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack"}
    assert tags == {**identity, "Name": f"{PROJECT}-local-site"}


def test_outputs_name_the_bucket_and_its_regional_domain(deployed, bucket):
    outputs = deployed["third"]["outputs"]["static_site"]
    assert outputs == {
        "bucket_name": bucket,
        "bucket_arn": f"arn:aws:s3:::{bucket}",
        "bucket_regional_domain_name": f"{bucket}.s3.ap-northeast-2.amazonaws.com",
    }


def test_without_a_distribution_the_policy_only_requires_tls(deployed, bucket):
    tls = deployed["tls_only"]
    assert set(tls) == {"DenyInsecureTransport"}
    deny = tls["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def test_policy_admits_only_the_stacks_distribution(deployed, s3, bucket):
    arn = deployed["distribution"]["ARN"]
    statements = policy(s3, bucket)
    assert set(statements) == {
        "DenyInsecureTransport",
        "AllowCloudFrontRead",
        "AllowCloudFrontList",
        "DenyCloudFrontReleaseState",
    }
    only_this_distribution = {"StringEquals": {"AWS:SourceArn": arn}}
    read, listing = statements["AllowCloudFrontRead"], statements["AllowCloudFrontList"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"arn:aws:s3:::{bucket}/*" and read["Condition"] == only_this_distribution
    # ListBucket: a missing key is a 404 rather than a 403 (see the role's README).
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == f"arn:aws:s3:::{bucket}"
    assert listing["Condition"] == only_this_distribution
    hidden = statements["DenyCloudFrontReleaseState"]
    assert hidden["Effect"] == "Deny" and hidden["Resource"] == f"arn:aws:s3:::{bucket}/_webstack/*"
    allows = [s for s in statements.values() if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"Service": "cloudfront.amazonaws.com"} and s["Condition"] for s in allows)


def test_second_deploy_changes_nothing(deployed):
    assert changed(deployed["second"]) > 0
    assert changed(deployed["third"]) == 0


def test_plan_reports_changes_and_writes_nothing(deployed, stack, s3, bucket, aws):
    unplanned = capture(aws)
    summary = assert_ok(
        stack.plan(
            layers="frontend",
            tags="static_site",
            extra={**BASE, "static_site_noncurrent_version_days": 9, "static_site_distribution_arn": FAKE_ARN},
        )
    )
    assert changed(summary) >= 2  # the lifecycle rule and the policy
    assert_unchanged(aws, unplanned)


def test_update_is_applied_and_keeps_the_users_objects(deployed, stack, s3, bucket):
    """README: deploy never deletes user data -- objects outside the release layout stay."""
    s3.put_object(Bucket=bucket, Key="uploads/user-data.txt", Body=b"the user's")
    summary = assert_ok(deploy(stack, static_site_noncurrent_version_days=9))
    assert changed(summary) > 0
    assert lifecycle_days(s3, bucket) == 9
    assert s3.get_object(Bucket=bucket, Key="uploads/user-data.txt")["Body"].read() == b"the user's"


def test_absent_removes_a_bucket_with_versions_and_delete_markers(deployed, stack, s3, bucket, aws, before):
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=bucket, Key="index.html", Body=body)
    s3.put_object(Bucket=bucket, Key="assets/app-3f2a9c1b.js", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="assets/app-3f2a9c1b.js")  # a delete marker
    versions = s3.list_object_versions(Bucket=bucket)
    assert len(versions["Versions"]) >= 4 and versions["DeleteMarkers"]
    assert_ok(stack.destroy(layers="frontend", tags="static_site", extra=BASE))
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    assert_unchanged(aws, before, ignoring=DISTRIBUTION)
    again = assert_ok(stack.destroy(layers="frontend", tags="static_site", extra=BASE))
    assert changed(again) == 0


def test_a_same_named_bucket_that_is_not_the_stacks_is_refused_and_left_as_it_was(stack, aws, s3):
    """A bucket at the stack's name without the stack's tags is someone else's: deploy fails
    naming static_site_bucket_name before changing it, and destroy leaves it and its objects."""
    project = "t-static-foreign"
    name = f"{project}-local-site-{aws('sts').get_caller_identity()['Account']}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "Project", "Value": "someone-else"}]})
    s3.put_object(Bucket=name, Key="theirs.txt", Body=b"keep me")
    try:
        extra = {"webstack_project": project}
        summary = stack.deploy(layers="frontend", tags="static_site", extra=extra)
        assert summary["status"] == "failed"
        assert f"static_site_bucket_name: the bucket {name} exists but does not carry the tags" in stack.output[-1]
        with pytest.raises(ClientError):
            s3.get_bucket_policy(Bucket=name)  # nothing of the stack's was written to it
        summary = stack.destroy(layers="frontend", tags="static_site", extra=extra)
        assert summary["status"] == "failed"
        assert "it is not this stack's; nothing was changed" in stack.output[-1]
        assert s3.get_object(Bucket=name, Key="theirs.txt")["Body"].read() == b"keep me"
        assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "Project", "Value": "someone-else"}]
    finally:
        s3.delete_object(Bucket=name, Key="theirs.txt")
        s3.delete_bucket(Bucket=name)
