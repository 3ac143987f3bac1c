"""webstack/state.py: what counts as a deploy's inputs, and the record it leaves in SSM. The state
read itself runs against a deployed stack in tests/integration/test_site.py."""

from __future__ import annotations

import shutil

import pytest

from webstack import home, state

ENVIRON = {"AWS_REGION": "ap-northeast-2", "AWS_SESSION_TOKEN": "one", "PATH": "/usr/bin"}


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A copy of the files a deploy of `local` reads, where the test may change them."""
    for name in ("group_vars", "inventories/local", "webstack", "ansible.cfg"):
        source, target = home.REPO / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    collection = tmp_path / "collection"
    shutil.copytree(home.COLLECTION / "roles" / "network", collection / "roles" / "network")
    monkeypatch.setattr(state, "REPO", tmp_path)
    monkeypatch.setattr(state, "COLLECTION", collection)
    monkeypatch.setattr(state, "INVENTORIES", tmp_path / "inventories")
    return tmp_path


def digest(**changes) -> str:
    args = {"env": "local", "extra_vars": {"webstack_project": "shop"}, "files": [], "environ": ENVIRON, **changes}
    return state.inputs_digest(**args)


@pytest.mark.parametrize(
    "edit",
    [
        "inventories/local/group_vars/webstack.yml",
        "group_vars/all/webstack.yml",
        "collection/roles/network/defaults/main.yml",
        "webstack/layers.py",
    ],
)
def test_an_edited_inventory_group_vars_role_or_runner_file_changes_the_inputs(checkout, edit):
    before = digest()
    path = checkout / edit
    path.write_text(path.read_text() + "\n# edited\n")
    assert digest() != before


def test_a_new_file_in_the_inventory_changes_the_inputs(checkout):
    before = digest()
    (checkout / "inventories" / "local" / "host_vars").mkdir()
    (checkout / "inventories" / "local" / "host_vars" / "localhost.yml").write_text("rds_multi_az: true\n")
    assert digest() != before


def test_extra_vars_files_and_environment_change_the_inputs(checkout, tmp_path):
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("rds_master_username: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6131\n")
    before = digest(files=[secrets])
    assert digest(extra_vars={"webstack_project": "shop", "rds_multi_az": True}) != digest()
    assert digest(environ={**ENVIRON, "AWS_REGION": "us-west-2"}) != digest()
    assert digest(environ={**ENVIRON, "WEBSTACK_MITOGEN": "0"}) != digest()
    secrets.write_text(secrets.read_text().replace("6131", "6132"))  # a vault value re-encrypted
    assert digest(files=[secrets]) != before


def test_who_calls_and_where_are_not_inputs(checkout):
    """A new session token every CI job, the emulator's port, compiled Python: the same inputs."""
    before = digest()
    environ = {**ENVIRON, "AWS_SESSION_TOKEN": "two", "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "HOME": "/x"}
    (checkout / "webstack" / "__pycache__").mkdir(exist_ok=True)
    (checkout / "webstack" / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"\0")
    assert digest(environ=environ) == before


def test_the_same_checkout_elsewhere_has_the_same_inputs(checkout, tmp_path_factory, monkeypatch):
    """CI's fresh clone in another directory finds the record of the last clone's deploy."""
    before = digest()
    moved = tmp_path_factory.mktemp("elsewhere") / "clone"
    shutil.copytree(checkout, moved)
    monkeypatch.setattr(state, "REPO", moved)
    monkeypatch.setattr(state, "COLLECTION", moved / "collection")
    monkeypatch.setattr(state, "INVENTORIES", moved / "inventories")
    assert digest() == before


RECORD = state.Record(inputs="a" * 64, state={"ap-northeast-2/ec2:vpc": "1" * 32}, outputs={"dns": {"zone_id": "Z1"}})


def test_a_record_reads_back_as_written_and_fits_ssms_standard_tier():
    big = state.Record(RECORD.inputs, {f"k{n}": "f" * 32 for n in range(40)}, {"x": "y" * 3000})
    assert state.Record.decode(RECORD.encode()) == RECORD
    assert state.Record.decode(big.encode()) == big
    assert len(big.encode()) < 4096


@pytest.mark.parametrize("value", ["", "webstack-state-0:abc", "webstack-state-1:not base64!", "{}"])
def test_a_foreign_or_damaged_record_reads_as_none(value):
    assert state.Record.decode(value) is None


def test_the_differences_name_what_changed():
    assert RECORD.differences(RECORD.inputs, dict(RECORD.state)) == []
    assert RECORD.differences("b" * 64, dict(RECORD.state)) == [
        "the inputs changed (files, -e values, environment or installed versions)"
    ]
    changed = {"ap-northeast-2/ec2:vpc": "2" * 32, "global/s3:bucket": "3" * 32}
    assert RECORD.differences(RECORD.inputs, changed) == [
        "AWS changed: ap-northeast-2/ec2:vpc",
        "AWS changed: global/s3:bucket",
    ]
    assert RECORD.differences(RECORD.inputs, {}) == ["AWS changed: ap-northeast-2/ec2:vpc"]


def test_volatile_fields_are_left_out_at_any_depth():
    described = {"B": [{"HealthStatus": "Healthy", "Id": 1}], "A": {"LatestRestorableTime": "now", "Port": 5432}}
    assert state.clean(described) == {"A": {"Port": 5432}, "B": [{"Id": 1}]}


def test_the_machine_remembers_the_last_twenty_validated_inputs(tmp_path, monkeypatch):
    """webstack/shortcut.py: inputs seen passing the roles' checks skip playbooks/validate.yml."""
    from argparse import Namespace

    from webstack import settings, shortcut

    monkeypatch.setattr(settings, "STATE_DIR", tmp_path)
    for n in range(25):
        shortcut.Shortcut(Namespace(env="prod"), None, None, {}, f"digest-{n}")._remember_validated()
    again = shortcut.Shortcut(Namespace(env="prod"), None, None, {}, "digest-10")
    again._remember_validated()
    assert again._validated() == [f"digest-{n}" for n in [*range(5, 10), *range(11, 25), 10]]
    assert shortcut.Shortcut(Namespace(env="dev"), None, None, {}, "digest-10")._validated() == []
