"""The conformance harness: check a cache implementation against its write policy.

    from conformance import check
    check("mypkg.cache:factory", policy="write-through")   # raises NonConformance if not
"""

from conformance.check import DEFAULT_EXAMPLES, DEFAULT_STEPS, CheckReport, NonConformance, check, run_check
from conformance.errors import Crashed, StoreTimeout, StoreUnavailable, SubjectError, UsageError
from conformance.run import ContractViolation, Inconclusive, LivenessFailure, Run, SubjectBuildError

__all__ = [
    "check", "run_check", "CheckReport", "NonConformance", "DEFAULT_EXAMPLES", "DEFAULT_STEPS",
    "Run", "ContractViolation", "LivenessFailure", "Inconclusive", "SubjectBuildError",
    "StoreUnavailable", "StoreTimeout", "Crashed", "SubjectError", "UsageError",
]
