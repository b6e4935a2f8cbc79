"""The replayable scenario format ``cache-conformance/scenario@1``: its names and its rules.

A scenario is a refuting trace of a protocol model written as data: each client's
operations, a schedule of store calls (who makes the next one) and the faults between
them. proofs/ writes it (``prove --scenarios``), the harness replays it (``check TARGET
--scenario FILE``); both read it through :func:`parse`, which is pure: it validates a
decoded JSON value and never touches a file.

    >>> from model.scenario_format import FORMAT, parse
    >>> data = {"format": FORMAT, "policy": "write-around",
    ...         "initial": {"db": {"k": "v0"}, "cache": {"k": "v0"}},
    ...         "clients": {"c0": [{"op": "write", "key": "k", "value": "v1"},
    ...                            {"op": "read", "key": "k"}]},
    ...         "schedule": ["c0", "c0"], "faults": [],
    ...         "expect": {"clause": "linearizable-reads", "note": ""}}
    >>> parse(data) is data
    True
"""

from __future__ import annotations

from typing import Any

from model.policies import POLICIES as _POLICY_TABLE
from model.vocabulary import (
    CRASH,
    DELETE,
    FLUSH,
    KEYED_OPERATIONS,
    OPERATIONS,
    STORE_FAULTS,
    WRITE,
)

__all__ = ["CLOCK_ADVANCE", "FAULTS", "FORMAT", "KEY", "OPS", "POLICIES", "ScenarioError", "parse"]

FORMAT = "cache-conformance/scenario@1"
#: The models are per key; one key is enough to show every violation they find.
KEY = "k"
#: Every name a scenario may give its policy (aliases included).
POLICIES = tuple(name for p in _POLICY_TABLE.values() for name in (p.name, *p.aliases))
#: Every operation but delete: the protocol models (model/protocols) have not learned it.
OPS = tuple(o for o in OPERATIONS if o != DELETE)
#: The scenario's name for a clock advance past every TTL (the harness's fault "clock").
CLOCK_ADVANCE = "clock-advance"
#: The fault model's store faults, a clock advance, an application crash, and a flush
#: request. Names in files written with this format: append, never rename.
FAULTS = (*STORE_FAULTS, CLOCK_ADVANCE, CRASH, FLUSH)


class ScenarioError(ValueError):
    """A scenario that does not follow the format (one line, naming where)."""


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ScenarioError(message)


def parse(data: Any, source: str = "scenario") -> dict[str, Any]:
    """Validate a decoded scenario; returns it unchanged.

    Args:
        data: the decoded JSON value.
        source: how error messages name it (a file name).

    Raises:
        ScenarioError: the first rule it breaks, as one line.
    """
    _require(isinstance(data, dict), f"{source}: expected a JSON object")
    _require(data.get("format") == FORMAT,
             f"{source}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    _require(data.get("policy") in POLICIES,
             f"{source}: unknown policy {data.get('policy')!r}; known: {', '.join(POLICIES)}")
    initial = data.get("initial")
    _require(isinstance(initial, dict) and all(
        isinstance(initial.get(s), dict) for s in ("db", "cache")),
        f"{source}: 'initial' must map 'db' and 'cache' to objects")
    clients = data.get("clients")
    _require(isinstance(clients, dict) and clients, f"{source}: 'clients' must be a non-empty object")
    for name, ops in clients.items():
        _require(isinstance(ops, list), f"{source}: clients[{name!r}] must be a list")
        for i, op in enumerate(ops):
            where = f"{source}: clients[{name!r}][{i}]"
            _require(isinstance(op, dict) and op.get("op") in OPS,
                     f"{where}: 'op' must be one of {', '.join(OPS)}")
            if op["op"] in KEYED_OPERATIONS:
                _require(isinstance(op.get("key"), str), f"{where}: missing string 'key'")
            if op["op"] == WRITE:
                _require(isinstance(op.get("value"), str), f"{where}: missing string 'value'")
    schedule = data.get("schedule")
    _require(isinstance(schedule, list) and all(c in clients for c in schedule),
             f"{source}: 'schedule' must list client names that appear in 'clients'")
    faults = data.get("faults")
    _require(isinstance(faults, list), f"{source}: 'faults' must be a list")
    for i, f in enumerate(faults):
        _require(isinstance(f, dict) and f.get("fault") in FAULTS,
                 f"{source}: faults[{i}]: 'fault' must be one of {', '.join(FAULTS)}")
        step = f.get("before_step")
        _require(isinstance(step, int) and not isinstance(step, bool)
                 and 0 <= step <= len(schedule),
                 f"{source}: faults[{i}]: 'before_step' must be an integer in 0..{len(schedule)}")
    expect = data.get("expect")
    _require(isinstance(expect, dict) and isinstance(expect.get("clause"), str),
             f"{source}: 'expect' must be an object with a string 'clause'")
    return data
