"""The claims register: what the seeds claim, quoted, and the evidence that settles each.

The register is data (`register.toml`, next to this module); this module only reads it into
frozen classes and validates its shape. It stores no verdict: `cache_conformance.claims.verdict`
computes one from the evidence's outcomes when the report runs.

    >>> from cache_conformance.claims import load_register
    >>> claims = load_register()
    >>> claims[0].evidence[0].kind in {"check", "proof", "benchmark"}
    True
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "REGISTER_PATH",
    "Benchmark",
    "Check",
    "Claim",
    "Evidence",
    "Proof",
    "RegisterError",
    "load_register",
    "parse_register",
]

REGISTER_PATH = Path(__file__).with_name("register.toml")

SCOPES = ("claim", "condition")
CHECK_OUTCOMES = ("CONFORMS", "VIOLATES")
PROOF_OUTCOMES = ("PROVED", "REFUTED")


class RegisterError(ValueError):
    """The register file is malformed: the message names the claim and the field."""


@attrs.frozen(slots=True)
class Check:
    """A conformance check of a subject against a policy in one scenario.

    Attributes:
        factory: `module:function`.
        policy: the policy checked.
        clients: concurrent clients per instance.
        instances: application instances sharing the stores.
        faults: the faults injected (names of the fault model); None means every fault of
            the policy.
        supports: the check verdict that agrees with the claim (CONFORMS or VIOLATES).
        clauses: the clauses the claim is about; None means all of the policy's. A check
            stops at the first violation, so a violation of another clause leaves the claim's
            clauses undecided (UNKNOWN), neither for nor against it.
    """

    factory: str
    policy: str
    supports: str
    clients: int = 1
    instances: int = 1
    faults: tuple[str, ...] | None = None
    clauses: tuple[str, ...] | None = None

    kind = "check"

    def describe(self) -> str:
        faults = "all of the policy's faults" if self.faults is None else (", ".join(self.faults) or "no faults")
        about = "" if self.clauses is None else f", about {', '.join(self.clauses)}"
        return (
            f"check {self.factory} as {self.policy}: {self.clients} client(s), "
            f"{self.instances} instance(s), {faults}{about}"
        )


@attrs.frozen(slots=True)
class Proof:
    """A proof row: `protocol` x `property` (issue 5's ids), on the row's own bounds."""

    protocol: str
    property: str
    supports: str

    kind = "proof"

    def describe(self) -> str:
        return f"proof {self.protocol} x {self.property}"


@attrs.frozen(slots=True)
class Benchmark:
    """A measured figure: `metric` (a name the report knows how to measure) on `subjects`,
    compared with a threshold. The claim is supported when the measured value is at least
    `at_least` and at most `at_most` (either may be absent)."""

    metric: str
    subjects: tuple[str, ...]
    at_least: float | None = None
    at_most: float | None = None

    kind = "benchmark"

    def describe(self) -> str:
        bounds = []
        if self.at_least is not None:
            bounds.append(f">= {self.at_least:g}")
        if self.at_most is not None:
            bounds.append(f"<= {self.at_most:g}")
        return f"benchmark {self.metric} on {', '.join(self.subjects)} ({' and '.join(bounds)})"


@attrs.frozen(slots=True)
class Evidence:
    """One piece of evidence and the part of the claim it bears on.

    `scope` "claim": the claim, as the seed states it, covers this scenario, so evidence
    against it refutes the claim. `scope` "condition": a narrower scenario (`condition` says
    which); if every condition item supports the claim while a claim item does not, the
    verdict is HOLDS-IF those conditions.
    """

    item: Check | Proof | Benchmark
    scope: str
    condition: str

    @property
    def kind(self) -> str:
        return self.item.kind


@attrs.frozen(slots=True)
class Claim:
    """One testable claim of a seed, quoted verbatim."""

    id: str
    seed_file: str
    section: str
    quote: str
    subject: str
    policy: str
    evidence: tuple[Evidence, ...]
    note: str = ""

    @property
    def seed(self) -> str:
        return self.seed_file[:3]


def load_register(path: Path | str = REGISTER_PATH) -> tuple[Claim, ...]:
    """Read and validate the register.

    Raises:
        RegisterError: the file is missing, is not TOML, or a claim is malformed.
    """
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise RegisterError(f"cannot read the claims register {str(path)!r}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise RegisterError(f"the claims register {str(path)!r} is not valid TOML: {e}") from None
    return parse_register(data)


def parse_register(data: Mapping[str, Any]) -> tuple[Claim, ...]:
    """Build the claims from parsed TOML (`[[claim]]` tables with `[[claim.evidence]]`)."""
    claims = tuple(_claim(raw, i) for i, raw in enumerate(data.get("claim", [])))
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise RegisterError(f"claim id {claim.id!r} appears twice")
        seen.add(claim.id)
    return claims


def _field(raw: Mapping[str, Any], name: str, where: str, kind: type = str) -> Any:
    if name not in raw:
        raise RegisterError(f"{where}: missing field {name!r}")
    value = raw[name]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise RegisterError(f"{where}: field {name!r} must be a non-empty {kind.__name__}, got {value!r}")
    return value


def _claim(raw: Mapping[str, Any], index: int) -> Claim:
    where = f"claim #{index + 1} ({raw.get('id', '?')!r})"
    evidence_raw = raw.get("evidence", [])
    if not evidence_raw:
        raise RegisterError(f"{where}: no evidence; every claim needs at least one item")
    evidence = tuple(_evidence(e, f"{where}, evidence #{j + 1}") for j, e in enumerate(evidence_raw))
    if not any(e.scope == "claim" for e in evidence):
        raise RegisterError(f"{where}: no evidence with scope 'claim'; conditions alone cannot refute")
    return Claim(
        id=_field(raw, "id", where),
        seed_file=_field(raw, "seed_file", where),
        section=_field(raw, "section", where),
        quote=_field(raw, "quote", where),
        subject=_field(raw, "subject", where),
        policy=_field(raw, "policy", where),
        evidence=evidence,
        note=raw.get("note", ""),
    )


def _evidence(raw: Mapping[str, Any], where: str) -> Evidence:
    scope = raw.get("scope", "claim")
    if scope not in SCOPES:
        raise RegisterError(f"{where}: scope must be one of {SCOPES}, got {scope!r}")
    condition = raw.get("condition", "")
    if scope == "condition" and not condition:
        raise RegisterError(f"{where}: a 'condition' item must say its condition")
    kind = _field(raw, "kind", where)
    item: Check | Proof | Benchmark
    if kind == "check":
        supports = _field(raw, "supports", where)
        if supports not in CHECK_OUTCOMES:
            raise RegisterError(f"{where}: a check supports one of {CHECK_OUTCOMES}, got {supports!r}")
        faults, clauses = raw.get("faults"), raw.get("clauses")
        item = Check(
            factory=_field(raw, "factory", where),
            policy=_field(raw, "policy", where),
            supports=supports,
            clients=int(raw.get("clients", 1)),
            instances=int(raw.get("instances", 1)),
            faults=None if faults is None else tuple(faults),
            clauses=None if clauses is None else tuple(clauses),
        )
        if item.clients < 1 or item.instances < 1:
            raise RegisterError(f"{where}: clients and instances must be at least 1")
    elif kind == "proof":
        supports = _field(raw, "supports", where)
        if supports not in PROOF_OUTCOMES:
            raise RegisterError(f"{where}: a proof supports one of {PROOF_OUTCOMES}, got {supports!r}")
        item = Proof(_field(raw, "protocol", where), _field(raw, "property", where), supports)
    elif kind == "benchmark":
        at_least, at_most = raw.get("at_least"), raw.get("at_most")
        if at_least is None and at_most is None:
            raise RegisterError(f"{where}: a benchmark needs at_least and/or at_most")
        item = Benchmark(
            metric=_field(raw, "metric", where),
            subjects=tuple(_field(raw, "subjects", where, list)),
            at_least=None if at_least is None else float(at_least),
            at_most=None if at_most is None else float(at_most),
        )
    else:
        raise RegisterError(f"{where}: kind must be check, proof or benchmark, got {kind!r}")
    return Evidence(item=item, scope=scope, condition=condition)
