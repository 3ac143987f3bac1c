"""Imported by every Python that a webstack job starts: runner.py (and the emulator's client
environment) put this folder on PYTHONPATH. That is the playbook, its workers and Mitogen's
persistent interpreter, where a play's modules run one after another. Each switch is off unless
its variable is set.

WEBSTACK_SHARE_BOTOCORE_LOADER=1 (runner.py, every environment): the boto3 sessions of one process
share botocore's data loader. amazon.aws modules open a new session for every task, and each new
session parses the service's JSON model (EC2's is megabytes) and the endpoint tables again: about
0.2 s of every module call. In one persistent interpreter, sharing the loader (botocore's own
cache of those read-only files, one per data path) makes that once per play.

WEBSTACK_SHARE_CONTROLLER_WORK=1 (runner.py, with Mitogen): Ansible forks a worker for every task,
and whatever a worker loads dies with it. The controller does two things once, when the strategy
loads, that every worker forked from it then inherits:
- Mitogen's planner lists every installed collection (importing each of the ansible package's
  ~100) for each module task; the controller lists them once and every worker reuses that list.
- Templating a task's arguments loads every builtin Jinja filter and test file (and a collection's,
  by name) the first time a template names one; the controller loads them once, about a tenth of
  a worker's CPU.

WEBSTACK_FREEZE_GC=1 (runner.py, every environment): Ansible forks a worker for every task from
a controller of a few hundred thousand objects. The controller freezes its garbage collector's
view of them at the first fork (gc.freeze: none of them is scanned again, in the controller or a
worker), and each short-lived worker runs without the collector, whose passes would otherwise
touch, and so copy, every inherited page. About a tenth off a no-op deploy's CPU.

WEBSTACK_EMULATOR_PAUSE_S=S (loopback endpoints only): amazon.aws and community.aws modules pause
for fixed times so that AWS's eventual consistency can settle: ec2_security_group 3 s after
creating a group, ec2_vpc_route_table 5 s after any change, autoscaling_group 10 s between polls.
The emulator is consistent at once, so there those pauses are cut to S seconds. Only sleeps called
from a module's own file are cut: botocore's retry backoff and waiters, Ansible's until/delay loops
and everything else sleep as asked.
"""

import importlib.machinery
import os
import sys
import time

_MODULES = ("/amazon/aws/plugins/modules/", "/community/aws/plugins/modules/")


def _cut_module_pauses(cap: float) -> None:
    sleep = time.sleep

    def pause(seconds: float) -> None:
        # Ansible's controller polls with 1 ms sleeps thousands of times a run: those are never
        # longer than the cap, so they skip the look at the caller.
        if seconds > cap:
            caller = sys._getframe(1).f_code.co_filename
            seconds = cap if any(part in caller for part in _MODULES) else seconds
        sleep(seconds)

    time.sleep = pause


def _share_loader(session_module) -> None:
    create_loader = session_module.create_loader
    loaders: dict = {}

    def shared(search_path_string=None):
        if search_path_string not in loaders:
            loaders[search_path_string] = create_loader(search_path_string)
        return loaders[search_path_string]

    session_module.create_loader = shared


def _share_controller_work(planner) -> None:
    from ansible.collections.list import list_collection_dirs
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None or not hasattr(planner, "_load_collections"):
        return  # not a playbook run with collections configured, or another Mitogen: leave it be
    dirs = [path.decode("utf-8") for path in list_collection_dirs()]

    def load_collections(invocation):
        invocation._extra_sys_paths.update(dirs)

    planner._load_collections = load_collections
    _load_jinja_plugins()


def _load_jinja_plugins() -> None:
    from ansible.plugins.loader import filter_loader, test_loader

    for loader in (filter_loader, test_loader):
        for _plugin in loader.all():
            pass  # loads and wraps every builtin filter (test) file
        # A collection's files each hold several plugins, so asking for any name in it loads
        # every file of its plugin folder: one question loads all of webstack's.
        loader.get("webstack.aws.loaded_by_the_controller")


def _freeze_gc(worker_module) -> None:
    import gc

    worker = worker_module.WorkerProcess
    start, run = worker.start, worker.run
    frozen = []

    def start_after_one_freeze(self):
        if not frozen:
            gc.freeze()  # what exists by the first task: plugins, inventory, the parsed playbook
            frozen.append(True)
        start(self)

    def run_without_gc(self):
        gc.disable()
        return run(self)

    worker.start, worker.run = start_after_one_freeze, run_without_gc


class _AfterImport:
    """A meta path finder that runs `patch(module)` once `name` has been imported (botocore is
    imported only by the processes that use it, and only then patched)."""

    def __init__(self, name: str, patch):
        self.name, self.patch = name, patch

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_patch(module):
            exec_module(module)
            self.patch(module)

        spec.loader.exec_module = exec_then_patch
        return spec


if os.environ.get("WEBSTACK_EMULATOR_PAUSE_S"):
    _cut_module_pauses(float(os.environ["WEBSTACK_EMULATOR_PAUSE_S"]))
if os.environ.get("WEBSTACK_SHARE_BOTOCORE_LOADER") == "1":
    sys.meta_path.insert(0, _AfterImport("botocore.session", _share_loader))
if os.environ.get("WEBSTACK_FREEZE_GC") == "1":
    sys.meta_path.insert(0, _AfterImport("ansible.executor.process.worker", _freeze_gc))
if os.environ.get("WEBSTACK_SHARE_CONTROLLER_WORK") == "1":
    sys.meta_path.insert(0, _AfterImport("ansible_mitogen.planner", _share_controller_work))
