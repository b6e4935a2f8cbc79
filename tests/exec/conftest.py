"""Subjects in other languages for the exec tests: the reference clients built once per
session (with their own `run` scripts, into a temporary cache, never into the repository).

A missing toolchain skips the tests that need it, with the install command, except under
CI (CI=true), where it fails them: .ci/run installs everything they need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
STUB = Path(__file__).with_name("stub_subject.py")

NAMES = {  # the example subjects, by language: (correct write-through, correct write-behind, buggy twins)
    "node": {"write_through": "write_through", "write_behind": "write_behind",
             "buggy_write_through": "buggy_write_through", "buggy_write_behind": "buggy_write_behind"},
    "java": {"write_through": "WriteThrough", "write_behind": "WriteBehind",
             "buggy_write_through": "BuggyWriteThrough", "buggy_write_behind": "BuggyWriteBehind"},
    "go": {"write_through": "write_through", "write_behind": "write_behind",
           "buggy_write_through": "buggy_write_through", "buggy_write_behind": "buggy_write_behind"},
}
INSTALL = {"node": "apt-get install -y nodejs", "java": "apt-get install -y default-jdk-headless",
           "go": "apt-get install -y golang-go"}
TOOLS = {"node": ("node",), "java": ("java", "javac"), "go": ("go",)}


def need(language: str) -> None:
    """Skip (fail under CI) unless `language`'s toolchain is installed."""
    missing = [t for t in TOOLS[language] if shutil.which(t) is None]
    if missing:
        why = f"{', '.join(missing)} not installed ({INSTALL[language]})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"under CI every toolchain must be installed (.ci/run): {why}", pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="session")
def client_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-cache")


def _build(argv: list[str], cache: Path) -> str:
    env = dict(os.environ, CC_CLIENT_CACHE=str(cache))
    p = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{' '.join(argv)} failed:\n{p.stderr}"
    return p.stdout.strip()


@pytest.fixture(scope="session")
def java_classes(client_cache: Path) -> str:
    need("java")
    return _build([str(CLIENTS / "java" / "run"), "--build"], client_cache)


@pytest.fixture(scope="session")
def go_binaries(client_cache: Path) -> dict[str, str]:
    need("go")
    return {name: _build([str(CLIENTS / "go" / "run"), "--build", name], client_cache) for name in NAMES["go"].values()}


class Subjects:
    """The command that starts each example subject of each language."""

    def __init__(self, request: pytest.FixtureRequest):
        self._request = request

    def command(self, language: str, example: str) -> str:
        name = NAMES[language][example]
        need(language)
        if language == "node":
            return f"node clients/node/examples/{name}.js"
        if language == "java":
            classes = self._request.getfixturevalue("java_classes")
            return f"java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp {classes} {name}"
        return self._request.getfixturevalue("go_binaries")[name]


@pytest.fixture
def subjects(request: pytest.FixtureRequest) -> Subjects:
    return Subjects(request)


@pytest.fixture
def exec_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """exec_factory(command, **options), run from the repository's root; every factory made
    is closed at the end of the test."""
    from conformance.exec import exec_factory as make

    monkeypatch.chdir(ROOT)
    made = []

    def factory(command: str, **options: object) -> object:
        f = make(command, **options)
        made.append(f)
        return f

    yield factory
    for f in made:
        f.close()


def stub(mode: str, *args: str) -> str:
    """The command of the misbehaving stub subject (tests/exec/stub_subject.py)."""
    return " ".join([sys.executable, str(STUB), mode, *args])
