"""The `Run(...)` line of a printed counterexample carries its backend: the in-memory default
prints none, a backend that cannot be rebuilt from text prints a call that says what to
pass instead. (Redis and PostgreSQL scripts run as printed: tests/redis/test_conformance.py.)"""

from __future__ import annotations

import pytest

from conformance import Run
from conformance.backend import Backend, MemoryBackend, Stores, backend_expression
from conformance.errors import ContractViolation, UsageError
from conformance.replay import replay
from conformance.script import Expr, RunLine, parse, render, step
from conformance.stores import MemoryCache, MemoryDB, MemoryQueues



class SwallowsDbErrors:
    """Cache first, DB errors ignored: a phantom write under db-down."""

    def __init__(self, env):
        self.env = env

    def write(self, key, value):
        self.env.cache.set(key, value)
        try:
            self.env.db.put(key, value)
        except (ConnectionError, TimeoutError):
            pass

    def read(self, key):
        cached = self.env.cache.get(key)
        return cached if cached is not None else self.env.db.get(key)


PHANTOM = "tests.conformance.test_backend_line:SwallowsDbErrors"


class Mine(Backend):
    """A third party's backend: nothing says how to build it from a line of text."""

    name = "mine"

    def open(self, clock):
        return Stores(cache=MemoryCache(clock), db=MemoryDB(), queues=MemoryQueues())


class Duck:
    """A backend by the protocol's required part only (no name, no expression)."""

    def open(self, clock):
        return Stores(cache=MemoryCache(clock), db=MemoryDB(), queues=MemoryQueues())


def _script(backend):
    run = Run("implementations.memory:write_through", "write-through", backend=backend)
    try:
        run.write("k0", "v1")
        return run.script()
    finally:
        run.close()


def test_the_in_memory_default_prints_no_backend():
    assert "backend=" not in _script(MemoryBackend()) and "backend=" not in _script(None)
    assert backend_expression(MemoryBackend()) is None


def test_a_backend_no_line_can_rebuild_says_what_to_pass_instead():
    script = _script(Mine())
    assert "from conformance.backend import needs_backend" in script
    assert "# the check ran on the 'mine' backend: pass that Backend object as backend=" in script
    assert "backend=needs_backend('mine'))" in script
    with pytest.raises(UsageError) as caught:
        exec(compile(script, "<counterexample>", "exec"), {})
    assert str(caught.value) == (
        "this counterexample ran on the 'mine' backend, which its script cannot rebuild: replace "
        "backend=needs_backend('mine') in its Run(...) line with that Backend object (as passed "
        "to run_check or Run)")
    # pasted with the backend object put back, it runs
    namespace = {"Mine": Mine}
    exec(compile(script.replace("needs_backend('mine')", "Mine()"), "<edited>", "exec"), namespace)
    assert namespace["run"].lines == ["write('k0', 'v1')"]
    namespace["run"].close()


def test_a_backend_without_expression_is_named_by_its_type():
    assert backend_expression(Duck()).text == "needs_backend('Duck')"


def test_a_line_with_a_backend_parses_without_running_it():
    line = RunLine(target=PHANTOM, policy="write-through",
                   options=(("backend", Expr("RedisBackend(redis_url=os.environ['REDIS_URL'])",
                                             ("from conformance.backends.harness import RedisBackend",
                                              "import os"), ("set REDIS_URL to ...",))),))
    text = render(line, [step("fault", "db-down"), step("write", "k0", "v1")])
    assert text.splitlines()[:5] == [
        "from conformance import Run", "from conformance.backends.harness import RedisBackend",
        "import os", "", "# set REDIS_URL to ..."]
    parsed = parse(text, "printed")
    assert parsed["header"] == {"args": [PHANTOM], "kwargs": {"policy": "write-through"},
                                "backend": "RedisBackend(redis_url=os.environ['REDIS_URL'])"}
    # replayed on the in-memory stores: it says where the script ran and where it replays
    report = replay(PHANTOM, None, parsed)
    assert report.verdict.status == "VIOLATES", report.render()
    assert "the script ran on RedisBackend(redis_url=os.environ['REDIS_URL']), replayed on the " \
           "in-memory stores" in (report.note or "")


def test_only_backend_may_be_source_text():
    line = RunLine(target=PHANTOM, policy="write-through", options=(("keys", Expr("KEYS")),))
    with pytest.raises(UsageError, match="line 3: not a step"):
        parse(render(line, [step("write", "k0", "v1")]), "printed")


def test_a_memory_counterexample_still_runs_as_printed():
    run = Run(PHANTOM, "write-through")
    try:
        run.fault("db-down")
        with pytest.raises(ContractViolation) as caught:
            run.write("k0", "v1")
            run.finish()
    finally:
        run.close()
    with pytest.raises(ContractViolation):
        exec(compile(caught.value.script, "<counterexample>", "exec"), {})
