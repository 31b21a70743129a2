"""The exercise format lets a grader decide outside the student's process.

The instructor's notebook runs with checks recording their specs; a student's
notebook runs with the check cells stripped of every expected value and only
publishes plain answers; ``autograder.verdicts`` judges them. A submission that
tampers with the checks from inside its kernel gains nothing.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.strip import strip_expectations
from autograder.verdicts import grade_cells, records_by_cell
from utils.checks import RECORD_MIME

from conftest import REPO

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("record-mode")]
ASSIGNMENT = "01_manual_gradients"
SOURCE = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

TAMPERING = '''
import builtins, utils.checks as checks

class AlwaysEqual(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False

checks.judge = lambda *args, **kwargs: checks.Verdict(True, "passed")
checks.exercise.__exit__ = lambda self, *exc: False
builtins.print("All checks passed.")

def mae_gradients(x, y, w, b):
    return AlwaysEqual(0.0), AlwaysEqual(0.0)

def two_layer_gradients(x, y, w1, b1, w2, b2):
    return 0.0, 0.0, 0.0, 0.0

STEP_FLOAT32 = AlwaysEqual(0.0)
DIAGNOSES = {student: AlwaysEqual(0.0) for student in "ABCDEF"}

def descend_until_flat(f, x0, lr, tol, max_steps):
    return AlwaysEqual(x0), 0
'''


def _run(notebook, record: bool):
    env_before = os.environ.get("COURSE_CHECK_RECORD")
    os.environ["COURSE_CHECK_RECORD"] = "1" if record else "0"
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(SOURCE.parent)}}, shutdown_kernel="immediate").execute()
    finally:
        if env_before is None:
            os.environ.pop("COURSE_CHECK_RECORD", None)
        else:
            os.environ["COURSE_CHECK_RECORD"] = env_before
    return notebook


def _student_version(answers: dict[str, str] | None, extra_first_answer: str = ""):
    """The source notebook as a grader would run a submission: answer cells replaced
    (by default with the released stubs), test cells stripped of what they are judged against."""
    notebook = nbformat.read(SOURCE, as_version=4)
    released = nbformat.read(REPO / "release" / ASSIGNMENT / SOURCE.name, as_version=4)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    first = True
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and answers is not None:
            cell.source = (extra_first_answer if first else "") + answers.get(meta["grade_id"], stubs[meta["grade_id"]])
            first = False
        if meta.get("grade"):
            cell.source = strip_expectations(cell.source)
    return notebook


@pytest.fixture(scope="module")
def reference():
    return records_by_cell(_run(nbformat.read(SOURCE, as_version=4), record=True))


def _points():
    notebook = nbformat.read(SOURCE, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_reference_records_carry_specs_and_pass(reference):
    assert set(reference) == set(_points())
    for records in reference.values():
        assert records and all("spec" in r and "expected" in r["spec"] or r["kind"] in ("finite",) for r in records)
    results = grade_cells(reference, reference, _points())
    assert all(result.passed for result in results.values())


def test_honest_answers_earn_full_marks_judged_outside(reference):
    student = _run(_student_version(answers=None), record=True)  # the solutions themselves
    for cell in student.cells:
        for output in cell.get("outputs", []):
            assert "spec" not in output.get("data", {}).get(RECORD_MIME, {}), "expected values leaked into the run"
    results = grade_cells(reference, records_by_cell(student), _points())
    assert sum(r.score for r in results.values()) == sum(_points().values())


def test_untouched_stubs_earn_zero_and_say_not_attempted(reference):
    results = grade_cells(reference, records_by_cell(_run(_student_version(answers={}), record=True)), _points())
    assert sum(r.score for r in results.values()) == 0
    assert all(v.mistake == "not attempted" for r in results.values() for _, v in r.checks)


def test_tampering_from_inside_the_kernel_earns_nothing(reference):
    solution_ids = [c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(SOURCE, as_version=4).cells
                    if c.metadata.get("nbgrader", {}).get("solution")]
    every_answer_tampered = {grade_id: "" for grade_id in solution_ids}
    student = _run(_student_version(every_answer_tampered, extra_first_answer=TAMPERING), record=True)
    assert "All checks passed." in "".join(o.get("text", "") for c in student.cells for o in c.get("outputs", []))
    results = grade_cells(reference, records_by_cell(student), _points())
    assert sum(r.score for r in results.values()) == 0
    assert not any(v.mistake == "not attempted" for r in results.values() for _, v in r.checks)
