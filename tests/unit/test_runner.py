"""runner.py's argument handling, stage ordering and summary, without running Ansible."""

from __future__ import annotations

import json

import pytest

import runner


def test_extra_vars_accept_pairs_json_and_files(tmp_path):
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("from_file: 1\nshared: file\n")
    merged = runner.parse_extra_vars(["a=1 b=two", '{"c": [1, 2], "shared": "json"}', f"@{vars_file}"])
    assert merged == {"a": "1", "b": "two", "c": [1, 2], "from_file": 1, "shared": "file"}


@pytest.mark.parametrize("bad", ["novalue", "=x", "[1, 2]"])
def test_extra_vars_reject_what_is_not_a_mapping(bad):
    with pytest.raises(SystemExit, match="--extra-vars"):
        runner.parse_extra_vars([bad])


def test_layers_keep_deploy_order_and_reject_unknown_names():
    known = runner.available_layers()
    assert known[0] == "network"
    assert runner.parse_layers(None) == known
    assert runner.parse_layers(f"{known[-1]},network") == ["network", known[-1]]
    with pytest.raises(SystemExit, match="unknown layer"):
        runner.parse_layers("network,databse")


def test_help_names_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    text = capsys.readouterr().out
    for command in ("deploy", "plan", "destroy", "outputs", "emulator"):
        assert command in text


def test_summary_adds_up_hosts_and_fails_on_any_layer(tmp_path):
    args = runner.build_parser().parse_args(["deploy", "--env", "local"])
    target = runner.Target(env={}, label="test")
    ok = runner.LayerResult("network", "successful", 0, {"localhost": {"ok": 3, "changed": 1}}, {"network": {"a": 1}})
    bad = runner.LayerResult("backend", "failed", 2, {"localhost": {"ok": 2, "changed": 0, "failed": 1}}, {})
    summary = runner.summarize("deploy", args, target, [ok, bad], 0.0)
    assert summary["status"] == "failed" and summary["rc"] == 2
    assert summary["hosts"]["localhost"] == {"ok": 5, "changed": 1, "failed": 1}
    assert summary["outputs"] == {"network": {"a": 1}}
    json.dumps(summary)  # CI reads it as JSON


def test_progress_prints_one_line_per_task(capsys):
    progress = runner.Progress("network", verbose=False)
    progress({"event": "playbook_on_task_start", "event_data": {"task_uuid": "t1"}})
    progress({"event": "runner_on_ok", "event_data": {"task_uuid": "t1", "task": "Make it", "res": {"changed": True}}})
    progress(
        {
            "event": "runner_on_failed",
            "event_data": {"task": "Break it", "res": {"msg": "network_az_count: must be 2 to 6"}},
        }
    )
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[network] changed  Make it")
    assert lines[1].startswith("[network] FAILED   Break it")
    assert "network_az_count" in lines[2]


def test_failure_message_never_shows_censored_results():
    assert runner._failure_message({"censored": "the output has been hidden", "msg": "secret"}) == (
        "the output has been hidden"
    )
