"""The runnable counterexample: a failing run printed as the `Run` calls that reproduce it,
and read back (`check --replay`).

    from conformance import Run

    run = Run('implementations.memory:write_through', policy='write-through')
    run.write('k0', 'v1')
    run.fault('db-down')
    run.read('k0')

One module writes and reads this format, so the two cannot drift apart: `RunLine` builds
the `run = Run(...)` line from data (the target, the policy, and every option as a
name and a value, a value that is not a literal given as an `Expr` with the import it
needs), `step` builds each `run.…` line, `render` puts them together, and `parse` reads
them back without executing anything.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from attrs import field, frozen

from conformance.errors import UsageError

__all__ = ["Expr", "RunLine", "step", "render", "parse", "ScriptError", "STEPS"]

#: The `run.…` calls a script may contain: the public steps of `conformance.Run`.
STEPS = ("write", "read", "flush", "fault", "advance", "crash", "concurrent", "finish", "delete")


class ScriptError(UsageError):
    """Text that is not a counterexample script (one line, naming where)."""


@frozen
class Expr:
    """An option value printed as source text rather than as its repr, with the imports it
    needs: e.g. a backend, `Expr("RedisBackend(database='pg')", ("from conformance.backends.harness import RedisBackend",))`.

    Attributes:
        text: the source of the value, as it appears after `name=` in the `Run(...)` line.
        imports: the import lines it needs (printed once each, after `from conformance import Run`).
        notes: what a reader must do for the line to run as printed (e.g. set an
            environment variable the text reads instead of a password); printed as `# `
            comment lines just above the `Run(...)` line.
    """

    text: str
    imports: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return self.text


@frozen(kw_only=True)
class RunLine:
    """`run = Run(target, policy=..., option=value, ...)`: the first line of every script.

    Attributes:
        target: the label of the factory (`module:factory` or `path/file.py:factory`).
        policy: the policy's name.
        options: (name, value) pairs in the order they are printed; a value is printed with
            `repr`, so literals read back as they were and an `Expr` prints its source.
    """

    target: str
    policy: str
    options: tuple[tuple[str, Any], ...] = field(default=(), converter=tuple)

    @property
    def imports(self) -> tuple[str, ...]:
        lines = ["from conformance import Run"]
        for _, value in self.options:
            if isinstance(value, Expr):
                lines += [i for i in value.imports if i not in lines]
        return tuple(lines)

    @property
    def notes(self) -> tuple[str, ...]:
        """The options' notes, in order, each once."""
        notes: list[str] = []
        for _, value in self.options:
            if isinstance(value, Expr):
                notes += [n for n in value.notes if n not in notes]
        return tuple(notes)

    def __str__(self) -> str:
        opts = "".join(f", {name}={value!r}" for name, value in self.options)
        return f"run = Run({self.target!r}, policy={self.policy!r}{opts})"


def step(name: str, *args: Any, **kwargs: Any) -> str:
    """One step as it is printed after `run.`: `step("write", "k0", "v1", client="c1")` is
    `write('k0', 'v1', client='c1')`. Keyword arguments keep their order."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def render(line: RunLine, steps: Sequence[str]) -> str:
    """The whole script: the imports, the options' notes (as comments), the `Run(...)`
    line, then `run.<step>` per step."""
    notes = [f"# {note}" for note in line.notes]
    return "\n".join([*line.imports, "", *notes, str(line), *(f"run.{s}" for s in steps)])


def parse(text: str, source: str) -> dict[str, Any]:
    """Read a script back: {"kind": "script", "header": {"args", "kwargs"} of the `Run(...)`
    call, "calls": [(step, args, kwargs)]}. Only literal arguments are read (nothing is
    executed); import lines and comments are skipped. The `Run(...)` line's `backend=` is
    source text (an `Expr`): it is kept unread as the header's "backend" (that text), since
    where a replay's stores live is the replaying caller's choice.

    Raises:
        ScriptError: a line that is not a step with literal arguments, or no step at all.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ScriptError(f"{source}: not a counterexample script: {e.msg} at line {e.lineno}") from None
    header: dict[str, Any] = {}
    calls: list[tuple[str, list[Any], dict[str, Any]]] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        try:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "Run":
                header = {"args": [ast.literal_eval(a) for a in node.value.args], "kwargs": {}}
                for k in node.value.keywords:
                    if k.arg == "backend":
                        header["backend"] = ast.unparse(k.value)
                    else:
                        header["kwargs"][k.arg] = ast.literal_eval(k.value)
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                f = node.value.func
                if isinstance(f, ast.Attribute) and getattr(f.value, "id", None) == "run" and f.attr in STEPS:
                    calls.append((f.attr, [ast.literal_eval(a) for a in node.value.args],
                                  {k.arg: ast.literal_eval(k.value) for k in node.value.keywords if k.arg}))
                    continue
        except ValueError:
            pass
        raise ScriptError(f"{source}: line {node.lineno}: not a step of a counterexample "
                          "(expected run.write/read/flush/fault/advance/crash/concurrent/finish with literal arguments)")
    if not calls:
        raise ScriptError(f"{source}: no run.… steps found")
    return {"kind": "script", "header": header, "calls": calls}
