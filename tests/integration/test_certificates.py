"""The certificates layer against the test run's moto server, the play in ap-northeast-2: the
CloudFront certificate in us-east-1, the load balancer's in ap-northeast-2, both ISSUED and
validated through CNAMEs in the zone; re-runs request nothing; check mode writes nothing; a
certificate handed in must cover the names; destroy waits for a certificate AWS frees late, names a
holder that stays, and removes the certificates, their records and the zone. Bad input:
tests/integration/test_bad_input.py."""

from __future__ import annotations

import contextlib

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone

PROJECT = "t-certs"
DOMAIN = "t-certs.local.test"
BASE = {"webstack_project": PROJECT, "webstack_domain": DOMAIN, "dns_create_zone": True}
REGION = "ap-northeast-2"


def certificates(aws, region: str, project: str = PROJECT) -> list[dict]:
    """Every certificate in `region` tagged with the project, described, with its tags."""
    acm = aws("acm", region)
    found = []
    statuses = ["PENDING_VALIDATION", "ISSUED", "FAILED", "EXPIRED", "INACTIVE", "REVOKED", "VALIDATION_TIMED_OUT"]
    for summary in acm.list_certificates(CertificateStatuses=statuses)["CertificateSummaryList"]:
        arn = summary["CertificateArn"]
        tags = {t["Key"]: t.get("Value") for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]}
        if tags.get("Project") == project:
            found.append({**acm.describe_certificate(CertificateArn=arn)["Certificate"], "Tags": tags})
    return found


def zones(aws, domain: str = DOMAIN) -> list[dict]:
    return [z for z in aws("route53").list_hosted_zones()["HostedZones"] if z["Name"] == domain + "."]


def counts(aws) -> tuple[int, int]:
    return len(certificates(aws, "us-east-1")), len(certificates(aws, REGION))


@pytest.fixture(scope="module")
def before(aws):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, aws, before):
    summary = assert_ok(stack.deploy(layers="certificates", extra=BASE))
    yield summary
    destroy_unless_gone(stack, aws, before, layers="certificates", extra=BASE)


def test_cloudfront_certificate_is_in_us_east_1_and_alb_certificate_in_the_play_region(deployed, aws):
    (cloudfront,) = certificates(aws, "us-east-1")
    (alb,) = certificates(aws, REGION)
    assert cloudfront["CertificateArn"].split(":")[3] == "us-east-1"
    assert alb["CertificateArn"].split(":")[3] == REGION
    assert sorted(cloudfront["SubjectAlternativeNames"]) == [DOMAIN, f"www.{DOMAIN}"]
    assert alb["SubjectAlternativeNames"] == [f"api.{DOMAIN}"]
    for cert, purpose in ((cloudfront, "cloudfront"), (alb, "alb")):
        assert cert["Status"] == "ISSUED" and cert["Type"] == "AMAZON_ISSUED"
        assert cert["KeyAlgorithm"] == "RSA_2048"
        assert cert["Tags"] == {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack", "Purpose": purpose}
    outputs = deployed["outputs"]["certificate"]
    assert outputs == {
        "cloudfront_arn": cloudfront["CertificateArn"],
        "cloudfront_region": "us-east-1",
        "alb_arn": alb["CertificateArn"],
        "alb_region": REGION,
    }


def test_validation_cnames_are_in_the_zone(deployed, aws):
    (zone,) = zones(aws)
    tags = aws("route53").list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone["Id"].split("/")[-1])
    assert {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]}["Project"] == PROJECT
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    cnames = {(r["Name"], r["ResourceRecords"][0]["Value"]) for r in records if r["Type"] == "CNAME"}
    wanted = set()
    for cert in certificates(aws, "us-east-1") + certificates(aws, REGION):
        for option in cert["DomainValidationOptions"]:
            wanted.add((option["ResourceRecord"]["Name"], option["ResourceRecord"]["Value"]))
    assert len(wanted) == 3 and wanted <= cnames


def test_second_deploy_requests_nothing_and_changes_nothing(deployed, stack, aws):
    converged = capture(aws)
    assert changed(assert_ok(stack.deploy(layers="certificates", extra=BASE))) == 0
    assert_unchanged(aws, converged)
    assert counts(aws) == (1, 1)


def test_plan_of_a_new_name_reports_a_change_and_requests_nothing(deployed, stack, aws):
    extra = {**BASE, "certificate_alb_names": [f"api.{DOMAIN}", f"admin.{DOMAIN}"]}
    unplanned = capture(aws)
    plan = assert_ok(stack.plan(layers="certificates", extra=extra))
    assert changed(plan) > 0
    assert_unchanged(aws, unplanned)


def test_backend_and_frontend_find_the_certificates_by_tag(deployed, aws, emulator, tmp_path):
    """What playbooks/backend.yml and frontend.yml will include: outputs finds, changes nothing."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    play = tmp_path / "find.yml"
    play.write_text(
        "- hosts: webstack\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: webstack.aws.certificate, tasks_from: outputs}\n"
        "    - ansible.builtin.copy:\n"
        f"        dest: {tmp_path}/found.json\n"
        '        content: \'{{ {"cf": certificate_cloudfront_arn, "alb": certificate_alb_arn} | to_json }}\'\n'
        "      changed_when: false\n"
    )
    env = {**os.environ, **emulator.client_env(), "ANSIBLE_CONFIG": str(repo / "ansible.cfg")}
    untouched = capture(aws)
    extra = json.dumps({**BASE, "ansible_python_interpreter": sys.executable})
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(repo / "inventories/local"), str(play)]
    run = subprocess.run(
        [*cmd, "-e", extra], check=False, cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert_unchanged(aws, untouched)
    found = json.loads((tmp_path / "found.json").read_text())
    assert found == {
        "cf": certificates(aws, "us-east-1")[0]["CertificateArn"],
        "alb": certificates(aws, REGION)[0]["CertificateArn"],
    }


def test_a_certificate_handed_in_must_cover_the_names(stack, aws, capsys):
    project = "t-bad-cover"
    domain = f"{project}.local.test"
    foreign = aws("acm", "us-east-1").request_certificate(DomainName=f"other.{domain}", ValidationMethod="DNS")
    extra = {
        **BASE,
        "webstack_project": project,
        "webstack_domain": domain,
        "certificate_cloudfront_arn": foreign["CertificateArn"],
    }
    untouched = capture(aws)
    summary = stack.deploy(layers="certificates", extra=extra)
    assert summary["exit_code"] != 0
    err = capsys.readouterr().err
    assert "certificate_cloudfront_arn" in err and f"does not cover {domain}, www.{domain}" in err
    assert_unchanged(aws, untouched)
    aws("acm", "us-east-1").delete_certificate(CertificateArn=foreign["CertificateArn"])


@contextlib.contextmanager
def load_balancer_using(aws, certificate_arn: str):
    """An ALB with an HTTPS listener on the certificate, on a VPC of its own; removed afterwards.
    Yields the load balancer's and the listener's ARNs (ACM names the listener as the user)."""
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name="t-certs-holder", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate_arn}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )["Listeners"][0]["ListenerArn"]
    try:
        yield lb, listener
    finally:
        with contextlib.suppress(elbv2.exceptions.LoadBalancerNotFoundException):
            elbv2.delete_load_balancer(LoadBalancerArn=lb)
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_vpc(VpcId=vpc)


def test_destroy_waits_for_a_late_release_and_names_a_holder_that_stays(deployed, stack, aws, emulator):
    """AWS frees a certificate only minutes after its load balancer is gone. Destroy retries, with a
    progress line per attempt; when the bound runs out, the failure names the holder."""
    (alb_certificate,) = certificates(aws, REGION)
    with load_balancer_using(aws, alb_certificate["CertificateArn"]) as (lb, listener):
        short = {**BASE, "certificate_release_timeout": 4, "certificate_release_delay": 2}
        refused = stack.destroy(layers="certificates", extra=short)
        assert refused["status"] == "failed"
        printed = stack.output[-1]
        assert f"[certificates] waiting  Delete the stack's certificates: {listener} (attempt 1 of 3)" in printed
        assert f"certificate {alb_certificate['CertificateArn']} is still in use by {listener}: " in printed, printed
        assert counts(aws)[1] == 1

        emulator.hold_releases(25)  # long enough to outlast the destroy's preflight on a loaded machine
        try:
            aws("elbv2").delete_load_balancer(LoadBalancerArn=lb)
            # Retried every second: the run ends a second after the release, not up to ten.
            assert_ok(stack.destroy(layers="certificates", extra={**BASE, "certificate_release_delay": 1}))
        finally:
            emulator.hold_releases(0)
    assert "[certificates] waiting  Delete the stack's certificates: " in stack.output[-1]
    assert counts(aws) == (0, 0)


def test_destroy_removes_certificates_records_and_the_zone(deployed, stack, aws, before):
    assert_ok(stack.destroy(layers="certificates", extra=BASE))
    assert counts(aws) == (0, 0)
    assert zones(aws) == []
    assert_unchanged(aws, before)
    assert changed(assert_ok(stack.destroy(layers="certificates", extra=BASE))) == 0


def test_in_us_east_1_one_certificate_serves_both(stack, aws):
    """README: when the region is us-east-1, one certificate serves both (CloudFront and the ALB)."""
    project = "t-one-cert"
    domain = f"{project}.local.test"
    extra = {**BASE, "webstack_project": project, "webstack_domain": domain, "webstack_region": "us-east-1"}
    untouched = capture(aws)
    try:
        summary = assert_ok(stack.deploy(layers="certificates", extra=extra))
        (shared,) = certificates(aws, "us-east-1", project)
        outputs = summary["outputs"]["certificate"]
        assert outputs["cloudfront_arn"] == outputs["alb_arn"] == shared["CertificateArn"]
        assert set(shared["SubjectAlternativeNames"]) >= {domain, f"api.{domain}"}
        assert certificates(aws, REGION, project) == []
        assert_ok(stack.destroy(layers="certificates", extra=extra))
    finally:
        destroy_unless_gone(stack, aws, untouched, layers="certificates", extra=extra)
    assert_unchanged(aws, untouched)


def test_destroy_keeps_the_validation_records_another_certificate_still_needs(stack, aws):
    """ACM gives every certificate of an account the same validation CNAME for a name, in every
    region: someone else's certificate for the site's names (in us-east-1, untagged) renews through
    the records the stack wrote, so destroy keeps those and removes only the api name's. The zone is
    the user's (not created by the stack) and stays."""
    project, domain = "t-certs-shared", "t-certs-shared.local.test"
    route53, acm = aws("route53"), aws("acm", "us-east-1")
    zone = route53.create_hosted_zone(Name=domain, CallerReference=f"{project}-zone")["HostedZone"]["Id"].split("/")[-1]
    theirs = acm.request_certificate(
        DomainName=domain, ValidationMethod="DNS", SubjectAlternativeNames=[f"www.{domain}"]
    )["CertificateArn"]
    extra = {"webstack_project": project, "webstack_domain": domain}

    def cnames() -> set[str]:
        sets = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        return {r["Name"] for r in sets if r["Type"] == "CNAME"}

    try:
        assert_ok(stack.deploy(layers="certificates", extra=extra))
        assert len(cnames()) == 3
        assert_ok(stack.destroy(layers="certificates", extra=extra))
        assert certificates(aws, "us-east-1", project) == certificates(aws, REGION, project) == []
        needed = {
            o["ResourceRecord"]["Name"]
            for o in acm.describe_certificate(CertificateArn=theirs)["Certificate"]["DomainValidationOptions"]
        }
        assert cnames() == needed and len(needed) == 2  # the api name's record went with the stack's certificate
        assert [z["Id"].split("/")[-1] for z in zones(aws, domain)] == [zone]
    finally:
        acm.delete_certificate(CertificateArn=theirs)
        left = [
            r
            for r in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
            if r["Type"] == "CNAME"
        ]
        if left:
            route53.change_resource_record_sets(
                HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in left]}
            )
        route53.delete_hosted_zone(Id=zone)
