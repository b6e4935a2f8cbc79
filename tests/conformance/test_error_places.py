"""A subject's exception is reported with its place: the innermost frame of the subject's
own code (its target's package, or its file) and, when that is elsewhere, the frame that
raised it (the standard library, a client library, the harness's store layer), in the text
of `check`, in `--json` and on the report's violation (`Violation.place`)."""

from __future__ import annotations

import io
import json
import json.decoder
from pathlib import Path
from typing import Any

import pytest

import conformance.stores
from cache_conformance.cli import main
from conformance import SubjectBuildError, run_check
from model import ErrorPlace, SourceFrame

S = "tests.conformance.raising_subjects"
SUBJECTS = Path(__file__).with_name("raising_subjects.py")


def _line(marker: str, path: Path = SUBJECTS) -> int:
    """The line of `path` marked `# RAISES <marker>`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.rstrip().endswith(f"# RAISES {marker}"))


def _check(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _place(report: Any) -> ErrorPlace:
    assert report.verdict.status == "VIOLATES" and report.clause == "subject-error", report.render()
    place = report.verdict.violation.place
    assert place is not None, report.render()
    return place


def test_a_bug_in_the_subjects_own_code_names_its_line_and_nothing_else(tmp_path):
    out_json = tmp_path / "report.json"
    code, out, err = _check(f"{S}:own_bug", "--policy", "write-through", "--examples", "50",
                            "--json", str(out_json))
    assert code == 1, err
    own = SourceFrame(str(SUBJECTS), _line("own"), "_checked")
    assert f"subject code: {own}\n" in out, out
    assert "raised in:" not in out  # the subject raised it itself
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["clause"] == "subject-error"
    assert data["place"] == {"subject": {"file": str(SUBJECTS), "line": _line("own"), "function": "_checked"},
                             "raised": None}


def test_a_library_raising_under_the_subjects_code_names_both_frames(tmp_path):
    out_json = tmp_path / "report.json"
    code, out, err = _check(f"{S}:library_bug", "--policy", "write-through", "--examples", "50",
                            "--json", str(out_json))
    assert code == 1, err
    data = json.loads(out_json.read_text(encoding="utf-8"))
    place = data["place"]
    # The subject's line that called json.loads, and json's own frame that raised.
    assert place["subject"] == {"file": str(SUBJECTS), "line": _line("library"), "function": "read"}
    assert Path(place["raised"]["file"]).resolve() == Path(json.decoder.__file__).resolve()
    assert place["raised"]["function"] and place["raised"]["line"] > 0
    assert f"subject code: {SUBJECTS}, line {_line('library')}, in read\n" in out, out
    raised = SourceFrame(**place["raised"])
    assert f"raised in: {raised}\n" in out, out


def test_the_harness_store_layer_is_never_the_subjects_code():
    report = run_check(f"{S}:harness_bug", "write-through", examples=50)
    place = _place(report)
    assert place.subject == SourceFrame(str(SUBJECTS), _line("harness"), "write")
    assert place.raised is not None
    assert Path(place.raised.file).resolve() == Path(conformance.stores.__file__).resolve()


def test_a_concurrent_client_and_a_background_worker_are_placed_too():
    client = _place(run_check(f"{S}:own_bug", "write-through", clients=2, examples=50))
    assert client.subject == SourceFrame(str(SUBJECTS), _line("own"), "_checked")
    worker = _place(run_check(f"{S}:worker_bug", "write-behind", examples=50))
    assert worker.subject == SourceFrame(str(SUBJECTS), _line("worker"), "_flusher")
    assert worker.raised is None


def test_a_factory_that_raises_is_one_line_with_its_place():
    with pytest.raises(SubjectBuildError) as info:
        run_check(f"{S}:factory_bug", "write-through")
    assert info.value.place == ErrorPlace(SourceFrame(str(SUBJECTS), _line("factory"), "factory_bug"))
    assert "\n" not in str(info.value)
    assert str(info.value).endswith(f"(subject code: {SUBJECTS}, line {_line('factory')}, in factory_bug)")


def test_a_file_target_is_its_own_code(tmp_path):
    subject = tmp_path / "cache.py"
    subject.write_text(
        "import json\n\n"
        "class Cache:\n"
        "    def __init__(self, env):\n"
        "        self.env = env\n\n"
        "    def write(self, key, value):\n"
        "        self.env.db.put(key, value)\n"
        "        self.env.cache.delete(key)\n\n"
        "    def read(self, key):\n"
        "        v = self.env.db.get(key)\n"
        "        return v if v is None else json.loads(v)  # RAISES file\n",
        encoding="utf-8")
    place = _place(run_check(f"{subject}:Cache", "write-through", examples=50))
    assert place.subject == SourceFrame(str(subject), _line("file", subject), "read")
    assert place.raised is not None and Path(place.raised.file).resolve() == Path(json.decoder.__file__).resolve()


def test_a_violation_that_is_no_exception_has_no_place(tmp_path):
    out_json = tmp_path / "report.json"
    code, _, _ = _check("tests.conformance.subjects:cache_first", "--policy", "write-through",
                        "--json", str(out_json))
    assert code == 1
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["clause"] != "subject-error" and data["place"] is None


def test_the_html_timeline_and_the_text_timeline_show_the_place(tmp_path):
    page = tmp_path / "report.html"
    code, out, err = _check(f"{S}:library_bug", "--policy", "write-through", "--examples", "50",
                            "--html", str(page))
    assert code == 1, err
    html_text = page.read_text(encoding="utf-8")
    assert f'<dt>subject code</dt><dd class="place">{SUBJECTS}, line {_line("library")}, in read</dd>' in html_text
    assert '<dt>raised in</dt><dd class="place">' in html_text and "decoder.py" in html_text
    # The text timeline under the verdict says it too, indented with its expected/observed.
    assert f"  subject code: {SUBJECTS}, line {_line('library')}, in read\n" in out, out
