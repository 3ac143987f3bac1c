"""Proves README claims that no other test proved, from the project's own files and code.

The environments' settings, the role conventions, what is off by default, runner.py's defaults
(endpoint, summary file, Mitogen, -v, artifacts), the waiting callback's interval and what
`make test` / `make lint` / `make unit` / `.ci/run` run.

Each test reads the project's own files or calls its code; no playbook runs and no AWS call is made.
The expected values are the README's words (README.md), quoted in each docstring."""

from __future__ import annotations

import configparser
import functools
import io
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import types
from pathlib import Path

import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
from ansible.plugins.loader import callback_loader
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf
from ansible_collections.webstack.aws.plugins.modules import cloudfront_distribution_spa
from tests.unit.test_cloudfront_distribution_config import spec as distribution_spec
from webstack import arguments, cli, commands, layers
from webstack.home import COLLECTION, DEMO_BUILD, PLAYBOOKS, REPO
from webstack.timeline import Recorder

README = REPO / "README.md"
ROLES_DIR = COLLECTION / "roles"
# README, Tests: "one per role, all eight (`network`, `certificate`, `dns`, `static_site`, `cdn`,
# `load_balancer`, `autoscaling`, `rds`)".
ROLES = ["network", "certificate", "dns", "static_site", "cdn", "load_balancer", "autoscaling", "rds"]


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


# -- Environments (README: "| setting | local | dev | prod |") -----------------------------------
# Each row of the README's table: its cell per environment and the values that cell means.
ENVIRONMENT_TABLE = {
    "target": {
        "local": ("embedded emulator (loopback only)", {"webstack_require_endpoint": True}),
        "dev": ("AWS", {"webstack_require_endpoint": False}),
        "prod": ("AWS", {"webstack_require_endpoint": False}),
    },
    "region": {env: ("ap-northeast-2", {"webstack_region": "ap-northeast-2"}) for env in ("local", "dev", "prod")},
    "domain (`webstack_domain`)": {
        "local": (
            "webstack.local.test (zone created)",
            {"webstack_domain": "webstack.local.test", "dns_create_zone": True},
        ),
        "dev": ("dev.example.com (zone must exist)", {"webstack_domain": "dev.example.com", "dns_create_zone": False}),
        "prod": ("example.com (zone must exist)", {"webstack_domain": "example.com", "dns_create_zone": False}),
    },
    "AZs / NAT gateways": {
        "local": ("2 / one shared", {"network_az_count": 2, "network_nat_gateway_mode": "single"}),
        "dev": ("2 / one shared", {"network_az_count": 2, "network_nat_gateway_mode": "single"}),
        "prod": ("3 / one per AZ", {"network_az_count": 3, "network_nat_gateway_mode": "per_az"}),
    },
    "instances (min/desired/max)": {
        env: (
            f"{low}/{desired}/{high}",
            {"autoscaling_min_size": low, "autoscaling_desired_capacity": desired, "autoscaling_max_size": high},
        )
        for env, (low, desired, high) in {"local": (1, 1, 3), "dev": (1, 1, 3), "prod": (2, 2, 6)}.items()
    },
    "rolling instance refresh, user data": {
        "local": (
            "off (moto lacks them)",
            {"autoscaling_instance_refresh_enabled": False, "autoscaling_user_data_enabled": False},
        ),
        "dev": ("on", {"autoscaling_instance_refresh_enabled": True, "autoscaling_user_data_enabled": True}),
        "prod": ("on", {"autoscaling_instance_refresh_enabled": True, "autoscaling_user_data_enabled": True}),
    },
    "RDS": {
        "local": (
            "gp2 storage (moto), single AZ",
            {"rds_storage_type": "gp2", "rds_multi_az": False},
        ),
        "dev": (
            "gp3, single AZ, 1 day backups",
            {
                "rds_storage_type": "gp3",
                "rds_multi_az": False,
                "rds_backup_retention_days": 1,
                "rds_deletion_protection": False,
                "rds_final_snapshot": False,
            },
        ),
        "prod": (
            "gp3, Multi-AZ, 14 days backups, deletion protection, final snapshot",
            {
                "rds_storage_type": "gp3",
                "rds_multi_az": True,
                "rds_backup_retention_days": 14,
                "rds_deletion_protection": True,
                "rds_final_snapshot": True,
            },
        ),
    },
    "ALB deletion protection": {
        "local": ("off", {"load_balancer_deletion_protection": False}),
        "dev": ("off", {"load_balancer_deletion_protection": False}),
        "prod": ("on", {"load_balancer_deletion_protection": True}),
    },
    "CloudFront price class, `www.` alias": {
        "local": ("100, no", {"cdn_price_class": "PriceClass_100", "cdn_include_www": False, "dns_include_www": False}),
        "dev": ("100, no", {"cdn_price_class": "PriceClass_100", "cdn_include_www": False, "dns_include_www": False}),
        "prod": (
            "200 (Asian edges), yes",
            {"cdn_price_class": "PriceClass_200", "cdn_include_www": True, "dns_include_www": True},
        ),
    },
    "waits (CloudFront deployed, Route 53 INSYNC)": {
        "local": ("no", {"cdn_wait": False, "dns_wait": False}),
        "dev": ("no", {"cdn_wait": False, "dns_wait": False}),
        "prod": ("yes", {"cdn_wait": True, "dns_wait": True}),
    },
    "SPA releases kept": {
        "local": ("3", {"static_site_keep_releases": 3}),
        "dev": ("3", {"static_site_keep_releases": 3}),
        "prod": ("5", {"static_site_keep_releases": 5}),
    },
}


def readme_table(header: str) -> dict[str, list[str]]:
    """The rows of the README's Markdown table under `header`: first cell -> the other cells."""
    lines = README.read_text().splitlines()
    start = lines.index(header)
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@functools.cache
def environment_settings(env: str) -> dict:
    """Every variable of the `webstack` host in inventories/ENV as Ansible resolves it for a layer
    playbook: the roles' defaults, playbooks/group_vars/all, the inventory's group_vars/webstack.yml."""
    loader = DataLoader()
    loader.set_basedir(str(PLAYBOOKS))
    inventory = InventoryManager(loader=loader, sources=[str(REPO / "inventories" / env)])
    variables = VariableManager(loader=loader, inventory=inventory)
    play = Play.load(
        {"hosts": "webstack", "gather_facts": False, "roles": [{"role": str(ROLES_DIR / role)} for role in ROLES]},
        variable_manager=variables,
        loader=loader,
    )
    found = variables.get_vars(play=play, host=inventory.get_host("localhost"))
    templar = Templar(loader=loader, variables=found)
    names = {name for row in ENVIRONMENT_TABLE.values() for _, values in row.values() for name in values}
    return {name: templar.template(found[name]) for name in names}


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_each_environment_holds_the_values_of_the_readme_table(env):
    """README Environments table: each environment's region, domain, AZs/NAT, instances, RDS, ALB, CDN, waits, kept."""
    table = readme_table("| setting | local | dev | prod |")
    column = ["local", "dev", "prod"].index(env)
    assert set(table) == set(ENVIRONMENT_TABLE)
    settings = environment_settings(env)
    for setting, cells in ENVIRONMENT_TABLE.items():
        cell, values = cells[env]
        assert table[setting][column] == cell, f"README's {setting!r} for {env} changed"
        got = {name: settings[name] for name in values}
        assert got == values, f"{env}: {setting} is {cell!r} in the README"


# -- Layout ---------------------------------------------------------------------------------------
def test_every_path_of_the_readme_layout_table_is_in_the_tree():
    """README Layout: each path the table names exists, at the root or (galaxy.yml, meta/,
    plugins/, roles/, playbooks/...) in the collection's directory; <name> stands for any."""
    table = readme_table("| path | what it holds |")
    assert len(table) >= 15
    for cell in table:
        for path in re.findall(r"`([^`]+)`", cell):
            braces = re.fullmatch(r"(.*)\{(.+)\}(.*)", path)
            expanded = [braces[1] + item + braces[3] for item in braces[2].split(",")] if braces else [path]
            for each in expanded:
                pattern = re.sub(r"<[^>]+>", "*", each).rstrip("/")
                assert list(REPO.glob(pattern)) or list(COLLECTION.glob(pattern)), f"README Layout names {path}"


# -- Role conventions (README Layout and "Layers and roles") -------------------------------------
def _tasks_of(path: Path, seen: set[Path] | None = None) -> list[dict]:
    """The tasks of a task file, blocks flattened and included or imported files followed."""
    seen = seen if seen is not None else {path}
    found: list[dict] = []

    def walk(node):
        for task in node or []:
            if any(key in task for key in ("block", "rescue", "always")):
                for key in ("block", "rescue", "always"):
                    walk(task.get(key))
                continue
            found.append(task)
            for include in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
                target = task.get(include)
                target = target.get("file") if isinstance(target, dict) else target
                if target and "{{" not in target and (path.parent / target) not in seen:
                    seen.add(path.parent / target)
                    found.extend(_tasks_of(path.parent / target, seen))

    walk(_yaml(path))
    return found


def test_the_roles_are_the_eight_the_readme_names():
    """README: one role per part of the architecture, all eight (network, certificate, dns, ... rds)."""
    assert sorted(path.name for path in ROLES_DIR.iterdir() if path.is_dir()) == sorted(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_tasks_main_checks_the_settings_then_includes_present_or_absent_by_the_roles_state(role):
    """README: tasks/main.yml checks the settings, then includes present.yml or absent.yml by <role>_state."""
    tasks = ROLES_DIR / role / "tasks"
    main = _yaml(tasks / "main.yml")
    assert [{key: value for key, value in task.items() if key != "name"} for task in main] == [
        {"ansible.builtin.import_tasks": "validate.yml"},
        {"ansible.builtin.include_tasks": f"{{{{ {role}_state }}}}.yml"},
    ]
    assert all((tasks / name).is_file() for name in ("validate.yml", "present.yml", "absent.yml"))
    assert (
        _yaml(ROLES_DIR / role / "defaults" / "main.yml")[f"{role}_state"]
        == "{{ webstack_state | default('present') }}"
    )
    state = _yaml(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"][
        f"{role}_state"
    ]
    assert (state["type"], state["choices"], state["default"]) == ("str", ["present", "absent"], "present")


@pytest.mark.parametrize(
    ("command", "state"), [(["deploy"], "present"), (["plan"], "present"), (["destroy"], "absent")]
)
def test_runner_sets_webstack_state_for_every_layer(monkeypatch, command, state):
    """README: tasks/main.yml dispatches to present or absent "from `webstack_state`, which runner.py sets"."""
    seen = []
    monkeypatch.setattr(layers, "TIMELINE", Recorder())
    monkeypatch.setattr(
        layers,
        "run_layer",
        lambda layer, playbook, args, target, extravars, cmdline: (
            seen.append((layer, extravars["webstack_state"]))
            or layers.LayerResult(layer=layer, status="successful", rc=0)
        ),
    )
    args, chosen = arguments.parse_arguments([*command, "--env", "local", "--endpoint-url", "http://127.0.0.1:9"])
    commands.run_command(args, layers.Target(env={}, label="test"), chosen)
    assert sorted(seen) == sorted((layer, state) for layer in layers.available_layers())


@pytest.mark.parametrize("role", ROLES)
def test_every_role_variable_carries_the_role_prefix(role):
    """README: "Every role variable is prefixed with the role's name" (defaults, vars, argument specs, facts)."""
    path = ROLES_DIR / role
    names = set(_yaml(path / "defaults" / "main.yml"))
    names |= set(_yaml(path / "vars" / "main.yml") or {})
    specs = _yaml(path / "meta" / "argument_specs.yml")["argument_specs"]
    names |= {name for spec in specs.values() for name in spec.get("options", {})}
    for task_file in (path / "tasks").glob("*.yml"):
        for task in _tasks_of(task_file, {task_file}):
            names |= set(task.get("ansible.builtin.set_fact") or {}) - {"cacheable"}
            if "register" in task:
                names.add(task["register"])
    assert len(names) > 10
    # A leading underscore marks a private name (as ansible-lint's var-naming rule reads it): `_<role>_...`.
    assert sorted(name for name in names if not name.removeprefix("_").startswith(f"{role}_")) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_typed_argument_spec_covering_its_defaults(role):
    """README: every role has a typed meta/argument_specs.yml (and defaults/)."""
    defaults = _yaml(ROLES_DIR / role / "defaults" / "main.yml")
    specs = _yaml(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]
    assert "main" in specs
    options = {name: option for spec in specs.values() for name, option in spec.get("options", {}).items()}
    assert sorted(set(defaults) - set(options)) == []
    untyped = [
        name
        for name, option in options.items()
        if option.get("type") not in {"str", "int", "bool", "list", "dict", "float", "path", "raw"}
    ]
    assert untyped == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_its_readme_and_an_outputs_yml_that_only_reads(role):
    """README: a README per role, and tasks/outputs.yml, which finds the role's resources without changing anything."""
    assert (ROLES_DIR / role / "README.md").read_text().splitlines()[0] == f"# webstack.aws.{role}"
    read_only = {
        "ansible.builtin.set_fact",
        "ansible.builtin.set_stats",
        "ansible.builtin.assert",
        "ansible.builtin.debug",
        "ansible.builtin.include_tasks",
        "ansible.builtin.import_tasks",
    }
    keywords = {"name", "when", "register", "vars", "loop", "loop_control", "check_mode", "changed_when"}
    keywords |= {"failed_when", "no_log", "until", "retries", "delay", "tags", "ignore_errors", "environment"}
    outputs = ROLES_DIR / role / "tasks" / "outputs.yml"
    writers = []
    for task in _tasks_of(outputs):
        (module,) = [key for key in task if key not in keywords]
        if not (module in read_only or module.endswith("_info") or task.get("check_mode") is True):
            writers.append(module)
    assert writers == []


# -- Security defaults: logging off ----------------------------------------------------------------
def _modules_used() -> set[str]:
    modules: set[str] = set()

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.count(".") == 2:
                    modules.add(key)
                walk(value)

    for path in [*ROLES_DIR.glob("*/tasks/*.yml"), *PLAYBOOKS.rglob("*.yml"), REPO / "site.yml"]:
        walk(_yaml(path))
    return modules


def test_s3_access_logs_cloudfront_logs_waf_and_vpc_flow_logs_are_off():
    """README Security defaults: S3 server access logs, CloudFront logs and WAF, VPC flow logs are not managed by
    webstack: no role turns them on."""
    modules = _modules_used()
    assert "amazon.aws.s3_bucket" in modules and "amazon.aws.ec2_vpc_net" in modules
    logging_modules = {
        module
        for module in modules
        if re.search(r"logging|flow_log|waf", module.rsplit(".", 1)[-1]) or module.endswith("cloudfront_distribution")
    }
    assert logging_modules == set()
    # The distribution is made only by webstack.aws.cloudfront_distribution_spa: no option for logs or a web ACL,
    # and the config it creates carries neither (CloudFront then has logging off and no web ACL).
    options = yaml.safe_load(cloudfront_distribution_spa.DOCUMENTATION)["options"]
    assert [name for name in options if re.search(r"log|waf|web_acl", name)] == []
    config = cf.new_distribution_config("t-local-cdn-1", cf.desired_distribution_parts(distribution_spec()))
    assert "PriceClass" in config
    assert {"Logging", "WebACLId"} & set(config) == set()


# -- runner.py options -----------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["deploy", "plan", "destroy", "outputs"])
def test_endpoint_url_defaults_to_aws_endpoint_url(monkeypatch, command):
    """README: `--endpoint-url URL` sends every AWS call to this endpoint (default `$AWS_ENDPOINT_URL`)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://aws.example.test:4566")
    args = arguments.build_parser().parse_args([command])
    assert args.endpoint_url == "https://aws.example.test:4566"
    with layers.aws_target(args) as target:
        assert target.env == {"AWS_ENDPOINT_URL": "https://aws.example.test:4566"}
    given = arguments.build_parser().parse_args([command, "--endpoint-url", "https://other.example.test"])
    assert given.endpoint_url == "https://other.example.test"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert arguments.build_parser().parse_args([command]).endpoint_url is None


def _summary_written(tmp_path: Path, argv: list[str], **env: str) -> list[Path]:
    """The files runner.py's summary writing creates for `argv`, in a fresh Python with `env`."""
    environ = {key: value for key, value in os.environ.items() if key != "WEBSTACK_STATE_DIR"}
    code = (
        "from webstack import arguments, commands\n"
        f"assert commands.__file__ == {str(REPO / 'webstack' / 'commands.py')!r}\n"
        f"args, _ = arguments.parse_arguments({argv!r})\n"
        "commands.write_summary(args, {'command': args.command, 'status': 'successful'})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**environ, **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return sorted(path for path in tmp_path.rglob("*") if path.is_file())


def test_summary_file_defaults_to_the_cache_of_the_environment_and_command(tmp_path):
    """README: `--summary-file` defaults to `~/.cache/webstack/<env>/<command>-summary.json` (WEBSTACK_STATE_DIR)."""
    home = tmp_path / "home"
    assert _summary_written(tmp_path, ["plan", "--env", "dev"], HOME=str(home)) == [
        home / ".cache" / "webstack" / "dev" / "plan-summary.json"
    ]
    state = tmp_path / "state"
    assert _summary_written(tmp_path, ["outputs", "--env", "prod"], HOME=str(home), WEBSTACK_STATE_DIR=str(state)) == [
        home / ".cache" / "webstack" / "dev" / "plan-summary.json",
        state / "prod" / "outputs-summary.json",
    ]


def _run_network_layer(monkeypatch, tmp_path, *options, error: Exception | None = None, calls: list | None = None):
    """webstack.layers.run_layer for the dev network layer, ansible_runner.run replaced: its kwargs, the result."""
    import ansible_runner

    calls = [] if calls is None else calls

    def fake_run(**kwargs):
        calls.append({**kwargs, "data_dir_was_there": Path(kwargs["private_data_dir"]).is_dir()})
        if error:
            raise error
        return types.SimpleNamespace(rc=0, status="successful", stats={}, stdout=io.StringIO(""))

    monkeypatch.setattr(ansible_runner, "run", fake_run)
    monkeypatch.setattr(layers, "STATE_DIR", tmp_path / "state")
    args, _ = arguments.parse_arguments(["deploy", "--env", "dev", *options])
    result = layers.run_layer(
        "network", layers.PLAYBOOKS / "network.yml", args, layers.Target(env={}, label="t"), {}, ""
    )
    return calls[-1], result


def test_verbose_gives_ansibles_default_output_instead_of_the_progress_lines(monkeypatch, tmp_path):
    """README: runner.py's `-v` gives Ansible's own output (its `default` callback) instead of the progress lines."""
    from ansible_runner.interface import init_runner

    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK", raising=False)
    monkeypatch.delenv("ORIGINAL_STDOUT_CALLBACK", raising=False)
    callbacks = {}
    for options in [(), ("-v",), ("--verbose",)]:
        kwargs, result = _run_network_layer(monkeypatch, tmp_path, *options)
        assert (result.status, result.rc) == ("successful", 0)
        callbacks[options] = kwargs["envvars"].get("ANSIBLE_STDOUT_CALLBACK")
        # What ansible-runner makes of it: its awx_display callback wraps ORIGINAL_STDOUT_CALLBACK, else `default`.
        job = {key: value for key, value in kwargs.items() if key != "data_dir_was_there"}
        job.update(private_data_dir=tempfile.mkdtemp(dir=tmp_path), artifact_dir=str(tmp_path / f"job{len(options)}"))
        env = init_runner(**job).config.env
        assert env["ANSIBLE_STDOUT_CALLBACK"] == "awx_display"
        assert env.get("ORIGINAL_STDOUT_CALLBACK") == callbacks[options]
    assert callbacks == {(): "webstack.aws.progress", ("-v",): None, ("--verbose",): None}


def test_private_data_dir_is_fresh_and_removed_and_the_last_five_runs_are_kept(monkeypatch, tmp_path):
    """README: the private data dir is a fresh temp dir removed afterwards; artifacts keep the last five runs."""
    first, _ = _run_network_layer(monkeypatch, tmp_path)
    second, _ = _run_network_layer(monkeypatch, tmp_path)
    assert first["private_data_dir"] != second["private_data_dir"]
    for kwargs in (first, second):
        data_dir = Path(kwargs["private_data_dir"])
        assert kwargs["data_dir_was_there"] and not data_dir.exists()
        assert data_dir.parent == Path(tempfile.gettempdir()) and data_dir.name.startswith("webstack-network-")
        assert kwargs["artifact_dir"] == str(tmp_path / "state" / "runner" / "dev" / "network")
        assert kwargs["rotate_artifacts"] == 5
    calls: list[dict] = []
    with pytest.raises(RuntimeError, match="ansible-runner broke"):
        _run_network_layer(monkeypatch, tmp_path, error=RuntimeError("ansible-runner broke"), calls=calls)
    assert calls[0]["data_dir_was_there"] and not Path(calls[0]["private_data_dir"]).exists()


def test_webstack_mitogen_0_turns_mitogen_off(monkeypatch, tmp_path):
    """README: every job runs with Mitogen's `mitogen_linear` strategy; `WEBSTACK_MITOGEN=0` turns Mitogen off."""
    monkeypatch.delenv("WEBSTACK_MITOGEN", raising=False)
    on = layers.speed_env()
    assert on["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(on["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()
    kwargs, _ = _run_network_layer(monkeypatch, tmp_path)
    assert kwargs["envvars"]["ANSIBLE_STRATEGY"] == "mitogen_linear"
    monkeypatch.setenv("WEBSTACK_MITOGEN", "1")
    assert layers.speed_env() == on
    monkeypatch.setenv("WEBSTACK_MITOGEN", "0")
    off = layers.speed_env()
    mitogen = {"ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS", "WEBSTACK_SHARE_CONTROLLER_WORK"}
    assert off == {key: value for key, value in on.items() if key not in mitogen}
    kwargs, _ = _run_network_layer(monkeypatch, tmp_path)
    assert mitogen & set(kwargs["envvars"]) == set()


# -- The waiting callback --------------------------------------------------------------------------
def test_waiting_lines_come_every_30_seconds_unless_the_interval_is_set(monkeypatch):
    """README: webstack.aws.waiting prints every 30 s, WEBSTACK_WAITING_INTERVAL sets it, ansible.cfg enables it."""
    monkeypatch.delenv("WEBSTACK_WAITING_INTERVAL", raising=False)
    callback = callback_loader.get("webstack.aws.waiting")
    callback.set_options()
    assert callback.get_option("interval") == 30
    monkeypatch.setenv("WEBSTACK_WAITING_INTERVAL", "5")
    callback.set_options()
    assert callback.get_option("interval") == 5
    config = configparser.ConfigParser()
    config.read(REPO / "ansible.cfg")
    assert "webstack.aws.waiting" in [name.strip() for name in config["defaults"]["callbacks_enabled"].split(",")]


def test_waiting_interval_is_read_from_ansible_cfg(tmp_path):
    """README: `[callback_waiting] interval` in `ansible.cfg` sets the seconds between lines."""
    config = configparser.ConfigParser()
    config.read(REPO / "ansible.cfg")
    config["callback_waiting"] = {"interval": "7"}
    with (tmp_path / "ansible.cfg").open("w") as out:
        config.write(out)
    code = (
        "from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder\n"
        f"_AnsibleCollectionFinder(paths=[{str(REPO / 'collections')!r}])._install()\n"
        "from ansible.plugins.loader import callback_loader\n"
        "callback = callback_loader.get('webstack.aws.waiting')\n"
        "callback.set_options()\n"
        "print(callback.get_option('interval'))\n"
    )
    environ = {key: value for key, value in os.environ.items() if key != "WEBSTACK_WAITING_INTERVAL"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")},
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7.0"]


# -- make and CI -----------------------------------------------------------------------------------
def _make(*arguments: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    # Run as a user runs it, also when this suite itself runs under `make test` (no sub-make banners).
    env = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    argv = ["make", *arguments]
    return subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=60)


def test_make_targets_name_the_commands_the_readme_says():
    """README: make test = ruff check + format --check, pytest (3 workers) beside ansible-lint; lint; unit."""
    ruff = [".venv/bin/ruff check .", ".venv/bin/ruff format --check ."]
    lint = f'PATH="{REPO}/.venv/bin:$PATH" .venv/bin/ansible-lint'
    dry = {target: _make("-n", "-o", ".venv/.installed", target) for target in ("test", "lint", "unit")}
    assert all(done.returncode == 0 for done in dry.values()), {t: d.stderr for t, d in dry.items()}
    test = dry["test"].stdout.splitlines()
    assert test[:2] == ruff
    assert test[2] == f"{lint} > .venv/ansible-lint.log 2>&1 & linting=$!; \\"
    assert test[3] == ".venv/bin/pytest; tested=$?; \\"
    assert test[-1] == "[ $tested = 0 ] && [ $linted = 0 ]"
    assert dry["lint"].stdout.splitlines() == [*ruff, lint]
    assert dry["unit"].stdout.splitlines() == [".venv/bin/pytest tests/unit"]
    pytest_options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert pytest_options["testpaths"] == ["tests"]
    assert " -n 3 " in f" {pytest_options['addopts']} "
    assert _yaml(REPO / ".ansible-lint")["profile"] == "production"


@pytest.mark.parametrize(
    ("target", "failing", "calls", "fails"),
    [
        ("test", "", ["ruff check .", "ruff format --check .", "ansible-lint", "pytest"], False),
        ("test", "pytest", ["ruff check .", "ruff format --check .", "ansible-lint", "pytest"], True),
        ("test", "ansible-lint", ["ruff check .", "ruff format --check .", "ansible-lint", "pytest"], True),
        ("test", "ruff", ["ruff check ."], True),
        ("lint", "", ["ruff check .", "ruff format --check .", "ansible-lint"], False),
        ("unit", "", ["pytest tests/unit"], False),
    ],
)
def test_make_runs_those_tools_alone_and_fails_when_any_fails(tmp_path, target, failing, calls, fails):
    """README: make test fails when any tool fails, lint's report after pytest's; make lint / make unit run alone."""
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("ruff", "pytest", "ansible-lint"):
        script = tools / tool
        script.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "{log}"\necho "<<{tool} output>>"\nexit {int(tool == failing)}\n'
        )
        script.chmod(0o755)
    stamp = tmp_path / ".installed"
    stamp.touch()
    overrides = [f"VENV={tmp_path}", f"BIN={tools}", f"STAMP={stamp}", "-o", str(stamp)]
    dry = _make("-n", *overrides, target)
    assert dry.returncode == 0 and ".venv" not in dry.stdout, dry.stdout  # the stand-ins only, never the real tools
    done = _make("-s", *overrides, target)
    assert sorted(line.strip() for line in log.read_text().splitlines()) == sorted(calls)
    assert (done.returncode != 0) is fails, done.stdout + done.stderr
    if target == "test" and failing != "ruff":
        assert done.stdout.index("<<pytest output>>") < done.stdout.index("<<ansible-lint output>>")


def test_ci_runs_exactly_make_test(tmp_path):
    """README: "`.ci/run` runs exactly `make test`"."""
    script = REPO / ".ci" / "run"
    commands = [line.strip() for line in script.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make test"]
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "make.log"
    (tools / "make").write_text(f'#!/bin/sh\necho "$PWD $*" >> "{log}"\n')
    (tools / "make").chmod(0o755)
    done = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"},
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [f"{REPO} test"]


# -- Role READMEs ----------------------------------------------------------------------------------
def _readme_variable_rows(role: str) -> list[list[str]]:
    """The backticked names in the first cell of each row of the role README's "## Variables" table."""
    lines = (ROLES_DIR / role / "README.md").read_text().splitlines()
    start = lines.index("## Variables")
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append(re.findall(r"`([a-z_][a-z0-9_]*)`", line.strip().strip("|").split("|")[0]))
    return rows[1:]  # the header row names no variable


def _listed(name: str, rows: list[list[str]]) -> bool:
    """Whether a row names `name` in full, or as the shorthand `_suffix` after a full name sharing its stem
    (`autoscaling_root_volume_size` / `_type` lists `autoscaling_root_volume_type`)."""
    for names in rows:
        if name in names:
            return True
        full = [each for each in names if not each.startswith("_")]
        for short in (each for each in names if each.startswith("_")):
            stem = name.removesuffix(short)
            if full and stem != name and full[0].startswith(f"{stem}_"):
                return True
    return False


@pytest.mark.parametrize("role", ROLES)
def test_every_role_readme_lists_each_of_its_variables(role):
    """README: each role lives in `roles/` "with its own README listing its variables"."""
    path = ROLES_DIR / role
    names = set(_yaml(path / "defaults" / "main.yml"))
    specs = _yaml(path / "meta" / "argument_specs.yml")["argument_specs"]
    names |= {name for spec in specs.values() for name in spec.get("options", {})}
    rows = _readme_variable_rows(role)
    assert len(rows) > 5
    assert sorted(name for name in names if not _listed(name, rows)) == []


# -- runner.py's emulator, confirmation and publish route ------------------------------------------
def test_emulator_start_prints_the_exports_for_ansible_by_hand_and_stop_stops_it(tmp_path):
    """README: `emulator start` prints shell exports, so you can run Ansible by hand against it."""
    env = {**os.environ, "WEBSTACK_STATE_DIR": str(tmp_path)}
    runner = [sys.executable, str(REPO / "runner.py"), "emulator"]
    started = subprocess.run([*runner, "start"], env=env, capture_output=True, text=True, timeout=60, check=True)
    try:
        exports = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines())
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", exports["AWS_ENDPOINT_URL"]), exports
        assert exports["AWS_ACCESS_KEY_ID"] == "testing" and exports["ANSIBLE_STRATEGY"] == "mitogen_linear"
        import boto3

        sts = boto3.client(
            "sts",
            region_name="ap-northeast-2",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert sts.get_caller_identity()["Account"]
    finally:
        stopped = subprocess.run([*runner, "stop"], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "emulator stopped" in stopped.stderr
    status = subprocess.run([*runner, "status"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (status.returncode, status.stdout.strip()) == (3, "not running")


@pytest.mark.parametrize(("typed", "confirmed"), [("prod", True), ("  prod ", True), ("dev", False), ("", False)])
def test_destroy_outside_local_takes_the_environments_name_typed_at_the_prompt(monkeypatch, typed, confirmed):
    """README: the confirmation names the environment: --confirm ENV or, on a terminal without
    --confirm, typed at the prompt."""
    args = arguments.build_parser().parse_args(["destroy", "--env", "prod"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or typed)
    assert arguments.confirmed(args) is confirmed
    assert asked and "(prod)" in asked[0]
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert arguments.confirmed(args) is False  # no terminal, no --confirm: refused


def test_the_release_waits_default_to_900_seconds_every_10():
    """README: destroy retries for up to *_release_timeout (900 s; every *_release_delay, 10 s)."""
    for role in ("certificate", "cdn", "network"):
        defaults = _yaml(ROLES_DIR / role / "defaults" / "main.yml")
        assert (defaults[f"{role}_release_timeout"], defaults[f"{role}_release_delay"]) == (900, 10), role


@pytest.mark.parametrize(
    "extra", [["--ansible"], ["--tags", "static_site"], ["-e", "@VARS"]], ids=["ansible", "tags", "vars-file"]
)
def test_publish_takes_the_playbook_route_when_only_ansible_can_resolve_its_inputs(tmp_path, extra):
    """README: `--ansible` (and `--tags`, vault or `@file` variables) runs playbooks/publish.yml
    instead of the release library; a templated setting is rendered by Ansible on either route."""
    from webstack import release
    from webstack.layers import Target

    (tmp_path / "vars.yml").write_text("static_site_keep_releases: 3\n")
    extra = [value.replace("@VARS", f"@{tmp_path / 'vars.yml'}") for value in extra]
    target = Target(env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, label="test")
    base = ["publish", "--env", "local", "--build-dir", str(DEMO_BUILD)]
    templated = ["-e", '{"static_site_keep_releases": "{{ 2 + 2 }}"}']
    args, _ = arguments.parse_arguments([*base, *templated])
    values = release._release_values(args, target, {**args.inline_vars, **arguments.release_vars(args)})
    assert values["static_site_keep_releases"] == 4
    args, _ = arguments.parse_arguments([*base, *extra])
    assert release._release_values(args, target, {**args.inline_vars, **arguments.release_vars(args)}) is None


def test_make_up_and_down_run_the_commands_the_readme_says():
    """README: `make up` starts the emulator, deploys the whole stack, publishes the demo SPA and
    prints the endpoints; `make down` destroys the stack and stops the emulator."""
    runner = ".venv/bin/python runner.py"
    up = _make("-n", "-o", ".venv/.installed", "up")
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == [
        f"{runner} emulator start",
        f"{runner} deploy --env local > /dev/null",
        f"{runner} publish --env local > /dev/null",
        f"{runner} outputs --env local > /dev/null",
    ]
    down = _make("-n", "-o", ".venv/.installed", "down")
    assert down.stdout.splitlines() == [f"{runner} destroy --env local", f"{runner} emulator stop"]


def test_the_suite_runs_its_own_emulator_and_never_the_one_make_up_started(emulator):
    """README: make test starts its own moto servers (one per pytest worker, on free loopback ports)
    and never uses the emulator `make up` started, nor anything but loopback."""
    from webstack import emulator as emulator_module

    assert "AWS_ENDPOINT_URL" not in os.environ
    assert not emulator_module.STATE_FILE.is_relative_to(Path.home() / ".cache" / "webstack")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.url)
    parent = int(Path(f"/proc/{emulator.pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    assert parent == os.getpid()  # this worker's own server


def test_outputs_without_dot_says_why_there_is_no_diagram_and_still_prints_the_outputs(tmp_path, monkeypatch, capsys):
    """README: without Graphviz's dot, `outputs --diagram` says `webstack: no diagram: ...`, still
    prints the outputs, exits 1 and puts the reason in the summary's diagram_error."""
    from webstack import diagram
    from webstack.layers import LayerResult

    outputs = {"dns": {"site_url": "https://t-dot.local.test"}}
    done = LayerResult("outputs", "successful", 0, {"localhost": {"ok": 1}}, outputs)
    monkeypatch.setattr(cli, "run_command", lambda args, target, layers: ([done], {}))
    monkeypatch.setattr(diagram, "live_stack", lambda env, settings, config: {"resources": []})
    monkeypatch.setattr(diagram, "graph", lambda stack: diagram.Graph("t-dot"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot there: the real renderer says what installs it
    summary_file = tmp_path / "summary.json"
    argv = ["outputs", "--endpoint-url", "http://127.0.0.1:9", "--summary-file", str(summary_file)]
    assert cli.main([*argv, "--diagram", str(tmp_path / "stack.png")]) == 1
    printed = capsys.readouterr()
    outputs_at = printed.err.index('dns.site_url: "https://t-dot.local.test"')
    assert printed.err.index("webstack: no diagram: ") < outputs_at  # said first, the outputs follow
    assert "`make graphviz` installs it" in printed.err
    summary = yaml.safe_load(summary_file.read_text())
    assert summary["status"] == "failed" and "make graphviz" in summary["diagram_error"]
    assert not (tmp_path / "stack.png").exists()
