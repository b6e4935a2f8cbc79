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

import ast
import json
import time
from pathlib import Path
from typing import Any

from model import CONFORMS, VIOLATES, Verdict

from conformance.check import CheckReport
from conformance.errors import UsageError
from conformance.run import ContractViolation, Inconclusive, LivenessFailure, Run
from conformance.target import load_factory

__all__ = ["load_replay", "replay", "ReplayFileError"]

_CALLS = {"write", "read", "flush", "fault", "advance", "crash", "concurrent", "finish"}


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
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ReplayFileError(f"{source}: not a counterexample script: {e.msg} at line {e.lineno}") from None
    header: dict[str, Any] = {}
    calls: list[tuple[str, list[Any], dict[str, Any]]] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        try:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "Run":
                header = {"args": [ast.literal_eval(a) for a in node.value.args],
                          "kwargs": {k.arg: ast.literal_eval(k.value) for k in node.value.keywords}}
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                f = node.value.func
                if isinstance(f, ast.Attribute) and getattr(f.value, "id", None) == "run" and f.attr in _CALLS:
                    calls.append((f.attr, [ast.literal_eval(a) for a in node.value.args],
                                  {k.arg: ast.literal_eval(k.value) for k in node.value.keywords if k.arg}))
                    continue
        except ValueError:
            pass
        raise ReplayFileError(f"{source}: line {node.lineno}: not a step of a counterexample "
                              "(expected run.write/read/flush/fault/advance/crash/concurrent/finish with literal arguments)")
    if not calls:
        raise ReplayFileError(f"{source}: no run.… steps found")
    return {"kind": "script", "header": header, "calls": calls}


def replay(target: Any, policy: str | None, loaded: dict[str, Any], *, op_timeout: float = 2.0,
           backend: Any = None) -> CheckReport:
    """Run the recorded steps on `target`; the verdict of that one run (never shrunk)."""
    factory, label = load_factory(target)
    started = time.perf_counter()
    if loaded["kind"] == "scenario":
        data = loaded["data"]
        policy = policy or data["policy"]
        keys = tuple(sorted({op["key"] for ops in data["clients"].values() for op in ops if "key" in op}))
        run = Run(factory, policy, keys=keys or ("k",), op_timeout=op_timeout, backend=backend,
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
        policy = policy or kw.pop("policy", None)
        kw.pop("policy", None)
        if policy is None:
            raise UsageError("--policy is needed: the replay file does not name one")
        allowed = {k: v for k, v in kw.items() if k in ("keys", "staleness", "instances", "initial", "initial_cache")}
        if "keys" in allowed:
            allowed["keys"] = tuple(allowed["keys"])
        run = Run(factory, policy, op_timeout=op_timeout, backend=backend, **allowed)
        calls = loaded["calls"]
        if calls[-1][0] != "finish":
            calls = calls + [("finish", [], {})]
    run.label = label
    verdict = Verdict(CONFORMS)
    try:
        for name, args, kwargs in calls:
            if name == "concurrent" and "ops" not in kwargs and args:
                args = [[tuple(o) for o in args[0]]] + list(args[1:])
            getattr(run, name)(*args, **kwargs)
        verdict = Verdict(CONFORMS, relaxations=run.verdict_relaxations)
    except (ContractViolation, LivenessFailure) as e:
        verdict = Verdict(VIOLATES, e.violation)
    except Inconclusive as e:
        verdict = Verdict("UNKNOWN", reason=str(e))
    finally:
        run.close()
    return CheckReport(label, run.policy.name, verdict, 1, len(run.lines), time.perf_counter() - started,
                       run.script() if verdict.status == VIOLATES else None, None,
                       "replayed, not searched: one run of the recorded steps", tuple(run.events), tuple(run.env.trace))
