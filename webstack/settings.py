"""A stack's settings as Ansible resolves them for a playbook on the `webstack` host, for the
commands that act without running one (publish and rollback's direct route, the outputs'
diagram): the environment's inventory (its group_vars and host_vars) over the collection's
playbooks/group_vars/all, the named roles' defaults beneath, -e above, templated by Ansible."""

from __future__ import annotations

import hashlib
import json
import os

from webstack.home import COLLECTION, INVENTORIES, PLAYBOOKS, STATE_DIR, install_collection_finder

# What this machine remembers per inputs digest (webstack/state.py), per kind: the last twenty.
KEPT = 20


class Unresolved(Exception):
    """What Ansible cannot resolve from the files alone: a vault value without its password, an
    undefined variable, an inventory without the webstack host."""


def resolve(env: str, extra_vars: dict, names: list[str], roles: tuple[str, ...] = ()) -> dict:
    """The named settings (those that are set anywhere), templated, with a playbook's precedence."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.manager import VariableManager

    install_collection_finder()  # filters and lookups by their FQCN (ansible.builtin.env)
    loader = DataLoader()
    loader.set_basedir(str(PLAYBOOKS))  # the playbook-adjacent group_vars/all
    try:
        inventory = InventoryManager(loader=loader, sources=[str(INVENTORIES / env)])
        hosts = inventory.get_hosts("webstack")
        if not hosts:
            raise Unresolved(f"inventories/{env} has no host in the webstack group")
        variables: dict = {}
        for role in roles:
            defaults = COLLECTION / "roles" / role / "defaults" / "main.yml"
            variables.update(loader.load_from_file(str(defaults), trusted_as_template=True) or {})
        variables.update(VariableManager(loader=loader, inventory=inventory).get_vars(host=hosts[0]))
        # As ansible-playbook's -e: a string given there may be a template.
        variables.update({k: trust_as_template(v) if isinstance(v, str) else v for k, v in extra_vars.items()})
        templar = Templar(loader=loader, variables=variables)
        return {name: templar.template(variables[name]) for name in names if name in variables}
    except AnsibleError as exc:
        raise Unresolved(str(exc).splitlines()[0]) from exc


def recall(name: str, env: str) -> dict:
    """What this machine remembered under `name` for `env` (~/.cache/webstack/<env>/<name>.json):
    {key: value}, oldest first."""
    try:
        return json.loads((STATE_DIR / env / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


def remember(name: str, env: str, key: str, value) -> None:
    """Keeps `value` under `key` as the newest of the last KEPT; written whole, also with two runs
    writing at once."""
    path = STATE_DIR / env / f"{name}.json"
    kept = {k: v for k, v in recall(name, env).items() if k != key}
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(f".{name}.{os.getpid()}.json")
    written.write_text(json.dumps({**dict(list(kept.items())[-(KEPT - 1) :]), key: value}, default=str))
    written.replace(path)


def resolve_remembered(
    env: str, extra_vars: dict, names: list[str], roles: tuple[str, ...] = (), inputs: str | None = None
) -> dict:
    """resolve(), remembered on this machine for the same inputs (`inputs`: the digest runner.py's
    shortcut compares, webstack/state.py, computed here when not given): Ansible's inventory and
    templating cost a third of a second, more than the rest of a no-op publish or deploy."""
    from webstack.state import inputs_digest

    inputs = inputs or inputs_digest(env, extra_vars, inventory=INVENTORIES / env)
    key = hashlib.sha256(json.dumps([inputs, names, roles], sort_keys=True).encode()).hexdigest()
    remembered = recall("settings", env)
    if key in remembered:
        return remembered[key]
    values = resolve(env, extra_vars, names, roles)
    remember("settings", env, key, values)
    return values
