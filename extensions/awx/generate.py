#!/usr/bin/env python3
"""Writes configs/templates.yml and configs/workflows.yml: the controller's job templates and
workflows, in infra.aap_configuration's variables (controller_templates, controller_workflows).

Surveys are made from the roles' meta/argument_specs.yml (and the comments of group_vars/all for
webstack_* settings), so a question says what the role documents and changes when the role does.
The workflow's stages are runner.py's STAGES (the collection's playbooks/site.yml). Run it after
changing either; the test suite fails while the committed files differ from what this prints
(tests/unit/test_awx_configuration.py).

    .venv/bin/python extensions/awx/generate.py          # rewrite the two files
    .venv/bin/python extensions/awx/generate.py --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = Path(__file__).resolve().parent / "configs"
sys.path.insert(0, str(REPO))

from webstack.home import COLLECTION, PLAYBOOKS  # noqa: E402
from webstack.layers import STAGES  # noqa: E402

ORGANIZATION = "Default"
PROJECT = "webstack"
EXECUTION_ENVIRONMENT = "webstack EE"

# What each operation asks. Only settings a person changes for one run: the rest belongs to the
# environment's inventory group_vars. Questions have no default (a default is sent on every launch
# and would override the inventory's value); left blank, the inventory's value stands.
DEPLOY_QUESTIONS = [
    "autoscaling_ami_id",
    "autoscaling_instance_type",
    "autoscaling_min_size",
    "autoscaling_max_size",
    "autoscaling_desired_capacity",
    "rds_instance_class",
    "cdn_wait",
    "certificate_wait",
]
DESTROY_QUESTIONS = ["webstack_delete_data", "rds_allow_destroy", "load_balancer_deletion_protection"]
PUBLISH_QUESTIONS = [
    "static_site_build_dir",
    "static_site_keep_releases",
    "static_site_invalidation_wait",
    "static_site_invalidation_wait_timeout",
]
ROLLBACK_QUESTIONS = ["static_site_release", "static_site_invalidation_wait", "static_site_invalidation_wait_timeout"]


def playbook(name: str) -> str:
    """A playbook of the collection, by its path in the project (what a job template names)."""
    return str((PLAYBOOKS / name).relative_to(REPO))


def role_options() -> dict[str, dict]:
    """Every option of every entry point of every role, by name (entry points share definitions)."""
    options: dict[str, dict] = {}
    for spec_file in sorted((COLLECTION / "roles").glob("*/meta/argument_specs.yml")):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            for name, spec in (entry.get("options") or {}).items():
                options.setdefault(name, spec)
    return options


def group_var_options() -> dict[str, dict]:
    """The webstack_* settings of group_vars/all, described by the comment lines above each."""
    options: dict[str, dict] = {}
    for source in sorted((PLAYBOOKS / "group_vars" / "all").glob("*.yml")):
        values = yaml.safe_load(source.read_text()) or {}
        comment: list[str] = []
        for line in source.read_text().splitlines():
            if line.startswith("#"):
                comment.append(line.lstrip("# ").strip())
                continue
            match = re.match(r"^(webstack_\w+):", line)
            if match and comment:
                value = values[match[1]]
                kind = {bool: "bool", int: "int", str: "str"}.get(type(value), "raw")
                options[match[1]] = {"type": kind, "default": value, "description": " ".join(comment)}
            if not line.startswith(" "):
                comment = []
    return options


def plain(text) -> str:
    """argument_specs markup (C(x), O(x), V(x), I(x)) as plain text, on one line."""
    text = " ".join(text) if isinstance(text, list) else str(text)
    return re.sub(r"\b[COVIRMLPU]\(([^)]*)\)", r"\1", text).strip()


def question(variable: str, spec: dict) -> dict:
    description = plain(spec.get("description", ""))
    first = re.split(r"(?<=[.;])\s", description, maxsplit=1)[0].rstrip(".;")
    kind = spec.get("type", "str")
    if spec.get("choices"):
        answer = {"type": "multiplechoice", "choices": [str(choice) for choice in spec["choices"]]}
    elif kind == "bool":
        answer = {"type": "multiplechoice", "choices": ["true", "false"]}
    elif kind == "int":
        answer = {"type": "integer", "min": 0, "max": 1000000}
    elif kind == "float":
        answer = {"type": "float", "min": 0, "max": 1000000}
    elif kind in ("str", "path"):
        answer = {"type": "text", "min": 0, "max": 1024}
    else:
        raise ValueError(f"{variable}: a survey cannot ask for a {kind}; leave it to the inventory or extra vars")
    default = spec.get("default")
    shown = "" if default in (None, "") else f" Role default: {str(default).lower() if kind == 'bool' else default}."
    required = bool(spec.get("required")) and default is None
    return {
        "question_name": f"{first} ({variable})",
        "question_description": f"{description}{shown}{'' if required else ' Blank: the inventory value.'}",
        "variable": variable,
        "required": required,
        **answer,
    }


def survey(name: str, variables: list[str], known: dict[str, dict]) -> dict:
    return {
        "name": name,
        "description": "Generated from the roles' meta/argument_specs.yml by extensions/awx/generate.py",
        "spec": [question(variable, known[variable]) for variable in variables],
    }


def environments() -> list[str]:
    """The inventories a controller runs: all but those that refuse anything but the emulator (local)."""
    found = []
    for inventory in sorted(path for path in (REPO / "inventories").iterdir() if path.is_dir()):
        settings: dict = {}
        for source in sorted((inventory / "group_vars").glob("*.yml")):
            settings.update(yaml.safe_load(source.read_text()) or {})
        if not settings.get("webstack_require_endpoint"):
            found.append(inventory.name)
    return found


def template(env: str, operation: str, playbook: str, description: str, **fields) -> dict:
    """A job template bound to one environment's inventory and the credential of its account: no
    prompt for either, so no launch mixes one environment's hosts with another's account (a workflow
    cannot prompt for credentials, so templates that prompted would run its nodes on the default)."""
    if not (REPO / playbook).is_file():
        raise FileNotFoundError(playbook)
    return {
        "name": f"webstack {env} {operation}",
        "description": description,
        "organization": ORGANIZATION,
        "project": PROJECT,
        "playbook": playbook,
        "job_type": "run",
        "inventory": f"webstack {env}",
        "credentials": [f"webstack AWS {env}"],
        "execution_environment": EXECUTION_ENVIRONMENT,
        # One job per stack at a time, as runner.py's single process gives.
        "allow_simultaneous": False,
        **fields,
    }


def operations(env: str) -> list[tuple[str, str, str, str, list[str], bool]]:
    """(template name, playbook, description, survey name, survey questions, check mode) of each
    operation; the survey's name is the operation's (the destroy template is named for its place in
    the workflow)."""
    return [
        (
            "deploy",
            "site.yml",
            "Create or converge the whole stack, one layer after another (the workflow runs layers side by side)",
            "deploy",
            DEPLOY_QUESTIONS,
            False,
        ),
        (
            "plan",
            "site.yml",
            "What deploy would change, in check and diff mode; changes nothing (runner.py plan)",
            "plan",
            DEPLOY_QUESTIONS,
            True,
        ),
        (
            "destroy plan",
            playbook("destroy.yml"),
            "What destroy would delete and what blocks it, in check mode; deletes nothing",
            "destroy plan",
            DESTROY_QUESTIONS,
            True,
        ),
        (
            # Not "destroy": a workflow node names its template, and the workflow has that name.
            "destroy after approval",
            playbook("destroy.yml"),
            f"Remove the stack in reverse order. Launch it through the 'webstack {env} destroy' workflow, which plans "
            "and waits for an approval first; give execute on this template to no one",
            "destroy",
            DESTROY_QUESTIONS,
            False,
        ),
        (
            "publish",
            playbook("publish.yml"),
            "Upload an SPA build (a directory in the project or the image) as a new release and make it live",
            "publish",
            PUBLISH_QUESTIONS,
            False,
        ),
        (
            "rollback",
            playbook("rollback.yml"),
            "Make the previous (or the named) release live again, without uploading anything",
            "rollback",
            ROLLBACK_QUESTIONS,
            False,
        ),
    ]


def templates(env: str, known: dict[str, dict]) -> list[dict]:
    check = {"job_type": "check", "diff_mode": True}
    found = [
        template(
            env,
            name,
            path,
            description,
            survey_enabled=True,
            survey_spec=survey(title, questions, known),
            **(check if checked else {}),
        )
        for name, path, description, title, questions, checked in operations(env)
    ]
    found.append(template(env, "outputs", playbook("outputs.yml"), "Read the stack's endpoints and ids from AWS"))
    found.append(template(env, "verify", playbook("verify.yml"), "Check the deployed stack against the architecture"))
    for layer in [layer for stage in STAGES for layer in stage]:
        found.append(
            template(
                env,
                f"layer {layer}",
                playbook(f"{layer}.yml"),
                f"Converge the {layer} layer alone (a node of the 'webstack {env} deploy in stages' workflow)",
                extra_vars={"webstack_state": "present"},
            )
        )
    return found


def staged_nodes(env: str) -> list[dict]:
    """runner.py's stages as nodes: each layer of a stage follows every layer of the stage before
    it, and starts only when all of them succeeded (runner.py stops at a failed stage)."""
    nodes = []
    for index, stage in enumerate(STAGES):
        following = STAGES[index + 1] if index + 1 < len(STAGES) else []
        for layer in stage:
            node = {"identifier": layer, "unified_job_template": f"webstack {env} layer {layer}"}
            if index > 0:
                node["all_parents_must_converge"] = True
            if following:
                node["success_nodes"] = list(following)
            nodes.append(node)
    return nodes


def workflows(env: str, known: dict[str, dict]) -> list[dict]:
    common = {"organization": ORGANIZATION, "allow_simultaneous": False, "survey_enabled": True}
    return [
        {
            "name": f"webstack {env} deploy in stages",
            "description": "runner.py deploy: " + " -> ".join(" | ".join(stage) for stage in STAGES),
            **common,
            "survey_spec": survey("deploy", DEPLOY_QUESTIONS, known),
            "simplified_workflow_nodes": staged_nodes(env),
        },
        {
            "name": f"webstack {env} destroy",
            "description": "runner.py destroy outside local: the teardown plan, a person's approval, then the destroy",
            **common,
            "survey_spec": survey("destroy", DESTROY_QUESTIONS, known),
            "simplified_workflow_nodes": [
                {
                    "identifier": "plan",
                    "unified_job_template": f"webstack {env} destroy plan",
                    "success_nodes": ["approve"],
                },
                {
                    "identifier": "approve",
                    "approval_node": {
                        "name": f"Destroy the {env} stack",
                        "description": "Read the teardown plan's output first: approving deletes what it lists",
                        "timeout": 3600,
                    },
                    "success_nodes": ["destroy"],
                },
                {"identifier": "destroy", "unified_job_template": f"webstack {env} destroy after approval"},
            ],
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as yamllint (ansible-lint) wants them."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def render(variable: str, value) -> str:
    header = "---\n# Generated by extensions/awx/generate.py from the roles' meta/argument_specs.yml; do not edit.\n"
    return header + yaml.dump({variable: value}, Dumper=_Dumper, sort_keys=False, width=150, allow_unicode=True)


def outputs() -> dict[Path, str]:
    known = {**group_var_options(), **role_options()}
    return {
        CONFIGS / "templates.yml": render(
            "controller_templates", [t for e in environments() for t in templates(e, known)]
        ),
        CONFIGS / "workflows.yml": render(
            "controller_workflows", [w for e in environments() for w in workflows(e, known)]
        ),
    }


def main(argv: list[str]) -> int:
    stale = [path for path, text in outputs().items() if not path.is_file() or path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(REPO)} is out of date: run extensions/awx/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
