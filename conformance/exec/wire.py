"""The wire format of the subject protocol (docs/PROTOCOL.md): one JSON object per line,
what each message must hold, and the errors a subject that breaks the protocol gets.

Keys, values and errors are encoded as issue 18's JSON Lines history schema encodes them:
keys and values are JSON strings, an absent value is `null`, times and TTLs are seconds as
JSON numbers, and a store failure is `"unavailable"` (the call did nothing) or
`"timeout"` (it may have taken effect).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.errors import StoreTimeout, StoreUnavailable, UsageError
from conformance.failures import Failure, chain, classify

__all__ = [
    "PROTOCOL_VERSION", "STORE_ERRORS", "TARGETS", "OPERATIONS",
    "ProtocolError", "ExecStartError", "RemoteError",
    "encode", "decode", "store_error_kind", "raise_failure", "Capabilities",
]

PROTOCOL_VERSION = 1

# What a store failure is called on the wire, both ways.
STORE_ERRORS = ("unavailable", "timeout")

# Store requests a subject may make, and their arguments (name -> required JSON type).
TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "cache.get": (("key", "str"),),
    "cache.set": (("key", "str"), ("value", "str"), ("ttl", "num?")),
    "cache.delete": (("key", "str"),),
    "cache.cas": (("key", "str"), ("expected", "str?"), ("value", "str"), ("ttl", "num?")),
    "db.get": (("key", "str"),),
    "db.put": (("key", "str"), ("value", "str"), ("version", "int?")),
    "db.put_many": (("items", "items"),),
    "db.delete": (("key", "str"),),
    "queue.push": (("queue", "str"), ("item", "str")),
    "queue.peek": (("queue", "str"), ("n", "int")),
    "queue.ack": (("queue", "str"), ("n", "int")),
    "queue.len": (("queue", "str"),),
    "clock.now": (),
    "clock.sleep": (("seconds", "num"),),
    "spawn": (),
    "lock": (("lock", "str"),),
    "unlock": (("lock", "str"),),
}

# Operations the harness sends (delete only to a subject whose hello says it has it).
OPERATIONS = ("reset", "write", "read", "delete", "flush", "close")

_MAX_SHOWN = 200


class ProtocolError(Exception):
    """The subject process broke the protocol (a line that is not a message, an answer to
    nothing, an exit): a fault of the subject, judged like any exception it raises.

    Example: ``ProtocolError("the subject sent a line that is not JSON: 'hello'")``.
    """


class ExecStartError(UsageError):
    """The subject process could not be started, or failed the handshake: a usage error
    (one line, exit code 2), since no check can run."""


class RemoteError(Exception):
    """An exception the subject process reported (`failed` with error `subject`, or a worker
    that exited with one). Subclasses are made on the fly, named after the remote
    exception's class, so a report reads `it raised NullPointerException: ...`."""


_remote_classes: dict[str, type[RemoteError]] = {}


def _remote_class(name: Any) -> type[RemoteError]:
    if not isinstance(name, str) or not name.isidentifier() or len(name) > 80:
        return RemoteError
    cls = _remote_classes.get(name)
    if cls is None:
        cls = _remote_classes[name] = type(name, (RemoteError,), {"__module__": "conformance.exec.remote"})
    return cls


def shown(value: Any) -> str:
    """A value for an error message, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + f"... ({len(text)} chars)"


# One encoder and decoder for every message: json.dumps with options builds an encoder per call.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.JSONDecoder().decode


def encode(msg: dict[str, Any]) -> bytes:
    """One message as a line of UTF-8 JSON."""
    return (_dumps(msg) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    """One line from the subject as a message.

    Raises:
        ProtocolError: not JSON, not an object, or without a string `type`.
    """
    try:
        msg = _loads(line.decode())
    except (ValueError, UnicodeDecodeError):
        text = line.decode("utf-8", "replace")
        raise ProtocolError(f"the subject sent a line that is not JSON: {shown(text)} "
                            "(stdout is the protocol's; write logs to stderr)") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError(f"the subject sent {shown(msg)}, which is not a message (an object with a \"type\")")
    return msg


def store_error_kind(e: BaseException) -> str | None:
    """The wire name of a store failure an env call raised, or None if `e` is not one.

    Which exceptions are store failures is `conformance.failures.classify`'s to say, the
    harness's one classifier; of those, one with a timeout in its chain may have taken
    effect (`timeout`), any other did nothing (`unavailable`)."""
    if classify(e) is not Failure.STORE:
        return None
    if any(isinstance(link, TimeoutError) for link in chain(e)):
        return "timeout"
    return "unavailable"


def raise_failure(error: Any, message: Any, exception: Any = None) -> None:
    """Raise what a `failed` answer (or a worker's `exit` with an error) reports."""
    text = message if isinstance(message, str) else ""
    if error == "unavailable":
        raise StoreUnavailable(text or "store unavailable (reported by the subject)")
    if error == "timeout":
        raise StoreTimeout(text or "store timeout (reported by the subject)")
    if error == "subject" or error is None:
        raise _remote_class(exception)(text or "the subject reported a failure without a message")
    raise ProtocolError(f"the subject reported an error of unknown kind {shown(error)} "
                        f"(known: unavailable, timeout, subject): {text}")


def check_args(target: str, args: Any) -> dict[str, Any]:
    """The arguments of a store request, checked against `TARGETS`.

    Raises:
        ProtocolError: an unknown target or a missing or mistyped argument.
    """
    spec = TARGETS.get(target)  # type: ignore[arg-type]
    if spec is None:
        raise ProtocolError(f"the subject asked for {shown(target)}, which is not a store request "
                            f"(known: {', '.join(TARGETS)})")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError(f"the arguments of {target} must be an object, got {shown(args)}")
    for name, kind in spec:
        value = args.get(name)
        if kind.endswith("?"):
            if value is None:
                continue
            kind = kind[:-1]
        if not _is(kind, value):
            what = {"str": "a string", "num": "a number", "int": "an integer",
                    "items": "a list of [key, value] or [key, value, version]"}[kind]
            raise ProtocolError(f"{target} needs args.{name} to be {what}"
                                f"{' or null' if spec and dict(spec)[name].endswith('?') else ''}, got {shown(value)}")
    return args


def _is(kind: str, value: Any) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if kind == "items":
        return isinstance(value, list) and all(
            isinstance(it, list) and len(it) in (2, 3) and isinstance(it[0], str) and isinstance(it[1], str)
            and (len(it) == 2 or it[2] is None or (isinstance(it[2], int) and not isinstance(it[2], bool)))
            for it in value)
    raise AssertionError(kind)


class Capabilities:
    """What a subject's hello declares.

    Attributes:
        flush: it has flush() (the harness draws flushes and flushes before the final check).
        delete: it has delete(key).
        durable: pending writes survive a crash (write-behind).
        fill_ttl: its fill TTL in seconds (bounds write-around staleness), or None.
        workers: it may spawn background workers.
        crash_by_reset: it keeps no state outside what its factory builds (no module-level
            caches, no threads or timers that outlive a reset), so a crash may be a reset
            in the same process, as a Python subject's crash drops its object; otherwise a
            crash kills the process (docs/PROTOCOL.md, Crashes).
        name: how it names itself (for messages).
    """

    __slots__ = ("flush", "delete", "durable", "fill_ttl", "workers", "crash_by_reset", "name")
    FLAGS = ("flush", "delete", "durable", "workers", "crash_by_reset")

    def __init__(self, hello: dict[str, Any]):
        caps = hello.get("capabilities", {})
        if not isinstance(caps, dict):
            raise ProtocolError(f"hello.capabilities must be an object, got {shown(caps)}")
        for flag in self.FLAGS:
            if not isinstance(caps.get(flag, False), bool):
                raise ProtocolError(f"hello.capabilities.{flag} must be true or false, got {shown(caps.get(flag))}")
        self.flush = bool(caps.get("flush", False))
        self.delete = bool(caps.get("delete", False))
        self.durable = bool(caps.get("durable", False))
        self.workers = bool(caps.get("workers", False))
        self.crash_by_reset = bool(caps.get("crash_by_reset", False))
        ttl = caps.get("fill_ttl")
        if ttl is not None and not (_is("num", ttl) and ttl > 0):
            raise ProtocolError(f"hello.capabilities.fill_ttl must be a positive number or null, got {shown(ttl)}")
        self.fill_ttl = ttl
        name = hello.get("subject")
        self.name = name if isinstance(name, str) else None

    def __repr__(self) -> str:
        on = [f for f in self.FLAGS if getattr(self, f)]
        return f"<Capabilities {' '.join(on) or '-'}{f' fill_ttl={self.fill_ttl}' if self.fill_ttl else ''}>"
