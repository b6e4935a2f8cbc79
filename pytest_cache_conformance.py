"""pytest plugin (registered under `pytest11`): a `conformance` fixture and command-line
options for the check budget, so that gating a CI job takes three lines:

    def test_my_cache(conformance):
        conformance("mypkg.cache:factory", policy="write-through")

Loading this module (pytest does, in every run of every user who installed the package)
imports only pytest: the harness, and with it Hypothesis, is imported when a test asks for
the fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["conformance"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cache-conformance")
    group.addoption("--cc-examples", type=int, default=None, help="Hypothesis examples per conformance check")
    group.addoption("--cc-seed", type=int, default=None, help="seed for conformance checks")
    group.addoption("--cc-backend", default="memory", choices=("memory", "redis"), help="store backend for conformance checks")


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """check(target, policy=..., **options) with the command line's budget; raises
    NonConformance (an AssertionError carrying the runnable counterexample) unless CONFORMS."""
    from conformance import check

    cfg = request.config
    defaults: dict[str, Any] = {}
    if cfg.getoption("--cc-examples") is not None:
        defaults["examples"] = cfg.getoption("--cc-examples")
    if cfg.getoption("--cc-seed") is not None:
        defaults["seed"] = cfg.getoption("--cc-seed")
    if cfg.getoption("--cc-backend") == "redis":
        from conformance.backends import backend_for

        defaults["backend"] = backend_for("redis")

    def run(target: Any, policy: str, **options: Any) -> Any:
        return check(target, policy, **{**defaults, **options})

    return run
