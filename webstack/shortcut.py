"""deploy and plan's shortcut: when the stack is as the last deploy left it (webstack/state.py),
report that deploy's outputs and start no layer job; after a deploy of every layer, record it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from webstack import state
from webstack.emulator import answers, is_loopback_url
from webstack.home import PLAYBOOKS
from webstack.layers import LayerResult, Target, available_layers, aws_clients, retries, run_layer
from webstack.settings import Unresolved, recall, remember, resolve_remembered


def say(text: str) -> None:
    print(f"webstack: {text}", file=sys.stderr, flush=True)


@dataclass
class Shortcut:
    """The record of one environment's stack and what this run's inputs are."""

    args: object
    target: Target
    client: Callable
    settings: dict
    inputs: str
    verdict: dict = field(default_factory=dict)  # for the summary: {"in_sync": bool, "reasons": [...]}
    settings_checked: bool = False  # every role's checks passed for these inputs: the layers skip them

    @classmethod
    def open(cls, args, target: Target, layers: list[str]) -> Shortcut | None:
        """None where the shortcut does not apply: --full, a subset of the layers or of the tasks
        (--layers, --tags), destroy; an endpoint that does not answer; settings that cannot be
        resolved without Ansible."""
        partial = args.tags or set(layers) != set(available_layers())
        if partial or getattr(args, "full", False) or getattr(args, "destroy", False):
            return None
        endpoint = target.env.get("AWS_ENDPOINT_URL")
        if endpoint and not answers(endpoint):
            return None  # each layer's preflight says so in one line, without botocore's retries
        files = [Path(arg.removeprefix("-e@")) for arg in args.ansible_args if arg.startswith("-e@")]
        inputs = state.inputs_digest(args.env, args.vars, files=files)
        try:
            settings = resolve_remembered(args.env, args.vars, state.SETTINGS, state.SETTINGS_ROLES, inputs)
        except Unresolved as exc:
            say(f"running every layer: the settings cannot be read without Ansible ({exc})")
            return None
        if "webstack_state_record" not in settings:
            return None
        if settings.get("webstack_require_endpoint") and not is_loopback_url(endpoint or ""):
            return None  # never read what may be real AWS for an emulator-only stack: the layers refuse
        from botocore.config import Config

        return cls(args, target, aws_clients(target.env, Config(retries=retries())), settings, inputs)

    @property
    def name(self) -> str:
        return self.settings["webstack_state_record"]

    def _ssm(self):
        return self.client("ssm", self.settings["webstack_region"])

    def _read(self) -> dict[str, str]:
        return state.state_digests(state.StackReader(self.client, self.settings).read())

    def _validated(self) -> list[str]:
        """The inputs this machine has seen pass every role's checks (a successful deploy or
        playbooks/validate.yml), oldest first: only those may be looked up in AWS before a layer runs."""
        return list(recall("validated-inputs", self.args.env))

    def _remember_validated(self) -> None:
        remember("validated-inputs", self.args.env, self.inputs, True)

    def _validate(self) -> LayerResult | None:
        """Every role's checks (playbooks/validate.yml, no AWS call) for inputs this machine has not
        seen pass them; the failed job when they do not."""
        if self.inputs not in self._validated():
            extravars = {**self.args.inline_vars, "webstack_state": "present"}
            result = run_layer("validate", PLAYBOOKS / "validate.yml", self.args, self.target, extravars, "")
            if result.rc != 0:
                return result
            self._remember_validated()
        self.settings_checked = True
        return None

    def check(self, layers: list[str]) -> list[LayerResult] | None:
        """The layers' results when the stack is in sync with its record (no job started), the
        failed check when the inputs are bad, else None."""
        from botocore.exceptions import BotoCoreError, ClientError

        refused = self._validate()
        if refused is not None:
            self.verdict = {"in_sync": False, "reasons": ["the settings fail their checks"]}
            return [refused]
        started = time.monotonic()
        try:
            record = state.load_record(self._ssm(), self.name)
            if record is None:
                reasons = ["no deploy recorded"]
            else:  # the state is read only where it decides
                reasons = record.differences(self.inputs, self._read() if record.inputs == self.inputs else {})
        except (BotoCoreError, ClientError, LookupError, ValueError) as exc:  # a shortcut never stops a run
            say(f"running every layer: the stack's record or state could not be read ({exc})")
            self.verdict = {"in_sync": False, "reasons": [f"unreadable: {exc}"]}
            return None
        self.verdict = {"in_sync": not reasons, "reasons": reasons, "record": self.name}
        if reasons:
            say(f"running every layer: {'; '.join(reasons[:5])}{' ...' if len(reasons) > 5 else ''}")
            return None
        say(
            f"in sync: same inputs as the last deploy, and AWS holds what it left (read in "
            f"{time.monotonic() - started:.1f} s, {self.name}); no layer job started. "
            "--full converges every layer anyway"
        )
        results = [LayerResult(layer=layer, status="in sync", rc=0) for layer in layers]
        results[0].outputs = record.outputs
        return results

    def record(self, results: list[LayerResult]) -> None:
        """After a successful deploy of every layer: its inputs, the stack it left, its outputs."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not results or any(r.rc != 0 for r in results):
            return
        outputs: dict = {}
        for result in results:
            outputs.update(result.outputs)
        try:
            wrote = state.save_record(self._ssm(), self.name, state.Record(self.inputs, self._read(), outputs))
        except (BotoCoreError, ClientError, LookupError, ValueError) as exc:  # the deploy stands; the next converges
            say(f"the stack's record could not be written ({exc}); the next deploy converges every layer")
            return
        self._remember_validated()
        if wrote:
            say(f"recorded the deployed stack in {self.name}: the next deploy or plan of it, unchanged, starts no job")
