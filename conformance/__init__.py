"""The conformance harness: check a cache implementation against its write policy.

    from conformance import check
    check("mypkg.cache:factory", policy="write-through")   # raises NonConformance if not
"""

from conformance.check import DEFAULT_EXAMPLES, DEFAULT_STEPS, check, run_check
from conformance.errors import (
    ContractViolation,
    Crashed,
    Inconclusive,
    LivenessFailure,
    StoreTimeout,
    StoreUnavailable,
    SubjectBuildError,
    SubjectError,
    UsageError,
)
from conformance.outcome import CheckReport, NonConformance
from conformance.run import Run

__all__ = [
    "check", "run_check", "CheckReport", "NonConformance", "DEFAULT_EXAMPLES", "DEFAULT_STEPS",
    "Run", "ContractViolation", "LivenessFailure", "Inconclusive", "SubjectBuildError",
    "StoreUnavailable", "StoreTimeout", "Crashed", "SubjectError", "UsageError",
]
