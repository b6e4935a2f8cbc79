"""Executable specifications of cache write policies (pure Python + attrs, no I/O)."""

from model.clauses import CLAUSES, Clause, clause
from model.contract import Contract
from model.events import (
    CacheEntry,
    CacheObserved,
    Crash,
    DbObserved,
    Event,
    Fail,
    Fault,
    History,
    Invoke,
    Ok,
    Tick,
)
from model.monitor import KeyMonitor, Monitor, check_history
from model.policies import POLICIES, Policy, UnknownPolicy, policy, policy_names
from model.state import KeyState, Stale
from model.verdict import CONFORMS, UNKNOWN, VIOLATES, ErrorPlace, SourceFrame, Verdict, Violation
from model.vocabulary import (
    CLOCK,
    CRASH,
    FAULTS,
    HEALS,
    OPERATIONS,
    STORE_FAULTS,
    OpKind,
)

__all__ = [
    "CLAUSES", "Clause", "clause", "Contract", "CacheEntry", "Crash", "DbObserved", "Event",
    "Fail", "Fault", "History", "Invoke", "Ok", "Tick", "KeyMonitor", "Monitor", "check_history",
    "POLICIES", "Policy", "UnknownPolicy", "policy", "policy_names", "KeyState", "Stale",
    "CONFORMS", "UNKNOWN", "VIOLATES", "Verdict", "Violation",
]
__all__ += ["ErrorPlace", "SourceFrame"]  # model.verdict: where a subject's exception came from
__all__ += ["CacheObserved"]  # model.events: the convergence observation
__all__ += ["CLOCK", "CRASH", "FAULTS", "HEALS", "OPERATIONS", "STORE_FAULTS", "OpKind"]  # model.vocabulary
