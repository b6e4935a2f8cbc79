"""The seeds' claims as data, and the rule that gives each a verdict from its evidence.

    from cache_conformance.claims import load_register, decide, Outcome
"""

from cache_conformance.claims.register import (
    REGISTER_PATH,
    Benchmark,
    Check,
    Claim,
    Evidence,
    Proof,
    RegisterError,
    load_register,
    parse_register,
)
from cache_conformance.claims.verdict import (
    HOLDS,
    HOLDS_IF,
    REFUTED,
    SKIPPED,
    UNKNOWN,
    ClaimVerdict,
    Outcome,
    decide,
    supports,
)

__all__ = [
    "HOLDS",
    "HOLDS_IF",
    "REFUTED",
    "REGISTER_PATH",
    "SKIPPED",
    "UNKNOWN",
    "Benchmark",
    "Check",
    "Claim",
    "ClaimVerdict",
    "Evidence",
    "Outcome",
    "Proof",
    "RegisterError",
    "decide",
    "load_register",
    "parse_register",
    "supports",
]
