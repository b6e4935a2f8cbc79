"""Step-level protocol models: one guarded-command transition system per algorithm.

Pure data and pure Python: proofs/ derives both its explicit-state and its Z3 engine
from these definitions, so the semantics of each protocol is written exactly once.
"""

from model.protocols.builder import (
    END,
    FAIL,
    Branch,
    OpContext,
    Protocol,
    Step,
    build,
    make_scenario,
)
from model.protocols.catalog import (
    PROTOCOLS,
    REQUIRED,
    STALENESS,
    TABLE,
    Row,
    protocol_by_id,
    rows_for,
    stronger_guarantee,
)
from model.protocols.properties import (
    EXACT,
    PARTIAL,
    PROPERTIES,
    Property,
    Refines,
    property_by_id,
)
from model.protocols.system import (
    ABSENT,
    INITIAL,
    Action,
    Client,
    Faults,
    Op,
    Scenario,
    TransitionSystem,
    Variable,
)

__all__ = [
    "ABSENT",
    "END",
    "EXACT",
    "FAIL",
    "INITIAL",
    "PARTIAL",
    "PROPERTIES",
    "PROTOCOLS",
    "REQUIRED",
    "STALENESS",
    "TABLE",
    "Action",
    "Branch",
    "Client",
    "Faults",
    "Op",
    "OpContext",
    "Property",
    "Protocol",
    "Refines",
    "Row",
    "Scenario",
    "Step",
    "TransitionSystem",
    "Variable",
    "build",
    "make_scenario",
    "property_by_id",
    "protocol_by_id",
    "rows_for",
    "stronger_guarantee",
]
