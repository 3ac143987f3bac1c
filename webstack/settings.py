"""A stack's settings as Ansible resolves them for a playbook on the `webstack` host, for the
commands that act without running one (publish and rollback's direct route, the outputs'
diagram): the environment's inventory (its group_vars and host_vars) over the collection's
playbooks/group_vars/all, the named roles' defaults beneath, -e above, templated by Ansible."""

from __future__ import annotations

from webstack.home import COLLECTION, INVENTORIES, PLAYBOOKS, install_collection_finder


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
