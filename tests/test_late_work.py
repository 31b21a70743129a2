"""Submission times, due dates, nbgrader's late policy, written answers and formgrader's view after
`autograder grade`, on a batch graded --from a folder with a manifest of submission times."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime

import nbformat
import pytest

from roundtrip_helpers import ASSIGNMENT, RUBRIC, WRITTEN_ID, autograder, make_course, nbgrader, solutions, \
    student_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("late-work")]

DUE = "2026-11-20 17:00:00 UTC"
ON_TIME, LATE = "2026-11-20T16:59:00Z", "2026-11-21T19:30:00Z"   # the late one: 26.5 hours after the due date
LATE_POLICY = 'c.LateSubmissionPlugin.penalty_method = "zero"\n'


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"))
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(LATE_POLICY)
    answers = solutions(course)
    batch = tmp_path_factory.mktemp("batch")
    for student, written in (("ontime", "Forward errs by O(h), centred by O(h²)."),
                             ("late", "<script>alert('x')</script> centred is symmetric")):
        path = batch / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(student_notebook(course, answers, written), path)
    corrupt = batch / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"cells": [')
    os.utime(corrupt, (1795000000, 1795000000))   # 2026-11-18 11:06:40 UTC: the file time is its submission time
    manifest = tmp_path_factory.mktemp("lms") / "times.csv"
    manifest.write_text(f"student_id,submitted_at\nontime,{ON_TIME}\nlate,{LATE}\n")
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    run = autograder(course, "grade", ASSIGNMENT, "--from", str(batch), "--manifest", str(manifest),
                     "--workers", "2", "--no-progress")
    rows = {row["student_id"]: row for row in csv.DictReader(open(course / "grades" / f"{ASSIGNMENT}.csv"))}
    return course, rows, run.stdout


def test_submission_times_lateness_and_the_late_policy_reach_the_csv(graded):
    _, rows, _ = graded
    assert rows["ontime"]["submitted_at"] == "2026-11-20T16:59:00Z"
    assert float(rows["ontime"]["seconds_late"]) == 0 and float(rows["ontime"]["late_penalty"]) == 0
    assert float(rows["ontime"]["score"]) == 10 and float(rows["ontime"]["final_score"]) == 10
    assert float(rows["late"]["seconds_late"]) == 26.5 * 3600
    assert float(rows["late"]["late_penalty"]) == 10 and float(rows["late"]["final_score"]) == 0  # "zero" policy
    assert rows["broken"]["submitted_at"] == "2026-11-18T11:06:40Z"


def test_written_points_are_pending_and_the_summary_says_so(graded):
    _, rows, summary = graded
    assert float(rows["ontime"]["pending_points"]) == 2 and float(rows["ontime"]["max_score"]) == 10
    assert "Pending a human: 6 points of written answers in 3 submission(s)" in summary
    assert "Late: 1 submission(s) after the due date" in summary and "1d 2h 30m" in summary


def test_formgrader_lists_every_submission_as_autograded_with_its_score(graded):
    course, _, _ = graded
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cwd = os.getcwd()
    os.chdir(course)
    try:
        coursedir = CourseDirectory(root=str(course), db_url=f"sqlite:///{course / 'gradebook.db'}")
        api = NbGraderAPI(coursedir=coursedir)
        assert api.get_assignment(ASSIGNMENT)["num_submissions"] == 3
        submissions = {s["student"]: s for s in api.get_submissions(ASSIGNMENT)}
    finally:
        os.chdir(cwd)
    assert set(submissions) == {"ontime", "late", "broken"}
    assert all(s["autograded"] and s["needs_manual_grade"] for s in submissions.values())
    assert submissions["ontime"]["score"] == 10 and submissions["broken"]["score"] == 0
    assert (course / "submitted" / "ontime" / ASSIGNMENT / "timestamp.txt").read_text().startswith(
        "2026-11-20 16:59:00.000000 UTC")


def test_the_autograded_notebook_shows_verdicts_the_written_answer_and_the_rubric(graded):
    course, _, _ = graded
    notebook = json.loads((course / "autograded" / "late" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    texts = ["".join(c["source"]) for c in notebook["cells"]]
    written = next(i for i, c in enumerate(notebook["cells"])
                   if c["metadata"].get("nbgrader", {}).get("grade_id") == WRITTEN_ID)
    assert "&lt;script&gt;" in texts[written] and "<script>" not in texts[written]
    assert RUBRIC in texts[written + 1]
    check = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "check_descend")
    shown = "".join(o.get("text", "") for o in check["outputs"])
    assert "Graded: 3 / 3 points" in shown and "✓" in shown
    broken = json.loads((course / "autograded" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    assert "invalid-notebook" in "".join(broken["cells"][0]["source"])


def test_a_manual_score_survives_a_regrade(graded):
    course, _, _ = graded
    from nbgrader.api import Gradebook

    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade(WRITTEN_ID, ASSIGNMENT, ASSIGNMENT, "ontime")
        grade.manual_score, grade.needs_manual_grade = 1.5, False   # as formgrader stores a grade
        override = gradebook.find_grade("check_descend", ASSIGNMENT, ASSIGNMENT, "ontime")
        override.manual_score = 2.0
        gradebook.db.commit()
    batch = course / "submitted"
    rerun = autograder(course, "grade", ASSIGNMENT, "--workers", "1", "--no-progress")
    with Gradebook(url) as gradebook:
        assert gradebook.find_grade(WRITTEN_ID, ASSIGNMENT, ASSIGNMENT, "ontime").manual_score == 1.5
        assert gradebook.find_grade("check_descend", ASSIGNMENT, ASSIGNMENT, "ontime").manual_score == 2.0
        assert gradebook.find_submission(ASSIGNMENT, "ontime").timestamp == datetime(2026, 11, 20, 16, 59)
    rows = {row["student_id"]: row for row in csv.DictReader(open(course / "grades" / f"{ASSIGNMENT}.csv"))}
    assert float(rows["ontime"]["manual_score"]) == 1.5 and float(rows["ontime"]["pending_points"]) == 0
    assert "Pending a human: 4 points" in rerun.stdout and batch.is_dir()


def test_lms_exports_carry_the_final_scores(graded):
    course, _, _ = graded
    for to in ("canvas", "moodle", "csv"):
        autograder(course, "export", ASSIGNMENT, "--to", to)
    canvas = list(csv.reader(open(course / "grades" / f"{ASSIGNMENT}-canvas.csv")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    by_login = {line[3]: line[5] for line in canvas[1:]}
    assert by_login["late"] == "0" and by_login["broken"] == "0"
    moodle = {r["Username"]: r for r in csv.DictReader(open(course / "grades" / f"{ASSIGNMENT}-moodle.csv"))}
    assert moodle["late"]["Feedback"].startswith("late penalty 10 points") and moodle["late"][ASSIGNMENT] == "0"
