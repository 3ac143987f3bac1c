"""webstack.settings: the settings runner.py acts on without a playbook, resolved by Ansible as a
playbook on the webstack host resolves them."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from webstack import arguments, release, settings
from webstack.home import INVENTORIES
from webstack.layers import Target

# `ansible-vault encrypt_string` of a bucket name, whose password the test never gives.
VAULTED = """\
static_site_bucket_name: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  64303932633333306136343230623066323766643431656531323333613638333766623932396135
  3439353961643634313037306332373239306333386433650a643761626130316462366235376463
  30623466306233626338376261366232323162393134363637643933393436383137613731653838
  3664653561386537390a353061616631323530613234356238396430643239376531343730376138
  3534
"""


@pytest.fixture
def inventories(tmp_path, monkeypatch):
    """A copy of the inventories to add files to."""
    copy = tmp_path / "inventories"
    shutil.copytree(INVENTORIES, copy)
    monkeypatch.setattr(settings, "INVENTORIES", copy)
    return copy


def test_the_inventory_beats_group_vars_all_and_extra_vars_beat_both():
    names = ["webstack_environment", "webstack_project", "webstack_region"]
    found = settings.resolve("prod", arguments.parse_extra_vars(["webstack_project=other"]), names)
    assert found == {"webstack_environment": "prod", "webstack_project": "other", "webstack_region": "ap-northeast-2"}


def test_role_defaults_lie_beneath_and_templates_are_rendered():
    names = ["static_site_project", "static_site_keep_releases", "cdn_environment"]
    roles = ("static_site", "cdn")
    # static_site_project's default is "{{ webstack_project | default('webstack') }}".
    assert settings.resolve("local", {}, names, roles) == {
        "static_site_project": "webstack",
        "static_site_keep_releases": 3,
        "cdn_environment": "local",
    }
    assert settings.resolve("prod", {}, ["static_site_keep_releases"], roles) == {"static_site_keep_releases": 5}
    given = {"webstack_project": "shop", "static_site_bucket_name": "{{ webstack_project }}-{{ webstack_environment }}"}
    found = settings.resolve("prod", given, ["static_site_project", "static_site_bucket_name"], roles)
    assert found == {"static_site_project": "shop", "static_site_bucket_name": "shop-prod"}


def test_host_vars_count_as_in_a_playbook(inventories):
    (inventories / "dev" / "host_vars").mkdir()
    (inventories / "dev" / "host_vars" / "localhost.yml").write_text("static_site_bucket_name: from-host-vars\n")
    found = settings.resolve("dev", {}, ["static_site_bucket_name"], ("static_site",))
    assert found == {"static_site_bucket_name": "from-host-vars"}


def test_a_vault_value_without_its_password_sends_publish_to_the_playbook(inventories):
    """Ansible, not runner.py, decrypts: without the password the direct route steps aside and
    publish.yml runs (where --vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE applies)."""
    (inventories / "local" / "host_vars").mkdir()
    (inventories / "local" / "host_vars" / "localhost.yml").write_text(VAULTED)
    with pytest.raises(settings.Unresolved):
        settings.resolve("local", {}, ["static_site_bucket_name"], ("static_site",))
    target = Target(label="emulator", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    args = SimpleNamespace(env="local", ansible=False, tags=None, ansible_args=[])
    assert release._release_values(args, target, {}) is None
    # Without the vault value (dev has none), the direct route takes the settings.
    args.env = "dev"
    assert release._release_values(args, target, {})["static_site_environment"] == "dev"


def test_an_inventory_without_the_webstack_host_is_named(inventories):
    (inventories / "local" / "hosts.yml").write_text("other:\n  hosts:\n    localhost: {}\n")
    with pytest.raises(settings.Unresolved, match="no host in the webstack group"):
        settings.resolve("local", {}, ["webstack_region"])


def test_resolved_settings_are_remembered_for_the_same_inputs_only(inventories, tmp_path, monkeypatch):
    """runner.py publish and the in-sync shortcut skip Ansible's inventory when the inputs digest
    (webstack/state.py) is one they resolved before; any change to the inventory resolves again."""
    monkeypatch.setattr(settings, "STATE_DIR", tmp_path / "state")
    calls = []
    real = settings.resolve
    monkeypatch.setattr(settings, "resolve", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    names = ["webstack_project", "webstack_region"]
    first = settings.resolve_remembered("dev", {"webstack_project": "shop"}, names)
    assert settings.resolve_remembered("dev", {"webstack_project": "shop"}, names) == first
    assert len(calls) == 1
    (inventories / "dev" / "group_vars" / "webstack.yml").write_text(
        (inventories / "dev" / "group_vars" / "webstack.yml").read_text() + "\nwebstack_region: eu-west-1\n"
    )
    assert settings.resolve_remembered("dev", {"webstack_project": "shop"}, names) == {
        "webstack_project": "shop",
        "webstack_region": "eu-west-1",
    }
    assert settings.resolve_remembered("dev", {"webstack_project": "cart"}, names)["webstack_project"] == "cart"
    assert len(calls) == 3


@pytest.mark.parametrize("value", ["a=1", "webstack_project=shop", "x=", "path=/tmp/a-b_c.d", "t={{x}}"])
def test_a_plain_key_value_reads_as_ansibles_parse_kv_reads_it(value):
    from ansible.parsing.splitter import parse_kv

    assert arguments.SIMPLE_PAIR.fullmatch(value)
    assert arguments.parse_extra_vars([value]) == parse_kv(value)


@pytest.mark.parametrize("value", ["a='b c'", "a=1 b=2", 'a="x"', "a=b=c", "a=b\\c"])
def test_anything_quoted_or_spaced_goes_to_ansibles_parser(value):
    assert not arguments.SIMPLE_PAIR.fullmatch(value)
