"""The two engines give the protocol language the same meaning as its reference interpreter.

This is what "no second copy of the semantics" buys and must be checked: for every action
of every protocol, on random in-domain states, the compiled Python guard/effects, the Z3
translation and ``model.protocols.expr.evaluate`` agree.
"""

from __future__ import annotations

import random

import pytest
import z3

from model.protocols import PROTOCOLS, STALENESS, build, protocol_by_id
from model.protocols.expr import eq, evaluate, ite, lt, var
from proofs.explicit import _successor_function, compile_expr
from proofs.symbolic import Encoding

# Every protocol on its default scenario, and the scenarios with a clock (whose time and
# staleness-window variables exist only there).
SYSTEMS = [(p, None) for p in PROTOCOLS] + [(protocol_by_id(r.protocol), r.scenario)
                                            for r in STALENESS]
SYSTEM_IDS = [p.id for p in PROTOCOLS] + [f"{r.protocol}-clock" for r in STALENESS]


def _random_state(system, rng):
    return {v.name: rng.randint(v.lo, v.hi) for v in system.variables}


@pytest.mark.parametrize("protocol, scenario", SYSTEMS, ids=SYSTEM_IDS)
def test_compiled_python_matches_reference(protocol, scenario):
    system = build(protocol, scenario)
    rng = random.Random(protocol.id)
    successors = _successor_function(system)
    names = [v.name for v in system.variables]
    for _ in range(300):
        state = _random_state(system, rng)
        expected = []
        for a, action in enumerate(system.actions):
            if evaluate(action.guard, state):
                nxt = dict(state)
                nxt.update({n: int(evaluate(e, state)) for n, e in action.effects})
                expected.append((a, tuple(nxt[n] for n in names)))
        assert sorted(successors(tuple(state[n] for n in names))) == sorted(expected)


@pytest.mark.parametrize("protocol, scenario", SYSTEMS, ids=SYSTEM_IDS)
def test_z3_translation_matches_reference(protocol, scenario):
    system = build(protocol, scenario)
    rng = random.Random(protocol.id + "z3")
    enc = Encoding(system)
    s0, s1 = enc.state(0), enc.state(1)
    relation = enc.transition(0)
    for _ in range(25):
        state = _random_state(system, rng)
        fixed = [(s0[n], z3.BitVecVal(v, enc.width)) for n, v in state.items()]
        for a, action in enumerate(system.actions):
            nxt = dict(state)
            nxt.update({n: int(evaluate(e, state)) for n, e in action.effects})
            target = [(s1[n], z3.BitVecVal(v, enc.width)) for n, v in nxt.items()]
            chosen = [(enc.action(0), z3.BitVecVal(a, enc.width))]
            holds = z3.simplify(z3.substitute(relation, *(fixed + target + chosen)))
            assert z3.is_true(holds) == bool(evaluate(action.guard, state)), action.name


def test_language_primitives_agree_on_all_small_values():
    from model.protocols.system import Scenario, TransitionSystem, Variable

    e = ite(lt(var("x"), var("y")), var("y"), var("x"))
    system = TransitionSystem("t", "p", Scenario(()), (Variable("x", 0, 3), Variable("y", 0, 3)),
                              (("x", 0), ("y", 0)), (), ())
    f = compile_expr(e, system)
    enc = Encoding(system)
    for x in range(4):
        for y in range(4):
            want = evaluate(e, {"x": x, "y": y})
            assert want == max(x, y) == f((x, y))
            term = z3.substitute(enc.z3(e, 0), (enc.state(0)["x"], z3.BitVecVal(x, enc.width)),
                                 (enc.state(0)["y"], z3.BitVecVal(y, enc.width)))
            assert z3.simplify(term).as_long() == want
            assert bool(evaluate(eq(var("x"), var("y")), {"x": x, "y": y})) == (x == y)
