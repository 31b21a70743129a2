"""The round trip's small parts, without a sandbox: submission times, filing a batch, the formgrader
annotations, LMS export tables, and the command run from a bare shell."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from autograder import collect, export, review, timestamps
from autograder.submissions import Submission
from conftest import REPO


def test_nbgrader_timestamps_and_iso_times_read_as_naive_utc():
    assert timestamps.parse("2026-11-20 16:59:00.250000 UTC") == datetime(2026, 11, 20, 16, 59, 0, 250000)
    assert timestamps.parse("2026-11-20T17:59:00+01:00") == datetime(2026, 11, 20, 16, 59)
    assert timestamps.format_utc(datetime(2026, 11, 20, 16, 59)) == "2026-11-20 16:59:00.000000 UTC"
    for bad in ("", "yesterday-ish", "9" * 300):
        with pytest.raises(ValueError):
            timestamps.parse(bad)


def test_a_manifest_beats_timestamp_txt_which_beats_the_file_time(tmp_path):
    folder = tmp_path / "ada" / "a1"
    folder.mkdir(parents=True)
    notebook = folder / "a1.ipynb"
    notebook.write_text("{}")
    os.utime(notebook, (1795000000, 1795000000))
    assert timestamps.submission_time("ada", [notebook]) == timestamps.SubmissionTime(
        datetime(2026, 11, 18, 11, 6, 40), "file time")
    (folder / "timestamp.txt").write_text("2026-11-19 08:00:00.000000 UTC")
    assert timestamps.submission_time("ada", [notebook]).source == "timestamp.txt"
    manifest = tmp_path / "times.csv"
    manifest.write_text("student_id,submitted_at\nADA,2026-11-20T09:00:00Z\n")
    found = timestamps.submission_time("ada", [notebook], timestamps.load_manifest(manifest))
    assert found == timestamps.SubmissionTime(datetime(2026, 11, 20, 9), "manifest")
    assert timestamps.submission_time("bo", []) is None


def test_a_bad_manifest_names_the_file_and_line(tmp_path):
    wrong_columns = tmp_path / "a.csv"
    wrong_columns.write_text("name,when\nada,2026-11-20\n")
    with pytest.raises(timestamps.ManifestError, match="student_id and submitted_at"):
        timestamps.load_manifest(wrong_columns)
    bad_row = tmp_path / "b.csv"
    bad_row.write_text("student_id,submitted_at\nada,2026-11-20\nbo,soon\n")
    with pytest.raises(timestamps.ManifestError, match="line 3"):
        timestamps.load_manifest(bad_row)


def test_filing_a_batch_keeps_an_earlier_different_copy(tmp_path):
    upload = tmp_path / "upload" / "ada_a1.ipynb"
    upload.parent.mkdir()
    upload.write_text('{"new": 1}')
    course = tmp_path / "course"
    earlier = course / "submitted" / "ada" / "a1"
    earlier.mkdir(parents=True)
    (earlier / "a1.ipynb").write_text('{"old": 1}')
    submission = Submission("ada", [upload], submitted_at=datetime(2026, 11, 20, 9))
    filed = collect.file_submission(course, "a1", submission, ["a1"])
    assert (filed / "a1.ipynb").read_text() == '{"new": 1}'
    assert (filed / "timestamp.txt").read_text().startswith("2026-11-20 09:00:00.000000 UTC")
    kept = list((course / "submitted" / ".replaced").glob("ada-a1-*/a1.ipynb"))
    assert [p.read_text() for p in kept] == ['{"old": 1}']
    assert collect.file_submission(course, "a1", Submission("../x", [upload], ["invalid-id"],
                                                             submitted_at=datetime(2026, 1, 1)), ["a1"]) is None


def test_the_graders_view_never_shows_a_hidden_expected_value():
    hidden = {"what": "slope at 1", "passed": False, "visible": False, "mistake": "forward difference",
              "message": "expected 0.5403, found 0.4956. Likely mistake: forward difference. Hint: look at x-h."}
    line = review.verdict_line(hidden)
    assert "0.5403" not in line and "forward difference" in line and "look at x-h" in line
    visible = {**hidden, "visible": True}
    assert "expected 0.5403" in review.verdict_line(visible)
    assert review.verdict_line({**hidden, "passed": True}) == "✓ slope at 1: passed"


def _tiny_source() -> nbformat.NotebookNode:
    answer = nbformat.v4.new_code_cell("x = 1")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "x", "locked": False}
    check = nbformat.v4.new_code_cell("check(x)")
    check.metadata["nbgrader"] = {"solution": False, "grade": True, "grade_id": "check_x", "points": 1,
                                  "locked": True}
    written = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nModel. **Rubric.** 1: says why.\n### END SOLUTION")
    written.metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "written_why", "points": 1,
                                    "locked": False}
    return nbformat.v4.new_notebook(cells=[answer, check, written])


def test_annotating_is_idempotent_and_makes_student_html_inert():
    source = _tiny_source()
    row = {"status": ["deleted-cells"], "notes": ["<b>a note</b>"],
           "exercises": {"check_x": {"score": 1, "points": 1, "checks": [
               {"what": "x is one", "passed": True, "visible": True, "message": "passed", "mistake": None}]}}}
    written = review.written_cells(source)
    answers = {"written_why": "Because <img src=x onerror=alert(1)>."}
    once = review.annotate(nbformat.from_dict(source), row, written, answers)
    twice = review.annotate(nbformat.from_dict(once), row, written, answers)
    without_ids = lambda notebook: [{k: v for k, v in c.items() if k != "id"} for c in notebook.cells]  # noqa: E731
    assert without_ids(once) == without_ids(twice)
    sources = [c.source for c in once.cells]
    assert "deleted-cells" in sources[0] and "<b>" not in sources[0]
    assert sources[3] == "Because &lt;img src=x onerror=alert(1)&gt;."
    assert "Rubric." in sources[4] and "BEGIN SOLUTION" not in sources[4]
    assert once.cells[2].outputs[-1].text.startswith("Graded: 1 / 1 points\n✓ x is one: passed")


def test_lms_tables_have_the_headers_the_systems_import():
    late = export.GradeRow("ada", "Ada", "Lovelace", "ada@example.org", "4711", True, "2026-11-21T19:30:00Z",
                           95400.0, 9.0, 12.0, 9.0, 2.0)
    absent = export.GradeRow("bo", "", "", "", "", False, "", 0.0, 0.0, 12.0, 0.0, 0.0)
    canvas = export.table([late, absent], "a1", "canvas")
    assert canvas == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a1"],
                      ["Lovelace, Ada", "4711", "", "ada", "", "0"], ["bo", "", "", "bo", "", ""]]
    moodle = export.table([late], "a1", "moodle")
    assert moodle[1] == ["ada", "ada@example.org", "0", "late penalty 9 points; 2 points still to be graded by hand"]
    with pytest.raises(export.ExportError, match="canvas, moodle, csv"):
        export.table([late], "a1", "blackboard")


@pytest.mark.slow  # nbgrader's import and alembic: tens of seconds on a busy machine
def test_the_command_runs_from_a_bare_shell_without_an_activated_venv(tmp_path):
    """A fresh gradebook makes nbgrader run `alembic`: found next to the interpreter, not on PATH."""
    (tmp_path / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    command = Path(sys.executable).parent / "autograder"
    done = subprocess.run([str(command), "export", "a1", "--to", "csv", "--course-root", str(tmp_path)],
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no assignment 'a1'" in done.stderr, done.stderr[-2000:]
    assert "alembic" not in done.stderr and (tmp_path / "gradebook.db").exists()
