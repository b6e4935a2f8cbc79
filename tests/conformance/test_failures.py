"""The one classifier of exceptions escaping a subject (conformance.failures): a store failure
the harness injected, or the subject's own error; and every path that runs subject code
(a sequential call, a client of a batch, a background worker) judging by it."""

from __future__ import annotations

import pytest

from conformance import Run, StoreTimeout, StoreUnavailable
from conformance.errors import Crashed
from conformance.failures import Failure, chain, classify, injected, is_injected


class RedisConnectionError(Exception):
    """Like redis.exceptions.ConnectionError: not a builtin ConnectionError."""


class OperationalError(Exception):
    """Like a DB-API (or SQLAlchemy) OperationalError."""


def _raise_wrapped(inner: BaseException, outer: type[BaseException], *, explicit: bool) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as e:
            if explicit:
                raise outer("wrapped") from e
            raise outer("while handling it")  # noqa: B904 - the implicit __context__ is the point
    except BaseException as wrapped:  # noqa: BLE001
        return wrapped


def test_the_harness_store_errors_are_store_failures():
    assert classify(StoreUnavailable("cache is down")) is Failure.STORE
    assert classify(StoreTimeout("db timed out")) is Failure.STORE


def test_a_client_library_error_caused_by_the_injected_error_is_a_store_failure():
    # redis-py's own error type, raised `from` the StoreTimeout the harness injected.
    error = _raise_wrapped(StoreTimeout("injected"), RedisConnectionError, explicit=True)
    assert not isinstance(error, (ConnectionError, TimeoutError))
    assert classify(error) is Failure.STORE
    # ... and raised while handling it (the implicit __context__), as redis-py does.
    assert classify(_raise_wrapped(StoreUnavailable("injected"), RedisConnectionError, explicit=False)) is Failure.STORE


def test_an_error_marked_injected_is_a_store_failure_by_identity_not_by_type():
    ours = injected(RedisConnectionError("cache is down (injected fault)"))
    assert is_injected(ours) and classify(ours) is Failure.STORE
    # The same type, not raised by the harness: the subject's.
    assert classify(RedisConnectionError("the subject's own")) is Failure.SUBJECT
    # SQLAlchemy-style wrapping of a DB-API error the harness injected, two links down.
    dbapi = injected(OperationalError("database is down (injected fault)"))
    wrapped = _raise_wrapped(dbapi, OperationalError, explicit=True)
    assert classify(_raise_wrapped(wrapped, RuntimeError, explicit=True)) is Failure.STORE


def test_a_subject_own_builtin_connection_error_counts_as_a_store_failure():
    # The fallback rule: the env contract promises subjects ConnectionError/TimeoutError,
    # and every such error counted as a store failure before the classifier existed.
    assert classify(ConnectionError("the subject's own socket")) is Failure.STORE
    assert classify(TimeoutError("the subject's own timeout")) is Failure.STORE
    # Only at the top: a wrapped builtin the harness never injected is the subject's error.
    assert classify(_raise_wrapped(ConnectionError("own"), ValueError, explicit=True)) is Failure.SUBJECT


def test_subject_errors_and_a_suppressed_context():
    assert classify(KeyError("k0")) is Failure.SUBJECT
    # `raise ... from None` says "not caused by that": the chain stops there.
    try:
        try:
            raise StoreUnavailable("injected")
        except ConnectionError:
            raise ValueError("a bug in the handler") from None
    except ValueError as e:
        assert classify(e) is Failure.SUBJECT
        assert list(chain(e)) == [e]


def test_a_cycle_in_the_chain_ends_and_harness_signals_are_refused():
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert classify(a) is Failure.SUBJECT
    with pytest.raises(TypeError):
        classify(Crashed())


def test_the_redis_backend_translation_stays_a_store_failure():
    redis = pytest.importorskip("redis")
    from conformance.backends.client import translate_errors

    def refused() -> None:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def lost() -> None:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    for call, expected in ((refused, StoreUnavailable), (lost, StoreTimeout)):
        with pytest.raises(expected) as info:
            translate_errors(call)
        assert classify(info.value) is Failure.STORE


# ---- every path judges by it ------------------------------------------------------------


class CacheDown(Exception):
    """A subject's own exception type for a store failure."""


class WrappingWriteThrough:
    """Correct write-through, except that it reports store failures as its own CacheDown."""

    def __init__(self, env):
        self.env = env

    def write(self, key, value):
        try:
            self.env.db.put(key, value)
            self.env.cache.set(key, value)
        except (ConnectionError, TimeoutError) as e:
            raise CacheDown(f"write of {key!r} failed") from e

    def read(self, key):
        try:
            value = self.env.cache.get(key)
            if value is None:
                value = self.env.db.get(key)
            return value
        except (ConnectionError, TimeoutError) as e:
            raise CacheDown(f"read of {key!r} failed") from e


def test_a_sequential_write_that_wraps_the_injected_failure_is_failed_not_a_subject_error():
    run = Run(WrappingWriteThrough, "write-through")
    try:
        run.fault("db-down")
        run.write("k0", "v1")
        assert run.indeterminate == {"k0": 1}
        assert "CacheDown: write of 'k0' failed" in run.events[-2].error  # the Fail, before the DB observation
        run.fault("db-up")
        run.finish()
    finally:
        run.close()


def test_a_batch_client_that_wraps_the_injected_failure_is_failed_not_a_subject_error():
    run = Run(WrappingWriteThrough, "write-through")
    try:
        run.fault("db-down")
        run.concurrent([("c0", "write", "k0", "v1"), ("c1", "read", "k0")])
        fails = [e for e in run.events if type(e).__name__ == "Fail"]
        assert len(fails) == 2 and all("CacheDown" in f.error for f in fails)
        run.fault("db-up")
        run.finish()
    finally:
        run.close()


class FlushingWorker:
    """A write-behind whose worker dies on a store failure it reports as its own error."""

    durable = False

    def __init__(self, env):
        self.env = env
        self.pending: dict[str, str] = {}
        env.spawn(self._loop)

    def _loop(self):
        while True:
            self.env.clock.sleep(1.0)
            try:
                self.flush()
            except (ConnectionError, TimeoutError) as e:
                raise CacheDown("the flusher gives up") from e

    def write(self, key, value):
        self.pending[key] = value

    def read(self, key):
        return self.pending.get(key, self.env.db.get(key))

    def flush(self):
        if self.pending:
            self.env.db.put_many(list(self.pending.items()))
            self.pending.clear()


def test_a_worker_ended_by_a_wrapped_store_failure_is_not_a_subject_error():
    run = Run(FlushingWorker, "write-behind")
    try:
        run.write("k0", "v1")
        run.fault("db-down")
        run.advance(1.0)  # the worker's flush fails and it ends: no subject-error
        assert [name for name, _ in run.env.workers.errors] == ["worker0@0"]
    finally:
        run.close()


class _GivesUp:
    """A subject whose write raises the harness's own UNKNOWN signal, as the exec bridge
    does when a subject process answers one conversation two ways."""

    def __init__(self, env):
        self.env = env

    def write(self, key, value):
        from conformance.errors import Inconclusive

        self.env.cache.get(key)
        raise Inconclusive("the subject diverged from its earlier run")

    def read(self, key):
        return self.env.cache.get(key)


def test_harness_verdict_raised_in_a_batch_client_is_not_a_subject_error():
    """Inside a concurrent batch, Inconclusive (UNKNOWN) escaping a client's call stays
    Inconclusive: it is the harness's verdict, never the subject's error (VIOLATES)."""
    from conformance.errors import Inconclusive

    run = Run(_GivesUp, "write-through")
    try:
        with pytest.raises(Inconclusive, match="diverged"):
            run.concurrent([("c0", "write", "k0", "v1"), ("c1", "read", "k0")])
    finally:
        run.close()
