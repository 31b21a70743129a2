"""A small course for the round-trip tests: assignment 1 with a hand-graded written question added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder import demo
from autograder.assemble import nbgrader_meta
from conftest import REPO
from frozen_course import FROZEN

ASSIGNMENT = "01_manual_gradients"
WRITTEN_ID = "written_centred_difference"
RUBRIC = "**Rubric (2 points).** 2: names the error order of both differences; 1: one of them; 0: neither."
QUESTION = "Why is the centred difference more accurate than the forward difference? Two sentences."


def _written_cells() -> list:
    question = nbformat.v4.new_markdown_cell(QUESTION)
    question.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                     "grade_id": "written_centred_difference_question", "schema_version": 3}
    answer = nbformat.v4.new_markdown_cell(
        "### BEGIN SOLUTION\n**Model answer.** The forward difference errs by O(h), the centred one by "
        f"O(h²).\n\n{RUBRIC}\n### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 2,
                                   "grade_id": WRITTEN_ID, "schema_version": 3}
    return [question, answer]


def make_course(root: Path) -> Path:
    """``root`` as a course: nbgrader_config.py and assignment 1's source with a written question."""
    shutil.copy(REPO / "nbgrader_config.py", root)
    source = nbformat.read(FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    position = next(i for i, c in enumerate(source.cells) if nbgrader_meta(c).get("grade_id") == "check_centred_slope")
    source.cells[position + 1:position + 1] = _written_cells()
    target = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    target.parent.mkdir(parents=True)
    nbformat.write(source, target)
    return root


def student_notebook(course: Path, answers: dict[str, str], written: str | None) -> nbformat.NotebookNode:
    """The source with the student's code ``answers`` (grade_id -> code) and written answer in place."""
    notebook = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id == WRITTEN_ID:
            cell.source = written or "YOUR ANSWER HERE"
        elif nbgrader_meta(cell).get("solution"):
            cell.source = answers.get(grade_id, "# YOUR CODE HERE\nraise NotImplementedError()")
    return notebook


def solutions(course: Path) -> dict[str, str]:
    return demo.solutions(nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))


def nbgrader_env(course: Path) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("COURSE_GRADEBOOK_URL", None)
    return env


def autograder(course: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), *args, "--course-root", str(course)],
                          cwd=course, env=nbgrader_env(course), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course,
                          env=nbgrader_env(course), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done
