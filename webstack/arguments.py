"""Reading the command line, apart from acting on it: every option, -e value, layer and tag is
checked here before the emulator starts or AWS is called, so a mistake costs one line on stderr
(a UsageError, exit code 2) and nothing else, and the commands get arguments already checked.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import yaml

from webstack.home import COLLECTION, COLLECTION_PATH, DEMO_BUILD, PLAYBOOKS, REPO, environments, is_checkout
from webstack.layers import LOCAL_ENV, available_layers
from webstack.release import VIA_ANSIBLE_HELP


class UsageError(Exception):
    """Bad command-line input: one line on stderr and exit code 2, before any AWS call."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class VarsLoader(yaml.SafeLoader):
    """The playbooks' YAML as Ansible writes it, for their tags: `!vault` and `!unsafe` values read
    as plain placeholders."""


VarsLoader.add_constructor("!vault", lambda loader, node: "<vault-encrypted>")
VarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


# A `key=value` that needs no shell-style reading: no quote, backslash, space or second `=`.
SIMPLE_PAIR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^\s'\"\\=]*")


def parse_extra_vars(values: list[str]) -> dict:
    """What ansible-playbook's -e accepts, read by Ansible's own parsers as its load_extra_vars
    reads it: key=value pairs (parse_kv: shell quoting), JSON/YAML mappings, @file (where a !vault
    value stays encrypted for ansible-playbook). Anything else is a UsageError naming the value."""
    if not values:
        return {}
    if all(SIMPLE_PAIR.fullmatch(value) for value in values):
        return dict(value.split("=", 1) for value in values)  # what parse_kv answers, without importing Ansible
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.splitter import parse_kv
    from ansible.parsing.vault import VaultSecretsContext

    if VaultSecretsContext.current(optional=True) is None:  # no secrets: !vault values stay encrypted
        VaultSecretsContext.initialize(VaultSecretsContext(secrets=[]))
    loader, merged = DataLoader(), {}
    for value in values:
        try:
            if value.startswith("@"):
                loaded = loader.load_from_file(value[1:], trusted_as_template=True)
            elif value.lstrip().startswith(("{", "[")):
                loaded = loader.load(value)
            else:
                loaded = parse_kv(value)
        except AnsibleError as exc:
            raise UsageError(_extra_vars_error(value, exc)) from None
        if isinstance(loaded, dict) and ("_raw_params" in loaded or "" in loaded):
            raise UsageError(f"--extra-vars: expected key=value, JSON or @file, got {value!r}")
        if not isinstance(loaded, dict):
            raise UsageError(f"--extra-vars: {value!r} is not a mapping of variable names to values")
        merged.update(loaded)
    return merged


def _extra_vars_error(value: str, exc: Exception) -> str:
    """One line for what Ansible could not read in an -e value."""
    cause = exc.__cause__
    if value.startswith("@") and isinstance(cause, OSError):
        return f"--extra-vars: cannot read {value[1:]}: {cause.strerror}"
    if value.startswith("@"):
        return f"--extra-vars: {value[1:]} is not YAML: {_one_line(cause or exc)}"
    if value.lstrip().startswith(("{", "[")):  # one line: the problem without its position
        return f"--extra-vars: {value!r} is not valid JSON/YAML: {getattr(cause, 'problem', None) or _one_line(exc)}"
    return f"--extra-vars: {value!r}: {_one_line(exc).removesuffix(f': {value}')}"


def _one_line(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{getattr(exc, 'problem', None) or exc}{where}".replace("\n", " ")


def parse_layers(value: str | None) -> list[str]:
    known = available_layers()
    if not value:
        return known
    wanted = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in known]
    if unknown:
        raise UsageError(f"--layers: unknown layer(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return [layer for layer in known if layer in wanted]


def known_tags() -> set[str]:
    """Every tag a playbook or role task carries, and Ansible's special ones."""
    tags = {"all", "always", "never", "tagged", "untagged"}

    def walk(node) -> None:
        if isinstance(node, dict):
            value = node.get("tags")
            if isinstance(value, str) and "{{" not in value:
                tags.update(item.strip() for item in value.split(","))
            elif isinstance(value, list):
                tags.update(str(item) for item in value)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for path in [*PLAYBOOKS.rglob("*.yml"), *(COLLECTION / "roles").glob("*/tasks/*.yml")]:
        walk(yaml.load(path.read_text(), Loader=VarsLoader))
    return tags


def parse_tags(value: str | None) -> str | None:
    if not value:
        return None
    wanted = [item.strip() for item in value.split(",") if item.strip()]
    known = known_tags()
    unknown = [item for item in wanted if item not in known]
    if unknown:
        choices = ", ".join(sorted(known - {"all", "always", "never", "tagged", "untagged"}))
        raise UsageError(f"--tags: unknown tag(s) {', '.join(unknown)}; choose from {choices}")
    return ",".join(wanted)


def program_name() -> str:
    """`webstack` when run as the installed console script, else runner.py (the documented entry point)."""
    return "webstack" if Path(sys.argv[0]).name == "webstack" else "runner.py"


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; `description` heads --help (cli passes its docstring)."""
    parser = Parser(
        prog=program_name(),
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    # Outside a checkout there are no inventories: --help works, a command is refused (parse_arguments).
    common.add_argument(
        "--env",
        default=LOCAL_ENV,
        choices=environments() or None,
        help="environment = inventories/ENV (default: local)",
    )
    common.add_argument(
        "--layers",
        help=f"comma-separated layers to act on, of: {', '.join(available_layers())} (default: all)",
    )
    common.add_argument("--tags", help="Ansible tags to limit the tasks inside the layers")
    common.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="send every AWS call to this AWS-compatible endpoint (default: $AWS_ENDPOINT_URL; "
        "local starts the embedded emulator when neither is set)",
    )
    common.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="VARS",
        help="extra variables as key=value, JSON/YAML or @file (repeatable; files go to ansible-playbook as "
        "they are, so they may hold !vault values; inline values take precedence over files)",
    )
    common.add_argument(
        "--vault-password-file", type=Path, metavar="FILE", help="decrypts the !vault values of -e @file"
    )
    common.add_argument("--summary-file", type=Path, help="where to write the JSON summary")
    common.add_argument(
        "-v", "--verbose", action="store_true", help="show Ansible's own output (its default callback) instead"
    )

    converging = argparse.ArgumentParser(add_help=False)
    converging.add_argument(
        "--full",
        action="store_true",
        help="run every layer even when the stack is as the last deploy left it (same inputs, same AWS "
        "state: by default such a run reports that deploy's outputs and starts no job)",
    )
    sub.add_parser(
        "deploy", parents=[common, converging], help="create or converge the stack; a second run reports changed=0"
    )
    plan = sub.add_parser(
        "plan",
        parents=[common, converging],
        help="check and diff mode: show what deploy would change, change nothing",
    )
    plan.add_argument(
        "--destroy", action="store_true", help="show what destroy would delete, layer by layer, and what blocks it"
    )
    plan.add_argument("--delete-data", action="store_true", help="with --destroy: plan destroy --delete-data")
    plan.add_argument(
        "--json",
        action="store_true",
        help="exit 0 when nothing would change, 2 when something would, 1 on error (the JSON summary's "
        "`changes` lists each change per layer and resource, before/after where known)",
    )
    destroy = sub.add_parser(
        "destroy",
        parents=[common],
        help="remove every resource the stack owns, in reverse order; outside local, after a teardown plan "
        "that finds every blocker first",
    )
    destroy.add_argument(
        "--confirm", metavar="ENV", help="required outside local: the environment's name, e.g. --confirm prod"
    )
    destroy.add_argument(
        "--delete-data",
        action="store_true",
        help="also delete user data: the site bucket's files and the database (a final snapshot is kept "
        "where rds_final_snapshot is on); without it a stack holding data is refused",
    )
    outputs = sub.add_parser(
        "outputs", parents=[common], help="read the stack's endpoints and ids from AWS, change nothing"
    )
    outputs.add_argument(
        "--diagram",
        type=Path,
        metavar="PATH",
        help="also draw the stack as AWS holds it: PATH.png or PATH.svg, or both for any other PATH "
        "(Graphviz's dot, which `make` installs)",
    )
    sub.add_parser(
        "verify",
        parents=[common],
        help="check the deployed stack through the AWS APIs against the architecture; one line per check",
    )

    publish = sub.add_parser(
        "publish",
        parents=[common],
        help="upload an SPA build as a new release and make it live (only what changed; atomic)",
    )
    publish.add_argument(
        "--build-dir",
        type=Path,
        help=f"the `npm run build` output (default for local: the demo SPA, {DEMO_BUILD.relative_to(REPO)})",
    )
    publish.add_argument("--keep-releases", type=int, help="releases whose assets stay in the bucket (default 3)")
    publish.add_argument("--wait", action="store_true", help="wait until the CloudFront invalidation completes")
    publish.add_argument("--ansible", action="store_true", help=VIA_ANSIBLE_HELP)
    rollback = sub.add_parser(
        "rollback", parents=[common], help="make the previous release live again, without uploading anything"
    )
    rollback.add_argument("--to", metavar="RELEASE", help="make this release live instead of the previous one")
    rollback.add_argument("--wait", action="store_true", help="wait until the CloudFront invalidation completes")
    rollback.add_argument("--ansible", action="store_true", help=VIA_ANSIBLE_HELP)

    report = sub.add_parser(
        "report",
        help="draw a run's timeline: a PNG and a self-contained HTML Gantt chart, the critical path marked",
    )
    report.add_argument(
        "--timeline", type=Path, metavar="FILE", help="a <summary>.timeline.json (default: the last run's)"
    )
    report.add_argument("--out", type=Path, metavar="DIR", help="where to write them (default: beside the timeline)")

    emu = sub.add_parser(
        "emulator",
        help="start, stop or show the persistent embedded AWS emulator used by --env local",
        description="The persistent emulator keeps a local stack alive between commands. "
        "`start` prints shell exports for running ansible-playbook by hand: "
        'eval "$(python runner.py emulator start)".',
    )
    emu.add_argument("action", choices=["start", "stop", "status"])
    return parser


def release_vars(args) -> dict:
    """The static_site variables of `publish` and `rollback`, from their options; without --wait
    the inventory's static_site_invalidation_wait holds (prod's waits)."""
    values: dict = {"static_site_invalidation_wait": True} if args.wait else {}
    if args.command == "rollback":
        if args.to:
            values["static_site_release"] = args.to
        return values
    build_dir = args.build_dir or (DEMO_BUILD if args.env == LOCAL_ENV else None)
    if build_dir is None:
        raise UsageError("--build-dir: required outside the local environment (the `npm run build` output)")
    if not (build_dir / "index.html").is_file():
        raise UsageError(f"--build-dir: {build_dir} has no index.html; point it at the `npm run build` output")
    values["static_site_build_dir"] = str(build_dir.resolve())
    if args.keep_releases is not None:
        values["static_site_keep_releases"] = args.keep_releases
    return values


def confirmed(args) -> bool:
    """Outside local, destroy needs the environment's name: --confirm ENV, or typed on a terminal."""
    if args.command != "destroy" or args.env in (LOCAL_ENV, args.confirm):
        return True
    if args.confirm is None and sys.stdin.isatty():
        typed = input(f"Destroy the {args.env} stack? Type the environment's name ({args.env}) to confirm: ")
        return typed.strip() == args.env
    return False


def parse_arguments(argv: list[str] | None, description: str | None = None):
    """Everything the command line says, checked before the emulator starts or AWS is called."""
    args = build_parser(description).parse_args(argv)
    if args.command in {"emulator", "report"}:
        return args, []
    if not is_checkout(REPO):
        raise UsageError(
            f"no webstack checkout at {REPO} (its collection, {COLLECTION_PATH}): run from one or set WEBSTACK_HOME"
        )
    layers = parse_layers(args.layers)
    args.tags = parse_tags(args.tags)
    # Files go to ansible-playbook as they are (it decrypts !vault values); the rest as parsed.
    # Inline values take precedence over files, in the jobs and in runner.py's own settings alike.
    args.inline_vars = parse_extra_vars([value for value in args.extra_vars if not value.startswith("@")])
    args.vars = {**parse_extra_vars([value for value in args.extra_vars if value.startswith("@")]), **args.inline_vars}
    args.ansible_args = [f"-e@{Path(value[1:]).resolve()}" for value in args.extra_vars if value.startswith("@")]
    if args.vault_password_file:
        if not os.access(args.vault_password_file, os.R_OK):
            raise UsageError(f"--vault-password-file: cannot read {args.vault_password_file}")
        args.ansible_args.append(f"--vault-password-file={args.vault_password_file.resolve()}")
    if args.command in {"publish", "rollback"}:
        release_vars(args)
    if not confirmed(args):
        given = f" (got --confirm {args.confirm})" if args.confirm else ""
        raise UsageError(
            f"--confirm: destroying {args.env} needs a confirmation naming the environment: "
            f"--confirm {args.env}{given}. Nothing was deleted."
        )
    return args, layers
