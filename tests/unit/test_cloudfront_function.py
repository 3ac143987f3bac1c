"""webstack.aws.cloudfront_function: its functions against the test run's moto server (whose
function stages, If-Match and in-use checks the project's emulator adds, see test_emulator.py):
create and publish, changed=0 on an unchanged function, check mode writing nothing, an update
reaching both stages, a development-only change published, absent, and bad input."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_function as cff
from ansible_collections.webstack.aws.plugins.modules import cloudfront_function as mod

CODE = "function handler(event) { return event.request; }\n"


def module(aws, check_mode=False, **overrides):
    params = {
        "name": "t-fn-routing",
        "state": "present",
        "code": CODE,
        "comment": "t",
        "runtime": "cloudfront-js-2.0",
        "publish": True,
        **overrides,
    }
    return SimpleNamespace(
        params=params, check_mode=check_mode, client=lambda service, **_kw: aws(service, "us-east-1")
    )


@pytest.fixture
def client(aws):
    wrapped = RetryingBotoClientWrapper(aws("cloudfront", "us-east-1"), AWSRetry.jittered_backoff())
    yield wrapped
    summary, etag = cff.describe(wrapped, "t-fn-routing", "DEVELOPMENT")
    if summary:
        cff.delete(wrapped, "t-fn-routing", etag)


def stages(client):
    return {stage: view["view"] for stage, view in cff.read_stages(client, "t-fn-routing").items()}


def test_check_mode_plans_the_function_and_writes_nothing(aws, client):
    changed, result, before, after = mod.ensure_present(module(aws, check_mode=True), client)
    assert changed and before == {"development": None, "live": None}
    assert after["live"] == {"comment": "t", "runtime": "cloudfront-js-2.0", "code": CODE}
    assert result["arn"] == "arn:aws:cloudfront::123456789012:function/t-fn-routing"
    assert stages(client) == {"DEVELOPMENT": None, "LIVE": None}


def test_create_publishes_then_an_unchanged_function_reports_no_change(aws, client):
    changed, result, _before, _after = mod.ensure_present(module(aws), client)
    wanted = {"comment": "t", "runtime": "cloudfront-js-2.0", "code": CODE}
    assert changed and result["stage"] == "LIVE" and result["arn"].endswith(":function/t-fn-routing")
    assert stages(client) == {"DEVELOPMENT": wanted, "LIVE": wanted}
    assert mod.ensure_present(module(aws), client)[0] is False


def test_a_code_change_reaches_both_stages_and_check_mode_leaves_it_planned(aws, client):
    mod.ensure_present(module(aws), client)
    new_code = CODE.replace("return", "  return")
    assert mod.ensure_present(module(aws, check_mode=True, code=new_code), client)[0] is True
    assert stages(client)["LIVE"]["code"] == CODE
    changed, _result, before, after = mod.ensure_present(module(aws, code=new_code, comment="t2"), client)
    assert changed and before["live"]["code"] == CODE and after["live"]["code"] == new_code
    assert stages(client)["LIVE"] == {"comment": "t2", "runtime": "cloudfront-js-2.0", "code": new_code}


def test_a_development_stage_ahead_of_live_is_published(aws, client):
    mod.ensure_present(module(aws, publish=False), client)
    assert stages(client)["LIVE"] is None
    changed, result, _before, _after = mod.ensure_present(module(aws), client)
    assert changed and result["stage"] == "LIVE" and stages(client)["LIVE"]["code"] == CODE


def test_absent_deletes_once_and_check_mode_keeps_it(aws, client):
    mod.ensure_present(module(aws), client)
    assert mod.ensure_absent(module(aws, check_mode=True, state="absent"), client)[0] is True
    assert stages(client)["DEVELOPMENT"] is not None
    assert mod.ensure_absent(module(aws, state="absent"), client)[0] is True
    assert stages(client) == {"DEVELOPMENT": None, "LIVE": None}
    assert mod.ensure_absent(module(aws, state="absent"), client)[0] is False


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "has space"}, "letters, digits, hyphens or underscores"),
        ({"name": "x" * 65}, "1 to 64"),
        ({"code": ""}, "code is required"),
        ({"code": "x" * 10241}, "at most 10240"),
    ],
)
def test_bad_input_is_named_before_any_call(overrides, fragment):
    params = {"name": "t-fn", "state": "present", "code": CODE, **overrides}
    assert any(fragment in problem for problem in mod.validate(params)), mod.validate(params)
