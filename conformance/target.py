"""Turning what the user typed (`module:factory` or `path/to/file.py:factory`) into a factory."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

__all__ = ["load_factory", "describe_factory"]


def load_factory(spec: str | Callable[..., Any]) -> tuple[Callable[..., Any], str]:
    """The factory named by `spec`, and the label that names it in reports.

    Raises:
        UsageError: with one line saying what is wrong and how to fix it.
    """
    if callable(spec):
        return spec, describe_factory(spec)
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
        name = f"_cc_target_{abs(hash(str(path.resolve())))}"
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
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if mod and qual and "<" not in qual:
        return f"{mod}:{qual}"
    return repr(fn)
