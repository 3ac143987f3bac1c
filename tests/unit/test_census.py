"""tests/census.py sees what the tagging API misses, in both regions, and reports additions,
modifications and removals: the helper every "writes nothing" and "leaves nothing" test relies on."""

from __future__ import annotations

import uuid

from tests.census import capture


def test_census_sees_untagged_types_in_both_regions_and_global_services(aws):
    before = capture(aws)
    zone = aws("route53").create_hosted_zone(Name="census.test", CallerReference=uuid.uuid4().hex)["HostedZone"]
    created = aws("cloudfront", "us-east-1").create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "census-oac",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    oac = created["OriginAccessControl"]
    certificate = aws("acm", "us-east-1").request_certificate(DomainName="census.test", ValidationMethod="DNS")
    template = aws("ec2").create_launch_template(
        LaunchTemplateName="census-lt", LaunchTemplateData={"InstanceType": "t3.micro"}
    )["LaunchTemplate"]
    allocation = aws("ec2").allocate_address(Domain="vpc")["AllocationId"]

    after = capture(aws)
    diff = after.diff(before)
    assert diff.added == {
        "global/route53:hosted-zone": [zone["Id"].rsplit("/", 1)[-1]],
        "global/route53:record": sorted(
            f"{zone['Id'].rsplit('/', 1)[-1]}/census.test./{kind}/" for kind in ("NS", "SOA")
        ),
        "global/cloudfront:origin-access-control": [oac["Id"]],
        "us-east-1/acm:certificate": [certificate["CertificateArn"]],
        "ap-northeast-2/ec2:launch-template": [template["LaunchTemplateId"]],
        "ap-northeast-2/ec2:elastic-ip": [allocation],
    }
    assert not diff.removed and not diff.changed
    census = after.census()
    assert census["us-east-1/acm:certificate"] == before.census().get("us-east-1/acm:certificate", 0) + 1

    aws("ec2").create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"], LaunchTemplateData={"InstanceType": "t3.small"}
    )
    modified = capture(aws).diff(after)
    assert list(modified.changed) == ["ap-northeast-2/ec2:launch-template"]
    assert "LatestVersionNumber" in modified.changed["ap-northeast-2/ec2:launch-template"][0]

    aws("route53").delete_hosted_zone(Id=zone["Id"])
    aws("cloudfront", "us-east-1").delete_origin_access_control(Id=oac["Id"], IfMatch=created["ETag"])
    aws("acm", "us-east-1").delete_certificate(CertificateArn=certificate["CertificateArn"])
    aws("ec2").delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
    aws("ec2").release_address(AllocationId=allocation)
    assert capture(aws).diff(before).empty
