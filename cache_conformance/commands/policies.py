"""`cache-conformance policies`: every policy, its aliases, clauses and faults, then every
clause a verdict can name, with its full statement."""

from __future__ import annotations

import argparse
from typing import TextIO

from cache_conformance.command import Command

__all__ = ["COMMANDS"]


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from model import POLICIES
    from model.clauses import CLAUSES

    for p in POLICIES.values():
        alias = f" (alias: {', '.join(p.aliases)})" if p.aliases else ""
        print(f"{p.name}{alias}: {p.summary}", file=out)
        for c in p.clauses:
            print(f"  - {c.id}: {c.title}", file=out)
        print(f"  faults: {', '.join(p.faults)}", file=out)
    # From the clause table itself, not from the policies: a verdict can name any clause
    # there (liveness and subject-error belong to no policy's semantics but every check's).
    print("\nclauses (what a verdict names):", file=out)
    for c in CLAUSES.values():
        print(f"  {c.id}: {c.title}\n      {c.text}", file=out)
    return 0


COMMANDS = (Command("policies", "list the policies, their clauses and faults, and every clause", run),)
