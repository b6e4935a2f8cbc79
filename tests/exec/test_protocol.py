"""The wire format and the determinism oracle, without a process."""

from __future__ import annotations

import pytest

from conformance.exec.link import Transcripts, freeze_args
from conformance.exec.wire import Capabilities, ProtocolError, check_args, decode, encode, raise_failure
from conformance import StoreTimeout, StoreUnavailable


def test_messages_are_one_line_of_json_each_way():
    line = encode({"type": "result", "id": 3, "value": "v\n1 é"})
    assert line == '{"type":"result","id":3,"value":"v\\n1 é"}\n'.encode()
    assert decode(line[:-1]) == {"type": "result", "id": 3, "value": "v\n1 é"}
    for bad, why in ((b"hello", "not JSON: 'hello'"), (b"[1]", "which is not a message"),
                     (b'{"id": 1}', "which is not a message")):
        with pytest.raises(ProtocolError, match=why):
            decode(bad)


@pytest.mark.parametrize("target, args, why", [
    ("cache.scan", {}, "not a store request"),
    ("cache.set", {"key": "k0"}, r"cache.set needs args.value to be a string, got None"),
    ("db.put", {"key": "k0", "value": "v", "version": 1.5}, "an integer or null"),
    ("db.put_many", {"items": [["k0"]]}, "a list of"),
    ("clock.sleep", {"seconds": "1"}, "a number"),
])
def test_requests_are_checked_against_the_targets(target, args, why):
    with pytest.raises(ProtocolError, match=why):
        check_args(target, args)


def test_valid_requests_pass():
    assert check_args("cache.cas", {"key": "k", "expected": None, "value": "v", "ttl": None})
    assert check_args("db.put_many", {"items": [["k", "v"], ["j", "w", 3]]})
    assert check_args("clock.now", None) == {}


def test_failures_cross_the_wire_as_the_contracts_errors():
    with pytest.raises(StoreUnavailable, match="db down"):
        raise_failure("unavailable", "db down")
    with pytest.raises(StoreTimeout):
        raise_failure("timeout", "")
    with pytest.raises(Exception) as e:
        raise_failure("subject", "boom (at X.java:3)", "NullPointerException")
    assert type(e.value).__name__ == "NullPointerException" and str(e.value) == "boom (at X.java:3)"
    with pytest.raises(ProtocolError, match="unknown kind 'oops'"):
        raise_failure("oops", "")


def test_capabilities_are_read_from_the_hello():
    caps = Capabilities({"type": "hello", "protocol": 1, "capabilities": {"flush": True, "durable": True, "fill_ttl": 30}})
    assert (caps.flush, caps.delete, caps.durable, caps.workers, caps.fill_ttl) == (True, False, True, False, 30)
    with pytest.raises(ProtocolError, match="fill_ttl must be a positive number"):
        Capabilities({"capabilities": {"fill_ttl": -1}})
    assert not caps.crash_by_reset  # a crash kills the process unless the subject says otherwise
    assert Capabilities({"capabilities": {"crash_by_reset": True}}).crash_by_reset
    with pytest.raises(ProtocolError, match="crash_by_reset must be true or false"):
        Capabilities({"capabilities": {"crash_by_reset": "yes"}})


def test_the_oracle_flags_a_conversation_answered_two_ways():
    oracle = Transcripts()
    said = ("call", 0, "cache.get", freeze_args({"key": "k0"}))
    assert oracle.check(42, said) is None
    assert oracle.check(42, said) is None  # the same again: deterministic
    other = ("call", 0, "db.get", freeze_args({"key": "k0"}))
    assert oracle.check(42, other) == said
    assert freeze_args({"items": [["k", "v"]]}) == (("items", (("k", "v"),)),)


def test_durable_queue_requests_round_trip(exec_factory):
    # push, peek, len and ack through the wire, under the fault model (the queue lives with
    # the cache: cache-down fails them too, and the write with them).
    from conformance import run_check
    from tests.exec.conftest import stub

    report = run_check(exec_factory(stub("queue")), policy="write-through", examples=10, op_timeout=10)
    assert report.verdict.status == "CONFORMS", report.render()
