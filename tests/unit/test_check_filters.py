"""webstack.aws.failed_checks: the lines every role's validate.yml asserts on, one per failing check,
in the checks' order (each role's real messages: tests/integration/test_bad_input.py)."""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.filter.checks import FilterModule, failed_checks


def check(name, value, valid, rule="must be right"):
    return {"name": name, "value": value, "rule": rule, "valid": valid}


def test_only_the_failing_checks_give_a_line_each_in_order():
    checks = [
        check("b_second", 7, False, "must be a number from 2 to 6"),
        check("a_fine", 3, True),
        check("c_third", ["zone-a"], False, "must name at least 2 zones"),
    ]
    assert failed_checks(checks) == [
        "b_second: must be a number from 2 to 6 (got 7)",
        'c_third: must name at least 2 zones (got ["zone-a"])',
    ]
    assert failed_checks([check("a_fine", "x", True)]) == []


def test_the_value_is_shown_as_json_and_a_string_verdict_is_read_as_ansibles_bool_reads_it():
    assert failed_checks([check("s", "10.0.0.0/8", "no")]) == ['s: must be right (got "10.0.0.0/8")']
    assert failed_checks([check("s", None, "False"), check("t", {}, "yes"), check("u", "", "true")]) == [
        "s: must be right (got null)"
    ]


def test_the_filter_is_published_under_its_name():
    assert FilterModule().filters() == {"failed_checks": failed_checks}
