"""Turning what the user typed (`module:factory` or `path/to/file.py:factory`, and a
policy name) into the one `Target` value every mode of a check receives.

Resolved once, at the entry point (`run_check`, `explore_schedules`, `replay`, `Run`): a
target that cannot be imported and a policy nobody knows are the same one-line
`UsageError` whichever mode the user asked for, and nothing downstream resolves again.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import frozen

from model import Policy, UnknownPolicy
from model import policy as lookup_policy

from conformance.errors import UsageError

__all__ = ["Target", "resolve_target", "resolve_policy", "load_factory", "describe_factory", "own_code"]

# The module name a `path/file.py:factory` target is loaded under. It is private to this
# process (the hash of the path is salted per process), so it never appears in a
# counterexample: a factory found in such a module is named by its file instead.
_FILE_MODULE_PREFIX = "_cc_target_"


@frozen
class Target:
    """What is checked, and against what: a factory, the label that names it in reports and
    counterexamples, and the policy.

    Example::

        target = resolve_target("implementations.memory:write_through", "write-through")
        target.label, target.policy.name   # ('implementations.memory:write_through', 'write-through')
    """

    factory: Callable[..., Any]
    label: str
    policy: Policy


def resolve_target(target: Target | str | Callable[..., Any], policy: str | Policy | None = None) -> Target:
    """`target` (a `Target`, a factory, `module:factory` or `path/file.py:factory`) with
    `policy` (a name, an alias or a `Policy`; None keeps a `Target`'s own).

    The policy is resolved before the target, so a bad policy is reported without
    importing anything.

    Raises:
        UsageError: an unknown policy, a target that cannot be imported or called, or no
            policy at all; one line each.
    """
    if isinstance(target, Target):
        return target if policy is None else Target(target.factory, target.label, resolve_policy(policy))
    if policy is None:
        raise UsageError(f"a policy is needed to check {target!r}")
    pol = resolve_policy(policy)
    factory, label = load_factory(target)
    return Target(factory, label, pol)


def resolve_policy(policy: str | Policy) -> Policy:
    """The `Policy` named `policy`.

    Raises:
        UsageError: naming the known policies.
    """
    if isinstance(policy, Policy):
        return policy
    if not isinstance(policy, str):
        raise UsageError(f"a policy is a name such as 'write-through', got {policy!r}")
    try:
        return lookup_policy(policy)
    except UnknownPolicy as e:
        raise UsageError(str(e)) from None


def load_factory(spec: str | Callable[..., Any]) -> tuple[Callable[..., Any], str]:
    """The factory named by `spec`, and the label that names it in reports.

    Raises:
        UsageError: with one line saying what is wrong and how to fix it.
    """
    if callable(spec):
        return spec, describe_factory(spec)
    if isinstance(spec, str) and spec.startswith("exec:"):
        # A subject process in any language (docs/PROTOCOL.md): `exec:COMMAND`, as
        # counterexamples of `check --exec` name it.
        from conformance.exec import load_exec_target

        return load_exec_target(spec)
    if not isinstance(spec, str) or ":" not in spec:
        raise UsageError(
            f"target {spec!r} is not of the form module:factory or path/to/file.py:factory"
        )
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise UsageError(f"target {spec!r} is not of the form module:factory or path/to/file.py:factory")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"target file {where!r} does not exist")
        # The label names the file by its absolute path: a counterexample printed with it
        # runs from any working directory, through this same loader.
        spec = f"{path.resolve()}:{attr}"
        name = f"{_FILE_MODULE_PREFIX}{abs(hash(str(path.resolve())))}"
        try:
            s = importlib.util.spec_from_file_location(name, path)
            assert s is not None and s.loader is not None
            module = importlib.util.module_from_spec(s)
            sys.modules[name] = module
            s.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001 - the user's file failed to import
            raise UsageError(f"cannot import {where!r}: {type(e).__name__}: {e}") from None
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except Exception as e:  # noqa: BLE001
            raise UsageError(f"cannot import module {where!r}: {type(e).__name__}: {e}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{where!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise UsageError(f"{spec!r} is not callable (it is a {type(obj).__name__}); it must be factory(env) -> subject")
    return obj, spec


def describe_factory(fn: Callable[..., Any]) -> str:
    """The label of a factory given as an object: `module:qualname`, which `load_factory`
    loads back (a factory of a file loaded by path is named `/abs/path/file.py:qualname`);
    its repr when it has no importable name (a lambda, a local function)."""
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if mod and qual and "<" not in qual:
        if mod.startswith(_FILE_MODULE_PREFIX):
            file = getattr(sys.modules.get(mod), "__file__", None)
            if file:
                return f"{Path(file).resolve()}:{qual}"
        return f"{mod}:{qual}"
    return repr(fn)


def own_code(target: Target) -> tuple[str, ...]:
    """The files and directories that hold the subject's own code: the target file of a
    `path/file.py:factory` target, else the directory of the target module's top-level
    package (or its file, for a top-level module). Empty when there is no Python source to
    point at (an `exec:` subject, a factory with no module).

    Used to tell the subject's frames in a traceback from a library's and the harness's.
    """
    label = target.label
    if label.startswith("exec:"):
        return ()
    where = label.rpartition(":")[0]
    if (where.endswith(".py") or os.sep in where or "/" in where) and Path(where).is_file():
        return (str(Path(where).resolve()),)
    # The module the user named; for a factory given as an object with no importable
    # name (its label is its repr), the module that defines it.
    mod = where if where and all(p.isidentifier() for p in where.split(".")) else \
        getattr(target.factory, "__module__", None)
    if not isinstance(mod, str):
        return ()
    if mod.startswith(_FILE_MODULE_PREFIX):
        file = getattr(sys.modules.get(mod), "__file__", None)
        return (str(Path(file).resolve()),) if file else ()
    top = sys.modules.get(mod.partition(".")[0])
    if top is None:
        return ()
    paths = list(getattr(top, "__path__", None) or ())  # a package (a namespace one may have several)
    if not paths and getattr(top, "__file__", None):
        paths = [top.__file__]
    return tuple(str(Path(p).resolve()) for p in paths)
