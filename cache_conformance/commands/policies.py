"""`cache-conformance policies`: every policy, its aliases, clauses and faults."""

from __future__ import annotations

import argparse
from typing import TextIO

from cache_conformance.command import Command

__all__ = ["COMMANDS"]


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from model import POLICIES

    for p in POLICIES.values():
        alias = f" (alias: {', '.join(p.aliases)})" if p.aliases else ""
        print(f"{p.name}{alias}: {p.summary}", file=out)
        for c in p.clauses:
            print(f"  - {c.id}: {c.text}", file=out)
        print(f"  faults: {', '.join(p.faults)}", file=out)
    return 0


COMMANDS = (Command("policies", "list the policies and their clauses", run),)
