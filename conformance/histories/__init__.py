"""Histories recorded elsewhere, checked offline by the same contracts (docs/HISTORY.md).

Formats: this project's JSON Lines schema (`schema`, version 1; `check --record` writes
it), Jepsen's EDN register histories (`edn`), and a JSON form of Porcupine's operations
(`porcupine`). `source.HistorySource` reads any of them as a stream of `model.events`;
`check.check_file` checks one against a policy and, on VIOLATES, finds a 1-minimal
failing sub-history of the violating key (`shrink.ddmin`); `window` cuts a long history
to the part of it a timeline can draw legibly.

This package's `__init__` imports nothing: `conformance.timeline` uses `window` without
loading the rest.
"""

__all__: list[str] = []
