"""Minimal embodiments of protocol models (docs/PROOFS.md, "Protocols") that no seed port or
mutant follows call for call.

A proof's refuting trace is a schedule of *store calls* (`prove --scenarios`); replaying it
with `check --scenario` only means something on a subject whose store calls are exactly the
model's steps, in the model's order. Seed ports and mutants embody most protocols already
(tests/loop/ checks the alignment call by call); the factories here cover the rest. Each is
written against the public env contract only (docs/ENVIRONMENT.md), makes one store call per
model step and nothing else, and names its protocol id in its docstring.

    wb-volatile        wb_volatile (durable = False), wb_volatile_declared_durable
    wb-requeue         wb_requeue
    wa-no-invalidate   wa_no_invalidate
    wa-untimed-fill    wa_untimed_fill
"""

from __future__ import annotations

from implementations.protocols.write_around import NoInvalidateWriteAround, wa_no_invalidate, wa_untimed_fill
from implementations.protocols.write_behind import (
    RequeueWriteBehind,
    VolatileWriteBehind,
    wb_requeue,
    wb_volatile,
    wb_volatile_declared_durable,
)

__all__ = [
    "FACTORIES",
    "NoInvalidateWriteAround",
    "RequeueWriteBehind",
    "VolatileWriteBehind",
    "wa_no_invalidate",
    "wa_untimed_fill",
    "wb_requeue",
    "wb_volatile",
    "wb_volatile_declared_durable",
]

#: protocol id -> the `module:factory` that embodies it here (the policy is the model's).
FACTORIES: dict[str, str] = {
    "wb-volatile": "implementations.protocols:wb_volatile_declared_durable",
    "wb-requeue": "implementations.protocols:wb_requeue",
    "wa-no-invalidate": "implementations.protocols:wa_no_invalidate",
    "wa-untimed-fill": "implementations.protocols:wa_untimed_fill",
}
