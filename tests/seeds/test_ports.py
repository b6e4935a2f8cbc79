"""Every seed port builds, reads back its writes sequentially, and persists them.

Run on the scripted environment (tests/seeds/scripted_env.py): sequential, no faults. The
mistakes are in test_mistakes.py.
"""

from __future__ import annotations

import pytest

from implementations.seeds import SYSTEMS, find, load_factory

from .scripted_env import ScriptedEnv

MEMORY = [row.factory for row in SYSTEMS if row.backend == "memory"]
REDIS = [row.factory for row in SYSTEMS if row.backend == "redis"]


def _quiesce(env: ScriptedEnv, subject: object) -> None:
    """Let background work finish: the seeds' intervals are all at most 5 s."""
    env.advance(30.0)
    flush = getattr(subject, "flush", None)
    if flush is not None:
        flush()


@pytest.mark.parametrize("factory", MEMORY)
def test_sequential_writes_read_back_and_reach_the_db(factory: str) -> None:
    env = ScriptedEnv()
    subject = load_factory(factory)(env)
    assert subject.read("k") is None
    subject.write("k", "v1")
    assert subject.read("k") == "v1"
    subject.write("k", "v2")
    subject.write("other", "w1")
    assert subject.read("k") == "v2"
    _quiesce(env, subject)
    assert env.db.data == {"k": "v2", "other": "w1"}
    assert subject.read("k") == "v2"
    assert subject.read("other") == "w1"


@pytest.mark.parametrize("factory", MEMORY)
def test_a_read_after_eviction_falls_back_to_the_db(factory: str) -> None:
    env = ScriptedEnv()
    subject = load_factory(factory)(env)
    subject.write("k", "v1")
    _quiesce(env, subject)
    env.cache.data.clear()
    assert subject.read("k") == "v1"


@pytest.mark.parametrize("factory", MEMORY)
def test_close_stops_the_workers(factory: str) -> None:
    env = ScriptedEnv()
    subject = load_factory(factory)(env)
    subject.write("k", "v1")
    close = getattr(subject, "close", None)
    if close is not None:
        close()
    env.advance(60.0)
    assert all(worker.done for worker in env.workers)


@pytest.mark.parametrize("factory", REDIS)
def test_redis_ports_say_which_backend_they_need(factory: str) -> None:
    with pytest.raises(RuntimeError, match="--backend redis"):
        load_factory(factory)(ScriptedEnv())


def test_catalog_is_complete_and_consistent() -> None:
    policies = {"write-through", "write-behind", "write-around", "cache-aside", "read-through"}
    assert {row.seed for row in SYSTEMS} == {"000", "001", "002", "003", "004"}
    assert len({row.factory for row in SYSTEMS}) == len(SYSTEMS)
    for row in SYSTEMS:
        assert row.policy in policies, row
        assert row.backend in {"memory", "redis"}, row
        assert callable(load_factory(row.factory))
    # The list, by name.
    for factory in [
        "poc62:write_through", "poc62:write_behind", "poc62:durable_write_behind",
        "tradeoffs:write_through", "tradeoffs:write_back", "tradeoffs:write_around",
        "dual_ledger:cache_first", "dual_ledger:db_first", "dual_ledger:fail_fast",
        "dual_ledger:db_fallback", "dual_ledger:retry_queue",
        "quick_recap:cache_aside", "quick_recap:read_through", "quick_recap:write_back",
        "millisecond:write_behind", "millisecond:write_behind_redis",
        "poc62:write_through_redis", "poc62:write_behind_redis",
        "poc62:durable_write_behind_redis",
    ]:
        find(f"implementations.seeds.{factory}")
    with pytest.raises(KeyError):
        find("implementations.seeds.poc62:nope")


def test_sections_cited_in_the_catalog_exist_in_the_seeds() -> None:
    from pathlib import Path

    seeds = Path("/work/shared/seeds")
    if not seeds.is_dir():
        pytest.skip("the seed documents are not on this machine")
    for row in SYSTEMS:
        text = (seeds / row.seed_file).read_text(encoding="utf-8", errors="replace")
        # A section is "Heading / Subheading" or "Heading; Other heading (note)".
        for part in row.section.replace(";", "/").split("/"):
            heading = part.split("(")[0].strip()
            assert heading in text, (row.factory, heading)
