"""Bad input in bulk: every role's validation messages, without a full ansible-runner job each.

One ansible-playbook run (generated from CASES), one inventory host per case carrying its
variables, includes the host's role's `validate` entry point in a block whose rescue records the
failure, and writes every result as JSON. Each case is its own test asserting the exact
`variable: rule (got value)` line. Then one runner.py case per
layer against a closed loopback port shows that bad input stops a real run before any AWS call,
and a few README claims about where AWS calls may go are checked without any AWS endpoint.

No moto server is needed: every AWS endpoint here is a loopback port nothing listens on, so an AWS
call would fail with a connection error instead of reaching anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from webstack import arguments, cli, home
from webstack.emulator import FAKE_CREDENTIALS, MODULE_PAUSE_S, free_port, loopback_client_env
from webstack.home import PLAYBOOKS
from webstack.layers import NO_ANSWER, aws_target, speed_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CONNECTION_ERRORS = ("Could not connect to the endpoint URL", "Connection refused", "EndpointConnectionError")
LB_ARN_US_EAST_1 = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"
CERT_ARN_SEOUL = "arn:aws:acm:ap-northeast-2:123456789012:certificate/0a1b2c3d"


@dataclass(frozen=True)
class Case:
    id: str
    role: str
    vars: dict
    expected: str
    # Further lines the same input fails, in the role's order (a value other checks derive from).
    also: tuple[str, ...] = ()
    # A value that must never be shown (a password).
    secret: str | None = None
    # Ansible's own argument-spec check (types, choices) of the `validate` entry point, which runs
    # before tasks/validate.yml; its lines are Ansible's wording, not the role's.
    argspec: bool = False
    # The role's entry point whose own checks the case fails: `validate`, or one that checks
    # settings only it takes (static_site's `publish`).
    entry: str = "validate"


def arg(role: str, values: dict, expected: str, suffix: str = "", **kw) -> Case:
    """A case named after the role and the variables it sets."""
    return Case("-".join([role, *(k.removeprefix(f"{role}_") for k in values)]) + suffix, role, values, expected, **kw)


CIDR_RULE = "must be an IPv4 network CIDR between /16 and /24, like 10.20.0.0/16"
NAMES_RULE = "must list DNS names (wildcards allowed) within certificate_domain, whose zone validates them"
DOMAIN_RULE = "must be a DNS domain name of two labels or more, like example.com (no scheme, no wildcard)"
CDN_ARN_RULE = (
    "must be empty (CloudFront's default certificate) or an ACM certificate ARN in us-east-1. CloudFront only uses "
    "certificates issued in us-east-1 (N. Virginia), whatever region the stack runs in{}. Request the certificate "
    "in us-east-1 and pass that ARN"
)
BUCKET_RULE = (
    "must be empty (<project>-<environment>-site-<account id>) or a bucket name of 3 to 63 lower-case letters, "
    "digits, '-' and '.', starting and ending with a letter or digit"
)
PASSWORD_RULE = 'must be 8 to {} printable characters for {}, without / " @ or spaces (the value is not shown)'

CASES: list[Case] = [
    # -- network ---------------------------------------------------------------------------------
    arg("network", {"network_az_count": 1}, "network_az_count: must be a number from 2 to 6 (got 1)", suffix="-1"),
    arg("network", {"network_az_count": 7}, "network_az_count: must be a number from 2 to 6 (got 7)", suffix="-7"),
    arg("network", {"network_vpc_cidr": "10.0.0.0/33"}, f'network_vpc_cidr: {CIDR_RULE} (got "10.0.0.0/33")'),
    arg(
        "network",
        {"network_vpc_cidr": "10.0.0.0/8"},
        f'network_vpc_cidr: {CIDR_RULE} (got "10.0.0.0/8")',
        suffix="-too-large",
    ),
    arg(
        "network",
        {"network_vpc_cidr": "10.20.0.1/16"},
        f'network_vpc_cidr: {CIDR_RULE} (got "10.20.0.1/16")',
        suffix="-host-bits",
    ),
    arg("network", {"network_vpc_cidr": "fd00::/56"}, f'network_vpc_cidr: {CIDR_RULE} (got "fd00::/56")', suffix="-v6"),
    arg(
        "network",
        {"network_availability_zones": ["ap-northeast-2a"]},
        "network_availability_zones: must be empty (use network_az_count) or name at least 2 distinct zones "
        '(got ["ap-northeast-2a"])',
    ),
    arg(
        "network",
        {"network_availability_zones": ["ap-northeast-2a", "ap-northeast-2a"]},
        "network_availability_zones: must be empty (use network_az_count) or name at least 2 distinct zones "
        '(got ["ap-northeast-2a", "ap-northeast-2a"])',
        suffix="-twice",
    ),
    arg(
        "network",
        {"network_private_netnum_offset": 1},
        "network_private_netnum_offset: must leave room for 2 public subnets below it and 2 private subnets "
        "within the 16 subnets network_subnet_newbits allows (got 1)",
    ),
    arg(
        "network",
        {"network_subnet_newbits": 2},
        "network_private_netnum_offset: must leave room for 2 public subnets below it and 2 private subnets "
        "within the 4 subnets network_subnet_newbits allows (got 8)",
    ),
    arg("network", {"network_app_port": 0}, "network_app_port: must be a TCP port from 1 to 65535 (got 0)"),
    arg("network", {"network_db_port": 70000}, "network_db_port: must be a TCP port from 1 to 65535 (got 70000)"),
    arg(
        "network",
        {"network_alb_ingress_cidrs": ["everyone"]},
        'network_alb_ingress_cidrs: must list IPv4 network CIDRs only (got ["everyone"])',
    ),
    arg(
        "network",
        {"network_alb_ingress_cidrs": ["0.0.0.0/0", "::/0"]},
        'network_alb_ingress_cidrs: must list IPv4 network CIDRs only (got ["0.0.0.0/0", "::/0"])',
        suffix="-v6",
    ),
    arg(
        "network",
        {"network_alb_ingress_ipv6_cidrs": ["0.0.0.0/0"]},
        'network_alb_ingress_ipv6_cidrs: must list IPv6 network CIDRs only (got ["0.0.0.0/0"])',
    ),
    arg(
        "network",
        {"network_nat_gateway_mode": "none"},
        "value of network_nat_gateway_mode must be one of: single, per_az, got: none",
        argspec=True,
    ),
    arg(
        "network",
        {"network_az_count": "two"},
        "argument 'network_az_count' is of type str and we were unable to convert to int: "
        "\"'two'\" cannot be converted to an int",
        argspec=True,
        suffix="-type",
    ),
    # -- certificate -----------------------------------------------------------------------------
    Case(
        "certificate-webstack_domain",
        "certificate",
        {"webstack_domain": "example"},
        f'certificate_domain (webstack_domain): {DOMAIN_RULE} (got "example")',
        also=(f'certificate_cloudfront_names: {NAMES_RULE} (got ["example", "www.example"])',),
    ),
    arg(
        "certificate",
        {"certificate_region": "Seoul"},
        'certificate_region (webstack_region): must be an AWS region name like ap-northeast-2 (got "Seoul")',
    ),
    arg(
        "certificate",
        {"certificate_cloudfront_names": ["example.org"]},
        f'certificate_cloudfront_names: {NAMES_RULE} (got ["example.org"])',
    ),
    arg("certificate", {"certificate_alb_names": []}, f"certificate_alb_names: {NAMES_RULE} (got [])", suffix="-empty"),
    arg(
        "certificate",
        {"certificate_alb_names": ["10.0.0.1"]},
        f'certificate_alb_names: {NAMES_RULE} (got ["10.0.0.1"])',
        suffix="-ip",
    ),
    arg(
        "certificate",
        {"certificate_cloudfront_arn": CERT_ARN_SEOUL},
        f"certificate_cloudfront_arn: {CERT_ARN_SEOUL} is in ap-northeast-2, but CloudFront only accepts ACM "
        "certificates from us-east-1 (N. Virginia), whatever region the rest of the stack runs in: request or "
        f'import the certificate in us-east-1. (got "{CERT_ARN_SEOUL}")',
    ),
    arg(
        "certificate",
        {"certificate_alb_arn": LB_ARN_US_EAST_1},
        f"certificate_alb_arn: {LB_ARN_US_EAST_1} is in us-east-1, but a load balancer can only use an ACM "
        "certificate from its own region (ap-northeast-2): request or import the certificate in ap-northeast-2. "
        f'(got "{LB_ARN_US_EAST_1}")',
    ),
    arg(
        "certificate",
        {"certificate_alb_arn": "not-an-arn"},
        "certificate_alb_arn: 'not-an-arn' is not an ACM certificate ARN "
        '(arn:aws:acm:<region>:<account>:certificate/<id>) (got "not-an-arn")',
        suffix="-malformed",
    ),
    arg(
        "certificate",
        {"certificate_wait_timeout": 10},
        "certificate_wait_timeout: must be a number of seconds from 30 to 14400 (got 10)",
    ),
    # -- load_balancer ---------------------------------------------------------------------------
    arg(
        "load_balancer",
        {"load_balancer_project": "a-project-name-much-too-long"},
        "load_balancer_project: with load_balancer_environment must give names of at most 32 letters, digits and "
        'hyphens (a-project-name-much-too-long-local-alb) (got "a-project-name-much-too-long")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_health_check_path": "health"},
        'load_balancer_health_check_path: must be an absolute URL path starting with /, like /health (got "health")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_health_check_matcher": "600"},
        "load_balancer_health_check_matcher: must be HTTP codes from 200 to 499, like 200, 200,302 or 200-299 "
        '(got "600")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_health_check_interval": 5, "load_balancer_health_check_timeout": 5},
        "load_balancer_health_check_interval: must be 5 to 300 seconds and longer than "
        "load_balancer_health_check_timeout (got 5)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_health_check_timeout": 1},
        "load_balancer_health_check_timeout: must be 2 to 120 seconds (got 1)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_healthy_threshold": 11},
        "load_balancer_healthy_threshold: must be 2 to 10 checks (got 11)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_unhealthy_threshold": 1},
        "load_balancer_unhealthy_threshold: must be 2 to 10 checks (got 1)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_deregistration_delay": 3601},
        "load_balancer_deregistration_delay: must be 0 to 3600 seconds (got 3601)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_target_port": 0},
        "load_balancer_target_port: must be a TCP port from 1 to 65535 (got 0)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_idle_timeout": 4001},
        "load_balancer_idle_timeout: must be 1 to 4000 seconds (got 4001)",
    ),
    arg(
        "load_balancer",
        {"load_balancer_ssl_policy": "TLS13"},
        "load_balancer_ssl_policy: must name an ELB security policy, like ELBSecurityPolicy-TLS13-1-2-2021-06 "
        '(got "TLS13")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_certificate_arn": LB_ARN_US_EAST_1},
        "load_balancer_certificate_arn: must be empty (no HTTPS yet) or an ACM certificate ARN in the load "
        "balancer's own region ap-northeast-2 (an ALB cannot use a certificate from another region) "
        f'(got "{LB_ARN_US_EAST_1}")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_access_logs_bucket": "logs-bucket", "load_balancer_access_logs_prefix": "alb/"},
        "load_balancer_access_logs_prefix: must not begin or end with a slash, and needs "
        'load_balancer_access_logs_bucket (got "alb/")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_access_logs_prefix": "alb"},
        "load_balancer_access_logs_prefix: must not begin or end with a slash, and needs "
        'load_balancer_access_logs_bucket (got "alb")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_vpc_id": "vpc-XYZ"},
        'load_balancer_vpc_id: must be empty (found by tag) or a VPC id like vpc-0abc (got "vpc-XYZ")',
    ),
    arg(
        "load_balancer",
        {"load_balancer_subnet_ids": ["subnet-0abc"]},
        "load_balancer_subnet_ids: must be empty (found by tag) or list at least 2 subnet ids (subnet-...) in "
        'different zones (got ["subnet-0abc"])',
    ),
    arg(
        "load_balancer",
        {"load_balancer_security_group_ids": ["default"]},
        "load_balancer_security_group_ids: must be empty (found by tag) or list security group ids (sg-...) "
        '(got ["default"])',
    ),
    arg(
        "load_balancer",
        {"load_balancer_scheme": "public"},
        "value of load_balancer_scheme must be one of: internet-facing, internal, got: public",
        argspec=True,
    ),
    # -- rds -------------------------------------------------------------------------------------
    arg("rds", {"rds_engine": "oracle"}, 'rds_engine: must be postgres or mysql (got "oracle")'),
    arg(
        "rds",
        {"rds_project": "1stack"},
        "rds_project / rds_environment: must make a DB identifier of at most 63 letters, digits and single "
        'hyphens that starts with a letter (<project>-<environment>-db) (got "1stack-local-db")',
    ),
    arg(
        "rds",
        {"rds_engine_version": "16"},
        'rds_engine_version: must be a full postgres version like 16.8 (major.minor) (got "16")',
    ),
    arg(
        "rds",
        {"rds_engine": "mysql", "rds_engine_version": "8.0"},
        'rds_engine_version: must be a full mysql version like 8.0.40 (major.minor.patch) (got "8.0")',
    ),
    arg("rds", {"rds_port": 1000}, "rds_port: must be a TCP port from 1150 to 65535 (got 1000)"),
    arg(
        "rds",
        {"rds_instance_class": "t4g.micro"},
        'rds_instance_class: must be an RDS instance class like db.t4g.micro (got "t4g.micro")',
    ),
    arg(
        "rds",
        {"rds_allocated_storage": 10},
        "rds_allocated_storage: must be a size in GiB from 20 to 65536 (got 10)",
    ),
    arg(
        "rds",
        {"rds_max_allocated_storage": 20},
        "rds_max_allocated_storage: must be 0 (storage autoscaling off) or larger than rds_allocated_storage, "
        "up to 65536 (got 20)",
    ),
    arg(
        "rds",
        {"rds_backup_retention_days": 36},
        "rds_backup_retention_days: must be a number of days from 0 (no automated backups) to 35 (got 36)",
    ),
    arg(
        "rds",
        {"rds_db_name": "1app"},
        'rds_db_name: must start with a letter and hold up to 63 letters, digits and underscores (got "1app")',
    ),
    arg(
        "rds",
        {"rds_master_username": "admin"},
        "rds_master_username: must start with a letter, hold up to 16 letters, digits and underscores, and not "
        'be a reserved name (got "admin")',
    ),
    arg(
        "rds",
        {"rds_subnet_ids": ["subnet-0abc"]},
        "rds_subnet_ids: must be empty (found by tag) or list at least 2 subnet ids in different zones "
        '(got ["subnet-0abc"])',
    ),
    arg(
        "rds",
        {"rds_cloudwatch_logs_exports": ["slowquery"]},
        "rds_cloudwatch_logs_exports: must list log types postgres exports: postgresql, upgrade, "
        'iam-db-auth-error (got ["slowquery"])',
    ),
    arg("rds", {"rds_wait_timeout": 30}, "rds_wait_timeout: must be a number of seconds from 60 up (got 30)"),
    arg(
        "rds",
        {"rds_master_password": "Sh0rt!x"},
        "rds_master_password: " + PASSWORD_RULE.format(128, "postgres"),
        secret="Sh0rt!x",
        suffix="-short",
    ),
    arg(
        "rds",
        {"rds_master_password": "Vault/Kept-Secret-9"},
        "rds_master_password: " + PASSWORD_RULE.format(128, "postgres"),
        secret="Vault/Kept-Secret-9",
        suffix="-slash",
    ),
    arg(
        "rds",
        {"rds_engine": "mysql", "rds_master_password": "Zq8-" * 11},
        "rds_master_password: " + PASSWORD_RULE.format(41, "mysql"),
        secret="Zq8-" * 11,
        suffix="-too-long",
    ),
    arg(
        "rds",
        {"rds_storage_type": "io1"},
        "value of rds_storage_type must be one of: gp3, gp2, got: io1",
        argspec=True,
    ),
    # -- autoscaling -----------------------------------------------------------------------------
    arg(
        "autoscaling",
        {"autoscaling_project": "my_stack"},
        "autoscaling_project: with autoscaling_environment must give a name of letters, digits and hyphens "
        '(my_stack-local-app) (got "my_stack")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_min_size": 4, "autoscaling_max_size": 3},
        "autoscaling_min_size: must be 0 or more and at most autoscaling_max_size (3) (got 4)",
        also=(
            "autoscaling_desired_capacity: must lie between autoscaling_min_size (4) and autoscaling_max_size (3) "
            "(got 1)",
        ),
    ),
    arg(
        "autoscaling",
        {"autoscaling_min_size": 0, "autoscaling_max_size": 0, "autoscaling_desired_capacity": 0},
        "autoscaling_max_size: must be 1 or more (got 0)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_desired_capacity": 5},
        "autoscaling_desired_capacity: must lie between autoscaling_min_size (1) and autoscaling_max_size (3) (got 5)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_health_check_path": "health"},
        'autoscaling_health_check_path: must be an absolute URL path starting with /, like /health (got "health")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_instance_type": "micro"},
        "autoscaling_instance_type: must be an EC2 instance type like t3.micro or m7g.large (family.size) "
        '(got "micro")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_health_check_grace_period": -1},
        "autoscaling_health_check_grace_period: must be 0 or more seconds (got -1)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_cpu_target": 0},
        "autoscaling_cpu_target: must be a CPU percentage above 0 and at most 100 (got 0)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_app_port": 70000},
        "autoscaling_app_port: must be a TCP port from 1 to 65535 (got 70000)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_ami_id": "ami-XYZ"},
        'autoscaling_ami_id: must be empty (the SSM parameter\'s AMI) or an AMI id like ami-0abc (got "ami-XYZ")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_ami_ssm_parameter": "aws/service/ami"},
        'autoscaling_ami_ssm_parameter: must be an SSM parameter path starting with / (got "aws/service/ami")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_root_volume_size": 4},
        "autoscaling_root_volume_size: must be 8 to 16384 GiB (got 4)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_instance_refresh_min_healthy_percentage": 101},
        "autoscaling_instance_refresh_min_healthy_percentage: must be 0 to 100 (got 101)",
    ),
    arg(
        "autoscaling",
        {"autoscaling_subnet_ids": ["subnet-XYZ"]},
        'autoscaling_subnet_ids: must be empty (found by tag) or list subnet ids (subnet-...) (got ["subnet-XYZ"])',
    ),
    arg(
        "autoscaling",
        {
            "autoscaling_target_group_arns": [
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/x/1"
            ]
        },
        "autoscaling_target_group_arns: must be empty (found by tag) or list target group ARNs "
        '(got ["arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/x/1"])',
    ),
    arg(
        "autoscaling",
        {"autoscaling_db_secret_arn": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/db"},
        "autoscaling_db_secret_arn: must be empty or a Secrets Manager secret ARN (the secret, never the password) "
        '(got "arn:aws:ssm:ap-northeast-2:123456789012:parameter/db")',
    ),
    arg(
        "autoscaling",
        {"autoscaling_health_check_type": "HTTP"},
        "value of autoscaling_health_check_type must be one of: ELB, EC2, got: HTTP",
        argspec=True,
    ),
    # -- static_site -----------------------------------------------------------------------------
    arg(
        "static_site",
        {"static_site_bucket_name": "My_Bucket"},
        f'static_site_bucket_name: {BUCKET_RULE} (got "My_Bucket")',
    ),
    arg(
        "static_site",
        {"static_site_bucket_name": "192.168.0.1"},
        f'static_site_bucket_name: {BUCKET_RULE} (got "192.168.0.1")',
        suffix="-ip",
    ),
    arg(
        "static_site",
        {"static_site_bucket_name": "site..example"},
        f'static_site_bucket_name: {BUCKET_RULE} (got "site..example")',
        suffix="-dots",
    ),
    arg(
        "static_site",
        {"static_site_project": "My Stack"},
        "static_site_project: must be lower-case letters, digits and '-' when it names the bucket "
        "(<project>-<environment>-site-<account id>, at most 63 characters), or set static_site_bucket_name "
        '(got "My Stack")',
    ),
    arg(
        "static_site",
        {"static_site_kms_key_id": "alias/site"},
        "static_site_kms_key_id: is only used with static_site_encryption aws:kms; leave it empty with AES256 "
        '(got "alias/site")',
    ),
    arg(
        "static_site",
        {"static_site_noncurrent_version_days": 0},
        "static_site_noncurrent_version_days: must be a whole number of days from 1 to 3650 (got 0)",
    ),
    arg(
        "static_site",
        {"static_site_abort_multipart_days": 366},
        "static_site_abort_multipart_days: must be a whole number of days from 1 to 365 (got 366)",
    ),
    arg(
        "static_site",
        {"static_site_distribution_arn": "E123ABC"},
        "static_site_distribution_arn: must be empty (found by tag) or a CloudFront distribution ARN, "
        'arn:aws:cloudfront::<account>:distribution/<id> (got "E123ABC")',
    ),
    arg(
        "static_site",
        {"static_site_keep_releases": 0},
        "static_site_keep_releases: must be a whole number from 1 to 100 (got 0)",
    ),
    arg(
        "static_site",
        {"static_site_build_dir": "/nonexistent/dist", "static_site_keep_releases": 101},
        "static_site_build_dir: must be the build directory (npm run build output) with index.html at its top "
        '(got "/nonexistent/dist")',
        also=("static_site_keep_releases: must be a whole number from 1 to 100 (got 101)",),
        suffix="-publish",
        entry="publish",
    ),
    arg(
        "static_site",
        {"static_site_build_dir": str(home.DEMO_BUILD), "static_site_keep_releases": 0},
        "static_site_keep_releases: must be a whole number from 1 to 100 (got 0)",
        suffix="-publish-demo-build",
        entry="publish",
    ),
    arg(
        "static_site",
        {"static_site_encryption": "KMS"},
        "value of static_site_encryption must be one of: AES256, aws:kms, got: KMS",
        argspec=True,
    ),
    # -- cdn -------------------------------------------------------------------------------------
    arg(
        "cdn",
        {"cdn_certificate_arn": CERT_ARN_SEOUL},
        "cdn_certificate_arn: " + CDN_ARN_RULE.format(": this one is in ap-northeast-2") + f' (got "{CERT_ARN_SEOUL}")',
    ),
    arg(
        "cdn",
        {"cdn_certificate_arn": "not-an-arn"},
        "cdn_certificate_arn: " + CDN_ARN_RULE.format("") + ' (got "not-an-arn")',
        suffix="-malformed",
    ),
    arg(
        "cdn",
        {"cdn_certificate_arn": LB_ARN_US_EAST_1, "cdn_site_domain": "Example.COM"},
        "cdn_site_domain: must be a lower-case DNS name like example.com when cdn_certificate_arn is set "
        '(it becomes the alias) (got "Example.COM")',
    ),
    arg(
        "cdn",
        {"cdn_origin_domain_name": "bucket.example.com"},
        "cdn_origin_domain_name: must be empty (find the static_site bucket) or an S3 regional domain like "
        '<bucket>.s3.<region>.amazonaws.com (got "bucket.example.com")',
    ),
    arg(
        "cdn",
        {"cdn_error_codes": [200]},
        "cdn_error_codes: must list HTTP error codes CloudFront can customise "
        "(400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504) (got [200])",
    ),
    arg(
        "cdn",
        {"cdn_error_codes": []},
        "cdn_error_codes: must list HTTP error codes CloudFront can customise "
        "(400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504) (got [])",
        suffix="-empty",
    ),
    arg(
        "cdn",
        {"cdn_error_page": "index.html"},
        'cdn_error_page: must be a path starting with /, like /index.html (got "index.html")',
    ),
    arg(
        "cdn",
        {"cdn_error_response_code": 201},
        "cdn_error_response_code: must be a status CloudFront can answer with "
        "(200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504) (got 201)",
    ),
    arg("cdn", {"cdn_error_caching_ttl": -1}, "cdn_error_caching_ttl: must be 0 or more seconds (got -1)"),
    arg("cdn", {"cdn_wait_timeout": 0}, "cdn_wait_timeout: must be a positive number of seconds (got 0)"),
    arg(
        "cdn",
        {"cdn_price_class": "PriceClass_50"},
        "value of cdn_price_class must be one of: PriceClass_100, PriceClass_200, PriceClass_All, got: PriceClass_50",
        argspec=True,
    ),
    arg(
        "cdn",
        {"cdn_spa_routing": "rewrite"},
        "value of cdn_spa_routing must be one of: function, error_pages, got: rewrite",
        argspec=True,
    ),
    arg(
        "cdn",
        {"cdn_spa_page": "index.html", "cdn_error_page": "/index.html"},
        'cdn_spa_page: must be a path starting with /, like /index.html (got "index.html")',
    ),
    arg(
        "cdn",
        {"cdn_spa_asset_prefixes": ["/assets/", "static"]},
        "cdn_spa_asset_prefixes: must list path prefixes that start and end with /, like /assets/ "
        '(got ["/assets/", "static"])',
    ),
    arg(
        "cdn",
        {"cdn_response_headers": "none"},
        "value of cdn_response_headers must be one of: custom, managed, got: none",
        argspec=True,
    ),
    arg("cdn", {"cdn_hsts_max_age": -1}, "cdn_hsts_max_age: must be 0 or more seconds (got -1)"),
    arg(
        "cdn",
        {"cdn_hsts_preload": True, "cdn_hsts_max_age": 86400},
        "cdn_hsts_preload: needs cdn_hsts_max_age of at least 31536000 (a year) and cdn_hsts_include_subdomains, as "
        "the browsers' preload list does (got true)",
    ),
    arg(
        "cdn",
        {"cdn_referrer_policy": "always"},
        "cdn_referrer_policy: must be a Referrer-Policy value (no-referrer, no-referrer-when-downgrade, origin, "
        "origin-when-cross-origin, same-origin, strict-origin, strict-origin-when-cross-origin, unsafe-url) or empty "
        '(no header) (got "always")',
    ),
    arg(
        "cdn",
        {"cdn_content_security_policy": "default-src 'self'\nimg-src *"},
        "cdn_content_security_policy: must be at most 1783 characters (CloudFront's limit) and on one line "
        """(got "default-src 'self'\\nimg-src *")""",
    ),
    # -- dns -------------------------------------------------------------------------------------
    arg("dns", {"dns_domain": "localhost"}, f'dns_domain (webstack_domain): {DOMAIN_RULE} (got "localhost")'),
    Case(
        "dns-webstack_domain",
        "dns",
        {"webstack_domain": "https://example.com"},
        f'dns_domain (webstack_domain): {DOMAIN_RULE} (got "https://example.com")',
    ),
    arg("dns", {"dns_api_name": "api.v2"}, 'dns_api_name: must be one DNS label, like api (got "api.v2")'),
    arg("dns", {"dns_api_name": "API"}, 'dns_api_name: must be one DNS label, like api (got "API")', suffix="-upper"),
    arg(
        "dns",
        {"dns_hosted_zone_id": "zone-123"},
        "dns_hosted_zone_id: must be empty (find the zone by name) or a hosted zone id like Z0123456789ABCDEFGHIJ "
        '(got "zone-123")',
    ),
    arg("dns", {"dns_wait_timeout": 10}, "dns_wait_timeout: must be a number of seconds from 30 to 3600 (got 10)"),
]

ROLES = ("network", "certificate", "load_balancer", "rds", "autoscaling", "static_site", "cdn", "dns")
PREFLIGHT = "preflight"


def closed_port() -> int:
    """A loopback port nothing listens on: bound, read, then released."""
    return free_port()


def inventory_for(cases: list[Case]) -> dict:
    """One host per case, carrying the case's variables, and one for the preflight. Host variables
    rank above the inventory's group_vars, the playbooks' group_vars/all and the roles' defaults
    (what every case sets), below the roles' vars/. The play's tasks then run once for every case
    side by side, and each role loads once."""
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {
        case.id: {**host, **case.vars, "webstack_bad_input_role": case.role, "webstack_bad_input_entry": case.entry}
        for case in cases
    }
    hosts[PREFLIGHT] = {**host, "webstack_bad_input_role": PREFLIGHT, "webstack_bad_input_entry": PREFLIGHT}
    return {"webstack": {"hosts": hosts}}


def playbook_for(entries: list[str], results_file: Path) -> list[dict]:
    """One play over the cases' hosts: a block that includes the host's role's entry point (its
    `validate`, or for the preflight host the preflight a real run does), whose rescue records what
    failed; then every host's result written as JSON. One include per entry point: Ansible loads a
    role once for all the hosts that include it, whatever each host's `tasks_from` would be."""
    failed_messages = (
        "{{ ansible_failed_result.argument_errors if ansible_failed_result.argument_errors is defined"
        " else (ansible_failed_result.results | selectattr('failed', 'defined') | selectattr('failed')"
        " | map(attribute='msg') | list if ansible_failed_result.results is defined"
        " else ansible_failed_result.msg if ansible_failed_result.msg is not string"
        " else [ansible_failed_result.msg]) }}"
    )
    checks = [
        {
            "name": f"Check the case's role ({entry})",
            "ansible.builtin.include_role": {"name": "webstack.aws.{{ webstack_bad_input_role }}", "tasks_from": entry},
            "when": f"webstack_bad_input_entry == '{entry}'",
        }
        for entry in entries
    ]
    # The playbooks' preflight, whose endpoint check must refuse the closed port.
    preflight = {
        "name": "Check the target before any AWS call",
        "ansible.builtin.include_tasks": str(PLAYBOOKS / "tasks" / "preflight.yml"),
        # One second is enough to find a closed port closed (the default waits 3).
        "vars": {"webstack_preflight_roles": list(ROLES), "webstack_endpoint_timeout": 1},
        "when": f"webstack_bad_input_entry == '{PREFLIGHT}'",
    }
    tasks = [
        {
            "name": "Run the case",
            "block": [
                *checks,
                preflight,
                {
                    "name": "Record that nothing failed",
                    "ansible.builtin.set_fact": {"webstack_bad_input": {"failed": False}},
                },
            ],
            "rescue": [
                {
                    "name": "Record the failure",
                    "ansible.builtin.set_fact": {
                        "webstack_bad_input": {
                            "failed": True,
                            "task": "{{ ansible_failed_task.name }}",
                            "messages": failed_messages,
                        }
                    },
                }
            ],
        },
        {
            "name": "Write the results",
            "ansible.builtin.copy": {
                "content": "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all"
                " | map('extract', hostvars, 'webstack_bad_input'))) | to_nice_json }}\n",
                "dest": str(results_file),
                "mode": "0644",
            },
            "run_once": True,
        },
    ]
    return [{"name": "Bad input", "hosts": "webstack", "gather_facts": False, "tasks": tasks}]


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    """Runs every case in one ansible-playbook run and returns (results by case id, its output)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    # Playbook-adjacent group_vars, as for the collection's playbooks and site.yml (group_vars/all).
    (tmp / "group_vars").symlink_to(PLAYBOOKS / "group_vars")
    # The local inventory's group_vars beside the cases' hosts.
    inventory = tmp / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(REPO / "inventories" / "local" / "group_vars")
    (inventory / "hosts.yml").write_text(json.dumps(inventory_for(CASES), indent=1))
    results_file = tmp / "results.json"
    playbook = tmp / "bad_input.yml"
    entries = sorted({case.entry for case in CASES})
    playbook.write_text(json.dumps(playbook_for(entries, results_file), indent=1))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        FAKE_CREDENTIALS,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        **speed_env(),
    )
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and results_file.exists(), output[-6000:]
    return json.loads(results_file.read_text()), output


def test_the_table_covers_every_role_with_several_cases():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
    for role in ROLES:
        assert sum(case.role == role and not case.argspec for case in CASES) >= 4, role


def test_the_bulk_run_loads_the_project_defaults_and_makes_no_aws_call(bulk):
    results, output = bulk
    assert set(results) == {case.id for case in CASES} | {PREFLIGHT}
    assert not any(text in output for text in CONNECTION_ERRORS)


def test_the_preflight_passes_the_defaults_then_names_an_endpoint_that_does_not_answer(bulk):
    results, _ = bulk
    assert results[PREFLIGHT]["task"] == "Check that the AWS endpoint answers", results[PREFLIGHT]
    (message,) = results[PREFLIGHT]["messages"]
    before, after = NO_ANSWER.split("{url}")
    assert message.startswith(f"{before}http://127.0.0.1:") and message.endswith(after), message


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_names_the_variable_the_value_and_the_rule(bulk, case):
    results, output = bulk
    result = results[case.id]
    assert result["failed"], f"{case.role}'s {case.entry} accepted {case.vars}"
    if case.argspec:
        assert result["task"].startswith("Validating arguments against arg spec 'validate'"), result
    if case.entry == "publish":
        assert result["task"] == "Check the publish settings before any AWS call", result
    assert result["messages"] == [case.expected, *case.also]
    if case.secret:
        assert case.secret not in output
        assert case.secret not in json.dumps(results)


# -- runner.py: one case per layer, against a port nothing listens on -----------------------------
LAYER_CASES = [
    ("network", {"network_az_count": 1}, "network_az_count: must be a number from 2 to 6 (got 1)"),
    (
        "certificates",
        {"dns_hosted_zone_id": "zone-123"},
        "dns_hosted_zone_id: must be empty (find the zone by name) or a hosted zone id like Z0123456789ABCDEFGHIJ "
        '(got "zone-123")',
    ),
    # The last role of the layer: every role is checked before the certificate lookup.
    (
        "backend",
        {"autoscaling_desired_capacity": 5},
        "autoscaling_desired_capacity: must lie between autoscaling_min_size (1) and autoscaling_max_size (3) (got 5)",
    ),
    # cdn runs after the bucket is built: checked before it.
    (
        "frontend",
        {"cdn_error_page": "index.html"},
        'cdn_error_page: must be a path starting with /, like /index.html (got "index.html")',
    ),
    ("dns", {"dns_api_name": "API"}, 'dns_api_name: must be one DNS label, like api (got "API")'),
]
CHECK_TASK = re.compile(r"^\[\w+\] \S+\s+(Check |Validating arguments against arg spec )")


def deploy(tmp_path, layers: str, extra: dict, endpoint: str | None = None) -> tuple[int, dict]:
    summary_file = tmp_path / "summary.json"
    rc = cli.main(
        [
            "deploy",
            "--env",
            "local",
            "--layers",
            layers,
            "--endpoint-url",
            endpoint or f"http://127.0.0.1:{closed_port()}",
            "--summary-file",
            str(summary_file),
            "-e",
            json.dumps(extra),
        ]
    )
    return rc, json.loads(summary_file.read_text())


@pytest.mark.parametrize(("layer", "extra", "line"), LAYER_CASES, ids=[case[0] for case in LAYER_CASES])
def test_runner_stops_a_layer_on_bad_input_before_any_aws_call(tmp_path, capsys, layer, extra, line):
    rc, summary = deploy(tmp_path, layer, extra)
    err = capsys.readouterr().err
    assert rc != 0 and summary["status"] == "failed", err
    failures = [ln for ln in err.splitlines() if ln.startswith(f"[{layer}] FAILED")]
    assert len(failures) == 1, err
    assert f"\n    {line}\n" in err + "\n", err
    assert not any(text in err for text in CONNECTION_ERRORS), err
    # Every task that ran was a check: nothing that calls AWS.
    tasks = [ln for ln in err.splitlines() if ln.startswith(f"[{layer}] ")]
    assert tasks and all(CHECK_TASK.match(ln) for ln in tasks), err


def test_ansible_playbook_prints_the_lines_runner_prints(tmp_path, capsys):
    """The progress lines come from the webstack.aws.progress stdout callback, which the project's
    ansible.cfg names: a plain ansible-playbook run of a layer prints what runner.py shows, line for
    line (timings aside), here for a layer stopped by a bad value."""
    layer, extra, line = LAYER_CASES[0]
    endpoint = f"http://127.0.0.1:{closed_port()}"
    deploy(tmp_path, layer, extra, endpoint)
    shown = capsys.readouterr().err.splitlines()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(loopback_client_env(endpoint), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **speed_env())
    argv = [str(ANSIBLE_PLAYBOOK), "-i", "inventories/local", str(PLAYBOOKS / f"{layer}.yml")]
    argv += ["-e", "webstack_state=present", "-e", json.dumps(extra)]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0, proc.stdout

    def progress(lines):
        return [re.sub(r" \(\d+\.\ds\)$", "", ln) for ln in lines if ln.startswith((f"[{layer}] ", "    "))]

    *printed, recap = progress(proc.stdout.splitlines())
    assert printed == progress(shown), proc.stdout
    assert recap.startswith(f"[{layer}] recap    localhost ok=")
    assert f"[{layer}] FAILED   Check the {layer} settings before any AWS call" in printed
    assert f"    {line}" in printed


def test_runner_names_an_endpoint_that_does_not_answer_in_one_line(tmp_path, capsys):
    rc, summary = deploy(tmp_path, "network", {"webstack_endpoint_timeout": 1})
    err = capsys.readouterr().err
    assert rc == 2 and summary["status"] == "failed", err
    (failure,) = [i for i, ln in enumerate(err.splitlines()) if ln.startswith("[network] FAILED")]
    assert err.splitlines()[failure].startswith("[network] FAILED   Check that the AWS endpoint answers"), err
    endpoint = re.search(r"-> (http://127\.0\.0\.1:\d+)", err).group(1)
    assert err.splitlines()[failure + 1] == f"    {NO_ANSWER.format(url=endpoint)}", err
    assert not any(text in err for text in CONNECTION_ERRORS), err


def test_runner_never_shows_a_bad_master_password(tmp_path, capsys):
    secret = "Vault/Kept-Secret-9"
    rc, summary = deploy(tmp_path, "backend", {"rds_master_password": secret})
    captured = capsys.readouterr()
    assert rc != 0
    assert "rds_master_password: must be 8 to 128 printable characters for postgres" in captured.err
    assert secret not in captured.err + captured.out + json.dumps(summary)
    artifacts = home.STATE_DIR / "runner" / "local" / "backend"
    leaked = [p for p in artifacts.rglob("*") if p.is_file() and secret in p.read_text(errors="replace")]
    assert leaked == []


# -- README claims -------------------------------------------------------------------------------
def test_local_refuses_a_non_loopback_endpoint_before_any_aws_call(tmp_path, capsys, monkeypatch):
    """Even with the check broken nothing could leave loopback: every HTTP(S) request would go to
    a proxy on a closed loopback port, with fake credentials (no credential chain lookups)."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    endpoint = "http://203.0.113.10:4566"

    rc, summary = deploy(tmp_path, "network", {}, endpoint=endpoint)
    err = capsys.readouterr().err
    assert rc != 0 and summary["status"] == "failed", err
    assert (
        "The local environment runs against the embedded emulator only: set AWS_ENDPOINT_URL to a loopback URL "
        '(runner.py does it; by hand run eval "$(python runner.py emulator start)") — '
        f"got '{endpoint}'."
    ) in err
    assert "[network] FAILED   Check the target endpoint and state" in err
    assert not any(text in err for text in CONNECTION_ERRORS), err


@pytest.mark.parametrize(
    ("endpoint", "fake"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://localhost:5000/", True),
        ("http://[::1]:4566", True),
        ("https://example.com", False),
        ("http://10.0.0.5:4566", False),
        ("http://203.0.113.10:4566", False),
        ("http://127.attacker.example:4566", False),  # a name, not an address on this machine
    ],
)
@pytest.mark.parametrize("env", ["local", "dev"])
def test_fake_credentials_go_to_loopback_endpoints_only(env, endpoint, fake):
    args = arguments.build_parser().parse_args(["deploy", "--env", env, "--endpoint-url", endpoint])
    with aws_target(args) as target:
        assert target.emulator is None
        assert target.env["AWS_ENDPOINT_URL"] == endpoint
        if fake:
            assert target.env == loopback_client_env(endpoint)
            assert FAKE_CREDENTIALS.items() <= target.env.items()
            assert target.env["WEBSTACK_EMULATOR_PAUSE_S"] == MODULE_PAUSE_S
        else:
            assert target.env == {"AWS_ENDPOINT_URL": endpoint}


def test_a_failed_stage_stops_the_run(tmp_path, capsys):
    rc, summary = deploy(tmp_path, "network,backend", {"network_az_count": 1})
    err = capsys.readouterr().err
    assert rc != 0 and summary["status"] == "failed", err
    assert list(summary["layers"]) == ["network"]
    assert "[backend]" not in err
