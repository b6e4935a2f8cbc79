"""Replaying a recorded run against a subject: `check TARGET --replay FILE` and
`check TARGET --scenario FILE`.

A replay file is one of:
* a counterexample as printed (the `run.…` lines; parsed, never executed),
* the JSON written by `check --json` (its `counterexample`),
* a proof scenario (`cache-conformance/scenario@1`, exported by `prove --scenarios`): clients'
  operations, a schedule of store calls, and faults between them.

The same steps run on the subject under the policy's contract; a schedule that names a
task that cannot run at that point is a usage error (the file does not match the subject).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model import VIOLATES, Policy

from conformance import script
from conformance.backend import Backend, backend_expression
from conformance.errors import UsageError
from conformance.outcome import CheckReport, judge
from conformance.run import Run
from conformance.target import Target, resolve_policy, resolve_target

__all__ = ["load_replay", "replay", "ReplayFileError"]


class ReplayFileError(UsageError):
    """A replay or scenario file that cannot be read or parsed (one line)."""


def load_replay(path: str | Path) -> dict[str, Any]:
    """Read a replay file into {"kind": "script"|"scenario", ...}."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ReplayFileError(f"cannot read {str(p)!r}: {e.strerror or e}") from None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReplayFileError(f"{p}: not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        if isinstance(data, dict) and data.get("format") == "cache-conformance/scenario@1":
            from model.scenario_format import ScenarioError, parse

            try:
                return {"kind": "scenario", "data": parse(data, str(p))}
            except ScenarioError as e:
                raise ReplayFileError(str(e)) from None
        if isinstance(data, dict) and isinstance(data.get("counterexample"), str):
            return _parse_script(data["counterexample"], str(p))
        raise ReplayFileError(f"{p}: neither a scenario@1 file nor a `check --json` report with a counterexample")
    return _parse_script(text, str(p))


def _parse_script(text: str, source: str) -> dict[str, Any]:
    try:
        return script.parse(text, source)
    except script.ScriptError as e:
        raise ReplayFileError(str(e)) from None


def replay(target: Target | str | Callable[..., Any], policy: str | Policy | None, loaded: dict[str, Any], *,
           op_timeout: float = 2.0, backend: Backend | None = None) -> CheckReport:
    """Run the recorded steps on `target`; the verdict of that one run (never shrunk).

    `policy` None takes the file's (a script's `Run(..., policy=...)`, a scenario's).

    Raises:
        UsageError: a bad target or policy, or a file that names none (one line).
        ScheduleMismatch: the recorded schedule does not fit the subject.
    """
    started = time.perf_counter()
    note = "replayed, not searched: one run of the recorded steps"
    if loaded["kind"] == "scenario":
        data = loaded["data"]
        subject = _resolve(target, policy, data["policy"])
        keys = tuple(sorted({op["key"] for ops in data["clients"].values() for op in ops if "key" in op}))
        run = Run(subject, keys=keys or ("k",), op_timeout=op_timeout, backend=backend,
                  initial=data["initial"]["db"], initial_cache=data["initial"]["cache"])
        ops = []
        for client, client_ops in data["clients"].items():
            ops += [(client, o["op"], o.get("key"), o.get("value")) for o in client_ops]
        # After the schedule, read every key back before the TTLs run out: the models'
        # "consistent at quiescence" is about the cache right then, not after expiry.
        calls: list[tuple[str, list[Any], dict[str, Any]]] = [
            ("concurrent", [ops], {"store_steps": {"schedule": data["schedule"], "faults": data["faults"]}}),
            *[("read", [k], {}) for k in keys],
            ("finish", [], {})]
    else:
        kw = dict(loaded["header"].get("kwargs", {}))
        subject = _resolve(target, policy, kw.pop("policy", None))
        allowed = {k: v for k, v in kw.items() if k in ("keys", "staleness", "instances", "initial", "initial_cache")}
        if "keys" in allowed:
            allowed["keys"] = tuple(allowed["keys"])
        run = Run(subject, op_timeout=op_timeout, backend=backend, **allowed)
        # The script's backend= is source text, never executed here: the caller's backend
        # decides where the stores live. Say so when the two differ in kind.
        named = loaded["header"].get("backend")
        if named and backend_expression(run.backend) is None:
            note += (f"; the script ran on {named}, replayed on the in-memory stores "
                     "(--backend redis replays it on Redis)")
        calls = loaded["calls"]
        if calls[-1][0] != "finish":
            calls = calls + [("finish", [], {})]

    def steps() -> None:
        for name, args, kwargs in calls:
            if name == "concurrent" and "ops" not in kwargs and args:
                args = [[tuple(o) for o in args[0]]] + list(args[1:])
            getattr(run, name)(*args, **kwargs)

    try:
        judged = judge(steps, relaxations=lambda: run.verdict_relaxations)
    finally:
        run.close()
    return CheckReport(target=subject.label, policy=subject.policy.name, verdict=judged.verdict, examples=1,
                       steps=len(run.lines), seconds=time.perf_counter() - started,
                       counterexample=run.script() if judged.verdict.status == VIOLATES else None,
                       note=note,
                       history=tuple(run.events), trace=tuple(run.env.trace))


def _resolve(target: Target | str | Callable[..., Any], policy: str | Policy | None, named: Any) -> Target:
    # The policy the caller gave, else a resolved target's own, else the one the file names.
    if policy is None and not isinstance(target, Target):
        if named is None:
            raise UsageError("--policy is needed: the replay file does not name one")
        policy = resolve_policy(named)
    return resolve_target(target, policy)
