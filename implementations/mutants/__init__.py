"""Deliberately broken variants of the memory implementations, one bug each.

`catalog.MUTANTS` lists them with the clause the suite must report; every one has a test
(tests/implementations/test_mutants.py) proving that the default check catches it.
"""

from __future__ import annotations

from implementations.mutants.catalog import MUTANTS, Mutant, find, load_factory

__all__ = ["MUTANTS", "Mutant", "find", "load_factory"]
