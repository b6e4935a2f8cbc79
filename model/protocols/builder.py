"""From a protocol's per-operation step graphs to a transition system for one scenario.

A protocol says, for each operation kind (write, read, flush), which store calls the
algorithm makes and what it does with each outcome: a list of :class:`Step`, each a store
call with guarded :class:`Branch` es. This module supplies everything protocols share, so
that no protocol restates it: program counters, the stores (cache, DB, DB availability,
durable queue, in-process buffer), faults (DB down/up, application crash), and the
*history variables* properties are stated over (which values the DB ever held, the latest
acknowledged write, whether a flush completed since the last acknowledgement...).

Branch assignments are sequential, like the in-process code they model; :func:`build`
turns them into the simultaneous assignments of a guarded command by substitution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from model.protocols.expr import (
    TRUE,
    Expr,
    and_,
    const,
    eq,
    is_boolean,
    ite,
    lt,
    ne,
    not_,
    or_,
    substitute,
    var,
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
from model.scenario_format import CLOCK_ADVANCE

__all__ = [
    "END",
    "FAIL",
    "Branch",
    "OpContext",
    "Protocol",
    "Step",
    "build",
    "db_had",
    "flag",
    "make_scenario",
]

#: Branch target: the operation returns normally (a write is acknowledged).
END = "<end>"
#: Branch target: the operation raises (a write is not acknowledged).
FAIL = "<fail>"

Assignments = tuple[tuple[str, Expr], ...]


@attrs.frozen(slots=True)
class Branch:
    """One outcome of a store call: when ``when`` holds, run ``do`` and go to ``goto``."""

    when: Expr
    do: Assignments
    goto: str
    note: str = ""
    result: Expr | None = None  # what a read returns when ``goto`` is END


@attrs.frozen(slots=True)
class Step:
    """A store call of an operation, identified within the operation by ``label``."""

    label: str
    call: str
    branches: tuple[Branch, ...]


@attrs.frozen(slots=True)
class Protocol:
    """A concrete algorithm: its identity and its operations as step graphs."""

    id: str
    policy: str
    summary: str
    steps: Callable[[OpContext, Op], Sequence[Step]]
    default: Scenario
    queue: bool = False  # uses the environment's durable queue
    buffer: bool = False  # keeps pending writes in process memory (lost on crash)
    # Every cache entry it writes carries a TTL (the staleness bound T): a clock advance
    # past it empties the cache. Without one, an entry stays until it is overwritten.
    fill_ttl: bool = False

    @property
    def durable(self) -> bool:
        """Whether what it has acknowledged survives a crash (it keeps nothing pending in
        process memory): what it would declare as ``subject.durable``."""
        return not self.buffer


def make_scenario(
    programs: dict[str, Sequence[str]],
    faults: Faults = Faults(),
    cache_initial: int = ABSENT,
) -> Scenario:
    """Clients from op-kind lists; written values get fresh codes in client, then op order."""
    code = INITIAL + 1
    clients = []
    for name, kinds in programs.items():
        ops = []
        for kind in kinds:
            if kind == "write":
                ops.append(Op("write", code))
                code += 1
            else:
                ops.append(Op(kind))
        clients.append(Client(name, tuple(ops)))
    return Scenario(tuple(clients), faults, cache_initial)


def flag(name: str) -> Expr:
    """A 0/1 variable used as a truth value (the language keeps integers and truths apart)."""
    return eq(var(name), 1)


def db_had(x: Expr, scenario: Scenario) -> Expr:
    """Whether the DB has held value ``x`` at some point (a history variable per value)."""
    return or_(*(and_(eq(x, c), flag(f"h_db_had{c}")) for c in range(INITIAL, scenario.value_count)))


@attrs.define
class OpContext:
    """What a protocol's step graph can refer to, for one operation of one client."""

    scenario: Scenario
    client: str
    op: Op
    queue_size: int
    locals: set[str] = attrs.field(factory=set)

    @property
    def value(self) -> Expr:
        """The value this write operation writes."""
        assert self.op.value is not None, "only write operations have a value"
        return const(self.op.value)

    @property
    def lease(self) -> Expr:
        """This client's lease token, a cache value that is not a data value."""
        index = [c.name for c in self.scenario.clients].index(self.client)
        return const(self.scenario.value_count + index)

    def local(self, name: str) -> str:
        """Name of an in-process local variable of this client (lost on crash)."""
        full = f"{self.client}_{name}"
        self.locals.add(full)
        return full

    @staticmethod
    def is_value(x: Expr, scenario: Scenario) -> Expr:
        """``x`` is a data value (not absent, not a lease token)."""
        return and_(ne(x, ABSENT), lt(x, scenario.value_count))

    def db_store(self, x: Expr) -> Assignments:
        """The DB now holds ``x``; record it in the history."""
        had = tuple(
            (f"h_db_had{c}", or_(flag(f"h_db_had{c}"), eq(x, c)))
            for c in range(INITIAL, self.scenario.value_count)
        )
        regressed = ("h_db_regressed", or_(flag("h_db_regressed"), lt(x, var("db"))))
        return (regressed, *had, *_current_store(x, self.scenario), ("db", x))

    # The durable queue is a fixed array of slots q0..qn-1, oldest first, ABSENT-padded.
    def queue_head(self) -> Expr:
        return var("q0")

    def queue_push(self, x: Expr) -> Assignments:
        n = self.queue_size
        out = []
        # Highest slot first: assignments are sequential, and slot i must see slot i-1's
        # value from before the push.
        for i in reversed(range(n)):
            prev_full = TRUE if i == 0 else ne(var(f"q{i - 1}"), ABSENT)
            out.append(
                (f"q{i}", ite(and_(eq(var(f"q{i}"), ABSENT), prev_full), x, var(f"q{i}")))
            )
        return tuple(out)

    def queue_pop(self) -> Assignments:
        n = self.queue_size
        return tuple(
            (f"q{i}", var(f"q{i + 1}") if i + 1 < n else const(ABSENT)) for i in range(n)
        )


def _sequential(assignments: Sequence[tuple[str, Expr]]) -> dict[str, Expr]:
    current: dict[str, Expr] = {}
    for name, e in assignments:
        value = substitute(const(e) if isinstance(e, int) else e, current)
        # Variables hold integers: a truth value is stored as 0/1, so that a later
        # assignment reading it (through substitution) still sees an integer.
        current[name] = ite(value, 1, 0) if is_boolean(value) else value
    return current


# ---- time: the clock, TTLs and the staleness window ------------------------------------
#
# Time is modelled only as far as bounded staleness needs it. A clock advance moves past
# the TTL T; store calls take no time. As in the harness, the clock advances only between
# operations (no client is inside one), so a write takes effect, and a read returns,
# within one TTL period. A value the DB stopped holding before the last advance is then
# older than T; one it held since, or that a write in progress may already have made the
# latest (a write may take effect from its invocation), is not. ``h_cur<c>`` says whether
# value c is such a value. These variables exist only in scenarios with a clock advance:
# without one nothing can be older than T.


def _timed(sc: Scenario) -> bool:
    return sc.faults.advance > 0


def _values(sc: Scenario) -> range:
    return range(INITIAL, sc.value_count)


def _current_store(x: Expr, sc: Scenario) -> Assignments:
    """The DB now holds ``x``: it is current in this period."""
    if not _timed(sc):
        return ()
    return tuple((f"h_cur{c}", or_(flag(f"h_cur{c}"), eq(x, c))) for c in _values(sc))


def _write_begins(ctx: OpContext) -> Assignments:
    """A write begins: from now on it may have taken effect, its value may be read."""
    if not _timed(ctx.scenario) or ctx.op.kind != "write" or ctx.op.value is None:
        return ()
    return ((f"h_cur{ctx.op.value}", const(1)),)


def _current(x: Expr, sc: Scenario) -> Expr:
    return or_(*(and_(eq(x, c), flag(f"h_cur{c}")) for c in _values(sc)))


def _completion(ctx: OpContext, branch: Branch) -> Assignments:
    """History updates when an operation returns normally (implicit for every protocol)."""
    lastw = f"h_lastw_{ctx.client}"
    if ctx.op.kind == "write":
        v = ctx.value
        # Acknowledged too early: the DB never held this value and holds no newer
        # version (a versioned put that lost to a newer one is durable by the contract).
        durable = or_(db_had(v, ctx.scenario), lt(v, var("db")))
        early = ("h_ack_early", or_(flag("h_ack_early"), not_(durable)))
        return (early, ("h_acked", v), ("h_settled", const(0)), (lastw, v))
    if ctx.op.kind == "read":
        assert branch.result is not None, f"read step of {ctx.client} ends without a result"
        bad = and_(ne(var(lastw), ABSENT), ne(branch.result, var(lastw)))
        out: Assignments = (("h_ryw_bad", or_(flag("h_ryw_bad"), bad)),)
        if _timed(ctx.scenario):
            stale = not_(_current(branch.result, ctx.scenario))
            out += (("h_stale_bad", or_(flag("h_stale_bad"), stale)),)
        return out
    if ctx.op.kind == "flush":
        return (("h_settled", const(1)),)
    return ()


def build(protocol: Protocol, scenario: Scenario | None = None) -> TransitionSystem:
    """Instantiate ``protocol`` for ``scenario`` (its default scenario if None)."""
    sc = scenario or protocol.default
    writes = sc.value_count - 2
    queue_size = writes + 2 if protocol.queue else 0
    top = sc.value_count - 1 + len(sc.clients)  # highest code: lease tokens follow values

    variables = [
        Variable("cache", 0, top),
        Variable("db", 0, sc.value_count - 1),
        Variable("db_up", 0, 1),
        Variable("db_down_left", 0, sc.faults.db_down),
        Variable("crash_left", 0, sc.faults.crash),
    ]
    init: dict[str, int] = {
        "cache": sc.cache_initial,
        "db": INITIAL,
        "db_up": 1,
        "db_down_left": sc.faults.db_down,
        "crash_left": sc.faults.crash,
    }
    variables += [Variable(f"q{i}", 0, sc.value_count - 1) for i in range(queue_size)]
    init.update({f"q{i}": ABSENT for i in range(queue_size)})
    if protocol.buffer:
        variables.append(Variable("mem", 0, sc.value_count - 1, volatile=True))
        init["mem"] = ABSENT
    history = ["h_ack_early", "h_settled", "h_ryw_bad", "h_db_regressed"]
    variables += [Variable(h, 0, 1) for h in history]
    init.update({h: 0 for h in history})
    variables.append(Variable("h_acked", 0, sc.value_count - 1))
    init["h_acked"] = ABSENT
    for c in range(INITIAL, sc.value_count):
        variables.append(Variable(f"h_db_had{c}", 0, 1))
        init[f"h_db_had{c}"] = 1 if c == INITIAL else 0
    if _timed(sc):
        variables.append(Variable("advance_left", 0, sc.faults.advance))
        init["advance_left"] = sc.faults.advance
        variables.append(Variable("h_stale_bad", 0, 1))
        init["h_stale_bad"] = 0
        for c in _values(sc):
            variables.append(Variable(f"h_cur{c}", 0, 1))
            init[f"h_cur{c}"] = 1 if c == INITIAL else 0

    actions: list[Action] = []
    done_of: dict[str, int] = {}
    bases_of: dict[str, list[int]] = {}
    locals_all: set[str] = set()
    for client in sc.clients:
        pc = f"{client.name}_pc"
        graphs = []
        for op in client.ops:
            ctx = OpContext(sc, client.name, op, queue_size)
            graphs.append((ctx, list(protocol.steps(ctx, op))))
            locals_all |= ctx.locals
        bases, n = [], 0
        for _, steps in graphs:
            bases.append(n)
            n += len(steps)
        done_of[client.name], bases_of[client.name] = n, bases
        variables.append(Variable(pc, 0, n))
        init[pc] = 0
        variables.append(Variable(f"h_lastw_{client.name}", 0, sc.value_count - 1))
        init[f"h_lastw_{client.name}"] = ABSENT
        for i, (ctx, steps) in enumerate(graphs):
            where = {s.label: bases[i] + j for j, s in enumerate(steps)}
            after = bases[i + 1] if i + 1 < len(bases) else n
            for j, step in enumerate(steps):
                for k, br in enumerate(step.branches):
                    # The operation's first store call is where it begins (its invocation).
                    seq = list(_write_begins(ctx)) if j == 0 else []
                    seq += br.do
                    # What a read returns, over the state before the step (its own
                    # assignments substituted, as the sequential code reads them).
                    result = (substitute(br.result, _sequential(seq))
                              if br.goto == END and ctx.op.kind == "read" else None)
                    outcome = None
                    if br.goto == END:
                        seq += _completion(ctx, br)
                        target, outcome = after, "ok"
                    elif br.goto == FAIL:
                        target, outcome = after, "fail"
                    else:
                        target = where[br.goto]
                    seq.append((pc, const(target)))
                    label = op_label(ctx.op, sc)
                    if sum(op_label(o, sc) == label for o in client.ops) > 1:
                        label += f"#{i + 1}"  # e.g. two flushes: flush#1, flush#2
                    name = f"{client.name}.{label}.{step.label}"
                    if len(step.branches) > 1:
                        name += f"[{br.note or k}]"
                    actions.append(
                        Action(
                            name=name,
                            actor=client.name,
                            guard=and_(eq(var(pc), bases[i] + j), br.when),
                            effects=tuple(_sequential(seq).items()),
                            call=step.call,
                            op=i,
                            outcome=outcome,
                            result=result,
                        )
                    )
    for name in sorted(locals_all):
        variables.append(Variable(name, 0, top, volatile=True))
        init[name] = ABSENT

    quiescent = and_(*(eq(var(f"{c}_pc"), d) for c, d in done_of.items()))
    actions += _faults(sc, variables, init, quiescent, bases_of, done_of, protocol.fill_ttl)
    names = [a.name for a in actions]
    assert len(set(names)) == len(names), "action names must identify actions in traces"
    cached = ite(OpContext.is_value(var("cache"), sc), var("cache"), ABSENT)
    return TransitionSystem(
        protocol=protocol.id,
        policy=protocol.policy,
        scenario=sc,
        variables=tuple(variables),
        init=tuple((v.name, init[v.name]) for v in variables),
        actions=tuple(actions),
        observables=(("quiescent", quiescent), ("cached", cached)),
    )


def op_label(op: Op, sc: Scenario) -> str:
    return f"write({sc.value_name(op.value)})" if op.kind == "write" and op.value else op.kind


def _faults(
    sc: Scenario,
    variables: list[Variable],
    init: dict[str, int],
    quiescent: Expr,
    bases_of: dict[str, list[int]],
    done_of: dict[str, int],
    fill_ttl: bool = False,
) -> list[Action]:
    """Environment actions; only while some client still has work (afterwards they change
    nothing a property looks at, and excluding them keeps the state graphs small)."""
    busy = not_(quiescent)
    out = []
    if sc.faults.db_down:
        left = var("db_down_left")
        out.append(
            Action(
                "env.db-down",
                "env",
                and_(busy, eq(var("db_up"), 1), lt(0, left)),
                (("db_up", const(0)), ("db_down_left", _minus_one(left, sc.faults.db_down))),
                fault="db-down",
            )
        )
        out.append(
            Action("env.db-up", "env", and_(busy, eq(var("db_up"), 0)), (("db_up", const(1)),),
                   fault="db-up")
        )
    if sc.faults.crash:
        left = var("crash_left")
        effects: list[tuple[str, Expr]] = [("crash_left", _minus_one(left, sc.faults.crash))]
        # A crash aborts every operation in flight; each client resumes with its next
        # operation on the recovered instance. Memory (volatile variables) is lost.
        for client, bases in bases_of.items():
            pc = var(f"{client}_pc")
            bounds = bases + [done_of[client]]
            new: Expr = pc
            for i in range(len(bases)):
                inside = and_(lt(bounds[i], pc), lt(pc, bounds[i + 1]))
                new = ite(inside, bounds[i + 1], new)
            effects.append((f"{client}_pc", new))
        effects += [(v.name, const(init[v.name])) for v in variables if v.volatile]
        effects.append(("h_settled", const(0)))
        out.append(Action("env.crash", "env", and_(busy, lt(0, left)), tuple(effects),
                          fault="crash"))
    if _timed(sc):
        left = var("advance_left")
        # Between operations only: every client is at the start of an operation or done.
        between = and_(*(or_(*(eq(var(f"{client}_pc"), b) for b in bases + [done_of[client]]))
                         for client, bases in bases_of.items()))
        # Past the TTL: what the DB holds now is the only value of the new period; every
        # entry with a TTL (all of a protocol whose fills carry one) has expired.
        tick: list[tuple[str, Expr]] = [("advance_left", _minus_one(left, sc.faults.advance))]
        tick += [(f"h_cur{c}", eq(var("db"), c)) for c in _values(sc)]
        if fill_ttl:
            tick.append(("cache", const(ABSENT)))
        out.append(Action("env.clock-advance", "env", and_(busy, between, lt(0, left)),
                          tuple((n, ite(e, 1, 0) if is_boolean(e) else e) for n, e in tick),
                          fault=CLOCK_ADVANCE))
    return out


def _minus_one(x: Expr, top: int) -> Expr:
    # No arithmetic in the language: decrement as a case split over the (small) domain.
    out: Expr = const(0)
    for k in range(2, top + 1):
        out = ite(eq(x, k), k - 1, out)
    return out
