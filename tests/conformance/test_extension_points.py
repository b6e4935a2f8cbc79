"""The harness's extension points: the Backend protocol, the step hook interceptors call, and
the one builder of the printed `Run(...)` line."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import Crashed, Run, StoreUnavailable
from conformance.backend import Backend, MemoryBackend, Stores
from conformance.env import Environment
from conformance.script import Expr, RunLine, parse, render, step
from conformance.stores import MemoryCache, MemoryDB, MemoryQueues


class CountingBackend(Backend):
    """A third party's backend: the in-memory stores, and a raw client of its own in env."""

    name = "counting"

    def __init__(self) -> None:
        self.opened = self.closed_stores = 0
        self.bound: list[Environment] = []

    def open(self, clock: Any) -> Stores:
        self.opened += 1
        cache = MemoryCache(clock)

        def close() -> None:
            self.closed_stores += 1

        return Stores(cache=cache, db=MemoryDB(), queues=MemoryQueues(), extras={"raw_client": cache}, close=close)

    def bind(self, environment: Environment) -> None:
        self.bound.append(environment)


def test_a_backend_is_a_protocol_with_defaults_for_its_optional_hooks():
    assert isinstance(MemoryBackend(), Backend)
    memory = MemoryBackend()
    assert memory.name == "memory" and tuple(memory.warnings) == ()
    memory.bind(None)  # type: ignore[arg-type] - the default hook does nothing
    memory.close()


def test_a_run_opens_binds_and_closes_its_backend_through_the_protocol():
    backend = CountingBackend()
    run = Run("implementations.memory:write_through", "write-through", backend=backend)
    try:
        assert backend.opened == 1 and backend.bound == [run.env]
        assert run.instance.env.raw_client is run.env.raw_cache
        assert "backend=counting" in repr(run.instance.env)
        run.write("k0", "v1")
        run.finish()
    finally:
        run.close()
    assert backend.closed_stores == 1


class Intercepted:
    """A client of the subject's own that the harness intercepts through the step hook,
    as an interceptor of redis-py or a DB-API client would."""

    def __init__(self, env: Any, environment: Environment) -> None:
        self.environment = environment
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        self.environment.step("own", "GET", key)
        if self.environment.faults.cache_down:
            raise StoreUnavailable("cache is down (injected fault)")
        return self.data.get(key)


def test_the_step_hook_counts_traces_schedules_and_unwinds_a_crash():
    env_holder: dict[str, Any] = {}

    class Subject:
        def __init__(self, env: Any) -> None:
            self.client = Intercepted(env, env_holder["environment"])
            self.env = env

        def write(self, key: str, value: str) -> None:
            self.env.db.put(key, value)

        def read(self, key: str) -> str | None:
            self.client.get(key)
            return self.env.db.get(key)

    class Hooked(Backend):
        name = "hooked"

        def open(self, clock: Any) -> Stores:
            return MemoryBackend().open(clock)

        def bind(self, environment: Environment) -> None:
            env_holder["environment"] = environment

    run = Run(Subject, "write-through", backend=Hooked())
    try:
        before = run.env.steps
        run.read("k0")
        assert run.env.steps == before + 2  # the intercepted GET and db.get
        assert [t[1:] for t in run.env.trace[-2:]] == [("c0", "own", "GET", "k0"), ("c0", "db", "get", "k0")]
        # In a batch each intercepted call is a scheduling point: two reads interleave there.
        taken = run.concurrent([("c0", "read", "k0"), ("c1", "read", "k0")], schedule=["c0", "c1", "c0", "c1"])
        assert taken[:4] == ["c0", "c1", "c0", "c1"]
        # A crashed instance's thread unwinds at the hook.
        run.instance.crashed = True
        from conformance.calls import context

        context.instance = run.instance
        try:
            with pytest.raises(Crashed):
                run.env.step("own", "GET", "k0")
        finally:
            context.instance = None
    finally:
        run.close()


def test_the_run_line_takes_the_backend_and_options_as_data():
    line = RunLine(target="m:f", policy="write-through",
                   options=(("keys", ("k0",)),
                            ("backend", Expr("RedisBackend(database='sqlite')",
                                             ("from conformance.backends.harness import RedisBackend",)))))
    script = render(line, [step("write", "k0", "v1", client="c1"), step("flush"), step("fault", "db-timeout", applied=True)])
    assert script == (
        "from conformance import Run\n"
        "from conformance.backends.harness import RedisBackend\n"
        "\n"
        "run = Run('m:f', policy='write-through', keys=('k0',), backend=RedisBackend(database='sqlite'))\n"
        "run.write('k0', 'v1', client='c1')\n"
        "run.flush()\n"
        "run.fault('db-timeout', applied=True)"
    )


def test_a_printed_run_reads_back_as_it_was_written():
    run = Run("implementations.memory:write_through", "write-through", keys=("a", "b"), initial={"a": "x"})
    try:
        run.write("a", "v1", client="c1")
        run.fault("evict", "a")
        run.concurrent([("c0", "read", "a"), ("c1", "write", "b", "v2")], wake=True)
        run.advance(5.0)
    finally:
        run.close()
    parsed = parse(run.script(), "printed")
    assert parsed["header"] == {"args": ["implementations.memory:write_through"],
                                "kwargs": {"policy": "write-through", "keys": ("a", "b"), "initial": {"a": "x"}}}
    assert [c[0] for c in parsed["calls"]] == ["write", "fault", "concurrent", "advance"]
    assert parsed["calls"][2][2]["wake"] is True
