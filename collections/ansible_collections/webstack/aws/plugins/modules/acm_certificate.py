#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: acm_certificate
short_description: Request, reuse, wait for or delete a DNS-validated ACM certificate
version_added: 0.1.0
description:
  - Requests a public, DNS-validated AWS Certificate Manager certificate for O(domain_name) and
    O(subject_alternative_names), or reuses an existing one for exactly that set of names that
    carries O(tags) and is pending validation or issued. Re-runs never request a duplicate.
  - O(purpose=cloudfront) always works in C(us-east-1), whatever the play's region, because
    CloudFront only reads certificates from there; O(purpose=alb) works in the module's region,
    the only region an Application Load Balancer can take a certificate from.
  - Returns the validation CNAME records to write into DNS; can wait until the certificate is
    C(ISSUED). Writing the records is left to M(amazon.aws.route53).
  - The certificate is tagged with O(tags) plus C(Purpose).
  - O(state=absent) deletes the matching certificates and fails clearly when one is still in use.
options:
  state:
    description: Whether the certificate should exist.
    type: str
    choices: [present, absent]
    default: present
  domain_name:
    description:
      - The certificate's main name (its subject). May be a wildcard such as C(*.example.com).
      - Required with O(state=present). With O(state=absent) and neither O(domain_name) nor
        O(certificate_arn), every certificate carrying the identity tags and C(Purpose) is deleted.
    type: str
  subject_alternative_names:
    description: Further names the certificate covers, besides O(domain_name).
    type: list
    elements: str
    default: []
  purpose:
    description:
      - C(cloudfront) works in C(us-east-1); C(alb) in the module's region.
      - Recorded in the C(Purpose) tag and part of the match when reusing a certificate.
    type: str
    choices: [alb, cloudfront]
    required: true
  tags:
    description:
      - Tags for the certificate, C(Purpose) added. A certificate is reused only when it carries the
        same C(Project), C(Environment), C(ManagedBy) and C(Purpose) tags (all of O(tags) when none of
        those is given). Tags missing from a reused certificate are added; others are left alone.
    type: dict
    default: {}
  key_algorithm:
    description: Key algorithm of a new certificate (ACM.2 asks for RSA of at least 2048 bits).
    type: str
    choices: [RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1]
    default: RSA_2048
  certificate_arn:
    description: With O(state=absent), delete exactly this certificate instead of those matching the names and tags.
    type: str
  validation_record_regions:
    description:
      - With O(state=absent), regions besides the certificate's whose certificates are checked for
        validation records still in use (RV(validation_records_in_use)). ACM gives every certificate
        of an account the same validation record for a name, in every region.
    type: list
    elements: str
    default: []
  wait:
    description: Wait until the certificate is C(ISSUED); fail on C(FAILED) or after O(wait_timeout).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for C(ISSUED) with O(wait), and at most for ACM to publish the validation records.
    type: int
    default: 900
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Request the CloudFront certificate (in us-east-1, whatever the play's region)
  webstack.aws.acm_certificate:
    domain_name: example.com
    subject_alternative_names: [www.example.com]
    purpose: cloudfront
    tags: {Project: shop, Environment: prod, ManagedBy: webstack}
  register: cloudfront_cert

- name: Write its validation records
  amazon.aws.route53:
    state: present
    hosted_zone_id: Z123
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
  loop: "{{ cloudfront_cert.validation_records }}"

- name: Wait until it is issued
  webstack.aws.acm_certificate:
    domain_name: example.com
    subject_alternative_names: [www.example.com]
    purpose: cloudfront
    tags: {Project: shop, Environment: prod, ManagedBy: webstack}
    wait: true
    wait_timeout: 1800

- name: Request the load balancer's certificate in the play's region
  webstack.aws.acm_certificate:
    domain_name: api.example.com
    purpose: alb
    region: ap-northeast-2
    tags: {Project: shop, Environment: prod, ManagedBy: webstack}

- name: Delete it
  webstack.aws.acm_certificate:
    domain_name: api.example.com
    purpose: alb
    region: ap-northeast-2
    tags: {Project: shop, Environment: prod, ManagedBy: webstack}
    state: absent
"""

RETURN = r"""
certificate:
  description: The certificate (empty when absent, or not yet requested in check mode).
  returned: always
  type: dict
  contains:
    arn: {description: Its ARN., type: str, sample: "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    region: {description: The region it lives in., type: str, sample: us-east-1}
    domain_name: {description: Its subject., type: str}
    subject_alternative_names: {description: Every name it covers, the domain included., type: list}
    status: {description: PENDING_VALIDATION, ISSUED, ..., type: str}
    key_algorithm: {description: Its key algorithm., type: str}
    in_use_by: {description: ARNs of the resources using it., type: list}
    tags: {description: Its tags., type: dict}
validation_records:
  description: The DNS validation CNAMEs, once each (names sharing a record are merged).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "_x1.example.com.", "type": "CNAME", "value": "_x2.acm-validations.aws."}]
deleted:
  description: ARNs deleted (state=absent).
  returned: when state=absent
  type: list
  elements: str
validation_records_in_use:
  description:
    - Those of RV(validation_records) that another certificate, in the certificate's region or in
      O(validation_record_regions), still needs (pending validation, or issued and renewed through
      it), each with C(used_by), those certificates' ARNs. Someone else's too, unless the caller
      deletes those certificates as well.
  returned: when state=absent
  type: list
  elements: dict
in_use_by:
  description:
    - When a certificate to delete is still in use, what uses it (AWS frees a certificate some
      minutes after its load balancer or distribution is deleted); retry the task until this is empty.
  returned: failure
  type: list
  elements: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import acm  # noqa: E402


def ensure_present(module, client, names, tags, region) -> dict:
    params = module.params
    changed = False
    found = acm.find_certificates(client, names, acm.identity_tags(tags), params["key_algorithm"])
    chosen = acm.pick_reusable(found)
    if chosen is None:
        if module.check_mode:
            after = {"domain_name": names[0], "subject_alternative_names": names, "region": region, "tags": tags}
            diff = {"before": {}, "after": after}
            return {"changed": True, "certificate": {}, "validation_records": [], "diff": diff}
        token = acm.idempotency_token(region, params["purpose"], *names, *sorted(tags.items()))
        arn = acm.request_certificate(client, names, tags, params["key_algorithm"], token)
        changed = True
        chosen = {"CertificateArn": arn}
    elif not acm.tags_match(chosen["Tags"], tags):
        changed = True
        if not module.check_mode:
            acm.add_tags(client, chosen["CertificateArn"], tags)
    before = {} if changed else acm.summary(chosen)

    arn = chosen["CertificateArn"]
    detail, records = acm.wait_for_validation_records(client, arn, min(params["wait_timeout"], 120))
    if records is None:
        module.fail_json(msg=f"ACM has not published the DNS validation records of {arn} yet; run again shortly.")
    if params["wait"] and detail.get("Status") != "ISSUED":
        detail, problem = acm.wait_for_issued(client, arn, params["wait_timeout"])
        if problem:
            module.fail_json(msg=problem, certificate=acm.summary(detail), validation_records=records)
    detail["Tags"] = acm.get_tags(client, arn)
    after = acm.summary(detail)
    return {
        "changed": changed,
        "certificate": after,
        "validation_records": records,
        "diff": {"before": before, "after": after},
    }


def in_use_failure(module, holders: dict[str, list[str]]) -> None:
    module.fail_json(
        msg="; ".join(
            f"certificate {arn} is still in use by {', '.join(users)}: remove it from those load balancers or "
            "distributions first (AWS frees it some minutes after they are deleted)"
            for arn, users in holders.items()
        ),
        in_use_by=sorted({user for users in holders.values() for user in users}),
    )


def ensure_absent(module, client, names, tags, region) -> dict:
    arn = module.params["certificate_arn"]
    if arn:
        detail = acm.describe_certificate(client, arn)
        targets = [{**detail, "Tags": acm.get_tags(client, arn)}] if detail else []
    else:
        key_algorithm = module.params["key_algorithm"]
        targets = acm.find_certificates(client, names, acm.identity_tags(tags), key_algorithm, any_status=True)
    # In check mode a user is expected: the teardown being planned removes it first.
    in_use = [t for t in targets if t.get("InUseBy")]
    if in_use and not module.check_mode:
        in_use_failure(module, {t["CertificateArn"]: t["InUseBy"] for t in in_use})
    records: list[dict] = []
    for target in targets:
        records += [r for r in acm.validation_records(target) or [] if r not in records]
        if not module.check_mode:
            try:
                acm.delete_certificate(client, target["CertificateArn"])
            except is_boto3_error_code("ResourceInUseException"):
                # ACM still counts a user that is already gone: it lets go some minutes later.
                in_use_failure(module, {target["CertificateArn"]: ["a resource deleted moments ago"]})
            except is_boto3_error_code("ResourceNotFoundException"):
                pass
    deleted = [t["CertificateArn"] for t in targets]
    users: dict[str, list[str]] = {}
    for where in dict.fromkeys([region, *module.params["validation_record_regions"]]):
        checked = (
            client
            if where == region
            else module.client("acm", region=where, retry_decorator=AWSRetry.jittered_backoff())
        )
        for name, arns in acm.validation_records_in_use(checked, records, deleted).items():
            users.setdefault(name, []).extend(arns)
    in_use = [dict(record, used_by=users[record["name"]]) for record in records if users.get(record["name"])]
    return {
        "changed": bool(targets),
        "certificate": {},
        "deleted": deleted,
        "validation_records": records,
        "validation_records_in_use": in_use,
        "diff": {"before": {"arns": [t["CertificateArn"] for t in targets]}, "after": {"arns": []}},
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            domain_name=dict(type="str"),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            purpose=dict(type="str", choices=list(acm.PURPOSES), required=True),
            tags=dict(type="dict", default={}),
            key_algorithm=dict(type="str", choices=list(acm.KEY_ALGORITHMS), default="RSA_2048"),
            certificate_arn=dict(type="str"),
            validation_record_regions=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=900),
        ),
        required_if=[("state", "present", ["domain_name"])],
        supports_check_mode=True,
    )
    params = module.params
    names = []
    if params["domain_name"]:
        names = acm.certificate_names(params["domain_name"], params["subject_alternative_names"])
        bad = [n for n in names if not acm.is_domain_name(n)]
        if bad:
            module.fail_json(msg=f"not DNS names: {', '.join(bad)} (domain_name / subject_alternative_names)")
    try:
        region = acm.certificate_region(params["purpose"], module.region)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if params["certificate_arn"]:
        problem = acm.certificate_arn_problem(params["certificate_arn"], params["purpose"], region)
        if problem:
            module.fail_json(msg=f"certificate_arn: {problem}")
    tags = {**{str(k): str(v) for k, v in params["tags"].items()}, "Purpose": params["purpose"]}

    client = module.client("acm", region=region, retry_decorator=AWSRetry.jittered_backoff())
    try:
        if params["state"] == "present":
            result = ensure_present(module, client, names, tags, region)
        else:
            result = ensure_absent(module, client, names, tags, region)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"ACM call failed in {region}")
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
