"""Subjects in any language: a process that speaks the subject protocol (newline-delimited
JSON on stdin/stdout, docs/PROTOCOL.md) is checked like a Python subject, with every store
access a request the harness answers when its scheduler lets that step happen.

    from conformance import run_check
    from conformance.exec import exec_factory

    with exec_factory("node clients/node/examples/write_through.js") as factory:
        print(run_check(factory, policy="write-through").render())

Reference client libraries: clients/node, clients/java, clients/go.
"""

from conformance.exec.factory import (
    DEFAULT_START_TIMEOUT,
    EXEC_PREFIX,
    ExecFactory,
    close_all,
    exec_factory,
    load_exec_target,
)
from conformance.exec.proxy import ExecSubject
from conformance.exec.wire import PROTOCOL_VERSION, ExecStartError, ProtocolError, RemoteError

__all__ = [
    "exec_factory", "ExecFactory", "ExecSubject", "load_exec_target", "close_all",
    "ExecStartError", "ProtocolError", "RemoteError",
    "PROTOCOL_VERSION", "EXEC_PREFIX", "DEFAULT_START_TIMEOUT",
]
