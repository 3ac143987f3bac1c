"""webstack/runtime/sitecustomize.py, imported by every Python a job starts: each switch does what it says,
in a fresh interpreter with the environment runner.py or the emulator hands its jobs, and nothing
without its variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from webstack import emulator, home
from webstack.layers import speed_env


def python(script: str, env: dict[str, str]) -> str:
    return subprocess.check_output([sys.executable, "-c", textwrap.dedent(script)], env=env, text=True)


def without(env: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key != name}


def test_the_emulators_clients_cut_only_the_pauses_of_aws_modules(tmp_path):
    """A sleep called from an amazon.aws or community.aws module's own file is cut to
    MODULE_PAUSE_S; any other sleep (botocore's backoff, Ansible's loops) is as long as asked."""
    module = tmp_path / "ansible_collections" / "amazon" / "aws" / "plugins" / "modules" / "ec2_thing.py"
    module.parent.mkdir(parents=True)
    module.write_text("from time import sleep\n\ndef pause():\n    sleep(3)\n")
    script = f"""
        import runpy, time
        pause = runpy.run_path({str(module)!r})["pause"]
        started = time.monotonic(); pause(); module = time.monotonic() - started
        started = time.monotonic(); time.sleep(0.3); other = time.monotonic() - started
        print(module, other)
        """
    env = {**os.environ, **emulator.loopback_client_env("http://127.0.0.1:1")}
    module_s, other_s = map(float, python(script, env).split())
    assert module_s < 1.0
    assert other_s >= 0.3
    plain_s, _ = map(float, python(script, without(env, "WEBSTACK_EMULATOR_PAUSE_S")).split())
    assert plain_s >= 3.0


def test_the_boto3_sessions_of_a_job_share_one_botocore_loader():
    script = """
        import boto3
        loaders = [boto3.session.Session()._session.get_component("data_loader") for _ in range(2)]
        print(loaders[0] is loaders[1])
        """
    env = {**os.environ, **speed_env()}
    assert env["WEBSTACK_SHARE_BOTOCORE_LOADER"] == "1"
    assert python(script, env).strip() == "True"
    assert python(script, without(env, "WEBSTACK_SHARE_BOTOCORE_LOADER")).strip() == "False"


def test_mitogens_planner_reuses_the_collection_list_the_controller_made_once():
    """Once the collection loader is configured (as ansible-playbook does before it loads the
    strategy), importing Mitogen's planner lists the collections once; each invocation gets the
    same paths the original listing gives, without listing again. The same import loads the
    Jinja filters and tests (builtin and webstack's) that every forked worker would load again."""
    script = f"""
        import json
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
        _AnsibleCollectionFinder(paths=[{str(home.REPO / "collections")!r}])._install()
        import ansible.collections.list as listing
        expected = sorted(path.decode() for path in listing.list_collection_dirs())
        calls = []
        original = listing.list_collection_dirs
        listing.list_collection_dirs = lambda *a, **k: calls.append(1) or original(*a, **k)
        import ansible_mitogen.planner as planner

        class Invocation:
            _extra_sys_paths = set()

        for _ in range(3):
            planner._load_collections(Invocation)
        from ansible.plugins.loader import filter_loader, test_loader
        import sys
        jinja = [
            len(filter_loader._cached_non_collection_wrappers) > 50,
            len(test_loader._cached_non_collection_wrappers) > 50,
            "ansible_collections.webstack.aws.plugins.filter.network" in sys.modules,
            "ansible_collections.webstack.aws.plugins.test.acm" in sys.modules,
        ]
        print(json.dumps([sorted(Invocation._extra_sys_paths) == expected, len(calls), len(expected), jinja]))
        """
    env = {**os.environ, **speed_env()}
    same, listings, collections, jinja = json.loads(python(script, env))
    assert same and listings == 1 and collections > 50
    assert jinja == [True] * 4
    same, listings, _, jinja = json.loads(python(script, without(env, "WEBSTACK_SHARE_CONTROLLER_WORK")))
    assert same and listings == 3
    assert jinja == [False] * 4


def test_the_controller_freezes_its_objects_once_and_its_workers_run_without_the_collector():
    """Two workers forked the way Ansible's strategy forks them: the controller's objects are frozen
    by the first fork (the second freezes nothing more), and each worker reports its collector off."""
    script = """
        import gc, json, multiprocessing
        from ansible.executor.process import worker

        class Worker(worker.WorkerProcess):
            def __init__(self, queue):
                multiprocessing.Process.__init__(self)
                self.queue, self._final_q, self._task = queue, None, None

            def _detach(self):
                pass

            def _run(self):
                self.queue.put(gc.isenabled())

        queue = multiprocessing.get_context("fork").Queue()
        seen = [gc.get_freeze_count()]
        for _ in range(2):
            w = Worker(queue)
            w.start()
            w.join()
            seen.append(gc.get_freeze_count())
        workers = [queue.get(timeout=30) for _ in range(2)]
        print(json.dumps({"frozen": seen, "worker_gc": workers, "controller_gc": gc.isenabled()}))
        """
    env = {**os.environ, **speed_env()}
    assert env["WEBSTACK_FREEZE_GC"] == "1"
    on = json.loads(python(script, env))
    assert on["frozen"][0] == 0 and on["frozen"][1] > 10_000 and on["frozen"][2] <= on["frozen"][1], on
    assert on["worker_gc"] == [False, False] and on["controller_gc"], on
    off = json.loads(python(script, without(env, "WEBSTACK_FREEZE_GC")))
    assert off["frozen"] == [0, 0, 0] and off["worker_gc"] == [True, True], off
