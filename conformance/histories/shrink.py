"""Delta debugging (Zeller and Hildebrandt's ddmin) of a failing history.

The units are what can be left out together: one operation (its invocation and its
completion, or the two halves of a split cas), or one global event (a fault, a crash, a
clock reading, a DB or cache observation). A set of units *fails* when the history of
its events, in their original order, still VIOLATES the same clause on the same key.

The result is 1-minimal: leaving out any one of its units makes the history conform or
break another clause. ddmin ends only when it has tried every single unit's removal at
the finest granularity; `one_minimal` checks that again, unit by unit, and the result
says whether it holds (False only when the budget of checks ran out first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from attrs import frozen

__all__ = ["Budget", "Shrunk", "ddmin", "one_minimal", "OutOfBudget"]

T = TypeVar("T")


class OutOfBudget(Exception):
    pass


class Budget:
    """How many checks (and seconds) delta debugging may spend."""

    def __init__(self, checks: int = 5_000, seconds: float = 20.0):
        self.checks = checks
        self.deadline = time.monotonic() + seconds
        self.used = 0

    def spend(self) -> None:
        if self.used >= self.checks or time.monotonic() > self.deadline:
            raise OutOfBudget
        self.used += 1


@frozen
class Shrunk(Generic[T]):
    """The smallest failing set found, and whether it is 1-minimal (proved)."""

    units: tuple[T, ...]
    minimal: bool
    checks: int


def _memo(fails: Callable[[Sequence[T]], bool], budget: Budget) -> Callable[[Sequence[T]], bool]:
    seen: dict[tuple[int, ...], bool] = {}
    index: dict[int, int] = {}

    def test(units: Sequence[T]) -> bool:
        k = tuple(index.setdefault(id(u), len(index)) for u in units)
        if k not in seen:
            budget.spend()
            seen[k] = fails(units)
        return seen[k]

    return test


def _split(c: list[T], n: int) -> list[list[T]]:
    out, start = [], 0
    for i in range(n):
        end = start + (len(c) - start) // (n - i)
        out.append(c[start:end])
        start = end
    return [s for s in out if s]


def ddmin(units: Sequence[T], fails: Callable[[Sequence[T]], bool], budget: Budget | None = None) -> Shrunk[T]:
    """A 1-minimal failing subsequence of `units` (which must fail), by ddmin.

    Before ddmin proper, a long sequence is cut to its shortest failing suffix of 2^k
    units: a violation usually needs only the operations just before it, and ddmin's
    first rounds over a long history would each cost a check of half of it."""
    budget = budget or Budget()
    test = _memo(fails, budget)
    c = list(units)
    try:
        if len(c) > 64:
            k = 32
            while k < len(c):
                if test(c[-k:]):
                    c = c[-k:]
                    break
                k *= 2
        n = 2
        while len(c) >= 2:
            subsets = _split(c, n)
            for s in subsets:
                if test(s):
                    c, n = s, 2
                    break
            else:
                for i in range(len(subsets)):
                    rest = [u for j, s in enumerate(subsets) if j != i for u in s]
                    if test(rest):
                        c, n = rest, max(n - 1, 2)
                        break
                else:
                    if n >= len(c):
                        break
                    n = min(len(c), 2 * n)
        return Shrunk(tuple(c), one_minimal(c, test), budget.used)
    except OutOfBudget:
        return Shrunk(tuple(c), False, budget.used)


def one_minimal(units: Sequence[T], fails: Callable[[Sequence[T]], bool]) -> bool:
    """Whether `units` fails and leaving out any one of them does not."""
    if not fails(units):
        return False
    return not any(fails([u for j, u in enumerate(units) if j != i]) for i in range(len(units)))
