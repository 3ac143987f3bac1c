"""A run's timeline: what runner.py recorded of every task, where the time went, and its picture.

runner.py hands every ansible-runner event of every layer job to a `Recorder`; next to the JSON
summary it writes the timeline (`<summary>.timeline.json`): per task its layer job, name, role,
module, start (seconds from the run's start), duration, changed and status, and the stages the jobs
ran in (the jobs of a stage side by side, a stage after the one before it). `runner.py report`
draws it (`render_png`, `render_html`): a Gantt chart, one row per job, with the critical path
marked -- in each stage the job that ended last, since the next stage waits for it.

`schedule` replays a timeline with other task durations (benchmarks/real_aws_time.py substitutes
AWS's documented waits for the emulator's instant ones): as run (stages), one job after another,
or with every part as early as its dependencies allow (`ideal`).
"""

from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


def _epoch(value, default: float) -> float:
    """An event's ISO time (ansible-runner writes UTC, with or without the offset) as epoch seconds."""
    if not value:
        return default
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _task_file(task_path: str) -> str:
    """roles/rds/tasks/present.yml from /.../roles/rds/tasks/present.yml:12 (or the collection's copy)."""
    path = task_path.rsplit(":", 1)[0]
    for mark in ("/roles/", "/playbooks/"):
        if mark in path:
            return path[path.rindex(mark) + 1 :]
    return Path(path).name


class Recorder:
    """Collects the task results of every job of one run (jobs run in threads: one lock)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._lock = threading.Lock()
        self.t0 = time.time()
        self.tasks: list[dict] = []
        self.jobs: dict[str, dict] = {}
        self.stage_layers: list[list[str]] = []
        self.stage_jobs: list[list[str]] = []
        self._job_of: dict[int, str] = {}
        self._items: dict[tuple, int] = {}

    def stage(self, layers: list[str]) -> None:
        """The layers runner.py is about to start side by side, after everything before them."""
        with self._lock:
            self.stage_layers.append(list(layers))
            self.stage_jobs.append([])

    def _job(self, source, layer: str, now: float) -> str:
        key = id(source)
        if key in self._job_of:
            return self._job_of[key]
        count = sum(1 for job in self.jobs.values() if job["layer"] == layer)
        name = layer if count == 0 else f"{layer} ({count + 1})"
        self._job_of[key] = name
        self.jobs[name] = {"layer": layer, "start": now, "end": now}
        index = next((i for i in reversed(range(len(self.stage_layers))) if layer in self.stage_layers[i]), None)
        if index is None or any(self.jobs[j]["layer"] == layer for j in self.stage_jobs[index]):
            self.stage_layers.append([layer])
            self.stage_jobs.append([])
            index = len(self.stage_jobs) - 1
        self.stage_jobs[index].append(name)
        return name

    def record(self, source, layer: str, event: dict) -> None:
        """One ansible-runner event of the job `source` (its Progress handler) for `layer`."""
        now = time.time()
        created = _epoch(event.get("created"), now)
        with self._lock:
            job = self.jobs[self._job(source, layer, created)]
            job["end"] = max(job["end"], created)
            kind = event.get("event", "")
            data = event.get("event_data", {})
            if kind.startswith("runner_item_on_"):  # one of a loop's items
                key = (id(source), data.get("task_uuid", ""))
                self._items[key] = self._items.get(key, 0) + 1
            if kind not in RESULTS:
                return
            res = data.get("res") or {}
            end = _epoch(data.get("end"), created)
            start = min(_epoch(data.get("start"), end), end)
            status = RESULTS[kind]
            if status == "ok" and res.get("changed"):
                status = "changed"
            if status == "failed" and data.get("ignore_errors"):
                status = "ignored"
            self.tasks.append(
                {
                    "job": self._job_of[id(source)],
                    "layer": layer,
                    "task": data.get("task", ""),
                    "role": data.get("role") or "",
                    "action": data.get("task_action", ""),
                    "host": data.get("host", ""),
                    "start": round(start - self.t0, 3),
                    "duration": round(end - start, 3),
                    "changed": bool(res.get("changed")),
                    "status": status,
                    # Started with `async` and `poll: 0`: running on while later tasks run.
                    "async": bool(res.get("ansible_job_id")) and not res.get("finished", 1),
                    "items": self._items.pop((id(source), data.get("task_uuid", "")), 0),
                    "path": _task_file(data.get("task_path") or ""),
                }
            )

    def timeline(self, command: str, env: str) -> dict:
        with self._lock:
            jobs = {
                name: {
                    "layer": job["layer"],
                    "start": round(job["start"] - self.t0, 3),
                    "end": round(job["end"] - self.t0, 3),
                }
                for name, job in self.jobs.items()
            }
            for task in self.tasks:  # a job lasts at least until its last task ended
                job = jobs[task["job"]]
                job["end"] = max(job["end"], round(task["start"] + task["duration"], 3))
                job["start"] = min(job["start"], task["start"])
            return {
                "command": command,
                "env": env,
                "started_at": datetime.fromtimestamp(self.t0, UTC).isoformat(timespec="seconds"),
                "duration_s": round(max((j["end"] for j in jobs.values()), default=0.0), 3),
                "stages": [list(stage) for stage in self.stage_jobs if stage],
                "jobs": jobs,
                "tasks": sorted(self.tasks, key=lambda t: (t["start"], t["job"])),
            }


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def critical_path(timeline: dict) -> list[str]:
    """The jobs that determine the end time: in each stage the job that ended last (the next stage
    starts when it ends), in run order."""
    jobs = timeline["jobs"]
    return [max(stage, key=lambda name: jobs[name]["end"]) for stage in timeline["stages"] if stage]


# -- replaying a timeline with other durations ---------------------------------------------------
@dataclass(frozen=True)
class Op:
    """What a task does to a long AWS operation in the model: `block` (the task itself waits
    `seconds`), `start` (starts operation `key`, ready `seconds` after the task ends) or `wait` (ends
    no earlier than operation `key` is ready)."""

    kind: str
    key: str = ""
    seconds: float = 0.0


def _job_tasks(timeline: dict) -> dict[str, list[dict]]:
    by_job: dict[str, list[dict]] = {name: [] for name in timeline["jobs"]}
    for task in sorted(timeline["tasks"], key=lambda t: t["start"]):
        by_job[task["job"]].append(task)
    return by_job


def _run_tasks(tasks: list[dict], begin: float, last_end: float, ops: dict, ready: dict) -> float:
    """Plays `tasks` one after another from `begin`, keeping each measured gap before a task
    (Ansible's own time between results; `last_end` is where the first gap is measured from)."""
    clock = begin
    for task in tasks:
        clock += max(0.0, task["start"] - last_end)
        last_end = task["start"] + task["duration"]
        op = ops.get(id(task))
        end = clock + task["duration"]
        if op and op.kind == "block":
            end += op.seconds
        elif op and op.kind == "start":
            ready[op.key] = end + op.seconds
        elif op and op.kind == "wait":
            end = max(end, ready.get(op.key, end))
        clock = end
    return clock


def schedule(timeline: dict, ops: dict | None = None, *, mode: str = "staged", deps: dict | None = None) -> dict:
    """Replays `timeline`, with `ops` ({id(task): Op}) changing what some tasks take; returns
    {"end": seconds, "jobs": {job: (start, end)}} (mode "ideal": {"end", "chain": [segment, ...]}).

    staged: the stages one after another, the jobs of a stage side by side, each job's tasks one
    after another (measured gaps kept, from the job's start to its end). sequential: every job one
    after another. ideal: each job cut into segments, one per run of tasks of one role; a segment
    starts when its job's first segment and every earlier segment of a role it depends on
    (`deps`: {role: [roles]}) have ended -- the slowest branch of real dependencies."""
    ops = ops or {}
    by_job = _job_tasks(timeline)
    jobs = timeline["jobs"]
    if mode == "ideal":
        return _ideal(timeline, by_job, ops, deps or {})
    ready: dict[str, float] = {}
    placed: dict[str, tuple[float, float]] = {}
    clock = 0.0
    order = [[job] for stage in timeline["stages"] for job in stage] if mode == "sequential" else timeline["stages"]
    for stage in order:
        ends = []
        for name in stage:
            job = jobs[name]
            tasks = by_job[name]
            end = _run_tasks(tasks, clock, job["start"], ops, ready)
            last = tasks[-1]["start"] + tasks[-1]["duration"] if tasks else job["start"]
            end += max(0.0, job["end"] - last)
            placed[name] = (clock, end)
            ends.append(end)
        clock = max(ends, default=clock)
    return {"end": clock, "jobs": placed}


def _ideal(timeline: dict, by_job: dict, ops: dict, deps: dict) -> dict:
    """Segments: runs of one role's tasks in one job. A task of the playbook itself (no role) is a
    barrier of its job (its checks come before what follows them), except an include, which only
    starts what it includes."""
    segments: list[dict] = []
    for name, tasks in by_job.items():
        setting_up = True  # the job's checks before its first role does anything (preflight)
        for task in tasks:
            checking = task["action"].endswith("validate_argument_spec") or task.get("path", "").endswith(
                "/validate.yml"
            )
            setting_up = setting_up and (checking or not task["role"])
            role = "" if setting_up else task["role"] or ""
            barrier = not role and "include" not in task["action"] and "import" not in task["action"]
            kind = (role, barrier)
            if not segments or segments[-1]["job"] != name or segments[-1]["kind"] != kind:
                segments.append({"job": name, "role": role, "kind": kind, "barrier": barrier, "tasks": []})
            segments[-1]["tasks"].append(task)
    segments.sort(key=lambda s: s["tasks"][0]["start"])
    ready: dict[str, float] = {}
    ends: list[float] = []
    before: list[int | None] = []
    for index, seg in enumerate(segments):
        start_at = seg["tasks"][0]["start"]
        wanted = set(deps.get(seg["role"], []))
        candidates = [
            i
            for i, other in enumerate(segments[:index])
            if (other["role"] in wanted and other["tasks"][0]["start"] < start_at)
            or (
                other["job"] == seg["job"]
                and (seg["barrier"] or other["barrier"] or (seg["role"] and other["role"] == seg["role"]))
            )
        ]
        prior = max(candidates, key=lambda i: ends[i], default=None)
        begin = ends[prior] if prior is not None else 0.0  # nothing to wait for: at once
        previous = seg["tasks"][0]["start"]
        ends.append(_run_tasks(seg["tasks"], begin, previous, ops, ready))
        before.append(prior)
    if not segments:
        return {"end": 0.0, "chain": []}
    last = max(range(len(segments)), key=lambda i: ends[i])
    chain = []
    at: int | None = last
    while at is not None:
        chain.append(f"{segments[at]['job']}/{segments[at]['role'] or '-'}")
        at = before[at]
    return {"end": max(ends), "chain": list(reversed(chain))}


# -- pictures ------------------------------------------------------------------------------------
COLOURS = {
    "changed": "#e8912d",
    "ok": "#4a90c2",
    "skipped": "#c8c8c8",
    "failed": "#d0343a",
    "ignored": "#d98b8e",
    "unreachable": "#8b1d22",
}
CRITICAL = "#111111"


@dataclass
class _Row:
    job: str
    lane: int
    tasks: list[dict]


def _rows(timeline: dict) -> list[_Row]:
    """One row per job in stage order; tasks that overlap inside a job (async) get extra lanes."""
    by_job = _job_tasks(timeline)
    rows: list[_Row] = []
    for stage in timeline["stages"]:
        for name in stage:
            lanes: list[list[dict]] = []
            for task in by_job.get(name, []):
                for lane in lanes:
                    if lane[-1]["start"] + lane[-1]["duration"] <= task["start"] + 1e-3:
                        lane.append(task)
                        break
                else:
                    lanes.append([task])
            for index, lane in enumerate(lanes or [[]]):
                rows.append(_Row(name, index, lane))
    return rows


def _title(timeline: dict) -> str:
    count = len(timeline["tasks"])
    return (
        f"runner.py {timeline['command']} --env {timeline['env']}, {timeline['started_at']}: "
        f"{timeline['duration_s']:.1f} s, {count} task results"
    )


def _label(task: dict) -> str:
    return f"{task['task']} ({task['duration']:.1f} s, {task['status']})"


def render_png(timeline: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = _rows(timeline)
    critical = set(critical_path(timeline))
    total = max(timeline["duration_s"], 1e-3)
    fig, ax = plt.subplots(figsize=(13, 1.6 + 0.5 * len(rows)), dpi=110)
    for y, row in enumerate(rows):
        job = timeline["jobs"][row.job]
        on_path = row.job in critical
        if row.lane == 0:
            ax.barh(
                y,
                job["end"] - job["start"],
                left=job["start"],
                height=0.9,
                color="#fbe3c6" if on_path else "#eeeeee",
                edgecolor=CRITICAL if on_path else "none",
                linewidth=1.6 if on_path else 0,
                zorder=1,
            )
        for task in row.tasks:
            ax.barh(
                y,
                max(task["duration"], total / 2000),
                left=task["start"],
                height=0.6,
                color=COLOURS.get(task["status"], "#888888"),
                edgecolor="white",
                linewidth=0.3,
                zorder=2,
            )
            fits = int(task["duration"] / total * 1150 / 5.2)  # characters that fit in the bar
            if fits >= min(len(task["task"]), 20):
                ax.text(
                    task["start"] + task["duration"] / 2,
                    y,
                    task["task"] if len(task["task"]) <= fits else task["task"][: fits - 1] + "…",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="black",
                    zorder=3,
                    clip_on=True,
                )
    for stage in timeline["stages"][1:]:
        begin = min(timeline["jobs"][name]["start"] for name in stage)
        ax.axvline(begin, color="#999999", linestyle="--", linewidth=0.8, zorder=0)
    labels = [
        (f"{row.job} *" if row.job in critical else row.job) if row.lane == 0 else f"{row.job} (async)" for row in rows
    ]
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, total * 1.01)
    ax.set_xlabel("seconds from the start of the run")
    ax.set_title(_title(timeline), fontsize=9)
    legend = [Patch(color=COLOURS[s], label=s) for s in ("changed", "ok", "skipped", "failed")]
    legend.append(Patch(facecolor="#fbe3c6", edgecolor=CRITICAL, label="critical path (*): ends its stage last"))
    fig.legend(handles=legend, loc="lower center", ncol=5, fontsize=7, frameon=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    inches = fig.get_size_inches()
    fig.subplots_adjust(left=1.9 / inches[0], right=0.98, top=1 - 0.45 / inches[1], bottom=1.0 / inches[1])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def render_html(timeline: dict, path: Path) -> Path:
    """One page with everything inline: an SVG Gantt chart (a tooltip on every bar) and a table
    of every task; no script, no style sheet, no address outside the page."""
    rows = _rows(timeline)
    critical = set(critical_path(timeline))
    total = max(timeline["duration_s"], 1e-3)
    left, width, row_h, top = 170, 1000, 26, 30
    scale = width / total
    height = top + row_h * len(rows) + 40
    esc = html.escape
    svg = [f'<svg width="{left + width + 20}" height="{height}" role="img" aria-label="timeline">']
    step = next(s for s in (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600, 1e9) if total / s <= 12)
    tick = 0.0
    while tick <= total:
        x = left + tick * scale
        svg.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 36}" stroke="#e4e4e4"/>')
        svg.append(f'<text x="{x:.1f}" y="{height - 20}" font-size="11" text-anchor="middle">{tick:g} s</text>')
        tick += step
    for y_index, row in enumerate(rows):
        y = top + y_index * row_h
        job = timeline["jobs"][row.job]
        on_path = row.job in critical
        name = row.job if row.lane == 0 else f"{row.job} (async)"
        weight = "bold" if on_path else "normal"
        svg.append(
            f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end" font-weight="{weight}">'
            f"{esc(name)}{' *' if on_path and row.lane == 0 else ''}</text>"
        )
        if row.lane == 0:
            stroke = f' stroke="{CRITICAL}" stroke-width="2"' if on_path else ""
            svg.append(
                f'<rect x="{left + job["start"] * scale:.1f}" y="{y + 1}" '
                f'width="{max((job["end"] - job["start"]) * scale, 1):.1f}" height="{row_h - 2}" '
                f'fill="{"#fbe3c6" if on_path else "#eeeeee"}"{stroke}>'
                f"<title>{esc(row.job)}: {job['end'] - job['start']:.1f} s"
                f"{' (critical path)' if on_path else ''}</title></rect>"
            )
        for task in row.tasks:
            svg.append(
                f'<rect x="{left + task["start"] * scale:.2f}" y="{y + 5}" '
                f'width="{max(task["duration"] * scale, 0.8):.2f}" height="{row_h - 10}" '
                f'fill="{COLOURS.get(task["status"], "#888")}" stroke="white" stroke-width="0.3">'
                f"<title>{esc(row.job)}: {esc(_label(task))}, from {task['start']:.1f} s, "
                f"{esc(task['action'])}</title></rect>"
            )
    for stage in timeline["stages"][1:]:
        x = left + min(timeline["jobs"][name]["start"] for name in stage) * scale
        svg.append(
            f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 36}" stroke="#888" stroke-dasharray="4 3"/>'
        )
    svg.append("</svg>")
    legend = " ".join(
        f'<span style="background:{colour};padding:0 8px;margin-right:4px">&nbsp;</span>{status}'
        for status, colour in COLOURS.items()
    )
    table = [
        "<table><tr><th>start (s)</th><th>duration (s)</th><th>layer</th><th>role</th><th>task</th>"
        "<th>module</th><th>status</th><th>critical</th></tr>"
    ]
    for task in timeline["tasks"]:
        table.append(
            f"<tr><td>{task['start']:.2f}</td><td>{task['duration']:.2f}</td><td>{esc(task['job'])}</td>"
            f"<td>{esc(task['role'])}</td><td>{esc(task['task'])}</td><td>{esc(task['action'])}</td>"
            f"<td>{esc(task['status'])}</td><td>{'yes' if task['job'] in critical else ''}</td></tr>"
        )
    table.append("</table>")
    path_text = " -> ".join(critical_path(timeline))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(_title(timeline))}</title></head>
<body style="font-family:sans-serif;font-size:13px">
<h1 style="font-size:16px">{esc(_title(timeline))}</h1>
<p>Stages: {esc(" | then | ".join(", ".join(stage) for stage in timeline["stages"]))}.
Critical path (*, outlined): {esc(path_text)} -- in each stage the layer that ended last, which the
next stage waited for.</p>
<p>{legend}</p>
{"".join(svg)}
<h2 style="font-size:14px">Every task</h2>
{"".join(table)}
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
