"""The whole seed architecture, deployed once per test run and read by every test that only reads
it (this file is one xdist group, so one worker builds it once). It is deployed through a proxy that
answers one AWS request in ten with throttling, a bare 503 or a reset connection (tests/faults.py).
In order: the architecture as AWS holds it; a second deploy that repairs a setting changed in AWS
and changes nothing else, a third that finds the stack in sync and starts no job, a plan that
does the same, the record they read and what its state covers; plan of a pending change writes
nothing; outputs and verify write nothing; no secret in any
output or artifact; verify fails on a broken stack; publish and rollback from the command line;
destroy leaves nothing of any type in either region, and no secret anywhere after it. The census
of what the deploy made is published for tests/integration/test_interrupted.py, whose interrupted
deploy, on another worker, must make the same. Tests that must change a stack of their own live in
the layer test files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.webstack.aws.plugins.module_utils import stack_checks
from tests.census import capture
from tests.faults import FaultProxy
from tests.interruptions import made, publish_census
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone
from webstack import cli, home, state
from webstack.home import PLAYBOOKS
from webstack.layers import available_layers
from webstack.settings import resolve

PROJECT = "t-site"
BASE = {"webstack_project": PROJECT}
DOMAIN = "webstack.local.test"
REGION = "ap-northeast-2"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"


@pytest.fixture(scope="module")
def empty(aws):
    return capture(aws)


@pytest.fixture(scope="module")
def faults(stack):
    """The proxy the site is deployed through: one AWS request in ten answered with a fault."""
    with FaultProxy(stack.emulator.url, share=0.1) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def site(stack, aws, empty, faults, tmp_path_factory) -> dict:
    """The deploy's summary. What it made (how many of each type) is published for the interrupted
    deploy on another worker (tests/integration/test_interrupted.py), which must make the same."""
    try:
        summary = assert_ok(stack.deploy(extra=BASE, endpoint=faults.url))
    except BaseException:
        publish_census(tmp_path_factory, None)
        raise
    publish_census(tmp_path_factory, made(capture(aws), empty))
    yield summary
    destroy_unless_gone(stack, aws, empty, extra=BASE)


@pytest.fixture(scope="module")
def outputs(site) -> dict:
    return site["outputs"]


def tags_of(items) -> dict:
    return {t["Key"]: t["Value"] for t in items}


def alias_records(aws, zone_id: str) -> dict[tuple[str, str], dict]:
    sets = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {(r["Name"].rstrip("."), r["Type"]): r["AliasTarget"] for r in sets if "AliasTarget" in r}


# -- the architecture, read from AWS -------------------------------------------------------------
def test_every_layer_deploys_and_its_outputs_are_what_aws_holds(site, outputs, aws):
    assert set(site["layers"]) == set(available_layers())
    (lb,) = aws("elbv2").describe_load_balancers(Names=[f"{PROJECT}-local-alb"])["LoadBalancers"]
    assert outputs["load_balancer"]["dns_name"] == lb["DNSName"]
    distribution = aws("cloudfront", "us-east-1").get_distribution(Id=outputs["cdn"]["distribution_id"])
    assert outputs["cdn"]["domain_name"] == distribution["Distribution"]["DomainName"]
    (db,) = aws("rds").describe_db_instances(DBInstanceIdentifier=outputs["rds"]["instance_id"])["DBInstances"]
    assert outputs["rds"]["endpoint"] == db["Endpoint"]["Address"]
    assert (outputs["dns"]["site_url"], outputs["dns"]["api_url"]) == (f"https://{DOMAIN}", f"https://api.{DOMAIN}")


def test_api_name_leads_to_the_alb_then_instances_in_private_subnets_then_the_database(outputs, aws):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    private = {
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "tag:Project", "Values": [PROJECT]}])["Subnets"]
        if tags_of(s["Tags"]).get("Tier") == "private"
    }
    assert len(private) >= 2

    (lb,) = elbv2.describe_load_balancers(Names=[f"{PROJECT}-local-alb"])["LoadBalancers"]
    records = alias_records(aws, outputs["dns"]["zone_id"])
    for kind in ("A", "AAAA"):
        target = records[(f"api.{DOMAIN}", kind)]
        assert target["DNSName"].rstrip(".") == f"dualstack.{lb['DNSName'].lower()}"
        assert target["HostedZoneId"] == lb["CanonicalHostedZoneId"]
    assert lb["Scheme"] == "internet-facing" and not {z["SubnetId"] for z in lb["AvailabilityZones"]} & private

    listeners = {
        item["Port"]: item for item in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    }
    (certificate,) = listeners[443]["Certificates"]
    alb_certificates = [c["CertificateArn"] for c in aws("acm", REGION).list_certificates()["CertificateSummaryList"]]
    assert certificate["CertificateArn"] in alb_certificates  # the ALB's certificate is in the ALB's region
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"]["StatusCode"] == "HTTP_301"
    target_group_arn = listeners[443]["DefaultActions"][0]["TargetGroupArn"]

    (group,) = aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["autoscaling"]["group_name"]]
    )["AutoScalingGroups"]
    assert group["TargetGroupARNs"] == [target_group_arn]
    assert set(group["VPCZoneIdentifier"].split(",")) == private
    assert group["Instances"]

    (db,) = aws("rds").describe_db_instances(DBInstanceIdentifier=outputs["rds"]["instance_id"])["DBInstances"]
    assert db["PubliclyAccessible"] is False and db["StorageEncrypted"] is True
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} <= private
    (db_group,) = ec2.describe_security_groups(GroupIds=[db["VpcSecurityGroups"][0]["VpcSecurityGroupId"]])[
        "SecurityGroups"
    ]
    launch = ec2.describe_launch_template_versions(
        LaunchTemplateName=group["LaunchTemplate"]["LaunchTemplateName"], Versions=["$Latest"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    app_groups = set(launch["NetworkInterfaces"][0]["Groups"])
    assert {p["GroupId"] for rule in db_group["IpPermissions"] for p in rule["UserIdGroupPairs"]} == app_groups


def test_site_name_leads_to_cloudfront_then_the_private_bucket(outputs, aws):
    cloudfront, s3 = aws("cloudfront", "us-east-1"), aws("s3")
    distribution = cloudfront.get_distribution(Id=outputs["cdn"]["distribution_id"])["Distribution"]
    records = alias_records(aws, outputs["dns"]["zone_id"])
    for kind in ("A", "AAAA"):
        assert records[(DOMAIN, kind)]["DNSName"].rstrip(".") == distribution["DomainName"]
        assert records[(DOMAIN, kind)]["HostedZoneId"] == CLOUDFRONT_ZONE

    config = distribution["DistributionConfig"]
    us_east_1 = [c["CertificateArn"] for c in aws("acm", "us-east-1").list_certificates()["CertificateSummaryList"]]
    assert config["ViewerCertificate"]["ACMCertificateArn"] in us_east_1  # CloudFront's is always in us-east-1
    assert config["Aliases"]["Items"] == [DOMAIN]
    # Client routes go through the published routing function; no error answers with the app's page.
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]["Items"]
    assert association["EventType"] == "viewer-request"
    function = association["FunctionARN"].rsplit("/", 1)[-1]
    assert function == f"{PROJECT}-local-spa-routing"
    assert cloudfront.describe_function(Name=function, Stage="LIVE")["FunctionSummary"]["Name"] == function
    assert config["CustomErrorResponses"]["Quantity"] == 0
    headers = cloudfront.get_response_headers_policy_config(
        Id=config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    )
    assert headers["ResponseHeadersPolicyConfig"]["Name"] == f"{PROJECT}-local-headers"
    (origin,) = config["Origins"]["Items"]
    bucket = outputs["static_site"]["bucket_name"]
    assert origin["DomainName"] == f"{bucket}.s3.{REGION}.amazonaws.com"
    assert origin["OriginAccessControlId"] == outputs["cdn"]["oac_id"]

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    readers = [
        s
        for s in json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        if s["Effect"] == "Allow" and "s3:GetObject" in json.dumps(s["Action"])
    ]
    assert readers and all(
        s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        and s["Condition"]["StringEquals"]["AWS:SourceArn"] == distribution["ARN"]
        for s in readers
    )


def test_the_site_was_deployed_through_throttling_5xx_and_dropped_connections(site, faults):
    kinds = {kind.split(":")[0] for kind in faults.injected}
    services = {kind.split(":")[1] for kind in faults.injected}
    assert kinds == {"throttle", "bare-503", "reset"}, faults.injected
    assert {"ec2", "elasticloadbalancing", "rds", "s3", "cloudfront", "route53", "acm"} <= services, faults.injected
    assert sum(faults.injected.values()) >= 0.05 * (faults.forwarded + sum(faults.injected.values()))


# -- commands that must change nothing -----------------------------------------------------------
def test_second_deploy_corrects_drift_and_changes_nothing_else_then_a_third_starts_no_job(site, stack, aws):
    """A setting changed by hand in AWS makes the stack differ from its record: every layer runs,
    the one task that owns the setting puts it back, every other task changes nothing, and nothing
    else is written (the record neither: the stack is again what it recorded). The next deploy
    finds the stack in sync and reports the recorded outputs without starting a job."""
    converged = capture(aws)
    group = site["outputs"]["autoscaling"]["group_name"]
    autoscaling = aws("autoscaling")
    (described,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, MaxSize=described["MaxSize"] + 1)

    second = assert_ok(stack.deploy(extra=BASE))
    assert (second["in_sync"], second["reasons"]) == (False, [f"AWS changed: {REGION}/autoscaling:group"])
    by_layer = {name: layer["hosts"]["localhost"]["changed"] for name, layer in second["layers"].items()}
    assert by_layer == {"network": 0, "certificates": 0, "backend": 1, "frontend": 0, "dns": 0}
    # The settings passed every role's checks in the site's deploy, so the layer's preflight does
    # not check them again: only the role's own start does (twice without webstack_settings_checked).
    assert stack.output[-1].count("[backend] ok       Check the load balancer settings before any AWS call") == 1
    assert_unchanged(aws, converged)

    third = assert_ok(stack.deploy(extra=BASE))
    assert (third["in_sync"], third["reasons"], changed(third)) == (True, [], 0)
    assert {name: layer["status"] for name, layer in third["layers"].items()} == dict.fromkeys(
        available_layers(), "in sync"
    )  # and no validate job: these inputs passed the roles' checks in the site's deploy
    assert third["outputs"] == site["outputs"]
    assert "no layer job started" in stack.output[-1]
    assert_unchanged(aws, converged)


def test_plan_of_the_unchanged_stack_starts_no_job_and_exits_0(site, stack, aws):
    converged = capture(aws)
    plan = stack.plan(extra=BASE, options=("--json",))
    assert (plan["exit_code"], plan["in_sync"]) == (0, True)
    assert plan["changes"] == {layer: [] for layer in available_layers()}
    assert_unchanged(aws, converged)


def test_bad_input_is_named_before_any_aws_call_although_the_stack_has_a_record(site, stack):
    """Inputs this machine has not seen pass the roles' checks go through playbooks/validate.yml
    before the record is read: the run ends there, naming the variable, and AWS saw no request."""
    with FaultProxy(stack.emulator.url, share=0) as proxy:
        summary = stack.deploy(extra={**BASE, "rds_backup_retention_days": 99}, endpoint=proxy.url)
    assert (summary["exit_code"], summary["status"], list(summary["layers"])) == (2, "failed", ["validate"])
    assert "rds_backup_retention_days: must be a number of days from 0" in stack.output[-1]
    assert proxy.forwarded + sum(proxy.injected.values()) == 0  # not one AWS request reached the proxy


def test_the_deploy_recorded_its_inputs_the_stack_it_left_and_its_outputs(site, aws):
    settings = resolve("local", BASE, state.SETTINGS, state.SETTINGS_ROLES)
    record = state.load_record(aws("ssm"), f"/webstack/{PROJECT}/local/deployed")
    assert record.outputs == site["outputs"]
    assert record.state == state.state_digests(state.StackReader(aws, settings).read())


def test_the_state_read_covers_every_resource_the_deploy_made(site, aws, empty):
    """Every resource the deploy added, of every type but those something else owns (the group's
    instances, the database's secret, ...), is in the state the shortcut compares."""
    settings = resolve("local", BASE, state.SETTINGS, state.SETTINGS_ROLES)
    read = state.StackReader(aws, settings).read()
    added = capture(aws).diff(empty).added
    covered = {kind: ids for kind, ids in added.items() if kind.split("/", 1)[1] not in state.OWNED_ELSEWHERE}
    assert len(covered) >= 20, covered
    missing = {kind: sorted(set(ids) - set(read.get(kind, {}))) for kind, ids in covered.items()}
    assert {kind: ids for kind, ids in missing.items() if ids} == {}


def test_plan_of_a_pending_change_reports_it_and_writes_nothing(site, stack, aws):
    converged = capture(aws)
    plan = assert_ok(stack.plan(extra={**BASE, "cdn_price_class": "PriceClass_200"}))
    assert plan["reasons"] == ["the inputs changed (files, -e values, environment or installed versions)"]
    assert_unchanged(aws, converged)
    by_layer = {name: layer["hosts"]["localhost"]["changed"] for name, layer in plan["layers"].items()}
    assert by_layer.pop("frontend") > 0
    assert by_layer == dict.fromkeys(by_layer, 0)  # every unchanged layer plans no change


def test_outputs_reads_the_endpoints_back_and_writes_nothing(outputs, stack, aws):
    converged = capture(aws)
    read = assert_ok(stack.run("outputs", extra=BASE))["outputs"]
    assert_unchanged(aws, converged)
    for layer in ("dns", "load_balancer", "cdn", "rds", "certificate"):
        assert read[layer] == outputs[layer], layer


@pytest.fixture(scope="module")
def verified(site, stack, aws) -> tuple[dict, object]:
    """runner.py verify of the converged site: its summary, and what changed in AWS meanwhile."""
    converged = capture(aws)
    summary = stack.run("verify", extra=BASE)
    return summary, capture(aws).diff(converged)


def test_verify_passes_every_check_and_writes_nothing(verified):
    summary, written = verified
    assert written.empty, f"verify wrote:\n{written}"
    failed = [c for c in summary["checks"] if c["result"] == "FAIL"]
    assert summary["exit_code"] == 0 and not failed, json.dumps(failed, indent=2)
    assert len([c for c in summary["checks"] if c["result"] == "PASS"]) >= 15


def test_ansible_playbook_verify_prints_what_runner_verify_prints(verified, stack, tmp_path):
    """playbooks/verify.yml run by hand (as AWX runs it) reports the same checks, line for line."""
    summary, _ = verified
    (tmp_path / "vars.json").write_text(json.dumps(BASE))
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local"]
    proc = subprocess.run(
        [*playbook, str(PLAYBOOKS / "verify.yml"), "-e", f"@{tmp_path / 'vars.json'}"],
        cwd=home.REPO,
        env={
            **os.environ,
            **stack.emulator.client_env(),
            "ANSIBLE_CONFIG": str(home.REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    (printed,) = [t["hosts"]["localhost"]["msg"] for t in tasks if t["task"]["name"] == "Report every check"]
    lines = [f"{c['result']}  {c['name']} — {c['detail']}" for c in summary["checks"]]
    assert printed[:-1] == lines and printed[-1].endswith(" failed, 1 skipped")


@pytest.fixture(scope="module")
def master_password(site, aws) -> str:
    """The managed master password, which exists only in Secrets Manager."""
    secret = aws("secretsmanager").get_secret_value(SecretId=site["outputs"]["rds"]["master_secret_arn"])
    password = json.loads(secret["SecretString"])["password"]
    assert len(password) >= 8
    return password


def assert_no_secret(stack, password: str) -> None:
    """Nothing the runs printed (stdout, stderr: the JSON summaries among them), no summary file and
    no ansible-runner artifact (job events included) holds the password."""
    printed = "\n".join(stack.output)
    assert PROJECT in printed and password not in printed
    files = [p for p in stack.tmp.rglob("*.json")]
    files += [p for p in (Path(os.environ["WEBSTACK_STATE_DIR"]) / "runner").rglob("*") if p.is_file()]
    assert any(PROJECT in p.read_text(errors="replace") for p in files)  # the scan reads the runs' files
    assert [str(p) for p in files if password in p.read_text(errors="replace")] == []


def test_no_secret_in_any_output_summary_or_artifact(stack, master_password):
    """After deploy, a second deploy, plan, outputs and verify; destroy's test scans again after
    publish, rollback and destroy."""
    assert_no_secret(stack, master_password)


def test_outputs_diagram_draws_every_resource_of_the_stack_and_writes_nothing(site, stack, aws, tmp_path):
    from tests.integration.test_diagram import assert_diagram_holds_the_stack

    assert_diagram_holds_the_stack(stack, aws, tmp_path, project=PROJECT, region=REGION, domain=DOMAIN, extra=BASE)


# -- verify on a broken stack: each mutation is undone before the next ---------------------------
def _listener_forwards(aws, outputs):
    elbv2 = aws("elbv2")
    listeners = elbv2.describe_listeners(LoadBalancerArn=outputs["load_balancer"]["arn"])["Listeners"]
    (http,) = [item for item in listeners if item["Port"] == 80]
    forward = [{"Type": "forward", "TargetGroupArn": outputs["load_balancer"]["target_group_arn"]}]
    elbv2.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=forward)
    return lambda: elbv2.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=http["DefaultActions"])


def _bucket_public(aws, outputs):
    s3, bucket = aws("s3"), outputs["static_site"]["bucket_name"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(block, False))
    return lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)


def _database_public(aws, outputs):
    rds, instance = aws("rds"), outputs["rds"]["instance_id"]
    rds.modify_db_instance(DBInstanceIdentifier=instance, PubliclyAccessible=True, ApplyImmediately=True)
    return lambda: rds.modify_db_instance(
        DBInstanceIdentifier=instance, PubliclyAccessible=False, ApplyImmediately=True
    )


def _distribution_changed(aws, outputs, change):
    """Apply ``change`` to a copy of the distribution's config; the undo puts the original back."""
    cloudfront, dist_id = aws("cloudfront", "us-east-1"), outputs["cdn"]["distribution_id"]
    current = cloudfront.get_distribution_config(Id=dist_id)
    config = json.loads(json.dumps(current["DistributionConfig"]))
    change(config)
    etag = cloudfront.update_distribution(Id=dist_id, DistributionConfig=config, IfMatch=current["ETag"])["ETag"]
    return lambda: cloudfront.update_distribution(
        Id=dist_id, DistributionConfig=current["DistributionConfig"], IfMatch=etag
    )


def _routing_function_detached(aws, outputs):
    return _distribution_changed(
        aws, outputs, lambda config: config["DefaultCacheBehavior"].update(FunctionAssociations={"Quantity": 0})
    )


def _missing_files_answered_with_the_page(aws, outputs):
    page = {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}
    return _distribution_changed(
        aws, outputs, lambda config: config.update(CustomErrorResponses={"Quantity": 1, "Items": [page]})
    )


def _headers_policy_without_hsts(aws, outputs):
    cloudfront = aws("cloudfront", "us-east-1")
    dist = cloudfront.get_distribution_config(Id=outputs["cdn"]["distribution_id"])["DistributionConfig"]
    policy_id = dist["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    current = cloudfront.get_response_headers_policy_config(Id=policy_id)
    config = json.loads(json.dumps(current["ResponseHeadersPolicyConfig"]))
    del config["SecurityHeadersConfig"]["StrictTransportSecurity"]
    etag = cloudfront.update_response_headers_policy(
        Id=policy_id, IfMatch=current["ETag"], ResponseHeadersPolicyConfig=config
    )["ETag"]
    return lambda: cloudfront.update_response_headers_policy(
        Id=policy_id, IfMatch=etag, ResponseHeadersPolicyConfig=current["ResponseHeadersPolicyConfig"]
    )


def _cloudfront_certificate_elsewhere(aws, outputs):
    """A certificate for the site's name, but in the ALB's region: CloudFront only takes us-east-1's."""
    acm = aws("acm", REGION)
    arn = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    restore = _distribution_changed(
        aws, outputs, lambda config: config["ViewerCertificate"].update(ACMCertificateArn=arn)
    )

    def undo():
        restore()
        acm.delete_certificate(CertificateArn=arn)

    return undo


def _site_alias_at_the_load_balancer(aws, outputs):
    route53, zone_id = aws("route53"), outputs["dns"]["zone_id"]
    (record,) = [
        r
        for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        if r["Name"].rstrip(".") == DOMAIN and r["Type"] == "A"
    ]
    (lb,) = aws("elbv2").describe_load_balancers(Names=[f"{PROJECT}-local-alb"])["LoadBalancers"]
    wrong = {
        **record,
        "AliasTarget": {
            "HostedZoneId": lb["CanonicalHostedZoneId"],
            "DNSName": f"dualstack.{lb['DNSName']}",
            "EvaluateTargetHealth": False,
        },
    }

    def upsert(record_set):
        route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record_set}]}
        )

    upsert(wrong)
    return lambda: upsert(record)


BROKEN = [
    pytest.param(_listener_forwards, "backend: HTTP :80 redirects to HTTPS with 301", id="http-forwards"),
    pytest.param(_bucket_public, "frontend: bucket blocks all public access", id="bucket-public"),
    pytest.param(_database_public, "is private and encrypted", id="database-public"),
    pytest.param(
        _routing_function_detached,
        "frontend: client routes answered by the published routing function",
        id="routing-function-detached",
    ),
    pytest.param(
        _missing_files_answered_with_the_page,
        "frontend: a missing file is a 404, not the app's page",
        id="missing-files-answered-with-the-page",
    ),
    pytest.param(
        _headers_policy_without_hsts,
        "frontend: the site's security headers policy sends HSTS",
        id="headers-policy-without-hsts",
    ),
    pytest.param(
        _cloudfront_certificate_elsewhere,
        "frontend: CloudFront certificate is in us-east-1 and issued",
        id="cloudfront-certificate-elsewhere",
    ),
    pytest.param(_site_alias_at_the_load_balancer, f"dns: {DOMAIN} A -> ", id="site-alias-at-the-load-balancer"),
]


def test_verify_fails_on_a_broken_stack_and_says_which_check(site, stack, aws):
    """The whole command on one breakage: a FAIL line and a non-zero exit. The playbook runs the
    same checks (plugins/module_utils/stack_checks.py) that the next test calls for each breakage."""
    mutate, check = BROKEN[0].values
    undo = mutate(aws, site["outputs"])
    try:
        summary = stack.run("verify", extra=BASE)
    finally:
        undo()
    assert summary["exit_code"] != 0
    failed = [c["name"] for c in summary["checks"] if c["result"] == "FAIL"]
    assert len(failed) == 1 and check in failed[0], failed


@pytest.mark.parametrize(("mutate", "check"), BROKEN)
def test_each_check_fails_on_its_breakage_and_only_it(site, aws, mutate, check):
    """verify's checks, called in this process on the AWS the playbook reads (the module's own
    module_utils, with the test run's boto3 clients): each breakage fails its check and no other."""
    stack = stack_checks.Stack(aws, PROJECT, "local", REGION, DOMAIN)
    layers = ["backend", "frontend", "dns"]
    assert [c.name for c in stack_checks.verify(stack, layers, live_https=False) if c.passed is False] == []
    undo = mutate(aws, site["outputs"])
    try:
        failed = [c.name for c in stack_checks.verify(stack, layers, live_https=False) if c.passed is False]
    finally:
        undo()
    assert len(failed) == 1 and check in failed[0], failed


@pytest.mark.parametrize(("mutate", "check"), BROKEN)
def test_each_breakage_makes_the_stack_differ_from_its_record(site, aws, mutate, check):
    """What verify checks is in the state the shortcut compares: none of these breakages would let
    a deploy skip the converge that repairs it."""
    settings = resolve("local", BASE, state.SETTINGS, state.SETTINGS_ROLES)
    record = state.load_record(aws("ssm"), f"/webstack/{PROJECT}/local/deployed")
    undo = mutate(aws, site["outputs"])
    try:
        broken = state.state_digests(state.StackReader(aws, settings).read())
    finally:
        undo()
    assert record.differences(record.inputs, broken) != []


# -- publish and rollback from the command line --------------------------------------------------
def test_publish_then_rollback_from_the_command_line(site, stack, aws, tmp_path):
    s3, bucket = aws("s3"), site["outputs"]["static_site"]["bucket_name"]

    def live() -> str:
        return json.loads(s3.get_object(Bucket=bucket, Key="_webstack/releases.json")["Body"].read())["live"]

    def index() -> bytes:
        return s3.get_object(Bucket=bucket, Key="index.html")["Body"].read()

    assert_ok(stack.run("publish", extra=BASE))  # local: the demo SPA
    first, first_index = live(), index()
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"

    build = tmp_path / "dist"
    shutil.copytree(home.DEMO_BUILD, build)
    (build / "index.html").write_text((build / "index.html").read_text().replace("</body>", "<p>v2</p></body>"))
    summary_file = tmp_path / "publish.json"
    argv = ["publish", "--env", "local", "--endpoint-url", stack.emulator.url, "--build-dir", str(build)]
    assert cli.main([*argv, "--summary-file", str(summary_file), "-e", json.dumps(BASE)]) == 0
    assert live() != first and b"<p>v2</p>" in index()

    assert_ok(stack.run("rollback", extra=BASE))
    assert live() == first and index() == first_index


# -- destroy ------------------------------------------------------------------------------------
def test_destroy_leaves_nothing_of_any_type_in_either_region(site, stack, aws, empty, master_password):
    """With the emulator holding what deleted resources used for some seconds, as AWS does (the
    distribution's origin access control, the certificates): destroy waits, saying so, and finishes."""
    stack.emulator.hold_releases(5)
    try:
        # Retried every second: the run ends a second after the release, not up to ten.
        assert_ok(stack.destroy(extra={**BASE, "cdn_release_delay": 1, "certificate_release_delay": 1}))
    finally:
        stack.emulator.hold_releases(0)
    assert "[frontend] waiting  Remove the origin access control: a deleted distribution" in stack.output[-1]
    assert_unchanged(aws, empty)
    assert_no_secret(stack, master_password)
