"""The autoscaling layer against the test run's moto server: create, check mode, update (then a
re-run with changed=0) and absent, each asserted on what EC2, Auto Scaling and IAM then hold. Bad
input: tests/integration/test_bad_input.py.

The network comes from tests.support.make_network and the target group from boto3, tagged as the
load_balancer role tags it: the main deploy hands the network ids in and finds the target group by
tag. moto has no instance refresh and crashes ASG launches from a launch template version with
user data, so these runs set autoscaling_instance_refresh_enabled and autoscaling_user_data_enabled
to false as the local inventory does; the refresh logic is unit-tested in
tests/unit/test_autoscaling_rolling_refresh.py and the user data is checked on a group of size 0.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone, identity_tags, make_network

PROJECT = "t-asg"
NAME = f"{PROJECT}-local-app"
LAYER = {"layers": "backend", "tags": "autoscaling"}
MOTO = {"autoscaling_instance_refresh_enabled": False, "autoscaling_user_data_enabled": False}
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@pytest.fixture(scope="module")
def network(aws):
    return make_network(aws, PROJECT, "10.62.0.0/16")


@pytest.fixture(scope="module")
def target_group_arn(aws, network):
    tags = [*identity_tags(PROJECT), {"Key": "Name", "Value": NAME}]
    return aws("elbv2").create_target_group(
        Name=NAME, Protocol="HTTP", Port=8080, VpcId=network["vpc_id"], HealthCheckPath="/health", Tags=tags
    )["TargetGroups"][0]["TargetGroupArn"]


@pytest.fixture(scope="module")
def base(network):
    return {
        "webstack_project": PROJECT,
        "autoscaling_subnet_ids": network["private_subnet_ids"],
        "autoscaling_security_group_ids": [network["security_group_ids"]["app"]],
        **MOTO,
    }


@pytest.fixture(scope="module")
def before(aws, base, target_group_arn):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, base, aws, before):
    summary = assert_ok(stack.deploy(extra=base, **LAYER))
    yield summary
    destroy_unless_gone(stack, aws, before, extra={"webstack_project": PROJECT}, **LAYER)


@pytest.fixture(scope="module")
def asg(aws):
    return aws("autoscaling")


@pytest.fixture(scope="module")
def ec2(aws):
    return aws("ec2")


def group(asg) -> dict:
    (found,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"]
    return found


def template_data(ec2, version: str) -> dict:
    (found,) = ec2.describe_launch_template_versions(LaunchTemplateName=NAME, Versions=[version])[
        "LaunchTemplateVersions"
    ]
    return found["LaunchTemplateData"]


def test_outputs_are_what_aws_holds(deployed, asg, ec2):
    found = group(asg)
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=[NAME])["LaunchTemplates"]
    assert deployed["outputs"]["autoscaling"] == {
        "group_name": NAME,
        "group_arn": found["AutoScalingGroupARN"],
        "launch_template_id": template["LaunchTemplateId"],
        "launch_template_version": str(template["LatestVersionNumber"]),
    }


def test_launch_template_is_hardened(deployed, ec2, aws, network):
    data = template_data(ec2, "$Latest")
    assert data["MetadataOptions"]["HttpTokens"] == "required"  # EC2.170, IMDSv2
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    (interface,) = data["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is False  # EC2.25
    assert interface["Groups"] == [network["security_group_ids"]["app"]]
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["VolumeType"] == "gp3"  # EC2.181
    assert "KeyName" not in data and "UserData" not in data  # no SSH key; user data off under moto
    assert data["InstanceType"] == "t3.micro"
    ami = aws("ssm").get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
    assert data["ImageId"] == ami["Parameter"]["Value"]
    assert data["IamInstanceProfile"]["Arn"].endswith(f":instance-profile/{NAME}")


def test_instances_may_use_ssm_session_manager(deployed, aws):
    iam = aws("iam")
    attached = iam.list_attached_role_policies(RoleName=NAME)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SSM_POLICY]
    (profile,) = iam.list_instance_profiles_for_role(RoleName=NAME)["InstanceProfiles"]
    assert profile["InstanceProfileName"] == NAME
    trust = iam.get_role(RoleName=NAME)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_group_sits_in_the_private_subnets_behind_the_target_group(deployed, asg, network, target_group_arn):
    found = group(asg)
    assert sorted(found["VPCZoneIdentifier"].split(",")) == sorted(network["private_subnet_ids"])
    assert found["TargetGroupARNs"] == [target_group_arn]  # found by tag
    assert (found["HealthCheckType"], found["HealthCheckGracePeriod"]) == ("ELB", 300)  # AutoScaling.1
    assert (found["MinSize"], found["MaxSize"], found["DesiredCapacity"]) == (1, 3, 1)
    assert found["LaunchTemplate"]["LaunchTemplateName"] == NAME  # AutoScaling.9
    assert len(found["Instances"]) == 1
    assert deployed["outputs"]["autoscaling"]["group_name"] == NAME


def test_cpu_target_tracking_policy(deployed, asg):
    (policy,) = asg.describe_policies(AutoScalingGroupName=NAME)["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert config["TargetValue"] == 50.0


def test_plan_of_new_capacity_writes_nothing_then_deploy_applies_it(deployed, stack, base, asg, ec2, aws):
    update = {**base, "autoscaling_desired_capacity": 2, "autoscaling_instance_type": "t3.small"}
    unplanned = capture(aws)
    plan = assert_ok(stack.plan(extra=update, **LAYER))
    assert changed(plan) > 0
    assert_unchanged(aws, unplanned)

    outputs = assert_ok(stack.deploy(extra=update, **LAYER))["outputs"]["autoscaling"]
    found = group(asg)
    assert found["DesiredCapacity"] == 2 and len(found["Instances"]) == 2
    assert outputs["launch_template_version"] == "2"  # what it converged, not what it read before
    assert template_data(ec2, "2")["InstanceType"] == "t3.small"
    # Without instance refresh (moto) the group takes the new version for its next launches.
    assert found["LaunchTemplate"]["Version"] == "2"
    assert changed(assert_ok(stack.deploy(extra=update, **LAYER))) == 0


def test_user_data_hands_over_the_db_endpoint_and_secret_arn_not_a_password(stack, ec2, aws, network):
    # A group of size 0: moto never launches from this version, so its user data cannot crash it.
    project = "t-asg-ud"
    secret = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds-master-AbCdEf"
    extra = {
        "webstack_project": project,
        "autoscaling_subnet_ids": network["private_subnet_ids"],
        "autoscaling_security_group_ids": [network["security_group_ids"]["app"]],
        "autoscaling_health_check_type": "EC2",
        "autoscaling_min_size": 0,
        "autoscaling_desired_capacity": 0,
        "autoscaling_instance_refresh_enabled": False,
        "autoscaling_user_data_enabled": True,  # the local inventory turns it off for moto
        "autoscaling_db_endpoint": "db.example.internal:5432",
        "autoscaling_db_secret_arn": secret,
    }
    untouched = capture(aws)
    try:
        assert_ok(stack.deploy(extra=extra, **LAYER))
        (version,) = ec2.describe_launch_template_versions(LaunchTemplateName=f"{project}-local-app")[
            "LaunchTemplateVersions"
        ]
        script = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
        assert "DB_ENDPOINT=db.example.internal:5432" in script and f"DB_SECRET_ARN={secret}" in script
        assert "HEALTH_PATH=/health" in script and "APP_PORT=8080" in script
        assert "PASSWORD" not in script.upper()
        policy = aws("iam").get_role_policy(RoleName=f"{project}-local-app", PolicyName="read-db-secret")
        assert policy["PolicyDocument"]["Statement"][0]["Resource"] == secret
    finally:
        assert_ok(stack.destroy(extra={"webstack_project": project}, **LAYER))
    assert_unchanged(aws, untouched)


def test_destroy_leaves_nothing_behind(deployed, stack, asg, ec2, aws, before):
    # The update above made version 2 the default: ec2_launch_template deletes version 1 first
    # (DeleteLaunchTemplateVersions), then the template with its default version.
    versions = ec2.describe_launch_template_versions(LaunchTemplateName=NAME)["LaunchTemplateVersions"]
    assert sorted(v["VersionNumber"] for v in versions) == [1, 2]
    assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"] == []
    named = [{"Name": "launch-template-name", "Values": [NAME]}]
    assert ec2.describe_launch_templates(Filters=named)["LaunchTemplates"] == []
    assert_unchanged(aws, before)  # launch templates, instances, the role and its profile included
    assert changed(assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))) == 0


def test_a_same_named_role_template_and_group_that_are_not_the_stacks_are_refused_and_left_as_they_were(
    stack, aws, asg, ec2, network, target_group_arn
):
    """An IAM role (with its instance profile), a launch template and a group at the stack's name
    without the stack's tags are someone else's: deploy fails naming them before iam_role,
    ec2_launch_template or autoscaling_group touch them, and destroy (by tag) leaves them."""
    project = "t-asg-foreign"
    name = f"{project}-local-app"
    iam = aws("iam")
    theirs = [{"Key": "Project", "Value": "someone-else"}]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="theirs", Tags=theirs)
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    template = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"InstanceType": "t3.nano"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": theirs}],
    )["LaunchTemplate"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
        MinSize=0,
        MaxSize=0,
        VPCZoneIdentifier=",".join(network["private_subnet_ids"]),
        Tags=[{**tag, "PropagateAtLaunch": False} for tag in theirs],
    )
    try:
        extra = {
            "webstack_project": project,
            "autoscaling_subnet_ids": network["private_subnet_ids"],
            "autoscaling_security_group_ids": [network["security_group_ids"]["app"]],
            "autoscaling_target_group_arns": [target_group_arn],
            **MOTO,
        }
        summary = stack.deploy(extra=extra, **LAYER)
        assert summary["status"] == "failed"
        message = stack.output[-1]
        assert "autoscaling_project / autoscaling_environment: " in message
        for what in ("the IAM role", "the launch template", "the Auto Scaling group"):
            assert f"{what} {name} exists but does not carry the tags" in message
        assert "they are not this stack's; nothing was changed" in message
        assert_ok(stack.destroy(extra={"webstack_project": project}, **LAYER))

        role = iam.get_role(RoleName=name)["Role"]
        assert (role["Description"], role["Tags"]) == ("theirs", theirs)
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
        (profile,) = iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
        assert profile["InstanceProfileName"] == name
        (kept,) = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
        assert (kept["LatestVersionNumber"], kept["Tags"]) == (1, theirs)
        (group_kept,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        assert (group_kept["MinSize"], group_kept["MaxSize"], group_kept["TargetGroupARNs"]) == (0, 0, [])
        assert [(t["Key"], t["Value"]) for t in group_kept["Tags"]] == [("Project", "someone-else")]
        assert asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"] == []
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=name)
        iam.delete_instance_profile(InstanceProfileName=name)
        iam.delete_role(RoleName=name)
