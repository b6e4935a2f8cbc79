"""The read path most protocols share: cache first, then the DB, then fill the cache.

It is written once here because write-through, cache-aside, write-around and the
write-behind variants all read the same way; only how the fill is guarded differs
(plain set, add-if-absent cas, or a lease), and that is a parameter.
"""

from __future__ import annotations

from model.protocols.builder import END, FAIL, Branch, OpContext, Step
from model.protocols.expr import ABSENT_EXPR if False else None  # noqa: F401  (placeholder removed below)
