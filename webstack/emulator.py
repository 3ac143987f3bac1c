"""The embedded AWS emulator: a moto server on a free loopback port.

Two lifetimes:

* ephemeral -- ``with Emulator.ephemeral() as emu:`` starts a server for one command or one test
  session and stops it on exit, on an exception and on Ctrl-C.  On Linux the child is also asked to
  die with its parent (PR_SET_PDEATHSIG), so even a SIGKILL of the parent leaves no orphan.
* persistent -- ``Emulator.start_persistent()`` starts a detached server and records its pid and URL
  in a state file, so ``deploy``, ``outputs``, ``plan`` and ``destroy`` run one after another against
  the same in-memory stack; ``Emulator.stop_persistent()`` ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HOST = "127.0.0.1"
STATE_FILE = Path(os.environ.get("WEBSTACK_STATE_DIR", Path.home() / ".cache" / "webstack")) / "emulator.json"
START_TIMEOUT = 60.0

# Moto answers every service on one port; these make its behaviour match what webstack expects.
EMULATOR_ENV = {
    "MOTO_ACM_VALIDATION_WAIT": "0",
    # AWS managed policies (e.g. AmazonSSMManagedInstanceCore for the instance role) exist on AWS.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "MOTO_ALLOW_NONEXISTENT_REGION": "false",
}

# Credentials moto accepts; never real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# amazon.aws modules pause for fixed times to let AWS's eventual consistency settle (3 s per new
# security group, 5 s per route table change, 10 s between Auto Scaling polls); the emulator is
# consistent at once, so its clients cut those pauses to this (webstack/runtime/sitecustomize.py).
MODULE_PAUSE_S = "0.05"
SITE_DIR = Path(__file__).resolve().parent / "runtime"


def site_python_path() -> str:
    """PYTHONPATH with runtime/ first: its sitecustomize.py is imported by every Python a job starts."""
    return os.pathsep.join(dict.fromkeys(filter(None, [str(SITE_DIR), os.environ.get("PYTHONPATH")])))


def loopback_client_env(url: str) -> dict[str, str]:
    """Environment that points boto3 (and so every amazon.aws module) at a loopback endpoint: the
    URL, moto's fake credentials, and the modules' consistency pauses cut short."""
    return {
        "AWS_ENDPOINT_URL": url,
        **FAKE_CREDENTIALS,
        "WEBSTACK_EMULATOR_PAUSE_S": MODULE_PAUSE_S,
        "PYTHONPATH": site_python_path(),
    }


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def is_loopback_url(url: str) -> bool:
    """Only an http(s) address on this machine: the check the playbooks' preflight makes
    (module_utils/endpoint.py, the test webstack.aws.loopback_url)."""
    from webstack.home import collection_module_utils

    return collection_module_utils("endpoint").is_loopback_url(url)


def answers(url: str, timeout: float = 3.0) -> bool:
    """Whether anything accepts a TCP connection at the URL's host and port."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGTERM it when the parent dies."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:  # not Linux: the finally/atexit paths still stop it
        pass


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Emulator:
    url: str
    pid: int
    process: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def _spawn(cls, *, detached: bool, log_path: Path | None = None) -> Emulator:
        port = free_port()
        env = {**os.environ, **EMULATOR_ENV, **FAKE_CREDENTIALS}
        env.pop("AWS_ENDPOINT_URL", None)
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "-H", HOST, "-p", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=detached,
            preexec_fn=None if detached else _die_with_parent,  # noqa: PLW1509
        )
        if log_path:
            log.close()
        emu = cls(url=f"http://{HOST}:{port}", pid=process.pid, process=process)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmulatorError(f"moto server exited with code {process.returncode} while starting")
            if _healthy(emu.url):
                return emu
            time.sleep(0.1)
        emu.stop()
        raise EmulatorError(f"moto server did not answer on {emu.url} within {START_TIMEOUT:.0f}s")

    @classmethod
    @contextlib.contextmanager
    def ephemeral(cls):
        emu = cls._spawn(detached=False)
        previous = signal.getsignal(signal.SIGTERM)

        def _terminate(signum, frame):  # turn SIGTERM into the same clean exit as Ctrl-C
            raise KeyboardInterrupt

        if _in_main_thread():
            signal.signal(signal.SIGTERM, _terminate)
        try:
            yield emu
        finally:
            emu.stop()
            if _in_main_thread():
                signal.signal(signal.SIGTERM, previous)

    @classmethod
    def start_persistent(cls) -> Emulator:
        running = cls.persistent()
        if running:
            return running
        STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        emu = cls._spawn(detached=True, log_path=STATE_FILE.with_suffix(".log"))
        STATE_FILE.write_text(json.dumps({"url": emu.url, "pid": emu.pid}))
        return emu

    @classmethod
    def persistent(cls) -> Emulator | None:
        """The recorded persistent emulator, if it is still alive and answering."""
        try:
            state = json.loads(STATE_FILE.read_text())
        except (OSError, ValueError):
            return None
        if _pid_alive(state["pid"]) and _healthy(state["url"]):
            return cls(url=state["url"], pid=state["pid"])
        STATE_FILE.unlink(missing_ok=True)
        return None

    @classmethod
    def stop_persistent(cls) -> bool:
        emu = cls.persistent()
        STATE_FILE.unlink(missing_ok=True)
        if emu is None:
            return False
        emu.stop()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)

    # -- use -------------------------------------------------------------------------------------
    def client_env(self) -> dict[str, str]:
        """Environment that points boto3 (and so every amazon.aws module) at this emulator."""
        return loopback_client_env(self.url)

    def set_transition(self, model: str, progression: dict) -> None:
        """Use moto's state manager, e.g. keep a CloudFront distribution InProgress for N seconds."""
        body = json.dumps({"model_name": model, "transition": progression}).encode()
        req = urllib.request.Request(f"{self.url}/moto-api/state-manager/set-transition", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def hold_releases(self, seconds: float) -> None:
        """Make deleted load balancers and distributions hold their certificate, deleted
        distributions their Origin Access Control, and deleted NAT gateways their network interface
        (so their subnet), for `seconds` (0: release at once)."""
        body = json.dumps({"webstack": {"hold_releases_s": seconds}}).encode()
        req = urllib.request.Request(f"{self.url}/moto-api/config", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if we can.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


# -- the server process ------------------------------------------------------------------------
# The patches below replace moto internals (model constructors, backend methods, response
# handlers) as they are in this release; another release may have moved them.
PATCHED_MOTO_VERSION = "5.2.5"


def _check_moto_version(version: str) -> None:
    if version != PATCHED_MOTO_VERSION:
        raise EmulatorError(
            f"moto {version} is installed; emulator.py patches moto {PATCHED_MOTO_VERSION}'s internals. "
            "Install the pinned version (make .venv/.installed) or port the patches and update PATCHED_MOTO_VERSION."
        )


def _patch_moto() -> None:
    """Fill gaps in moto that would otherwise hide what webstack sets. Each patch only keeps what
    the request said, so that moto returns it as AWS does.

    * CloudFront origins: moto 5.2 drops `OriginAccessControlId` and `S3OriginConfig`, so a
      distribution read back never shows its Origin Access Control.
    * S3 bucket policies: moto applies a statement whatever its Condition (it evaluates only
      StringEquals) and whatever its service principal, so the usual `Deny unless
      aws:SecureTransport` statement (FSBP S3.5) refused every request, and a Deny meant for
      CloudFront refused the account itself. On AWS neither applies to an SDK caller, whose calls
      always travel over TLS (which the emulator's plain-HTTP loopback cannot show).
    * ACM InUseBy: moto records a certificate as used by an ALB listener but never forgets it when
      the listener or its load balancer is deleted, so the certificate could never be deleted.
    * NAT gateways: moto keeps a deleted gateway's network interface (and its elastic IP's
      association) for ever; AWS removes the interface with the gateway and frees the address.
      While the hold switch keeps that interface, deleting its subnet answers DependencyViolation.
    * CloudFront Functions: moto 5.2 creates, describes and deletes a function but cannot update
      or publish one, has no LIVE stage and forgets a behaviour's FunctionAssociations; AWS keeps a
      DEVELOPMENT and a LIVE stage, checks If-Match, lets a behaviour use only a published function
      and refuses to delete one in use (FunctionInUse).
    * CloudFront response headers policies: moto 5.2 has no API for them; AWS does (create, get,
      update and delete with If-Match, list, ResponseHeadersPolicyInUse).
    * CloudFront's legacy lists: moto 5.2 serves neither ListStreamingDistributions nor
      ListCloudFrontOriginAccessIdentities, which community.aws.cloudfront_distribution_info's
      summary calls besides ListDistributions. AWS answers an account that has none with an empty
      list; none can exist here (AWS ended RTMP distributions in 2020, and moto cannot create an
      origin access identity).
    * Late releases (off unless switched on, see Emulator.hold_releases): AWS frees a certificate
      some time after the load balancer or distribution that used it is deleted, an Origin Access
      Control after its distribution, and a NAT gateway's network interface after the gateway;
      until then DeleteCertificate answers ResourceInUseException, DeleteOriginAccessControl
      OriginAccessControlInUse and DeleteSubnet DependencyViolation. moto frees all at once and
      never refuses an in-use certificate.
    * Launch template versions: moto 5.2 has no DeleteLaunchTemplateVersions, which
      amazon.aws.ec2_launch_template (state absent) calls before DeleteLaunchTemplate, and finds a
      version by its position. AWS deletes the listed versions but never the default one, reports
      each version it could not delete with an error code instead of failing the request, and
      finds the remaining versions by their numbers.
    * Application load balancer attributes: moto 5.2 describes a new ALB with four attributes
      (access-log bucket and prefix, deletion protection, cross-zone `false`) until a request sets
      more, so amazon.aws.elb_application_lb, which reads `idle_timeout.timeout_seconds`,
      `access_logs.s3.enabled`, `routing.http.*` ..., failed with a KeyError. AWS describes every
      attribute of an ALB, each at its default until set (cross-zone always `true`).
    """
    import moto

    _check_moto_version(moto.__version__)
    _patch_cloudfront_origins()
    _patch_cloudfront_functions()
    _patch_cloudfront_function_associations()
    _patch_cloudfront_response_headers_policies()
    _patch_cloudfront_legacy_lists()
    _patch_bucket_policy_conditions()
    _patch_certificate_release()
    _patch_nat_gateway_release()
    _patch_late_releases()
    _patch_launch_template_versions()
    _patch_load_balancer_attributes()


def _patch_cloudfront_origins() -> None:
    from moto.cloudfront import models

    original_init = models.Origin.__init__

    def origin_init(self, origin):
        original_init(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId", "")
        if "S3OriginConfig" in origin:
            self.s3_origin_config = origin["S3OriginConfig"]

    models.Origin.__init__ = origin_init


def _cloudfront_error(code: str, message: str):
    """An error moto serializes with CloudFront's own error model (status code included)."""
    from moto.core.exceptions import ServiceException

    class CloudFrontError(ServiceException):
        pass

    return CloudFrontError(code, message)


def _behaviours(distribution) -> list:
    config = distribution.distribution_config
    others = config.CacheBehaviors.get("Items") or [] if isinstance(config.CacheBehaviors, dict) else []
    return [config.DefaultCacheBehavior, *others]


def _patch_cloudfront_functions() -> None:
    from moto.cloudfront import models, urls
    from moto.cloudfront.exceptions import NoSuchFunctionExists
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = CloudFrontResponse.dispatch

    def function(backend, name, if_match=None):
        found = backend.describe_function(name)
        if if_match is not None and if_match != found.etag:
            raise _cloudfront_error("PreconditionFailed", "The If-Match version is not the function's current ETag.")
        return found

    def staged(found, stage):
        """(config, code, etag, status) of one stage; LIVE exists once the function is published."""
        if stage == "LIVE":
            if getattr(found, "live", None) is None:
                raise NoSuchFunctionExists(found.name)
            return found.live
        return found.config, found.code, found.etag, found.status

    def summary(found, stage):
        config, _code, etag, status = staged(found, stage)
        metadata = dict(found.function_summary["FunctionMetadata"], Stage=stage)
        return {"Name": found.name, "Status": status, "FunctionConfig": config, "FunctionMetadata": metadata}, etag

    def describe_function(self):
        found = self.backend.describe_function(self._get_param("Name"))
        result, etag = summary(found, self._get_param("Stage") or "DEVELOPMENT")
        return ActionResult({"FunctionSummary": result, "ETag": etag})

    def get_function(self):
        found = self.backend.describe_function(self._get_param("Name"))
        _config, code, etag, _status = staged(found, self._get_param("Stage") or "DEVELOPMENT")
        return ActionResult({"FunctionCode": code, "ETag": etag, "ContentType": "application/octet-stream"})

    def update_function(self):
        found = function(self.backend, self._get_param("Name"), self._get_param("IfMatch"))
        found.config, found.code = self._get_param("FunctionConfig", {}), self._get_param("FunctionCode")
        found.etag, found.status, found.last_modified_time = models.random_id(), "UNPUBLISHED", utcnow()
        result, etag = summary(found, "DEVELOPMENT")
        return ActionResult({"FunctionSummary": result, "ETag": etag})

    def publish_function(self):
        found = function(self.backend, self._get_param("Name"), self._get_param("IfMatch"))
        found.live = (dict(found.config), found.code, models.random_id(), "DEPLOYED")
        found.status = "UNASSOCIATED"
        return ActionResult({"FunctionSummary": summary(found, "LIVE")[0]})

    for handler in (describe_function, get_function, update_function, publish_function):
        setattr(CloudFrontResponse, handler.__name__, handler)


def _patch_cloudfront_function_associations() -> None:
    from moto.cloudfront import models

    original_behaviour_init = models.DefaultCacheBehaviour.__init__

    def behaviour_init(self, config):
        original_behaviour_init(self, config)
        self.function_associations = config.get("FunctionAssociations") or {"Quantity": 0}

    original_delete = models.CloudFrontBackend.delete_function

    def delete_function(self, name, if_match):
        arn = self.describe_function(name).arn
        for distribution in self.distributions.values():
            for behaviour in _behaviours(distribution):
                if any(a.get("FunctionARN") == arn for a in behaviour.function_associations.get("Items") or []):
                    raise _cloudfront_error("FunctionInUse", f"Function {name} is associated with a distribution.")
        return original_delete(self, name, if_match)

    def check_associations(backend, config):
        """AWS lets a behaviour use a function only once it is published (its LIVE stage)."""
        behaviours = [config.get("DefaultCacheBehavior") or {}, *(config.get("CacheBehaviors") or {}).get("Items", [])]
        for behaviour in behaviours:
            for association in (behaviour.get("FunctionAssociations") or {}).get("Items") or []:
                name = association.get("FunctionARN", "").rsplit("/", 1)[-1]
                if getattr(backend.functions.get(name), "live", None) is None:
                    raise _cloudfront_error(
                        "InvalidFunctionAssociation", f"{association.get('FunctionARN')} is not a published function."
                    )

    original_create = models.CloudFrontBackend.create_distribution_with_tags
    original_update = models.CloudFrontBackend.update_distribution

    def create_distribution_with_tags(self, distribution_config, tags):
        check_associations(self, distribution_config)
        return original_create(self, distribution_config, tags)

    def update_distribution(self, dist_config, _id, if_match):
        check_associations(self, dist_config or {})
        return original_update(self, dist_config, _id, if_match)

    models.DefaultCacheBehaviour.__init__ = behaviour_init
    models.CloudFrontBackend.delete_function = delete_function
    models.CloudFrontBackend.create_distribution_with_tags = create_distribution_with_tags
    models.CloudFrontBackend.update_distribution = update_distribution


def _patch_cloudfront_response_headers_policies() -> None:
    from moto.cloudfront import models, urls
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    base = "{0}/2020-05-31/response-headers-policy"
    for path in ("$", "/(?P<policy_id>[^/]+)$", "/(?P<policy_id>[^/]+)/config$"):
        urls.url_paths[base + path] = CloudFrontResponse.dispatch

    def policies(backend) -> dict:
        return backend.__dict__.setdefault("webstack_response_headers_policies", {})

    def policy(backend, policy_id, if_match=None) -> dict:
        found = policies(backend).get(policy_id)
        if found is None:
            raise _cloudfront_error("NoSuchResponseHeadersPolicy", f"No response headers policy {policy_id}.")
        if if_match is not None and if_match != found["etag"]:
            raise _cloudfront_error("PreconditionFailed", "The If-Match version is not the policy's current ETag.")
        return found

    def unique_name(backend, config, policy_id=None):
        for other_id, other in policies(backend).items():
            if other_id != policy_id and other["config"]["Name"] == config.get("Name"):
                raise _cloudfront_error(
                    "ResponseHeadersPolicyAlreadyExists", f"A response headers policy named {config['Name']} exists."
                )

    def view(found) -> dict:
        return {
            "Id": found["id"],
            "LastModifiedTime": found["modified"],
            "ResponseHeadersPolicyConfig": found["config"],
        }

    def save(found, config) -> dict:
        found.update(config=config, etag=models.random_id(), modified=utcnow())
        return found

    def create_response_headers_policy(self):
        config = self._get_param("ResponseHeadersPolicyConfig", {})
        unique_name(self.backend, config)
        policy_id = str(mock_random.uuid4())
        found = policies(self.backend)[policy_id] = save({"id": policy_id}, config)
        location = f"https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/{policy_id}"
        return ActionResult({"ResponseHeadersPolicy": view(found), "ETag": found["etag"], "Location": location})

    def get_response_headers_policy(self):
        found = policy(self.backend, self._get_param("Id"))
        return ActionResult({"ResponseHeadersPolicy": view(found), "ETag": found["etag"]})

    def get_response_headers_policy_config(self):
        found = policy(self.backend, self._get_param("Id"))
        return ActionResult({"ResponseHeadersPolicyConfig": found["config"], "ETag": found["etag"]})

    def update_response_headers_policy(self):
        policy_id, config = self._get_param("Id"), self._get_param("ResponseHeadersPolicyConfig", {})
        found = policy(self.backend, policy_id, self._get_param("IfMatch"))
        unique_name(self.backend, config, policy_id)
        save(found, config)
        return ActionResult({"ResponseHeadersPolicy": view(found), "ETag": found["etag"]})

    def delete_response_headers_policy(self):
        policy_id = self._get_param("Id")
        policy(self.backend, policy_id, self._get_param("IfMatch"))
        for distribution in self.backend.distributions.values():
            if any(b.response_headers_policy_id == policy_id for b in _behaviours(distribution)):
                raise _cloudfront_error(
                    "ResponseHeadersPolicyInUse", f"Response headers policy {policy_id} is attached to a distribution."
                )
        del policies(self.backend)[policy_id]
        return EmptyResult()

    def list_response_headers_policies(self):
        wanted = self._get_param("Type")
        found = [] if wanted == "managed" else list(policies(self.backend).values())
        entries = [{"Type": "custom", "ResponseHeadersPolicy": view(p)} for p in found]
        listing = {"MaxItems": 100, "Quantity": len(entries)}
        if entries:
            listing["Items"] = entries
        return ActionResult({"ResponseHeadersPolicyList": listing})

    for handler in (
        create_response_headers_policy,
        get_response_headers_policy,
        get_response_headers_policy_config,
        update_response_headers_policy,
        delete_response_headers_policy,
        list_response_headers_policies,
    ):
        setattr(CloudFrontResponse, handler.__name__, handler)


def _patch_cloudfront_legacy_lists() -> None:
    from moto.cloudfront import urls
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult

    urls.url_paths["{0}/2020-05-31/streaming-distribution$"] = CloudFrontResponse.dispatch
    urls.url_paths["{0}/2020-05-31/origin-access-identity/cloudfront$"] = CloudFrontResponse.dispatch

    def empty(self, key: str) -> ActionResult:
        """AWS's page for an account with none: no Items, not truncated, MaxItems as asked."""
        max_items = self._get_int_param("MaxItems") or 100
        listing = {"Marker": self._get_param("Marker") or "", "MaxItems": max_items, "IsTruncated": False}
        return ActionResult({key: {**listing, "Quantity": 0}})

    def list_streaming_distributions(self):
        return empty(self, "StreamingDistributionList")

    def list_cloud_front_origin_access_identities(self):
        return empty(self, "CloudFrontOriginAccessIdentityList")

    for handler in (list_streaming_distributions, list_cloud_front_origin_access_identities):
        setattr(CloudFrontResponse, handler.__name__, handler)


# Seconds a deleted resource keeps holding what it used (0: released at once, as moto does).
# Set at run time through moto's config API: {"webstack": {"hold_releases_s": N}}.
_HOLD = {"seconds": 0.0}


def _later(release: Callable[[], None]) -> None:
    if _HOLD["seconds"] > 0:
        timer = threading.Timer(_HOLD["seconds"], release)
        timer.daemon = True
        timer.start()
    else:
        release()


def _certificate_release(account_id: str, arns: set[str]) -> None:
    from moto.acm.models import acm_backends

    for backend in list(acm_backends[account_id].values()):
        for bundle in backend._certificates.values():
            bundle.in_use_by = [user for user in bundle.in_use_by if user not in arns]


def _patch_certificate_release() -> None:
    from moto.elbv2 import models

    def release(account_id: str, arns: set[str]) -> None:
        _later(lambda: _certificate_release(account_id, arns))

    original_delete_listener = models.ELBv2Backend.delete_listener
    original_delete_load_balancer = models.ELBv2Backend.delete_load_balancer

    def delete_listener(self, listener_arn):
        listener = original_delete_listener(self, listener_arn)
        release(self.account_id, {listener_arn})
        return listener

    def delete_load_balancer(self, arn):
        balancer = self.load_balancers.get(arn)
        listeners = set(balancer.listeners) if balancer else set()
        original_delete_load_balancer(self, arn)
        release(self.account_id, listeners | {arn})

    models.ELBv2Backend.delete_listener = delete_listener
    models.ELBv2Backend.delete_load_balancer = delete_load_balancer


def _patch_late_releases() -> None:
    from moto.acm.models import AWSCertificateManagerBackend, acm_backends
    from moto.cloudfront.models import CloudFrontBackend
    from moto.core.exceptions import ServiceException
    from moto.moto_api._internal.models import MotoAPIBackend

    class InUse(ServiceException):
        """Defined here, not in moto: moto then serializes it with the called service's error model."""

    held_controls: set[str] = set()

    original_set_config, original_get_config = MotoAPIBackend.set_config, MotoAPIBackend.get_config

    def set_config(self, config):
        original_set_config(self, config)
        if "webstack" in config:
            _HOLD["seconds"] = float(config["webstack"].get("hold_releases_s", 0))

    def get_config(self):
        return {**original_get_config(self), "webstack": {"hold_releases_s": _HOLD["seconds"]}}

    original_delete_certificate = AWSCertificateManagerBackend.delete_certificate

    def delete_certificate(self, arn):
        bundle = self._certificates.get(arn)
        if bundle is not None and bundle.in_use_by:
            raise InUse("ResourceInUseException", f"Certificate {arn} is in use.")
        return original_delete_certificate(self, arn)

    original_delete_distribution = CloudFrontBackend.delete_distribution
    original_delete_control = CloudFrontBackend.delete_origin_access_control

    def delete_distribution(self, distribution_id, if_match):
        distribution = self.distributions.get(distribution_id)
        original_delete_distribution(self, distribution_id, if_match)
        if distribution is None or _HOLD["seconds"] <= 0:
            return
        controls = {getattr(o, "origin_access_control_id", "") for o in distribution.Origins["Items"]} - {""}
        held_controls.update(controls)
        _later(lambda: held_controls.difference_update(controls))
        certificate = distribution.ViewerCertificate.acm_certificate_arn
        for backend in list(acm_backends[self.account_id].values()):
            if certificate in backend._certificates:
                backend._certificates[certificate].in_use_by.append(distribution.arn)
        _later(lambda: _certificate_release(self.account_id, {distribution.arn}))

    def delete_origin_access_control(self, control_id):
        if control_id in held_controls:
            raise InUse(
                "OriginAccessControlInUse",
                "Cannot delete this origin access control because it's in use by one or more origins.",
            )
        return original_delete_control(self, control_id)

    MotoAPIBackend.set_config, MotoAPIBackend.get_config = set_config, get_config
    AWSCertificateManagerBackend.delete_certificate = delete_certificate
    CloudFrontBackend.delete_distribution = delete_distribution
    CloudFrontBackend.delete_origin_access_control = delete_origin_access_control


def _patch_nat_gateway_release() -> None:
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models.nat_gateways import NatGatewayBackend
    from moto.ec2.models.subnets import SubnetBackend

    original_delete = NatGatewayBackend.delete_nat_gateway

    held: dict[str, str] = {}  # network interface id -> subnet id, while the hold switch keeps it

    def delete_nat_gateway(self, nat_gateway_id):
        gateway = original_delete(self, nat_gateway_id)
        interface = getattr(gateway, "_eni", None)
        if interface is not None and interface.id in self.enis:
            for address in self.addresses:
                if address.eni is interface:
                    self.disassociate_address(address=address.public_ip)
            held[interface.id] = interface.subnet.id

            def drop() -> None:
                held.pop(interface.id, None)
                with contextlib.suppress(Exception):  # already gone: nothing to release
                    self.delete_network_interface(interface.id)

            _later(drop)
        return gateway

    original_delete_subnet = SubnetBackend.delete_subnet

    def delete_subnet(self, subnet_id):
        # AWS refuses while a network interface lives in the subnet. Only a held NAT gateway
        # interface counts here: moto keeps the interfaces of terminated instances, which AWS deletes.
        if subnet_id in held.values():
            raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original_delete_subnet(self, subnet_id)

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway
    SubnetBackend.delete_subnet = delete_subnet


def _launch_template_version(template, number):
    """A template's version by its number (moto looks it up by position), or None."""
    return next((v for v in template.versions if str(v.number) == str(number).strip()), None)


def _launch_template_to_delete_from(backend, template_name, template_id):
    """(template, None) or (None, (code, message)): the per-version error AWS reports when the
    template named in DeleteLaunchTemplateVersions is malformed or missing."""
    import re

    if template_id and not re.fullmatch(r"lt-[0-9a-f]+", template_id):
        return None, ("launchTemplateIdMalformed", f"The launch template ID '{template_id}' is malformed.")
    if template_name and not re.fullmatch(r"[a-zA-Z0-9().\-/_]{3,128}", template_name):
        return None, ("launchTemplateNameMalformed", f"The launch template name '{template_name}' is malformed.")
    if template_name:
        template = backend.launch_templates.get(backend.launch_template_name_to_ids.get(template_name, ""))
        problem = ("launchTemplateNameDoesNotExist", f"The launch template name '{template_name}' does not exist.")
    else:
        template = backend.launch_templates.get(template_id)
        problem = ("launchTemplateIdDoesNotExist", f"The launch template ID '{template_id}' does not exist.")
    return (template, None) if template is not None else (None, problem)


def _delete_launch_template_version(template, requested):
    """Deletes one version as DeleteLaunchTemplateVersions does; the (code, message) AWS reports
    when it cannot, else None."""
    found = _launch_template_version(template, requested)
    if found is None:
        return "launchTemplateVersionDoesNotExist", "The launch template version does not exist."
    if template.is_default(found):
        # AWS's LaunchTemplateErrorCode has no code of its own for this case.
        return (
            "unexpectedError",
            "The default version of a launch template cannot be deleted. "
            "Set another version as the default or delete the launch template.",
        )
    template.webstack_highest_version = max(
        getattr(template, "webstack_highest_version", 0), template.latest_version_number
    )
    template.versions.remove(found)
    return None


def _patch_launch_template_versions() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import (
        InvalidLaunchTemplateVersionNotFound,
        InvalidParameterCombination,
        InvalidParameterValue,
        MissingParameterError,
    )
    from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateBackend, LaunchTemplateVersion
    from moto.ec2.responses.launch_templates import LaunchTemplates

    # moto finds version N at versions[N - 1] and numbers a new version len(versions) + 1, which
    # both go wrong once a version is deleted: versions are found by their numbers instead, and a
    # deleted number is never given again.
    def create_version(self, data, description):
        number = max([getattr(self, "webstack_highest_version", 0), *(v.number for v in self.versions)]) + 1
        version = LaunchTemplateVersion(self, number, data, description)
        self.versions.append(version)
        return version

    def get_version(self, num):
        if str(num).lower() == "$latest":
            return self.versions[-1]
        if str(num).lower() == "$default":
            return self.default_version()
        found = _launch_template_version(self, num)
        if found is None:
            raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)
        return found

    def default_version(self):
        return _launch_template_version(self, self.default_version_number)

    original_describe = LaunchTemplateBackend.describe_launch_template_versions

    def describe_launch_template_versions(
        self, template_name, template_id, versions, min_version, max_version, max_results
    ):
        if versions or not (min_version or max_version) or not (template_name or template_id):
            return original_describe(self, template_name, template_id, versions, min_version, max_version, max_results)
        # MinVersion and MaxVersion bound version numbers, not positions in moto's list.
        template = (
            self.get_launch_template_by_name(template_name) if template_name else self.get_launch_template(template_id)
        )
        found = [
            (template, v)
            for v in template.versions
            if v.number >= (min_version or 1) and (not max_version or v.number <= max_version)
        ]
        return found[:max_results]

    def delete_launch_template_versions(self, template_name, template_id, versions):
        """(template id, template name, deleted numbers, [(version, code, message)]). As on AWS only
        the request's parameters fail it; a missing template, a missing version and the default
        version are each reported with the version they kept from being deleted."""
        if template_name and template_id:
            raise InvalidParameterCombination("Specify either the launch template ID or the launch template name.")
        if not (template_name or template_id):
            raise MissingParameterError("launch template ID or launch template name")
        if len(versions) > 200:
            raise InvalidParameterValue("You can specify up to 200 launch template versions in a request.")
        template, problem = _launch_template_to_delete_from(self, template_name, template_id)
        if template is None:
            return template_id, template_name, [], [(v, *problem) for v in versions]
        deleted, failed = [], []
        for requested in versions:
            error = _delete_launch_template_version(template, requested)
            if error:
                failed.append((requested, *error))
            else:
                deleted.append(int(str(requested).strip()))
        return template.id, template.name, deleted, failed

    def delete_launch_template_versions_action(self):
        name = self._get_param("LaunchTemplateName")
        template_id = self._get_param("LaunchTemplateId")
        versions = self._get_param("Versions", [])
        self.error_on_dryrun()
        template_id, name, deleted, failed = self.ec2_backend.delete_launch_template_versions(
            template_name=name, template_id=template_id, versions=versions
        )
        identity = {k: v for k, v in (("LaunchTemplateId", template_id), ("LaunchTemplateName", name)) if v}
        failures = [
            {
                **identity,
                "VersionNumber": int(v) if str(v).strip().isdigit() else None,
                "ResponseError": {"Code": code, "Message": message},
            }
            for v, code, message in failed
        ]
        return ActionResult(
            {
                "SuccessfullyDeletedLaunchTemplateVersions": [{**identity, "VersionNumber": n} for n in deleted],
                "UnsuccessfullyDeletedLaunchTemplateVersions": failures,
            }
        )

    LaunchTemplate.create_version = create_version
    LaunchTemplate.get_version = get_version
    LaunchTemplate.default_version = default_version
    LaunchTemplateBackend.describe_launch_template_versions = describe_launch_template_versions
    LaunchTemplateBackend.delete_launch_template_versions = delete_launch_template_versions
    LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions_action


# What every request to AWS carries that the emulator's plain-HTTP loopback cannot show.
_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _condition_holds(condition: dict) -> bool:
    """IAM condition evaluation for the operators bucket policies use, against _REQUEST_CONTEXT.
    A key the request does not carry makes the condition false, unless the operator ends in IfExists."""
    import fnmatch

    for operator, pairs in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in pairs.items():
            actual = _REQUEST_CONTEXT.get(key.lower())
            if actual is None:
                if if_exists:
                    continue
                return False
            wanted = [
                str(v).lower() if base == "Bool" else str(v)
                for v in (expected if isinstance(expected, list) else [expected])
            ]
            if base in ("Bool", "StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif base in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in wanted
            elif base in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                ok = False
            if not ok:
                return False
    return True


def _patch_bucket_policy_conditions() -> None:
    import json

    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3 import models

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for raw in statements if isinstance(statements, list) else [statements]:
            if raw.get("Condition") and not _condition_holds(raw["Condition"]):
                continue  # on AWS, a statement whose condition does not hold does not apply
            principal = raw.get("Principal")
            if isinstance(principal, dict) and "AWS" not in principal:
                continue  # a statement for a service principal (CloudFront) never applies to SDK callers
            unconditional = {k: v for k, v in raw.items() if k != "Condition"}
            result = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    models.FakeBucket.get_permission = get_permission


# What DescribeLoadBalancerAttributes answers for a new Application Load Balancer: every attribute
# the ELBv2 API reference (LoadBalancerAttribute) lists for ALBs, at its documented default.
# `ipv6.deny_all_igw_traffic` depends on the scheme (true for an internal one).
ALB_ATTRIBUTE_DEFAULTS = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "client_keep_alive.seconds": "3600",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "deletion_protection.enabled": "false",
    "health_check_logs.s3.enabled": "false",
    "health_check_logs.s3.bucket": "",
    "health_check_logs.s3.prefix": "",
    "idle_timeout.timeout_seconds": "60",
    "ipv6.deny_all_igw_traffic": "false",
    "load_balancing.cross_zone.enabled": "true",  # always on for an ALB
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
    "zonal_shift.config.enabled": "false",
}


def _patch_load_balancer_attributes() -> None:
    from moto.elbv2 import models

    original_init = models.FakeLoadBalancer.__init__

    def load_balancer_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.type == "application":
            # A new balancer's attrs hold only moto's own defaults: replace them all.
            self.attrs = {
                **ALB_ATTRIBUTE_DEFAULTS,
                "ipv6.deny_all_igw_traffic": "true" if self.scheme == "internal" else "false",
            }

    models.FakeLoadBalancer.__init__ = load_balancer_init
    # Described now, so a client may write them back; moto knew only health_check_logs.s3.enabled.
    models.FakeLoadBalancer.VALID_ATTRS = models.FakeLoadBalancer.VALID_ATTRS | {
        "health_check_logs.s3.bucket",
        "health_check_logs.s3.prefix",
    }


def _speed_up_server() -> None:
    """Per request, moto's server matched the request's host against every service's URL pattern
    (hundreds of regular expressions) after listing its own package directory. The service a host
    names never changes, so it is remembered. With the three below, none of which changes an
    answer, and emulator_http, an S3 PUT costs the server about 0.75 ms of CPU instead of 2.6, and
    a 1,000-key listing a third less than before (benchmarks/README.md)."""
    import flask.debughelpers
    import moto.core.serialize
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, EnvironHeaders
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    backend_for_host = DomainDispatcherApplication.get_backend_for_host
    known: dict = {}

    def get_backend_for_host(self, host):
        if host not in known:
            known[host] = backend_for_host(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
    # moto runs its Flask apps in debug mode, where every request that reads its body defined a
    # class (a KeyError message for forms without a file): a tenth of an S3 PUT's CPU.
    flask.debughelpers.attach_enctype_error_multidict = lambda request: None

    moto.core.serialize.parse_to_aware_datetime = aware_datetime  # see aware_datetime
    renaming_iter = EnvironHeaders.__iter__

    def headers_iter(self):
        # moto renames every header on every pass over the headers (an S3 PUT makes dozens), to
        # restore underscored S3 metadata names; with none to restore, the names are werkzeug's.
        if self.environ.get(PRESERVED_HEADER_NAMES_ENVIRON_KEY):
            return renaming_iter(self)
        return super(EnvironHeaders, self).__iter__()

    EnvironHeaders.__iter__ = headers_iter


# An ISO 8601 timestamp whose reading datetime.fromisoformat and dateutil agree on (a bare
# "20261205" is a date to one and seconds since 1970 to botocore).
ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)?")


def aware_datetime(value):
    """botocore's parse_to_aware_datetime, which moto's serializer calls on every timestamp, reads
    ISO strings (moto's own form) with dateutil: a third of the CPU of a 1,000-key listing. The
    same instant, read by datetime where the two agree."""
    if isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    from botocore.utils import parse_to_aware_datetime

    return parse_to_aware_datetime(value)


def _serve(argv: list[str]) -> None:
    """moto's server (`moto_server -H HOST -p PORT`), with the patches, behind emulator_http."""
    parser = argparse.ArgumentParser(prog="emulator")
    parser.add_argument("-H", "--host", default=HOST)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    for key, value in {**EMULATOR_ENV, "MOTO_PORT": str(args.port)}.items():
        os.environ.setdefault(key, value)
    _patch_moto()
    _speed_up_server()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from webstack.emulator_http import serve

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(0))
    serve(DomainDispatcherApplication(create_backend_app), args.host, args.port)


if __name__ == "__main__":
    # Run as a file (Emulator._spawn): the package's own directory (cli.py, timeline.py, ...) is no
    # place for moto's imports to look; the checkout, last, is where emulator_http comes from.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here] + [str(here.parent)]
    _serve(sys.argv[1:])
