"""nbgrader's whole exchange round trip with `autograder grade` in the middle:
release_assignment → fetch_assignment → submit → collect → autograder grade → release_feedback →
fetch_feedback, with a temporary exchange folder, a course and a student's home."""

from __future__ import annotations

import os

import nbformat
import pytest

from autograder.assemble import nbgrader_meta
from roundtrip_helpers import ASSIGNMENT, autograder, nbgrader, solutions
from conftest import REPO
from frozen_course import FROZEN

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exchange-flow")]
COURSE_ID = "gradient-descent"
STUDENT = "ada"


def _config(folder, exchange, extra: str = "") -> None:
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\nc = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
                     f"c.CourseDirectory.course_id = {COURSE_ID!r}\n{extra}")


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    exchange = tmp_path_factory.mktemp("exchange")
    exchange.chmod(0o777)
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    _config(course, exchange)
    (course / "source").mkdir()
    (course / "source" / ASSIGNMENT).mkdir()
    for path in (FROZEN / "source" / ASSIGNMENT).iterdir():
        (course / "source" / ASSIGNMENT / path.name).write_bytes(path.read_bytes())
    student = tmp_path_factory.mktemp("student")
    _config(student, exchange, f"c.CourseDirectory.student_id = {STUDENT!r}\n")

    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader(course, "release_assignment", ASSIGNMENT)
    nbgrader(student, "fetch_assignment", ASSIGNMENT)
    fetched = student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(fetched, as_version=4)
    answers = solutions(course)
    answers["mse_gradients"] = answers["mse_gradients"].replace(".mean()", ".sum()")   # one named mistake
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    nbformat.write(notebook, fetched)
    nbgrader(student, "submit", ASSIGNMENT)
    nbgrader(course, "collect", ASSIGNMENT)
    autograder(course, "grade", ASSIGNMENT, "--workers", "1", "--no-progress")
    nbgrader(course, "release_feedback", ASSIGNMENT)
    nbgrader(student, "fetch_feedback", ASSIGNMENT)
    return course, student


def test_the_student_fetches_the_graders_feedback(round_trip):
    course, student = round_trip
    pages = list((student / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, "fetch_feedback found no feedback page"
    page = pages[0].read_text()
    assert f"feedback for {STUDENT}" in page and "Score: <b>7</b> of 10" in page
    assert "summed instead of averaged" in page
    timestamp = (course / "submitted" / STUDENT / ASSIGNMENT / "timestamp.txt").read_text().strip()
    assert pages[0].parent.name == timestamp   # fetch_feedback files it under the submission's time


def test_formgrader_counts_the_collected_submission_as_autograded(round_trip):
    course, _ = round_trip
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cwd = os.getcwd()
    os.chdir(course)
    try:
        api = NbGraderAPI(coursedir=CourseDirectory(root=str(course), db_url=f"sqlite:///{course / 'gradebook.db'}"))
        submission = api.get_submission(ASSIGNMENT, STUDENT)
        assert api.get_assignment(ASSIGNMENT)["num_submissions"] == 1
    finally:
        os.chdir(cwd)
    assert submission["autograded"] and submission["score"] == 7
