"""runner.py's argument handling, stage ordering and summary, without running Ansible."""

from __future__ import annotations

import json

import pytest
import yaml

from webstack import arguments, cli, commands, release
from webstack.emulator import free_port
from webstack.home import DEMO_BUILD, PLAYBOOKS, REPO
from webstack.layers import (
    NO_ANSWER,
    STAGES,
    LayerResult,
    Progress,
    Target,
    available_layers,
    read_stages,
    summarize,
)


def test_extra_vars_accept_pairs_json_and_files(tmp_path):
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("from_file: 1\nshared: file\n")
    merged = arguments.parse_extra_vars(["a=1 b=two", '{"c": [1, 2], "shared": "json"}', f"@{vars_file}"])
    assert merged == {"a": "1", "b": "two", "c": [1, 2], "from_file": 1, "shared": "file"}


def test_inline_extra_vars_take_precedence_over_files_wherever_they_are_read(tmp_path):
    """As in the jobs (a file goes to ansible-playbook as -e @file, inline values as runner's extra
    vars): runner.py's own settings (outputs --diagram, publish) prefer inline values too."""
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("webstack_project: from-file\nfrom_file: 1\n")
    argv = ["outputs", "-e", "webstack_project=inline", "-e", f"@{vars_file}"]
    args, _ = arguments.parse_arguments(argv)
    assert args.vars == {"webstack_project": "inline", "from_file": 1}
    assert args.inline_vars == {"webstack_project": "inline"}
    assert args.ansible_args == [f"-e@{vars_file.resolve()}"]


@pytest.mark.parametrize(
    ("env", "flags", "waits"), [("prod", [], True), ("local", [], False), ("local", ["--wait"], True)]
)
def test_publish_waits_for_the_invalidation_as_the_inventory_says_unless_told(env, flags, waits):
    """prod's inventory waits for the invalidation (static_site_invalidation_wait: true); --wait
    asks for it anywhere; runner.py's direct route resolves it as the playbook does."""
    args, _ = arguments.parse_arguments(["publish", "--env", env, "--build-dir", str(DEMO_BUILD), *flags])
    extravars = {**args.inline_vars, **arguments.release_vars(args)}
    target = Target(env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, label="test")  # local needs loopback
    values = release._release_values(args, target, extravars)
    assert values["static_site_invalidation_wait"] is waits


def test_extra_vars_keep_quoted_values_and_leave_vault_values_to_ansible(tmp_path):
    vars_file = tmp_path / "secret.yml"
    vars_file.write_text("rds_master_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nname: plain\n")
    merged = arguments.parse_extra_vars(["greeting='hello world' b=2", f"@{vars_file}"])
    secret = merged.pop("rds_master_password")
    assert merged == {"greeting": "hello world", "b": "2", "name": "plain"}
    # Still encrypted: ansible-playbook, given the password, decrypts it.
    assert type(secret).__name__ == "EncryptedString"
    assert secret._ciphertext.startswith("$ANSIBLE_VAULT;1.1;AES256")


@pytest.mark.parametrize("bad", ["novalue", "=x", "[1, 2]"])
def test_extra_vars_reject_what_is_not_a_mapping(bad):
    with pytest.raises(arguments.UsageError, match="--extra-vars"):
        arguments.parse_extra_vars([bad])


def test_layers_keep_deploy_order_and_reject_unknown_names():
    known = available_layers()
    assert known[0] == "network"
    assert arguments.parse_layers(None) == known
    assert arguments.parse_layers(f"{known[-1]},network") == ["network", known[-1]]
    with pytest.raises(arguments.UsageError, match="unknown layer"):
        arguments.parse_layers("network,databse")


def test_help_names_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for command in ("deploy", "plan", "destroy", "outputs", "emulator"):
        assert command in text


def test_summary_adds_up_hosts_and_fails_on_any_layer(tmp_path):
    args = arguments.build_parser().parse_args(["deploy", "--env", "local"])
    target = Target(env={}, label="test")
    ok = LayerResult("network", "successful", 0, {"localhost": {"ok": 3, "changed": 1}}, {"network": {"a": 1}})
    bad = LayerResult("backend", "failed", 2, {"localhost": {"ok": 2, "changed": 0, "failed": 1}}, {})
    summary = summarize("deploy", args, target, [ok, bad], 0.0)
    assert summary["status"] == "failed" and summary["rc"] == 2
    assert summary["hosts"]["localhost"] == {"ok": 5, "changed": 1, "failed": 1}
    assert summary["outputs"] == {"network": {"a": 1}}
    json.dumps(summary)  # CI reads it as JSON


NOT_YAML = "{bad json"
USAGE_ERRORS = [
    (
        ["deploy", "-e", NOT_YAML],
        "--extra-vars: '{bad json' is not valid JSON/YAML: did not find expected ',' or '}'",
    ),
    (
        ["deploy", "-e", "@/nonexistent/vars.yml"],
        "--extra-vars: cannot read /nonexistent/vars.yml: No such file or directory",
    ),
    (["deploy", "-e", "[1, 2]"], "--extra-vars: '[1, 2]' is not a mapping of variable names to values"),
    (["deploy", "-e", "novalue"], "--extra-vars: expected key=value, JSON or @file, got 'novalue'"),
    (
        ["deploy", "-e", 'a="unclosed'],
        "--extra-vars: 'a=\"unclosed': failed at splitting arguments, either an unbalanced jinja2 block or quotes",
    ),
    (
        ["plan", "--layers", "network,databse"],
        "--layers: unknown layer(s) databse; choose from network, certificates, backend, frontend, dns",
    ),
    (
        ["deploy", "--tags", "rds,nope"],
        "--tags: unknown tag(s) nope; choose from autoscaling, cdn, certificate, dns, "
        "load_balancer, network, rds, static_site",
    ),
    (
        ["deploy", "--env", "staging"],
        "argument --env: invalid choice: 'staging' (choose from 'dev', 'local', 'prod') (see runner.py deploy --help)",
    ),
    (["deploy", "--no-such-flag"], "unrecognized arguments: --no-such-flag (see runner.py --help)"),
    (
        ["publish", "--keep-releases", "three"],
        "argument --keep-releases: invalid int value: 'three' (see runner.py publish --help)",
    ),
    (["publish", "--env", "dev"], "--build-dir: required outside the local environment (the `npm run build` output)"),
    (["deploy", "--vault-password-file", "/nonexistent/pass"], "--vault-password-file: cannot read /nonexistent/pass"),
    (
        ["destroy", "--env", "prod"],
        "--confirm: destroying prod needs a confirmation naming the environment: --confirm prod. Nothing was deleted.",
    ),
    (
        ["destroy", "--env", "dev", "--confirm", "prod"],
        "--confirm: destroying dev needs a confirmation naming the "
        "environment: --confirm dev (got --confirm prod). Nothing was deleted.",
    ),
]


@pytest.mark.parametrize(("argv", "line"), USAGE_ERRORS, ids=[" ".join(case[0]) for case in USAGE_ERRORS])
def test_usage_errors_are_one_line_and_exit_2_before_any_aws_call(capsys, argv, line):
    endpoint = f"http://127.0.0.1:{free_port()}"
    assert cli.main([*argv, "--endpoint-url", endpoint]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"webstack: {line}\n")


def test_a_build_dir_without_index_html_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "app.js").write_text("")
    assert cli.main(["publish", "--build-dir", str(tmp_path), "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == (
        f"webstack: --build-dir: {tmp_path} has no index.html; point it at the `npm run build` output\n"
    )


def test_an_unreadable_or_broken_vars_file_is_a_usage_error(capsys, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("a: [1,\n")
    assert cli.main(["deploy", "-e", f"@{broken}", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err.startswith(f"webstack: --extra-vars: {broken} is not YAML: ")
    assert cli.main(["deploy", "-e", f"@{tmp_path}", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == f"webstack: --extra-vars: cannot read {tmp_path}: Is a directory\n"


def test_verify_names_an_endpoint_that_does_not_answer(capsys):
    endpoint = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["verify", "--endpoint-url", endpoint]) == 2
    assert capsys.readouterr().err == f"webstack: {NO_ANSWER.format(url=endpoint)}\n"


def test_plan_changes_name_each_changed_item_with_before_and_after():
    progress = Progress("frontend", verbose=False)
    progress({"event": "playbook_on_task_start", "event_data": {"task_uuid": "t1"}})
    diff = {"before": {"price_class": "PriceClass_100"}, "after": {"price_class": "PriceClass_200"}}
    progress({"event": "runner_on_file_diff", "event_data": {"task_uuid": "t1", "diff": diff}})
    progress(
        {
            "event": "runner_on_ok",
            "event_data": {"task_uuid": "t1", "task": "Ensure the distribution", "res": {"changed": True}},
        }
    )
    looped = {
        "changed": True,
        "results": [
            {
                "changed": True,
                "item": "a",
                "_ansible_item_label": "subnet a",
                "diff": {"before": {}, "after": {"x": 1}},
            },
            {"changed": False, "item": "b"},
        ],
    }
    progress({"event": "runner_on_ok", "event_data": {"task": "Ensure the subnets", "res": looped}})
    progress({"event": "runner_on_ok", "event_data": {"task": "Read", "res": {"changed": False}}})
    assert progress.changes == [
        {"task": "Ensure the distribution", **diff},
        {"task": "Ensure the subnets", "item": "subnet a", "before": {}, "after": {"x": 1}},
    ]


@pytest.mark.parametrize(
    ("status", "changes", "json_flag", "code"),
    [
        ("successful", {"network": []}, True, 0),
        ("successful", {"network": [], "frontend": [{"task": "t"}]}, True, 2),
        ("failed", {"network": [{"task": "t"}]}, True, 1),
        ("successful", {"frontend": [{"task": "t"}]}, False, 0),
        ("failed", {}, False, 2),
    ],
)
def test_plan_json_exits_like_terraform_detailed_exitcode(status, changes, json_flag, code):
    args = arguments.build_parser().parse_args(["plan", *(["--json"] if json_flag else [])])
    assert commands.exit_code(args, {"status": status, "rc": 2, "changes": changes}) == code


def test_outputs_list_the_endpoints_with_each_certificates_region(capsys):
    cloudfront = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b"
    alb = "arn:aws:acm:ap-northeast-2:123456789012:certificate/2c3d"
    commands.print_outputs({"certificate": {"cloudfront_arn": cloudfront, "alb_arn": alb}, "dns": {"zone_id": "Z1"}})
    err = capsys.readouterr().err
    assert f"CloudFront certificate     {cloudfront}  (us-east-1)" in err
    assert f"load balancer certificate  {alb}  (ap-northeast-2)" in err
    assert '  dns.zone_id: "Z1"' in err


def test_the_stage_order_is_written_once_in_the_collections_site_yml(tmp_path):
    """The collection's playbooks/site.yml imports the layers in order and groups them by
    webstack_stage; runner.py's STAGES is read from it, the project's site.yml imports it, and
    playbooks/destroy.yml removes the layers in reverse, for plain ansible-playbook and AWX."""

    def imported(path):
        return [play["ansible.builtin.import_playbook"] for play in yaml.safe_load(path.read_text())]

    assert STAGES == [["network", "certificates"], ["backend", "frontend"], ["dns"]]
    order = [layer for stage in STAGES for layer in stage]
    assert imported(PLAYBOOKS / "site.yml") == [f"{layer}.yml" for layer in order]
    assert imported(PLAYBOOKS / "destroy.yml") == [f"{layer}.yml" for layer in order[::-1]]
    assert imported(REPO / "site.yml") == ["webstack.aws.site"]
    # STAGES follows the file: another order or grouping there is runner.py's too.
    site = tmp_path / "site.yml"
    plays = [("dns", 2), ("network", 1), ("backend", 2)]
    site.write_text(
        yaml.safe_dump(
            [{"ansible.builtin.import_playbook": f"{name}.yml", "vars": {"webstack_stage": n}} for name, n in plays]
        )
    )
    assert read_stages(site) == [["network"], ["dns", "backend"]]
    assert read_stages(tmp_path / "missing.yml") == []
