"""`cache-conformance check --exec COMMAND`: the README's commands, and the usage errors."""

from __future__ import annotations

import io

from cache_conformance.cli import main
from tests.exec.conftest import ROOT, stub


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_readme_command_checks_a_node_cache(subjects, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run("check", "--exec", subjects.command("node", "write_through"), "--policy", "write-through",
                       "--examples", "10")
    assert code == 0, out
    assert out.startswith("CONFORMS: exec:node clients/node/examples/write_through.js as write-through")


def test_the_run_scripts_build_and_start_java_and_go_subjects(subjects, client_cache, monkeypatch):
    # `clients/java/run NAME` and `clients/go/run NAME` as the README shows them, with the
    # builds the session made (the scripts find them by the sources' hash).
    subjects.command("java", "write_through")
    subjects.command("go", "write_through")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CC_CLIENT_CACHE", str(client_cache))
    for command in ("clients/java/run WriteThrough", "clients/go/run write_through"):
        code, out, _ = run("check", "--exec", command, "--policy", "write-through", "--examples", "5", "--steps", "10")
        assert code == 0, out
        assert out.startswith(f"CONFORMS: exec:{command} as write-through")


def test_a_target_or_exec_is_needed_and_not_both():
    code, _, err = run("check", "--policy", "write-through")
    assert code == 2
    assert err == ("cache-conformance check: error: check needs a target (module:factory or path/to/file.py:factory) "
                   "or --exec COMMAND\n")
    code, _, err = run("check", "implementations.memory:write_through", "--exec", stub("ok"), "--policy", "write-through")
    assert code == 2
    assert err.startswith("cache-conformance check: error: give a target or --exec, not both")


def test_a_subject_that_fails_its_handshake_is_exit_2():
    code, out, err = run("check", "--exec", stub("bad-version"), "--policy", "write-through")
    assert code == 2 and out == ""
    assert err.endswith("failed the handshake: the subject speaks protocol version 99; this harness speaks 1\n")
    assert err.count("\n") == 1


def test_help_states_the_timeouts():
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(["check", "--help"], stdout=out)
        except SystemExit:
            pass
    text = " ".join(out.getvalue().split())
    assert "must say hello within 60 s" in text
    assert "defaults to 10 s with --exec" in text
