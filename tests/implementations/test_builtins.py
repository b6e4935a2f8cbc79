"""The built-in implementations conform to their policies under every fault of the fault
model (the proof that the contracts are satisfiable), plus scripted checks of the
write-behind mechanics the contract alone does not pin down (batching, coalescing,
recovery)."""

from __future__ import annotations

import pytest

from conformance import run_check
from implementations import memory
from tests.implementations.interleave import Stores

BUILTINS = sorted(memory.FACTORIES.items())


def _conforms(name: str, policy: str, seed: int) -> None:
    report = run_check(f"implementations.memory:{name}", policy, seed=seed)
    assert report.verdict.status == "CONFORMS", report.render()
    assert report.examples >= 200  # the full default budget ran: no early stop counted as a pass


@pytest.mark.parametrize("name,policy", [(n, p) for n, (p, _) in BUILTINS], ids=[n for n, _ in BUILTINS])
def test_builtin_conforms(name: str, policy: str) -> None:
    _conforms(name, policy, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name,policy", [(n, p) for n, (p, _) in BUILTINS], ids=[n for n, _ in BUILTINS])
def test_builtin_conforms_on_more_seeds(name: str, policy: str, seed: int) -> None:
    _conforms(name, policy, seed=seed)


def test_every_cache_entry_has_a_ttl() -> None:
    s = Stores()
    subjects = [f(s.env()) for _, (_, f) in BUILTINS]
    for i, sub in enumerate(subjects):
        sub.write(f"k{i}", f"v{i}")
        sub.read(f"k{i}")
        sub.read(f"absent{i}")
    assert s.cache.entries()
    assert all(expires is not None for _, expires in s.cache.entries().values())


def test_write_around_exposes_its_fill_ttl() -> None:
    sub = memory.write_around(Stores().env())
    assert sub.fill_ttl == sub.ttl > 0


def test_write_behind_coalesces_and_batches() -> None:
    s = Stores()
    batches: list[list[tuple]] = []
    put_many = s.db.put_many
    s.db.put_many = lambda items: (batches.append(list(items)), put_many(items))[1]
    sub = memory.WriteBehind(s.env(), batch_size=2)
    for i in range(10):
        sub.write("hot", f"h{i}")
    for k in ("a", "b", "c"):
        sub.write(k, k.upper())
    assert s.db.get("hot") is None  # acknowledged, not yet persisted
    assert sub.read("hot") == "h9"
    sub.flush()
    assert [len(b) for b in batches] == [2, 2]  # 4 keys, batch_size 2: ten writes of "hot" cost one item
    assert s.db.snapshot() == {"hot": "h9", "a": "A", "b": "B", "c": "C"}


def test_write_behind_read_sees_pending_write_after_eviction() -> None:
    s = Stores()
    sub = memory.write_behind(s.env())
    s.db.put("k", "old")
    sub.write("k", "new")
    s.cache.evict("k")
    assert sub.read("k") == "new"


def test_write_behind_failed_cache_update_is_not_served_after_flush() -> None:
    s = Stores()
    sub = memory.write_behind(s.env())
    sub.write("k", "old")
    sub.flush()
    s.faults.cache_down = True
    sub.write("k", "new")  # acknowledged; the cache still holds "old"
    s.faults.cache_down = False
    sub.flush()
    assert s.cached("k") == "old"
    assert sub.read("k") == "new"  # the suspect entry is repaired, not served


def test_write_behind_worker_flushes_on_its_interval() -> None:
    s = Stores()
    sub = memory.WriteBehind(s.env(), interval=2.0)
    workers = s.environment.workers
    workers.run_due()  # the worker starts and sleeps for one interval
    sub.write("k", "v")
    s.clock.advance(1.0)
    workers.run_due()
    assert s.db.get("k") is None
    s.clock.advance(1.0)
    workers.run_due()
    assert s.db.get("k") == "v"


def test_durable_write_behind_recovers_pending_writes_in_order() -> None:
    s = Stores()
    sub = memory.durable_write_behind(s.env(0))
    assert sub.durable is True
    sub.write("k", "a")
    sub.write("k", "b")
    sub.write("j", "x")
    del sub  # crash: memory gone, queue kept
    recovered = memory.durable_write_behind(s.env(0))
    assert recovered.read("k") == "b"
    recovered.flush()
    assert s.db.snapshot() == {"k": "b", "j": "x"}
    assert len(s.queues("write-behind:0")) == 0


def test_durable_recovery_waits_for_an_unreachable_queue() -> None:
    s = Stores()
    memory.durable_write_behind(s.env(0)).write("k", "a")
    s.faults.cache_down = True  # the queue lives with the cache server
    recovered = memory.durable_write_behind(s.env(0))  # must not raise
    with pytest.raises(ConnectionError):
        recovered.read("k")  # refuses to answer without the pending writes
    s.faults.cache_down = False
    assert recovered.read("k") == "a"


def test_durable_write_is_not_acknowledged_when_the_queue_is_down() -> None:
    s = Stores()
    sub = memory.durable_write_behind(s.env(0))
    s.faults.cache_down = True
    with pytest.raises(ConnectionError):
        sub.write("k", "a")
    s.faults.cache_down = False
    sub.flush()
    assert sub.read("k") is None and s.db.get("k") is None
