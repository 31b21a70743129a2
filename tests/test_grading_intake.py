"""Bad input for `autograder grade`: wrong layouts, broken zips, duplicate ids, a machine without isolation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import assemble, sandbox, submissions
from autograder.grade import Options, main as grade_main
from conftest import REPO

ASSIGNMENT = "01_manual_gradients"


def notebook_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), path)
    return path


def test_all_three_layouts_are_read(tmp_path):
    notebook_file(tmp_path / "ada" / ASSIGNMENT / "a.ipynb")
    notebook_file(tmp_path / "bo" / "b.ipynb")
    notebook_file(tmp_path / "cy_12345_attempt.ipynb")
    found = {s.student_id: s for s in submissions.from_folder(tmp_path, ASSIGNMENT)}
    assert set(found) == {"ada", "bo", "cy"}
    assert all(len(s.notebooks) == 1 and not s.status for s in found.values())


def test_a_folder_without_notebooks_is_a_clear_error(tmp_path):
    (tmp_path / "ada" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "ada" / ASSIGNMENT / "answers.txt").write_text("not a notebook")
    with pytest.raises(submissions.BatchError, match="not one notebook"):
        submissions.from_folder(tmp_path, ASSIGNMENT)
    with pytest.raises(submissions.BatchError, match="no submissions"):
        submissions.from_folder(tmp_path / "ada" / ASSIGNMENT, ASSIGNMENT)
    with pytest.raises(submissions.BatchError, match="does not exist"):
        submissions.collect(tmp_path, ASSIGNMENT, tmp_path / "nowhere")


def test_an_unreadable_zip_is_a_clear_error(tmp_path):
    broken = tmp_path / "download.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(submissions.BatchError, match="cannot be read as a zip"):
        submissions.collect(tmp_path, ASSIGNMENT, broken)


def test_a_zip_cannot_write_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escaped.ipynb", "{}")
    with pytest.raises(submissions.BatchError, match="outside"):
        submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=tmp_path / "unpacked")
    assert not (tmp_path / "escaped.ipynb").exists()


def test_a_zip_with_a_top_folder_is_unwrapped(tmp_path):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"export/ada/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", json.dumps(nbformat.v4.new_notebook()))
        zipped.writestr("export/bo_998_submission.ipynb", json.dumps(nbformat.v4.new_notebook()))
    found = submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=tmp_path / "unpacked")
    assert [s.student_id for s in found] == ["ada", "bo"]


def test_duplicate_student_ids_are_flagged_not_guessed(tmp_path):
    notebook_file(tmp_path / "ada" / "a.ipynb")
    notebook_file(tmp_path / "ada_late.ipynb")
    notebook_file(tmp_path / "Ada_again.ipynb")
    notebook_file(tmp_path / "bo" / "b.ipynb")
    found = {s.student_id.lower(): s for s in submissions.from_folder(tmp_path, ASSIGNMENT)}
    assert set(found) == {"ada", "bo"}
    assert found["ada"].status == ["duplicate-id"] and found["ada"].notebooks == []
    assert "more than once" in found["ada"].notes[-1]
    assert found["bo"].status == []


def test_unusable_student_ids_are_flagged(tmp_path):
    notebook_file(tmp_path / "-rf" / "a.ipynb")
    notebook_file(tmp_path / "bo" / "b.ipynb")
    found = {s.student_id: s for s in submissions.from_folder(tmp_path, ASSIGNMENT)}
    assert found["-rf"].status == ["invalid-id"] and found["bo"].status == []


def test_a_damaged_notebook_still_yields_its_answers(tmp_path):
    source = nbformat.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    solution_ids = {assemble.nbgrader_meta(c)["grade_id"] for c in source.cells
                    if assemble.nbgrader_meta(c).get("solution")}
    known = {assemble.nbgrader_meta(c)["grade_id"] for c in source.cells if assemble.nbgrader_meta(c)}
    raw = json.loads((REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    del raw["metadata"], raw["nbformat"]          # no longer a valid notebook, cells intact
    raw["cells"].append("garbage")
    damaged = tmp_path / "damaged.ipynb"
    damaged.write_text(json.dumps(raw))
    cells = assemble.read_student_cells(damaged, solution_ids, known)
    assert set(cells.answers) == solution_ids and not cells.status
    assert "does not follow the notebook format" in cells.notes[0]


def test_refuses_to_grade_without_isolation(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert "bubblewrap is not installed" in sandbox.isolation_problem()
    with pytest.raises(sandbox.IsolationUnavailable, match="--unsafe-no-sandbox"):
        grade_main([ASSIGNMENT], REPO, tmp_path, Options())


def test_the_command_reports_bad_input_without_a_traceback(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(REPO / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    broken = tmp_path / "download.zip"
    broken.write_text("not a zip")
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from",
                           str(broken), "--course-root", str(course)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "cannot be read as a zip" in done.stderr and "Traceback" not in done.stderr


def test_a_source_that_fails_its_own_checks_stops_grading_with_a_message(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(REPO / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    shutil.copy(REPO / "nbgrader_config.py", course)
    path = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.write_text(path.read_text().replace("expected=12.01", "expected=13.01"))
    notebook_file(tmp_path / "batch" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("COURSE_GRADEBOOK_URL", None)
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from",
                           str(tmp_path / "batch"), "--course-root", str(course), "--no-progress"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "does not pass its own checks" in done.stderr and "Traceback" not in done.stderr
