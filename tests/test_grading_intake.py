"""Bad input for `autograder grade`: wrong layouts, broken zips, duplicate ids, a machine without isolation."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import assemble, sandbox, submissions
from autograder import grade as grading
from autograder.grade import Options, main as grade_main
from conftest import REPO
from frozen_course import FROZEN

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
    source = nbformat.read(FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    solution_ids = {assemble.nbgrader_meta(c)["grade_id"] for c in source.cells
                    if assemble.nbgrader_meta(c).get("solution")}
    known = {assemble.nbgrader_meta(c)["grade_id"] for c in source.cells if assemble.nbgrader_meta(c)}
    raw = json.loads((FROZEN / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
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
    shutil.copytree(FROZEN / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    broken = tmp_path / "download.zip"
    broken.write_text("not a zip")
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from",
                           str(broken), "--course-root", str(course)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "cannot be read as a zip" in done.stderr and "Traceback" not in done.stderr


def test_an_unusable_gradebook_stops_grading_with_one_line_and_no_sandbox_left(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(FROZEN / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    batch = tmp_path / "batch" / "s1"
    batch.mkdir(parents=True)
    shutil.copy(FROZEN / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", batch)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "COURSE_GRADEBOOK_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'gradebook.db'}"}
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from",
                           str(tmp_path / "batch"), "--course-root", str(course), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "the gradebook sqlite:///" in done.stderr and "cannot be used" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (course / "grades").exists()


def test_a_source_that_fails_its_own_checks_stops_grading_with_a_message(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(FROZEN / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
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


# --- Plain files, size caps and ids -------------------------------------------------------

def test_links_and_special_files_are_refused_by_name(tmp_path):
    secret = notebook_file(tmp_path / "outside" / "solution.ipynb")
    batch = tmp_path / "batch"
    notebook_file(batch / "ada" / ASSIGNMENT / "a.ipynb")
    (batch / "bo" / ASSIGNMENT).mkdir(parents=True)
    (batch / "bo" / ASSIGNMENT / "b.ipynb").symlink_to(secret)                 # a notebook that is a link
    (batch / "cy").symlink_to(secret.parent, target_is_directory=True)          # a student folder that is a link
    (batch / "di_hw.ipynb").symlink_to(secret)                                  # a flat file that is a link
    (batch / "ed" / ASSIGNMENT).mkdir(parents=True)
    os.link(secret, batch / "ed" / ASSIGNMENT / "e.ipynb")                      # a hard link
    (batch / "fay" / ASSIGNMENT).mkdir(parents=True)
    os.mkfifo(batch / "fay" / ASSIGNMENT / "f.ipynb")                           # reading it would hang
    found = {s.student_id: s for s in submissions.from_folder(batch, ASSIGNMENT)}
    assert found["ada"].status == [] and len(found["ada"].notebooks) == 1
    for student, kind in [("bo", "symbolic link"), ("cy", "symbolic link"), ("di", "symbolic link"),
                          ("ed", "hard link"), ("fay", "named pipe")]:
        assert found[student].status == ["not-a-plain-file"] and found[student].notebooks == []
        assert kind in found[student].notes[0]


def test_reading_a_submission_never_follows_a_link(tmp_path):
    secret = notebook_file(tmp_path / "solution.ipynb")
    link = tmp_path / "student.ipynb"
    link.symlink_to(secret)
    with pytest.raises(submissions.Refused, match="symbolic link"):
        submissions.read_submitted(link)
    cells = assemble.read_student_cells(link, {"a"}, {"a"})
    assert cells.status == ["not-a-plain-file"] and not cells.answers


def test_a_huge_notebook_is_named_and_never_read(tmp_path):
    huge = tmp_path / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as handle:
        handle.truncate(190 * 1024 * 1024)      # sparse: 190 MiB that take no disk
    tracemalloc.start()
    found = submissions.from_folder(tmp_path, ASSIGNMENT)
    with pytest.raises(submissions.Refused):
        submissions.read_submitted(huge)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found[0].status == ["too-large"] and "190 MiB" in found[0].notes[0]
    assert peak < 5 * 1024 * 1024


def _declare_size(archive: Path, declared: int) -> None:
    """Rewrite the uncompressed size an archive's only entry declares, local header and central directory."""
    data = bytearray(archive.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    archive.write_bytes(bytes(data))


def test_a_zip_declaring_gigabytes_is_not_unpacked(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"ada/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", b"\0" * (2 * 1024 * 1024))
    _declare_size(archive, 2000 * 1024 * 1024)
    scratch = tmp_path / "unpacked"
    found = submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=scratch)
    assert found[0].student_id == "ada" and found[0].status == ["too-large"]
    on_disk = sum(p.stat().st_blocks * 512 for p in scratch.rglob("*") if p.is_file())
    assert on_disk < 1024 * 1024


def test_a_zip_entry_is_cut_at_the_size_it_declares(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"ada/{ASSIGNMENT}.ipynb", b"{" * (1024 * 1024))
    _declare_size(archive, 1000)
    submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=tmp_path / "unpacked")
    assert (tmp_path / "unpacked" / "ada" / f"{ASSIGNMENT}.ipynb").stat().st_size <= 1000


def test_a_zip_unpacks_notebooks_only_within_a_total_cap(tmp_path, monkeypatch):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("ada/video.mp4", b"x" * 4096)
        zipped.writestr(f"ada/{ASSIGNMENT}.ipynb", json.dumps(nbformat.v4.new_notebook()))
        zipped.writestr(f"bo/{ASSIGNMENT}.ipynb", json.dumps(nbformat.v4.new_notebook()))
    found = submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=tmp_path / "unpacked")
    assert [s.student_id for s in found] == ["ada", "bo"]
    assert not (tmp_path / "unpacked" / "ada" / "video.mp4").exists()
    monkeypatch.setattr(submissions, "MAX_UNPACKED_BYTES", 100)
    with pytest.raises(submissions.BatchError, match="split the batch"):
        submissions.collect(tmp_path, ASSIGNMENT, archive, scratch=tmp_path / "again")


def test_a_symlink_inside_a_zip_is_refused_by_name(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        link = zipfile.ZipInfo(f"ada/{ASSIGNMENT}.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, str(FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
        zipped.writestr(f"bo/{ASSIGNMENT}.ipynb", json.dumps(nbformat.v4.new_notebook()))
    found = {s.student_id: s for s in submissions.collect(tmp_path, ASSIGNMENT, archive,
                                                          scratch=tmp_path / "unpacked")}
    assert found["ada"].status == ["not-a-plain-file"] and found["bo"].status == []


@pytest.mark.parametrize("student_id, usable", [
    ("José", True), (unicodedata.normalize("NFD", "José"), True), ("Zoë.van-der_Berg", True),
    ("王小明", True), ("s1234567@uni.example", True), ("ada+late", True),
    ("ada\n", False), ("ada\t", False), ("ada\x00", False), (" ada", False), ("-rf", False), (".hidden", False),
    ("a/b", False), ("a\\b", False), ("", False), ("x" * 101, False),
])
def test_student_ids_follow_nbgrader(student_id, usable):
    assert submissions.valid_student_id(unicodedata.normalize("NFC", student_id)) is usable


def test_a_decomposed_id_is_graded_under_its_composed_form(tmp_path):
    notebook_file(tmp_path / unicodedata.normalize("NFD", "José") / "a.ipynb")
    notebook_file(tmp_path / "ada\n" / "a.ipynb")
    found = {s.student_id: s for s in submissions.from_folder(tmp_path, ASSIGNMENT)}
    assert found["José"].status == [] and found["ada\n"].status == ["invalid-id"]


# --- The batch always completes -----------------------------------------------------------

def test_any_exception_in_one_submission_is_that_rows_grader_error(tmp_path, monkeypatch):
    """A failure of any type while grading one student costs that row only; every output is written."""
    course = tmp_path / "course"
    shutil.copytree(FROZEN / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    shutil.copy(REPO / "nbgrader_config.py", course)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    titles = {assemble.nbgrader_meta(c)["grade_id"]: [] for c in source.cells
              if assemble.nbgrader_meta(c).get("grade")}
    cache = course / "autograded" / ".reference" / f"{ASSIGNMENT}.json"
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"key": grading.source_hash(course, ASSIGNMENT),
                                 "notebooks": {ASSIGNMENT: titles}}))   # nothing to run: no kernel needed
    for student in ("ada", "bo"):
        (tmp_path / "batch" / student / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "batch" / "cy_hw.ipynb").write_text("{")

    def fails_for_bo(submission, notebooks):
        if submission.student_id == "bo":
            raise KeyError("an unforeseen failure")
        return original(submission, notebooks)
    original = grading._match_files
    monkeypatch.setattr(grading, "_match_files", fails_for_bo)
    monkeypatch.delenv("COURSE_GRADEBOOK_URL", raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")   # nbgrader runs alembic
    options = grading.Options(sandboxed=False, progress=False)
    assert grading.main([ASSIGNMENT], course, tmp_path / "batch", options) == 0
    with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["bo"]["status"] == "grader-error" and "KeyError" in rows["bo"]["notes"]
    assert "\n" not in rows["bo"]["notes"]
    assert rows["ada"]["status"] == "missing" and "invalid-notebook" in rows["cy"]["status"]
    assert (course / "feedback" / "bo" / ASSIGNMENT / f"{ASSIGNMENT}.html").exists()
