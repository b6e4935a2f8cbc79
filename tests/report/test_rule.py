"""Claim verdicts follow their evidence: the same claim, fed different outcomes by the
report's evidence mapping (`decide_claims`), gets a different verdict. Fabricated outcomes,
no check or proof runs here."""

from __future__ import annotations

from cache_conformance.claims import Check, Proof, load_register
from cache_conformance.report.execute import decide_claims
from cache_conformance.report.model import CheckResult, Job, ProofRow
from cache_conformance.report.plan import job_of

CLAIMS = {c.id: c for c in load_register()}


def _proof(protocol: str, prop: str, verdict: str) -> ProofRow:
    return ProofRow(protocol, prop, "fake bounds", verdict, (("explicit", verdict, "exhaustive", 0.0),))


def _verdict(claim_id: str, checks: dict[Job, CheckResult], proofs: dict[tuple[str, str], ProofRow]) -> str:
    (row,) = decide_claims([CLAIMS[claim_id]], "memory", checks, proofs, {})
    return row.verdict.status


def test_a_proof_outcome_flips_a_claim() -> None:
    claim = CLAIMS["000-redis-durable-write-behind"]
    check = next(e.item for e in claim.evidence if isinstance(e.item, Check))
    job = job_of(check, "memory")
    checks = {job: CheckResult(job, "CONFORMS")}
    proofs = {("wb-pop-before-commit", "no-lost-ack"): _proof("wb-pop-before-commit", "no-lost-ack", "PROVED"),
              ("wb-durable", "no-lost-ack"): _proof("wb-durable", "no-lost-ack", "PROVED")}
    assert _verdict(claim.id, checks, proofs) == "HOLDS"
    proofs[("wb-pop-before-commit", "no-lost-ack")] = _proof("wb-pop-before-commit", "no-lost-ack", "REFUTED")
    assert _verdict(claim.id, checks, proofs) == "HOLDS-IF"
    proofs[("wb-durable", "no-lost-ack")] = _proof("wb-durable", "no-lost-ack", "REFUTED")
    assert _verdict(claim.id, checks, proofs) == "REFUTED"


def test_an_unsettled_proof_or_a_missing_check_is_never_a_pass() -> None:
    claim = CLAIMS["000-redis-durable-write-behind"]
    proofs = {("wb-pop-before-commit", "no-lost-ack"): _proof("wb-pop-before-commit", "no-lost-ack", "UNKNOWN"),
              ("wb-durable", "no-lost-ack"): _proof("wb-durable", "no-lost-ack", "PROVED")}
    check = next(e.item for e in claim.evidence if isinstance(e.item, Check))
    job = job_of(check, "memory")
    assert _verdict(claim.id, {job: CheckResult(job, "CONFORMS")}, proofs) == "UNKNOWN"
    assert _verdict(claim.id, {}, {}) == "UNKNOWN"


def test_a_check_verdict_flips_a_claim_and_other_clauses_stay_open() -> None:
    claim = CLAIMS["000-wt-no-data-loss"]  # about durable-on-ack only
    check = next(e.item for e in claim.evidence if isinstance(e.item, Check))
    proof = next(e.item for e in claim.evidence if isinstance(e.item, Proof))
    job = job_of(check, "memory")
    proofs = {(proof.protocol, proof.property): _proof(proof.protocol, proof.property, "PROVED")}
    assert _verdict(claim.id, {job: CheckResult(job, "CONFORMS")}, proofs) == "HOLDS"
    assert _verdict(claim.id, {job: CheckResult(job, "VIOLATES", "durable-on-ack")}, proofs) == "REFUTED"
    assert _verdict(claim.id, {job: CheckResult(job, "VIOLATES", "no-phantom")}, proofs) == "UNKNOWN"
