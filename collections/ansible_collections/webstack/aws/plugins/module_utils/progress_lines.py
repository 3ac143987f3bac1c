# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress lines of a run, written once: the webstack.aws.progress stdout callback prints them
(for ansible-playbook, AWX and runner.py alike), and runner.py reads each failure's message from
the same function for its JSON summary. Controller-side only: no module imports it.

    [network] changed  Ensure the VPC exists (1.3s)
    [network] FAILED   Check the network settings before any AWS call (0.1s)
        network_az_count: must be a number from 2 to 6 (got 1)
    [certificates] waiting  Delete the stack's certificates: arn:aws:... (attempt 2 of 91)
"""

from __future__ import annotations

import difflib
import json

import yaml


def result_line(layer: str, word: str, task: str, seconds: float) -> str:
    """`word` is ok, changed, FAILED, failed (ignored) or UNREACHABLE."""
    return f"[{layer}] {word:<8} {task} ({seconds:.1f}s)"


def failure_message(res: dict) -> str:
    """What went wrong, on one line: a censored (no_log) result says only that it is hidden; a
    role's checks fail in one task with a list of messages, like a loop's failed items."""
    if res.get("censored"):
        return res["censored"]
    failed_items = [r for r in res.get("results", []) if isinstance(r, dict) and r.get("failed")]
    messages = [r.get("msg", "") for r in failed_items] or [res.get("msg", "")]
    lines = [line for m in messages for line in (m if isinstance(m, list) else [m])]
    return "; ".join(str(m) for m in lines if m) or json.dumps(res)[:500]


def retry_line(layer: str, task: str, res: dict) -> str:
    """An `until` loop's retry: what holds it (a resource still in use) or why it is not done."""
    holders = ", ".join(res.get("in_use_by") or []) or failure_message(res)
    return f"[{layer}] waiting  {task}: {holders} (attempt {res.get('attempts', '?')} of {res.get('retries', '?')})"


def render_diff(diff, limit: int = 40) -> str:
    """A module's before/after, as an indented unified diff of their YAML (under a changed line)."""
    parts = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        before, after = part.get("before", ""), part.get("after", "")
        if before == after:
            continue

        def text(value):
            return value if isinstance(value, str) else yaml.safe_dump(value, sort_keys=True, default_flow_style=False)

        lines = difflib.unified_diff(text(before).splitlines(), text(after).splitlines(), lineterm="", n=1)
        out.extend(ln for ln in lines if not ln.startswith(("---", "+++")))
    if len(out) > limit:
        out = [*out[:limit], f"... ({len(out) - limit} more lines)"]
    return "".join(f"\n      {ln}" for ln in out)
