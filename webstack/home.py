"""Where webstack's files are: the checkout whose collection (playbooks, roles, plugins, in
collections/ansible_collections/webstack/aws), inventories/ and demo/ the commands run, and the
state directory (ansible-runner's artifacts, summaries, the persistent emulator's record).

The checkout is, in this order: the one this package lies in (webstack/ at its root, as in the
repository); else $WEBSTACK_HOME; else the current directory or the nearest parent of it that holds
the collection (a `pip install`ed package run from inside a checkout); else the current
directory, where the commands then find no playbooks (`--help` works anywhere).
"""

from __future__ import annotations

import os
from pathlib import Path

# The collection inside a checkout: a playbook project's adjacent collection (ansible-creator's
# layout), which ansible.cfg's collections_path finds without installing it.
COLLECTION_PATH = Path("collections", "ansible_collections", "webstack", "aws")


def is_checkout(path: Path) -> bool:
    """A webstack checkout: the collection (galaxy.yml) with its playbooks."""
    return (path / COLLECTION_PATH / "galaxy.yml").is_file() and (path / COLLECTION_PATH / "playbooks").is_dir()


def find_checkout() -> Path:
    beside = Path(__file__).resolve().parents[1]
    if is_checkout(beside):
        return beside
    if os.environ.get("WEBSTACK_HOME"):
        return Path(os.environ["WEBSTACK_HOME"]).expanduser().resolve()
    here = Path.cwd().resolve()
    return next((path for path in [here, *here.parents] if is_checkout(path)), here)


REPO = find_checkout()
COLLECTION = REPO / COLLECTION_PATH
PLAYBOOKS = COLLECTION / "playbooks"
INVENTORIES = REPO / "inventories"
DEMO_BUILD = REPO / "demo" / "spa" / "dist"
STATE_DIR = Path(os.environ.get("WEBSTACK_STATE_DIR", Path.home() / ".cache" / "webstack"))


def environments() -> list[str]:
    """The inventories/ENV directories (none outside a checkout)."""
    return sorted(p.name for p in INVENTORIES.iterdir() if p.is_dir()) if INVENTORIES.is_dir() else []


def collection_module_utils(name: str):
    """A module of this checkout's webstack.aws module_utils, imported by its collection name."""
    import importlib

    install_collection_finder()
    return importlib.import_module(f"ansible_collections.webstack.aws.plugins.module_utils.{name}")


def install_collection_finder() -> None:
    """Ansible's collection loader over this checkout's collections/, as ansible-playbook installs it."""
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

        _AnsibleCollectionFinder(paths=[str(REPO / "collections")])._install()
