"""extensions/awx: the controller configuration (infra.aap_configuration's variables) names only
what exists: playbooks, inventories, the project, credentials, templates, and survey variables the
roles or group_vars document; its generated files are what generate.py writes today."""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import pytest
import yaml

from webstack.home import COLLECTION, PLAYBOOKS
from webstack.layers import STAGES

REPO = Path(__file__).resolve().parents[2]


def project_path(playbook: str) -> str:
    """Where a job template finds one of the collection's playbooks: its path in the project."""
    return str((PLAYBOOKS / playbook).relative_to(REPO))


AWX = REPO / "extensions" / "awx"
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


class _Loader(yaml.SafeLoader):
    """Reads Ansible's !unsafe (the credential type's templates) as the plain string it marks."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _generator():
    spec = importlib.util.spec_from_file_location("awx_generate", AWX / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def config() -> dict:
    merged: dict = {}
    for path in sorted((AWX / "configs").glob("*.yml")):
        values = yaml.load(path.read_text(), Loader=_Loader)
        assert not set(values) & set(merged), f"{path.name} repeats a variable"
        merged.update(values)
    return merged


def by_name(items: list[dict]) -> dict[str, dict]:
    names = [item["name"] for item in items]
    assert len(names) == len(set(names)), names
    return {item["name"]: item for item in items}


def documented_variables() -> set[str]:
    names: set[str] = set()
    for spec_file in (COLLECTION / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            names |= set(entry.get("options") or {})
    # The project-wide settings every playbook loads (group_vars/all: defaults with their comments).
    for source in (PLAYBOOKS / "group_vars" / "all").glob("*.yml"):
        names |= {name for name in yaml.safe_load(source.read_text()) or {} if name.startswith("webstack_")}
    return names


def test_the_generated_templates_and_workflows_are_up_to_date():
    assert _generator().main(["--check"]) == 0, "run: .venv/bin/python extensions/awx/generate.py"


def test_every_playbook_project_inventory_credential_and_image_named_exists(config):
    projects = by_name(config["controller_projects"])
    inventories = by_name(config["controller_inventories"])
    credential_types = by_name(config["controller_credential_types"])
    credentials = by_name(config["controller_credentials"])
    images = by_name(config["controller_execution_environments"])
    for source in config["controller_inventory_sources"]:
        assert source["source_project"] in projects and source["inventory"] in inventories
        assert (REPO / source["source_path"]).is_file(), source["source_path"]
    assert {source["inventory"] for source in config["controller_inventory_sources"]} == set(inventories)
    for credential in credentials.values():
        fields = {field["id"] for field in credential_types[credential["credential_type"]]["inputs"]["fields"]}
        assert set(credential["inputs"]) <= fields
    for project in projects.values():
        assert project["default_environment"] in images
    for template in config["controller_templates"]:
        assert (REPO / template["playbook"]).is_file(), template["playbook"]
        assert template["project"] in projects and template["inventory"] in inventories
        assert template["execution_environment"] in images
        assert set(template["credentials"]) <= set(credentials)
        # One environment per template: its inventory and its account's credential, never another's.
        env = template["inventory"].removeprefix("webstack ")
        assert template["credentials"] == [f"webstack AWS {env}"], template["name"]


def test_each_credential_region_is_its_environment_region(config):
    for credential in config["controller_credentials"]:
        env = credential["name"].removeprefix("webstack AWS ")
        settings = yaml.safe_load((REPO / "inventories" / env / "group_vars" / "webstack.yml").read_text())
        assert credential["inputs"]["aws_region"] == settings["webstack_region"]


def test_every_survey_and_injected_variable_is_documented(config):
    documented = documented_variables()
    surveyed = [*config["controller_templates"], *config["controller_workflows"]]
    assert any(item.get("survey_spec") for item in surveyed)
    for item in surveyed:
        questions = (item.get("survey_spec") or {}).get("spec", [])
        variables = [question["variable"] for question in questions]
        assert len(variables) == len(set(variables)), item["name"]
        assert set(variables) <= documented, (item["name"], set(variables) - documented)
        for question in questions:
            assert question["type"] in SURVEY_TYPES
            assert question["type"] != "multiplechoice" or question["choices"]
            # A default is sent on every launch and would override the environment's inventory.
            assert "default" not in question, question["variable"]
        assert set(item.get("extra_vars") or {}) <= documented
    for credential_type in config["controller_credential_types"]:
        assert set(credential_type["injectors"].get("extra_vars") or {}) <= documented


def test_every_operation_has_a_template_per_environment(config):
    templates = by_name(config["controller_templates"])
    workflows = by_name(config["controller_workflows"])
    assert not set(templates) & set(workflows), "a workflow node names its template: names must differ"
    envs = {inventory["name"].removeprefix("webstack ") for inventory in config["controller_inventories"]}
    assert envs == {"dev", "prod"}
    verify = ["verify"] if (PLAYBOOKS / "verify.yml").is_file() else []
    for env in envs:
        for operation in ["deploy", "plan", "publish", "rollback", "outputs", *verify]:
            assert f"webstack {env} {operation}" in templates
        assert templates[f"webstack {env} plan"]["job_type"] == "check"
        assert templates[f"webstack {env} destroy plan"]["job_type"] == "check"
        assert f"webstack {env} destroy" in workflows


def _nodes(workflow: dict, templates: dict) -> dict[str, dict]:
    nodes = {node["identifier"]: node for node in workflow["simplified_workflow_nodes"]}
    for node in nodes.values():
        assert ("unified_job_template" in node) != ("approval_node" in node)
        assert "approval_node" in node or node["unified_job_template"] in templates
        assert set(node.get("success_nodes", [])) <= set(nodes)
    return nodes


def test_the_staged_deploy_workflow_runs_runner_py_stages(config):
    templates = by_name(config["controller_templates"])
    for workflow in config["controller_workflows"]:
        if not workflow["name"].endswith("deploy in stages"):
            continue
        nodes = _nodes(workflow, templates)
        parents = {identifier: set() for identifier in nodes}
        for identifier, node in nodes.items():
            for child in node.get("success_nodes", []):
                parents[child].add(identifier)
        # Stage by stage: the nodes whose parents have all run, side by side.
        stages, done = [], set()
        while len(done) < len(nodes):
            ready = sorted(i for i in nodes if i not in done and parents[i] <= done)
            assert ready, "a cycle"
            stages.append(ready)
            done |= set(ready)
        assert stages == [sorted(stage) for stage in STAGES]
        for identifier, node in nodes.items():
            assert templates[node["unified_job_template"]]["playbook"] == str(
                (PLAYBOOKS / f"{identifier}.yml").relative_to(REPO)
            )
            # A layer starts only when every layer it follows succeeded, as runner.py stops at a failed stage.
            assert node.get("all_parents_must_converge", False) == bool(parents[identifier])


def test_the_destroy_workflow_plans_then_waits_for_an_approval(config):
    templates = by_name(config["controller_templates"])
    for workflow in config["controller_workflows"]:
        if not workflow["name"].endswith(" destroy"):
            continue
        nodes = _nodes(workflow, templates)
        order, identifier = [], "plan"
        while identifier:
            order.append(nodes[identifier])
            identifier = (nodes[identifier].get("success_nodes") or [None])[0]
        plan, approve, destroy = order
        assert templates[plan["unified_job_template"]]["job_type"] == "check"
        assert approve["approval_node"]["timeout"] == 3600  # README: the approval expires after an hour
        assert templates[destroy["unified_job_template"]]["playbook"] == str(
            (PLAYBOOKS / "destroy.yml").relative_to(REPO)
        )
        assert templates[destroy["unified_job_template"]]["job_type"] == "run"


def _inject(credential_type: dict, inputs: dict, tmp_path: Path) -> dict[str, str]:
    """What the controller does at launch: render the injector's files and environment with the
    credential's inputs (every field the credential leaves out is empty), in a sandboxed Jinja."""
    from jinja2.sandbox import SandboxedEnvironment

    jinja = SandboxedEnvironment()
    values = {field["id"]: "" for field in credential_type["inputs"]["fields"]} | inputs
    filenames = {}
    for key, template in credential_type["injectors"]["file"].items():
        name = key.removeprefix("template.")
        filenames[name] = str(tmp_path / name)
        Path(filenames[name]).write_text(jinja.from_string(template).render(values))
    context = values | {"tower": {"filename": filenames}}
    return {key: jinja.from_string(value).render(context) for key, value in credential_type["injectors"]["env"].items()}


@pytest.mark.parametrize("role", ["", "arn:aws:iam::123456789012:role/webstack-deployer"])
def test_the_credential_gives_boto3_the_keys_the_region_and_the_role(config, tmp_path, monkeypatch, role):
    """Read by botocore as amazon.aws reads it (AWS_PROFILE and the files; no call is made)."""
    import botocore.session

    (credential_type,) = config["controller_credential_types"]
    inputs = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret", "aws_region": "ap-northeast-2"}
    env = _inject(credential_type, inputs | {"aws_role_arn": role}, tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    session = botocore.session.Session()
    assert session.get_config_variable("region") == "ap-northeast-2"
    profile = session.get_scoped_config()
    if role:
        assert (profile["role_arn"], profile["source_profile"]) == (role, "webstack-keys")
        source = session.full_config["profiles"]["webstack-keys"]
        assert (source["aws_access_key_id"], source["region"]) == ("AKIDEXAMPLE", "ap-northeast-2")
        assert "aws_access_key_id" not in profile  # the keys only assume the role
    else:
        credentials = session.get_credentials()
        assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIDEXAMPLE", "secret", None)
        assert "role_arn" not in profile


# Each list of infra.aap_configuration's and the awx.awx module its role calls for every item
# (awx.awx comes with the pinned `ansible` package; infra.aap_configuration does not).
MODULES = {
    "controller_templates": "job_template",
    "controller_workflows": "workflow_job_template",
    "controller_projects": "project",
    "controller_inventories": "inventory",
    "controller_inventory_sources": "inventory_source",
    "controller_credentials": "credential",
    "controller_credential_types": "credential_type",
    "controller_execution_environments": "execution_environment",
}
AWX_MODULES = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "awx" / "awx" / "plugins" / "modules"


def module_options(module: str) -> dict[str, dict]:
    from ansible.parsing.plugin_docs import read_docstring

    options = read_docstring(str(AWX_MODULES / f"{module}.py"))["doc"]["options"]
    return options | {alias: spec for spec in options.values() for alias in spec.get("aliases", [])}


@pytest.mark.parametrize("variable", sorted(MODULES))
def test_every_field_is_an_option_of_the_awx_module_that_applies_it(config, variable):
    options = module_options(MODULES[variable])
    # simplified_workflow_nodes is the role's own: each node goes to workflow_job_template_node.
    fields = {field for item in config[variable] for field in item} - {"simplified_workflow_nodes"}
    assert fields <= set(options), fields - set(options)
    if variable == "controller_workflows":
        node_options = module_options("workflow_job_template_node")
        nodes = [node for item in config[variable] for node in item["simplified_workflow_nodes"]]
        assert {field for node in nodes for field in node} <= set(node_options)
        approval = set(node_options["approval_node"]["suboptions"])
        assert all(set(node["approval_node"]) <= approval for node in nodes if "approval_node" in node)


def test_no_template_prompts_for_its_inventory_or_credential(config):
    """README: every template is bound to one environment's inventory and that account's credential
    and prompts for neither, so a launch cannot pair prod's hosts with dev's account."""
    for template in config["controller_templates"]:
        env = template["name"].split()[1]
        assert template["inventory"] == f"webstack {env}", template["name"]
        assert template["credentials"] == [f"webstack AWS {env}"], template["name"]
        prompts = {key for key, value in template.items() if key.startswith("ask_") and value}
        assert not prompts & {"ask_inventory_on_launch", "ask_credential_on_launch"}, template["name"]
