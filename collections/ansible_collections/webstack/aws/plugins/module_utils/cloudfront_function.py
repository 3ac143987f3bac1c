# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudFront Functions helpers for webstack.aws.cloudfront_function.

A function has two stages: DEVELOPMENT (what UpdateFunction writes) and LIVE (what PublishFunction
copies from DEVELOPMENT, and what distributions run). Every call goes through a client made by
``cloudfront.cloudfront_client`` (retrying) and is made with ``aws_retry=True``.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

RUNTIMES = ("cloudfront-js-1.0", "cloudfront-js-2.0")
# CloudFront's limits: names of letters, digits, hyphens and underscores up to 64; code up to 10 KB.
NAME_MAX = 64
CODE_MAX_BYTES = 10240


def name_problems(name):
    if not name or len(name) > NAME_MAX or not all(c.isalnum() or c in "-_" for c in name):
        return [f"name {name!r} must be 1 to {NAME_MAX} letters, digits, hyphens or underscores."]
    return []


def code_problems(code):
    size = len(code.encode())
    if not size:
        return ["code is required when state is present."]
    if size > CODE_MAX_BYTES:
        return [f"code is {size} bytes; CloudFront takes at most {CODE_MAX_BYTES}."]
    return []


def function_config(comment, runtime):
    return {"Comment": comment, "Runtime": runtime}


def describe(client, name, stage):
    """(FunctionSummary, ETag) of one stage, or (None, None) when that stage does not exist."""
    try:
        response = client.describe_function(Name=name, Stage=stage, aws_retry=True)
    except is_boto3_error_code("NoSuchFunctionExists"):
        return None, None
    return response["FunctionSummary"], response["ETag"]


def code_of(client, name, stage):
    body = client.get_function(Name=name, Stage=stage, aws_retry=True)["FunctionCode"]
    return (body.read() if hasattr(body, "read") else body).decode()


def create(client, name, config, code):
    response = client.create_function(Name=name, FunctionConfig=config, FunctionCode=code.encode(), aws_retry=True)
    return response["FunctionSummary"], response["ETag"]


def update(client, name, etag, config, code):
    response = client.update_function(
        Name=name, IfMatch=etag, FunctionConfig=config, FunctionCode=code.encode(), aws_retry=True
    )
    return response["FunctionSummary"], response["ETag"]


def publish(client, name, etag):
    return client.publish_function(Name=name, IfMatch=etag, aws_retry=True)["FunctionSummary"]


def delete(client, name, etag):
    client.delete_function(Name=name, IfMatch=etag, aws_retry=True)


def stage_view(summary, code):
    """What webstack compares and shows in a diff for one stage (None: the stage does not exist)."""
    if summary is None:
        return None
    config = summary.get("FunctionConfig") or {}
    return {"comment": config.get("Comment", ""), "runtime": config.get("Runtime", ""), "code": code}


def read_stages(client, name):
    """{"development": view, "live": view} with each stage's summary and ETag alongside."""
    stages = {}
    for stage in ("DEVELOPMENT", "LIVE"):
        summary, etag = describe(client, name, stage)
        code = code_of(client, name, stage) if summary else None
        stages[stage] = {"summary": summary, "etag": etag, "view": stage_view(summary, code)}
    return stages


def plan(stages, wanted_view):
    """(update, publish): whether DEVELOPMENT needs the wanted code/config, and whether LIVE
    then needs publishing. A function that does not exist needs both."""
    development, live = stages["DEVELOPMENT"]["view"], stages["LIVE"]["view"]
    return development != wanted_view, live != wanted_view
