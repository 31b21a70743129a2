"""Every assignment under `autograder grade`: the answered notebook earns full marks, the release zero,
a half-answered one exactly the points of its answered exercises; and a second run reuses the results."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from autograder.assemble import nbgrader_meta
from autograder.release import assignments
from conftest import REPO

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading-all")]
ASSIGNMENTS = assignments(REPO)


def submit(course: Path, student: str, assignment: str, answers: dict[str, str]) -> None:
    release = REPO / "release" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    target = course / "submitted" / student / assignment / release.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def grade(course: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("COURSE_GRADEBOOK_URL", None)
    return subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", "--workers", "2",
                           "--no-progress", *extra], cwd=course, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source", course / "source")
    shutil.copytree(REPO / "release", course / "release")
    expected = {}
    for assignment in ASSIGNMENTS:
        source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        answers = demo.solutions(source)
        half = dict(list(answers.items())[: len(answers) // 2])
        submit(course, "answered", assignment, answers)
        submit(course, "blank", assignment, {})
        submit(course, "half", assignment, half)
        expected[assignment] = half
    first = grade(course)
    after_first = {a: rows(course, a) for a in ASSIGNMENTS} if first.returncode == 0 else {}
    second = grade(course)
    return {"root": course, "first": first, "second": second, "half": expected, "after_first": after_first}


def rows(course: Path, assignment: str) -> dict[str, dict]:
    with open(course / "grades" / f"{assignment}.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answered_full_release_zero_half_partial(course, assignment):
    assert course["first"].returncode == 0, course["first"].stderr[-3000:]
    graded = rows(course["root"], assignment)
    assert float(graded["answered"]["score"]) == float(graded["answered"]["max_score"]) > 0
    assert graded["answered"]["status"] == "ok"
    assert float(graded["blank"]["score"]) == 0
    half = json.loads((course["root"] / "autograded" / "half" / assignment / "grading.json").read_text())
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    answered_ids = set(course["half"][assignment])
    # an exercise's check cell follows its answer cell: full points exactly for the answered ones
    earned, current_answer = set(), None
    for cell in source.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            current_answer = meta["grade_id"]
        elif meta.get("grade") and current_answer in answered_ids:
            earned.add(meta["grade_id"])
    for grade_id, exercise in half["exercises"].items():
        assert exercise["score"] == (exercise["points"] if grade_id in earned else 0), grade_id


def test_unchanged_submissions_are_not_run_again(course):
    assert course["second"].returncode == 0, course["second"].stderr[-3000:]
    assert "unchanged since the last run" in course["second"].stdout
    assert course["after_first"] == {a: rows(course["root"], a) for a in ASSIGNMENTS}
