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
from webstack.home import PLAYBOOKS, STATE_DIR
from webstack.layers import LayerResult, Target, available_layers, retries, run_layer
from webstack.settings import Unresolved, resolve_remembered


def aws_clients(env: dict, config=None) -> Callable:
    """`client(service, region)` on the AWS that `env` (AWS_* variables) points at."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )

    def client(service: str, region: str):
        return session.client(service, region_name=region, endpoint_url=env.get("AWS_ENDPOINT_URL"), config=config)

    return client


def say(text: str) -> None:
    print(f"webstack: {text}", file=sys.stderr, flush=True)


# The inputs this machine has seen pass every role's checks (a successful deploy or
# playbooks/validate.yml), newest last: only those may be looked up in AWS before a layer runs.
VALIDATED_KEPT = 20


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
        try:
            settings = resolve_remembered(args.env, args.vars, state.SETTINGS, state.SETTINGS_ROLES)
        except Unresolved as exc:
            say(f"running every layer: the settings cannot be read without Ansible ({exc})")
            return None
        if "webstack_state_record" not in settings:
            return None
        if settings.get("webstack_require_endpoint") and not is_loopback_url(endpoint or ""):
            return None  # never read what may be real AWS for an emulator-only stack: the layers refuse
        from botocore.config import Config

        files = [Path(arg.removeprefix("-e@")) for arg in args.ansible_args if arg.startswith("-e@")]
        inputs = state.inputs_digest(args.env, args.vars, files=files)
        return cls(args, target, aws_clients(target.env, Config(retries=retries())), settings, inputs)

    @property
    def name(self) -> str:
        return self.settings["webstack_state_record"]

    def _ssm(self):
        return self.client("ssm", self.settings["webstack_region"])

    def _read(self) -> dict[str, str]:
        return state.state_digests(state.StackReader(self.client, self.settings).read())

    @property
    def _validated_file(self) -> Path:
        return STATE_DIR / self.args.env / "validated-inputs"

    def _validated(self) -> list[str]:
        path = self._validated_file
        return path.read_text().split() if path.is_file() else []

    def _remember_validated(self) -> None:
        seen = [digest for digest in self._validated() if digest != self.inputs][-(VALIDATED_KEPT - 1) :]
        self._validated_file.parent.mkdir(parents=True, exist_ok=True)
        self._validated_file.write_text("\n".join([*seen, self.inputs]) + "\n")

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
            reasons = ["no deploy recorded"] if record is None else record.differences(self.inputs, {})
            if record is not None and record.inputs == self.inputs:
                reasons = record.differences(self.inputs, self._read())
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
