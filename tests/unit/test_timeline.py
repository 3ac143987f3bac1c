"""webstack/timeline.py on small hand-made timelines: the recorder, the critical path, the replay
with other durations (staged, sequential, ideal) and benchmarks/real_aws_time.py's substitution of
AWS's waits; the pictures' formats."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from webstack import timeline as tl

REPO = Path(__file__).resolve().parents[2]


def task(job: str, name: str, start: float, duration: float, role: str = "", **extra) -> dict:
    base = {"job": job, "layer": job, "task": name, "role": role, "action": "ansible.builtin.debug"}
    base.update(start=start, duration=duration, changed=False, status="ok", host="localhost", items=0)
    return {**base, **extra}


@pytest.fixture
def timeline() -> dict:
    """Stage 1: `net` (0-10 s: two tasks with a 1 s gap) beside `certs` (0-4 s); stage 2: `app`
    (10-15 s), whose `db` part needs only the network and whose `web` part needs the certificates."""
    return {
        "command": "deploy",
        "env": "local",
        "started_at": "2026-12-02T00:00:00+00:00",
        "duration_s": 15.0,
        "stages": [["net", "certs"], ["app"]],
        "jobs": {
            "net": {"layer": "net", "start": 0.0, "end": 10.0},
            "certs": {"layer": "certs", "start": 0.0, "end": 4.0},
            "app": {"layer": "app", "start": 10.0, "end": 15.0},
        },
        "tasks": [
            task("net", "Create the VPC", 0.0, 4.0, "network"),
            task("net", "Create the NAT gateways", 5.0, 5.0, "network", items=2, status="changed", changed=True),
            task("certs", "Write the DNS validation records", 0.0, 1.0, "certificate"),
            task("certs", "Wait until the certificates are issued", 1.0, 3.0, "certificate"),
            task("app", "Create the database", 10.0, 2.0, "db"),
            task("app", "Create the web servers", 12.0, 3.0, "web"),
        ],
    }


def by_name(timeline: dict, name: str) -> dict:
    return next(t for t in timeline["tasks"] if t["task"] == name)


def test_the_critical_path_is_the_job_that_ends_each_stage_last(timeline):
    assert tl.critical_path(timeline) == ["net", "app"]
    timeline["jobs"]["certs"]["end"] = 12.0
    assert tl.critical_path(timeline) == ["certs", "app"]


def test_replay_without_changes_gives_the_run_back(timeline):
    staged = tl.schedule(timeline)
    assert staged["end"] == pytest.approx(15.0)
    assert staged["jobs"] == {"net": (0.0, 10.0), "certs": (0.0, 4.0), "app": (10.0, 15.0)}
    assert tl.schedule(timeline, mode="sequential")["end"] == pytest.approx(19.0)  # 10 + 4 + 5


def test_a_wait_on_the_short_branch_moves_the_critical_path(timeline):
    records = by_name(timeline, "Write the DNS validation records")
    wait = by_name(timeline, "Wait until the certificates are issued")
    ops = {id(records): tl.Op("start", "acm", 20.0), id(wait): tl.Op("wait", "acm")}
    staged = tl.schedule(timeline, ops)
    # The wait ends when the certificates are ready (1 s + 20 s), not 3 s after it began.
    assert staged["jobs"]["certs"] == (0.0, pytest.approx(21.0))
    assert staged["end"] == pytest.approx(26.0)
    assert tl.schedule(timeline, ops, mode="sequential")["end"] == pytest.approx(10 + 21 + 5)


def test_the_ideal_starts_each_part_when_what_it_needs_is_there(timeline):
    nat = by_name(timeline, "Create the NAT gateways")
    ops = {id(nat): tl.Op("block", seconds=100.0)}
    deps = {"db": ["network"], "web": ["certificate"]}
    ideal = tl.schedule(timeline, ops, mode="ideal", deps=deps)
    # db after the network (110 s) + 2 s; web after the certificates (4 s) + 3 s, beside it.
    assert ideal["end"] == pytest.approx(112.0)
    assert ideal["chain"] == ["net/network", "app/db"]
    staged = tl.schedule(timeline, ops)
    assert staged["end"] == pytest.approx(115.0)  # web waits for db, one after another
    deps["web"] = ["certificate", "db"]
    assert tl.schedule(timeline, ops, mode="ideal", deps=deps)["end"] == pytest.approx(115.0)


def test_the_model_substitutes_aws_waits(timeline):
    spec = importlib.util.spec_from_file_location("real_aws_time", REPO / "benchmarks" / "real_aws_time.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    nat = by_name(timeline, "Create the NAT gateways")
    nat["action"] = "amazon.aws.ec2_vpc_nat_gateway"
    typical = model.SCENARIOS.index("typical")
    (_, nat_s, _), _ = model.LATENCY["nat"]
    (_, acm_s, _), _ = model.LATENCY["acm"]
    as_run = model.ops_for(timeline, typical, ideal=False)
    ideal = model.ops_for(timeline, typical, ideal=True)
    # Two gateways, each waited for before the next is made; side by side in the ideal.
    assert as_run[id(nat)] == tl.Op("block", seconds=2 * nat_s)
    assert ideal[id(nat)] == tl.Op("block", seconds=nat_s)
    assert as_run[id(by_name(timeline, "Write the DNS validation records"))] == tl.Op("start", "acm", acm_s)
    assert as_run[id(by_name(timeline, "Wait until the certificates are issued"))] == tl.Op("wait", "acm")
    figures = model.model(timeline)["typical"]
    assert figures["as run"] == pytest.approx(10 + 2 * nat_s + 5)
    assert figures["sequential"] == pytest.approx(figures["as run"] + 1 + acm_s)


class FakeJob:
    """Stands for one layer job's Progress handler."""


def event(kind: str, task_name: str = "", start: str | None = None, end: str | None = None, **data) -> dict:
    event_data = {"task": task_name, "task_uuid": task_name, "start": start, "end": end, **data}
    return {"event": kind, "created": end or start or "2023-11-14T22:13:20+00:00", "event_data": event_data}


def test_the_recorder_keeps_every_result_with_its_job_and_stage():
    recorder = tl.Recorder()
    recorder.t0 = 1_700_000_000.0 - 1.0  # one second before the first event
    first = "2023-11-14T22:13:20+00:00"  # 1_700_000_000
    recorder.stage(["network", "certificates"])
    net, certs, again = FakeJob(), FakeJob(), FakeJob()
    recorder.record(net, "network", event("playbook_on_start", start=first))
    recorder.record(net, "network", event("runner_item_on_ok", "NAT"))
    recorder.record(net, "network", event("runner_item_on_ok", "NAT"))
    res = {"changed": True}
    recorder.record(net, "network", event("runner_on_ok", "NAT", first, "2023-11-14T22:13:22.500000", res=res))
    failed = event("runner_on_failed", "Probe", "2023-11-14T22:13:21", "2023-11-14T22:13:21.25", ignore_errors=True)
    recorder.record(certs, "certificates", failed)
    recorder.record(certs, "certificates", event("runner_on_skipped", "Wait", "2023-11-14T22:13:21.5"))
    recorder.stage(["network"])  # a teardown plan, then the destroy: the same layer again
    recorder.record(again, "network", event("runner_on_ok", "NAT", "2023-11-14T22:13:30", "2023-11-14T22:13:31"))
    result = recorder.timeline("destroy", "local")
    assert result["stages"] == [["network", "certificates"], ["network (2)"]]
    nat = result["tasks"][0]
    assert (nat["job"], nat["start"], nat["duration"], nat["status"], nat["items"]) == ("network", 1, 2.5, "changed", 2)
    statuses = {(t["job"], t["task"]): t["status"] for t in result["tasks"]}
    assert statuses == {
        ("network", "NAT"): "changed",
        ("certificates", "Probe"): "ignored",
        ("certificates", "Wait"): "skipped",
        ("network (2)", "NAT"): "ok",
    }
    assert result["jobs"]["network (2)"] == {"layer": "network", "start": 11.0, "end": 12.0}
    assert result["duration_s"] == 12.0


def test_the_pictures_are_a_png_and_a_page_with_nothing_from_outside(timeline, tmp_path):
    png = tl.render_png(timeline, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = tl.render_html(timeline, tmp_path / "t.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    for item in timeline["tasks"]:
        assert item["task"] in page
    assert "net -&gt; app" in page  # the critical path, named


def test_gateways_waited_for_together_count_once(timeline):
    spec = importlib.util.spec_from_file_location("real_aws_time", REPO / "benchmarks" / "real_aws_time.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    nat = by_name(timeline, "Create the NAT gateways")
    nat["action"] = "amazon.aws.ec2_vpc_nat_gateway"
    timeline["tasks"].insert(2, task("net", "Wait until every NAT gateway is available", 10.0, 0.0, "network"))
    typical = model.SCENARIOS.index("typical")
    (_, nat_s, _), _ = model.LATENCY["nat"]
    ops = model.ops_for(timeline, typical, ideal=False)
    # Created one after another without waiting, then waited for at once: one gateway's time.
    assert ops[id(nat)] == tl.Op("start", "nat", nat_s)
    assert tl.schedule(timeline, ops)["jobs"]["net"] == (0.0, pytest.approx(10 + nat_s))


def test_report_names_a_timeline_it_cannot_read(tmp_path, capsys):
    from webstack import cli

    assert cli.main(["report", "--timeline", str(tmp_path / "none.timeline.json")]) == 2
    assert "cannot read the timeline" in capsys.readouterr().err
    (tmp_path / "bad.timeline.json").write_text("{not json")
    assert cli.main(["report", "--timeline", str(tmp_path / "bad.timeline.json")]) == 2


def test_a_no_log_task_is_ok_in_the_timeline_and_nothing_of_its_result_is_kept():
    """README: a no_log task (the database instance) shows as ok: Ansible hides whether it changed."""
    recorder = tl.Recorder()
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}
    job = FakeJob()
    recorder.record(job, "backend", event("runner_on_ok", "Read the secret", res=censored))
    (task,) = recorder.timeline("deploy", "local")["tasks"]
    assert (task["task"], task["status"]) == ("Read the secret", "ok")
    assert "hidden" not in json.dumps(task) and set(task) >= {"job", "start", "duration", "status"}
