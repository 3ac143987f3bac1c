"""Every molecule scenario in molecule/ (create, converge, idempotence, verify, destroy)
against the test run's moto server, then a read-back that the scenario left nothing of any type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.census import capture
from tests.support import assert_unchanged
from webstack.layers import speed_env

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, emulator, aws, tmp_path):
    env = {
        **os.environ,
        **emulator.client_env(),
        **speed_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule"),
        "NO_COLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    before = capture(aws)
    proc = subprocess.run(
        [sys.executable, "-m", "molecule", "test", "-s", scenario],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    for step in ("converge", "idempotence", "verify", "destroy"):
        assert f"{step}: Executed: Successful" in proc.stdout + proc.stderr, step
    assert_unchanged(aws, before)
