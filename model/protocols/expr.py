"""A small expression language over finite-domain integer variables.

Protocol step models are written in this language once; proofs/ gives it two meanings
(concrete evaluation for explicit-state search, and a Z3 translation for bounded model
checking and induction). Keeping the language tiny is what makes the two engines agree:
there is nothing here that one engine could interpret differently from the other.

Every value is an integer. Booleans are the integers 0 and 1 when stored in a variable,
but the operators below distinguish integer-valued and truth-valued expressions so that
both engines can type them.

Example::

    >>> from model.protocols.expr import var, const, eq, and_, evaluate
    >>> e = and_(eq(var("db_up"), const(1)), eq(var("pc0"), const(2)))
    >>> evaluate(e, {"db_up": 1, "pc0": 2})
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Union

import attrs

__all__ = [
    "Expr",
    "Const",
    "Var",
    "Eq",
    "Lt",
    "Not",
    "And",
    "Or",
    "Ite",
    "const",
    "var",
    "eq",
    "ne",
    "lt",
    "le",
    "not_",
    "and_",
    "or_",
    "implies",
    "ite",
    "is_in",
    "TRUE",
    "FALSE",
    "evaluate",
    "variables_of",
    "is_boolean",
    "substitute",
]


@attrs.frozen(slots=True)
class Const:
    value: int

    def __repr__(self) -> str:
        return str(self.value)


@attrs.frozen(slots=True)
class Var:
    name: str

    def __repr__(self) -> str:
        return self.name


@attrs.frozen(slots=True)
class Eq:
    left: "Expr"
    right: "Expr"

    def __repr__(self) -> str:
        return f"({self.left!r} == {self.right!r})"


@attrs.frozen(slots=True)
class Lt:
    left: "Expr"
    right: "Expr"

    def __repr__(self) -> str:
        return f"({self.left!r} < {self.right!r})"


@attrs.frozen(slots=True)
class Not:
    arg: "Expr"

    def __repr__(self) -> str:
        return f"not {self.arg!r}"


@attrs.frozen(slots=True)
class And:
    args: tuple["Expr", ...]

    def __repr__(self) -> str:
        return "(" + " and ".join(map(repr, self.args)) + ")" if self.args else "true"


@attrs.frozen(slots=True)
class Or:
    args: tuple["Expr", ...]

    def __repr__(self) -> str:
        return "(" + " or ".join(map(repr, self.args)) + ")" if self.args else "false"


@attrs.frozen(slots=True)
class Ite:
    """``then`` if ``cond`` else ``orelse``; both branches integer-valued or both truth-valued."""

    cond: "Expr"
    then: "Expr"
    orelse: "Expr"

    def __repr__(self) -> str:
        return f"({self.then!r} if {self.cond!r} else {self.orelse!r})"


Expr = Union[Const, Var, Eq, Lt, Not, And, Or, Ite]

TRUE: Expr = And(())
FALSE: Expr = Or(())

ExprLike = Union[Expr, int]


def _lift(x: ExprLike) -> Expr:
    if isinstance(x, bool):
        return TRUE if x else FALSE
    if isinstance(x, int):
        return Const(x)
    return x


def const(value: int) -> Expr:
    return Const(value)


def var(name: str) -> Expr:
    return Var(name)


def eq(a: ExprLike, b: ExprLike) -> Expr:
    return Eq(_lift(a), _lift(b))


def ne(a: ExprLike, b: ExprLike) -> Expr:
    return Not(eq(a, b))


def lt(a: ExprLike, b: ExprLike) -> Expr:
    return Lt(_lift(a), _lift(b))


def le(a: ExprLike, b: ExprLike) -> Expr:
    return Not(Lt(_lift(b), _lift(a)))


def not_(a: Expr) -> Expr:
    return Not(a)


def _flatten(kind: type, args: Iterable[ExprLike]) -> tuple[Expr, ...]:
    out: list[Expr] = []
    for a in map(_lift, args):
        if isinstance(a, kind):
            out.extend(a.args)  # type: ignore[attr-defined]
        else:
            out.append(a)
    return tuple(out)


def and_(*args: ExprLike) -> Expr:
    flat = _flatten(And, args)
    return flat[0] if len(flat) == 1 else And(flat)


def or_(*args: ExprLike) -> Expr:
    flat = _flatten(Or, args)
    return flat[0] if len(flat) == 1 else Or(flat)


def implies(a: Expr, b: Expr) -> Expr:
    return or_(Not(a), b)


def ite(cond: Expr, then: ExprLike, orelse: ExprLike) -> Expr:
    return Ite(cond, _lift(then), _lift(orelse))


def is_in(a: ExprLike, values: Iterable[int]) -> Expr:
    return or_(*(eq(a, v) for v in values))


def is_boolean(e: Expr) -> bool:
    """Whether ``e`` is truth-valued (as opposed to integer-valued)."""
    if isinstance(e, (Eq, Lt, Not, And, Or)):
        return True
    if isinstance(e, Ite):
        return is_boolean(e.then)
    return False


def evaluate(e: Expr, env: Mapping[str, int]) -> int | bool:
    """Reference interpreter: the meaning both engines must agree with.

    The explicit engine compiles expressions to Python for speed; tests compare that
    compilation and the Z3 translation against this function.
    """
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Eq):
        return evaluate(e.left, env) == evaluate(e.right, env)
    if isinstance(e, Lt):
        return evaluate(e.left, env) < evaluate(e.right, env)  # type: ignore[operator]
    if isinstance(e, Not):
        return not evaluate(e.arg, env)
    if isinstance(e, And):
        return all(evaluate(a, env) for a in e.args)
    if isinstance(e, Or):
        return any(evaluate(a, env) for a in e.args)
    if isinstance(e, Ite):
        return evaluate(e.then, env) if evaluate(e.cond, env) else evaluate(e.orelse, env)
    raise TypeError(f"not an expression: {e!r}")


def variables_of(e: Expr) -> frozenset[str]:
    if isinstance(e, Var):
        return frozenset((e.name,))
    if isinstance(e, Const):
        return frozenset()
    if isinstance(e, (Eq, Lt)):
        return variables_of(e.left) | variables_of(e.right)
    if isinstance(e, Not):
        return variables_of(e.arg)
    if isinstance(e, (And, Or)):
        return frozenset().union(*(variables_of(a) for a in e.args))
    if isinstance(e, Ite):
        return variables_of(e.cond) | variables_of(e.then) | variables_of(e.orelse)
    raise TypeError(f"not an expression: {e!r}")


def substitute(e: Expr, mapping: Mapping[str, Expr]) -> Expr:
    """Replace variables by expressions; used to turn sequential assignments into parallel ones."""
    if isinstance(e, Var):
        return mapping.get(e.name, e)
    if isinstance(e, Const):
        return e
    if isinstance(e, Eq):
        return Eq(substitute(e.left, mapping), substitute(e.right, mapping))
    if isinstance(e, Lt):
        return Lt(substitute(e.left, mapping), substitute(e.right, mapping))
    if isinstance(e, Not):
        return Not(substitute(e.arg, mapping))
    if isinstance(e, And):
        return And(tuple(substitute(a, mapping) for a in e.args))
    if isinstance(e, Or):
        return Or(tuple(substitute(a, mapping) for a in e.args))
    if isinstance(e, Ite):
        return Ite(
            substitute(e.cond, mapping), substitute(e.then, mapping), substitute(e.orelse, mapping)
        )
    raise TypeError(f"not an expression: {e!r}")
