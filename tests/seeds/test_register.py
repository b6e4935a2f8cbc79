"""The claims register: well-formed, quoted verbatim, pointing at evidence that exists, and
decided by the rule in cache_conformance/claims/verdict.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cache_conformance.claims import (
    HOLDS,
    HOLDS_IF,
    REFUTED,
    SKIPPED,
    UNKNOWN,
    Check,
    Outcome,
    Proof,
    RegisterError,
    decide,
    load_register,
    parse_register,
)
from implementations.seeds import SYSTEMS, find
from model.policies import POLICIES
from model.protocols.catalog import PROTOCOLS
from model.protocols.properties import PROPERTIES

SEEDS = Path("/work/shared/seeds")
CLAIMS = load_register()
FAULTS = {"db-down", "db-timeout", "cache-down", "cache-restart", "evict", "clock", "crash"}


def _normal(text: str) -> str:
    # The register drops Markdown emphasis; whitespace runs are one space.
    return re.sub(r"\s+", " ", text.replace("**", ""))


def test_the_register_has_the_issues_claims() -> None:
    quotes = " ".join(c.quote for c in CLAIMS)
    for wanted in [
        "Cache and DB are always in sync",
        "If the system crashes, data is already in the DB",
        "Read-after-write consistency guaranteed",
        "If the same key is written 100 times before the next flush, only the final value goes to disk.",
        "5.16x faster with write-behind",
        "Cache write failure is tolerable - next read fetches from DB",
        "Database is source of truth - write there first",
    ]:
        assert wanted in quotes, wanted
    assert {c.seed for c in CLAIMS} == {"000", "001", "002", "003", "004"}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_quotes_are_verbatim(claim) -> None:  # type: ignore[no-untyped-def]
    if not SEEDS.is_dir():
        pytest.skip("the seed documents are not on this machine")
    text = (SEEDS / claim.seed_file).read_text(encoding="utf-8", errors="replace")
    assert _normal(claim.quote) in _normal(text)
    assert claim.id.startswith(claim.seed + "-")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_evidence_points_at_things_that_exist(claim) -> None:  # type: ignore[no-untyped-def]
    protocols = {p.id for p in PROTOCOLS}
    properties = {p.id for p in PROPERTIES}
    seed_factories = {row.factory for row in SYSTEMS}
    assert claim.policy in POLICIES
    for evidence in claim.evidence:
        item = evidence.item
        if isinstance(item, Check):
            assert item.factory in seed_factories
            assert item.policy in POLICIES
            assert set(item.faults or ()) <= FAULTS
            # A claim about a seed's system is checked against the policy the seed gives it,
            # unless the register says otherwise in a note.
            if item.policy != find(item.factory).policy:
                assert claim.note, claim.id
        elif isinstance(item, Proof):
            assert item.protocol in protocols
            assert item.property in properties
        else:
            assert all(s in seed_factories for s in item.subjects)


# --- the rule ------------------------------------------------------------------------------

RULE_CLAIM = parse_register({"claim": [{
    "id": "t-1", "seed_file": "000_x.txt", "section": "s", "quote": "q", "subject": "x",
    "policy": "write-through",
    "evidence": [
        {"kind": "check", "factory": "f:g", "policy": "write-through", "clients": 2,
         "supports": "CONFORMS"},
        {"kind": "proof", "protocol": "wt-db-first-set", "property": "no-phantom",
         "supports": "PROVED"},
        {"kind": "check", "scope": "condition", "condition": "one writer", "factory": "f:g",
         "policy": "write-through", "supports": "CONFORMS"},
    ],
}]})[0]


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (("CONFORMS", "PROVED", "CONFORMS"), HOLDS),
        (("VIOLATES", "PROVED", "CONFORMS"), HOLDS_IF),
        (("CONFORMS", "REFUTED", "CONFORMS"), HOLDS_IF),
        (("VIOLATES", "PROVED", "VIOLATES"), REFUTED),
        (("VIOLATES", "UNKNOWN", "VIOLATES"), REFUTED),  # one disagreement is enough
        (("VIOLATES", "PROVED", "UNKNOWN"), UNKNOWN),  # the condition is undecided
        (("CONFORMS", "UNKNOWN", "CONFORMS"), UNKNOWN),  # never a pass
        (("SKIPPED", "PROVED", "CONFORMS"), SKIPPED),
        (("SKIPPED", "UNKNOWN", "CONFORMS"), UNKNOWN),
    ],
)
def test_the_rule(statuses: tuple[str, ...], verdict: str) -> None:
    decided = decide(RULE_CLAIM, [Outcome(s) for s in statuses])
    assert decided.status == verdict
    assert len(decided.reasons) == 3
    if verdict == HOLDS_IF:
        assert decided.conditions == ("one writer",)
        assert decided.describe() == "HOLDS-IF (one writer)"


def test_benchmarks_compare_the_measured_figure() -> None:
    claim = next(c for c in CLAIMS if c.id == "001-speedup")
    assert decide(claim, [Outcome("MEASURED", 5.2), Outcome("MEASURED", 5.2)]).status == HOLDS
    assert decide(claim, [Outcome("MEASURED", 1.4), Outcome("MEASURED", 1.4)]).status == HOLDS_IF
    assert decide(claim, [Outcome("MEASURED", 0.9), Outcome("MEASURED", 0.9)]).status == REFUTED
    with pytest.raises(ValueError):
        decide(claim, [Outcome("CONFORMS"), Outcome("MEASURED", 1.0)])


def test_outcomes_must_match_the_evidence() -> None:
    with pytest.raises(ValueError, match="3 evidence items"):
        decide(RULE_CLAIM, [Outcome("CONFORMS")])
    with pytest.raises(ValueError, match="proof outcome"):
        decide(RULE_CLAIM, [Outcome("CONFORMS"), Outcome("CONFORMS"), Outcome("CONFORMS")])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"evidence": []}, "no evidence"),
        ({"quote": ""}, "'quote'"),
        ({"evidence": [{"kind": "guess", "supports": "CONFORMS"}]}, "kind must be"),
        ({"evidence": [{"kind": "check", "factory": "f:g", "policy": "p", "supports": "HOLDS"}]},
         "supports one of"),
        ({"evidence": [{"kind": "proof", "scope": "condition", "protocol": "a", "property": "b",
                        "supports": "PROVED"}]}, "must say its condition"),
        ({"evidence": [{"kind": "proof", "scope": "condition", "condition": "c", "protocol": "a",
                        "property": "b", "supports": "PROVED"}]}, "scope 'claim'"),
        ({"evidence": [{"kind": "benchmark", "metric": "m", "subjects": ["x"]}]}, "at_least"),
    ],
)
def test_malformed_claims_are_named(patch: dict, message: str) -> None:
    raw = {"id": "bad", "seed_file": "000_x.txt", "section": "s", "quote": "q", "subject": "x",
           "policy": "write-through",
           "evidence": [{"kind": "proof", "protocol": "a", "property": "b", "supports": "PROVED"}]}
    raw.update(patch)
    with pytest.raises(RegisterError, match=message):
        parse_register({"claim": [raw]})


def test_duplicate_ids_and_unreadable_files(tmp_path: Path) -> None:
    one = {"id": "a", "seed_file": "000_x.txt", "section": "s", "quote": "q", "subject": "x",
           "policy": "write-through",
           "evidence": [{"kind": "proof", "protocol": "a", "property": "b", "supports": "PROVED"}]}
    with pytest.raises(RegisterError, match="twice"):
        parse_register({"claim": [one, one]})
    with pytest.raises(RegisterError, match="cannot read"):
        load_register(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[claim]\n")
    with pytest.raises(RegisterError, match="not valid TOML"):
        load_register(broken)
