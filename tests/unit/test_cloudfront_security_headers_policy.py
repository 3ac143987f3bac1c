"""webstack.aws.cloudfront_security_headers_policy: its functions against the test run's moto
server (whose response headers policy API the project's emulator adds, see test_emulator.py):
create, changed=0 when unchanged, check mode writing nothing, an update that keeps what webstack
does not manage, absent, and bad input."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_headers as headers
from ansible_collections.webstack.aws.plugins.modules import cloudfront_security_headers_policy as mod

NAME = "t-headers-site"


def module(check_mode=False, **overrides):
    params = {
        "name": NAME,
        "state": "present",
        "comment": "t",
        "hsts_max_age": 63072000,
        "hsts_include_subdomains": True,
        "hsts_preload": False,
        "content_type_options": True,
        "frame_options": "DENY",
        "referrer_policy": "strict-origin-when-cross-origin",
        "content_security_policy": "",
        **overrides,
    }
    return SimpleNamespace(params=params, check_mode=check_mode)


@pytest.fixture
def client(aws):
    wrapped = RetryingBotoClientWrapper(aws("cloudfront", "us-east-1"), AWSRetry.jittered_backoff())
    yield wrapped
    policy_id = headers.find(wrapped, NAME)
    if policy_id:
        headers.delete(wrapped, policy_id, headers.get_config(wrapped, policy_id)[1])


def held(client) -> dict:
    policy_id = headers.find(client, NAME)
    return headers.get_config(client, policy_id)[0] if policy_id else {}


def test_check_mode_plans_the_policy_and_writes_nothing(client):
    changed, result, before, after = mod.ensure_present(module(check_mode=True), client)
    assert changed and before == {} and result["id"] == mod.UNKNOWN_ID
    assert after["security_headers"]["FrameOptions"] == {"Override": True, "FrameOption": "DENY"}
    assert held(client) == {}


def test_create_then_an_unchanged_policy_reports_no_change(client):
    changed, result, _before, _after = mod.ensure_present(module(), client)
    assert changed and result["id"] == headers.find(client, NAME)
    assert held(client)["SecurityHeadersConfig"] == {
        "StrictTransportSecurity": {
            "Override": True,
            "AccessControlMaxAgeSec": 63072000,
            "IncludeSubdomains": True,
            "Preload": False,
        },
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"Override": True, "FrameOption": "DENY"},
        "ReferrerPolicy": {"Override": True, "ReferrerPolicy": "strict-origin-when-cross-origin"},
    }
    assert mod.ensure_present(module(), client)[0] is False


def test_an_update_keeps_what_webstack_does_not_manage_and_check_mode_leaves_it_planned(client):
    mod.ensure_present(module(), client)
    policy_id = headers.find(client, NAME)
    config, etag = headers.get_config(client, policy_id)
    cors_free = {"Items": [{"Header": "X-Team", "Value": "web", "Override": False}], "Quantity": 1}
    headers.update(client, policy_id, etag, {**config, "CustomHeadersConfig": cors_free})

    csp = "default-src 'self'; frame-ancestors 'none'"
    assert mod.ensure_present(module(check_mode=True, content_security_policy=csp), client)[0] is True
    assert "ContentSecurityPolicy" not in held(client)["SecurityHeadersConfig"]
    changed, _result, before, after = mod.ensure_present(module(content_security_policy=csp, frame_options=""), client)
    assert changed and "FrameOptions" in before["security_headers"] and "FrameOptions" not in after["security_headers"]
    now = held(client)
    assert now["SecurityHeadersConfig"]["ContentSecurityPolicy"] == {"Override": True, "ContentSecurityPolicy": csp}
    assert "FrameOptions" not in now["SecurityHeadersConfig"]
    assert now["CustomHeadersConfig"] == cors_free
    assert mod.ensure_present(module(content_security_policy=csp, frame_options=""), client)[0] is False


def test_absent_deletes_once_and_check_mode_keeps_it(client):
    mod.ensure_present(module(), client)
    assert mod.ensure_absent(module(check_mode=True, state="absent"), client)[0] is True
    assert held(client) != {}
    assert mod.ensure_absent(module(state="absent"), client)[0] is True
    assert held(client) == {}
    assert mod.ensure_absent(module(state="absent"), client)[0] is False


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"hsts_max_age": -1}, "0 or more seconds"),
        ({"hsts_preload": True, "hsts_max_age": 86400}, "hsts_preload needs"),
        ({"hsts_preload": True, "hsts_include_subdomains": False}, "hsts_preload needs"),
        ({"frame_options": "ALLOW-FROM x"}, "frame_options 'ALLOW-FROM x'"),
        ({"referrer_policy": "always"}, "referrer_policy 'always'"),
        ({"content_security_policy": "a" * 1784}, "at most 1783"),
    ],
)
def test_bad_input_is_named_before_any_call(overrides, fragment):
    problems = mod.validate({**module().params, **overrides})
    assert any(fragment in problem for problem in problems), problems
