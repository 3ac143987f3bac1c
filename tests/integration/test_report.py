"""The timeline of a real run and `runner.py report` on it: a plan of the network layer against the
test run's moto server (check mode: it creates nothing, so nothing needs removing) writes its
timeline next to its summary, with every task result ansible-runner saw; `report`, given no
timeline, draws the last run's as a PNG and a self-contained HTML page."""

from __future__ import annotations

import collections
import contextlib
import html
import io
import json

from tests.support import assert_ok
from webstack import cli, home

BASE = {"webstack_project": "t-report", "network_vpc_cidr": "10.71.0.0/16"}
RESULTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}


def artifact_results(layer: str) -> list[str]:
    """The task of every result event of the layer's last ansible-runner job (its artifacts)."""
    jobs = [p for p in (home.STATE_DIR / "runner" / "local" / layer).iterdir() if p.is_dir()]
    newest = max(jobs, key=lambda p: p.stat().st_mtime)
    events = [json.loads(p.read_text()) for p in (newest / "job_events").glob("*.json")]
    return [e["event_data"]["task"] for e in events if e["event"] in RESULTS]


def test_report_draws_the_timeline_of_a_real_run(stack, tmp_path):
    summary = assert_ok(stack.plan(layers="network", extra=BASE))
    timeline_file = stack.tmp / f"{stack.count:02d}-plan.timeline.json"
    timeline = json.loads(timeline_file.read_text())

    tasks = timeline["tasks"]
    assert collections.Counter(t["task"] for t in tasks) == collections.Counter(artifact_results("network"))
    statuses = collections.Counter(t["status"] for t in tasks)
    host = summary["hosts"]["localhost"]
    assert statuses["changed"] == host["changed"] > 0
    assert statuses["skipped"] == host["skipped"]
    assert statuses["failed"] == host["failed"] == 0
    # Ansible also counts each included file as ok, so its ok count is at least the ok results.
    assert 0 < statuses["ok"] + statuses["changed"] <= host["ok"]
    assert timeline["stages"] == [["network"]]
    job = timeline["jobs"]["network"]
    assert 0 <= job["start"] < job["end"] <= summary["duration_s"] + 1
    assert all(job["start"] <= t["start"] and t["start"] + t["duration"] <= job["end"] + 0.01 for t in tasks)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["report", "--out", str(tmp_path)]) == 0  # the last run's timeline
    report = json.loads(out.getvalue())
    assert report["timeline"] == str(timeline_file.resolve())
    assert report["critical_path"] == ["network"]
    stem = timeline_file.name.removesuffix(".json")
    assert report["png"] == str(tmp_path / f"{stem}.png") and report["html"] == str(tmp_path / f"{stem}.html")
    assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / f"{stem}.html").read_text()
    assert "http://" not in page and "https://" not in page
    for name in {t["task"] for t in tasks}:
        assert html.escape(name) in page
