"""webstack_verify's pure parts; the checks themselves run against a deployed stack in
tests/integration/test_site.py."""

from __future__ import annotations

import pytest

import runner
import webstack_verify


@pytest.mark.parametrize(
    ("name", "names", "covered"),
    [
        ("example.com", {"example.com"}, True),
        ("www.example.com", {"*.example.com"}, True),
        ("a.b.example.com", {"*.example.com"}, False),
        ("example.com", {"*.example.com"}, False),
        ("api.example.com", {"example.com", "www.example.com"}, False),
    ],
)
def test_certificate_coverage_matches_one_wildcard_label(name, names, covered):
    assert webstack_verify._covered(name, names) is covered


def test_check_words():
    assert [webstack_verify.Check("x", v, "").word for v in (True, False, None)] == ["PASS", "FAIL", "SKIP"]


def test_plan_diff_shows_only_what_changes():
    text = runner._render_diff([{"before": {"port": 80, "name": "a"}, "after": {"port": 443, "name": "a"}}])
    assert "-port: 80" in text and "+port: 443" in text
    assert runner._render_diff([{"before": {"a": 1}, "after": {"a": 1}}]) == ""


def test_stack_settings_follow_ansible_precedence():
    settings = runner.stack_settings("prod", runner.parse_extra_vars(["webstack_project=other"]))
    assert settings["webstack_environment"] == "prod"  # the inventory beats group_vars/all
    assert settings["webstack_project"] == "other"  # --extra-vars beat both
