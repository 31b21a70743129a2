"""Every assignment: release/ in sync with source/, no solutions leaked, check cells in the
exercise format, and stock nbgrader gives the answered source full marks and the release zero."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.release import assignments, generate_release, release_problems, verify
from autograder.strip import check_calls_are_well_formed, leaked_names, strip_expectations
from conftest import REPO

ASSIGNMENTS = assignments(REPO)


def test_every_lecture_has_an_assignment():
    lectures = {p.stem for p in (REPO / "notebooks").glob("*.ipynb")}
    assert lectures == set(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_with_source(assignment, tmp_path):
    generate_release(assignment, REPO, release_root=tmp_path)
    fresh = sorted(p.name for p in (tmp_path / assignment).iterdir())
    committed = sorted(p.name for p in (REPO / "release" / assignment).iterdir())
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / assignment / name).read_text() == (REPO / "release" / assignment / name).read_text(), \
            f"release/{assignment}/{name} is out of date: run `make release`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    assert release_problems(REPO / "release" / assignment) == []
    for notebook in (REPO / "release" / assignment).glob("*.ipynb"):
        nb = nbformat.read(notebook, as_version=4)
        solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert solutions and all("raise NotImplementedError()" in c.source for c in solutions if c.cell_type == "code")


def _test_cells(assignment):
    for notebook in (REPO / "source" / assignment).glob("*.ipynb"):
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
                yield cell


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_follow_the_format(assignment):
    cells = list(_test_cells(assignment))
    assert len(cells) >= 4, "an assignment has at least four graded exercises"
    for cell in cells:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert cell.metadata["nbgrader"]["points"] > 0, grade_id
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{grade_id} has no hidden checks"
        assert check_calls_are_well_formed(cell.source) == [], grade_id
        assert leaked_names(cell.source) == set(), \
            f"{grade_id}: write these expected values inline in the check's keywords"
        assert "expected=" not in strip_expectations(cell.source)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stock_nbgrader_gives_source_full_marks_and_release_zero(assignment):
    scores, problems = verify(assignment, REPO)
    assert problems == [], json.dumps(scores)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_code_cell_is_an_nbgrader_cell(assignment):
    """The grader matches cells by grade_id: an unmarked code cell would also be copied from the submission."""
    import nbformat
    notebook = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            meta = cell.metadata.get("nbgrader", {})
            assert meta.get("grade_id") and (meta.get("locked") or meta.get("solution") or meta.get("grade")), \
                f"{assignment}: code cell {index} is not a locked, answer or check cell"


@pytest.fixture(scope="module")
def recorded_specs(tmp_path_factory):
    """Every assignment's check records, recorded from the instructor's notebooks the way the grader
    does it (``grade.load_references``: sandboxed when possible; raises if a source fails its own checks)."""
    import asyncio

    from autograder import grade
    from autograder.sandbox import isolation_problem

    cache = tmp_path_factory.mktemp("references")
    options = grade.Options(workers=2, progress=False, sandboxed=isolation_problem() is None)

    async def record() -> dict[str, list]:
        pool = grade.WorkerPool(2, options)
        notebooks = {a: grade.load_notebooks(REPO, a) for a in ASSIGNMENTS}
        try:
            await asyncio.gather(*(grade.load_references(pool, notebooks[a], cache / f"{a}.json",
                                                         grade.source_hash(REPO, a), options.limits)
                                   for a in ASSIGNMENTS))
        finally:
            await pool.stop()
        return notebooks

    return asyncio.run(record())


@pytest.mark.notebook
@pytest.mark.xdist_group("recorded-specs")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_named_mistakes_can_be_told_apart(recorded_specs, assignment):
    """The diagnosis lint: no named mistake gives the expected value, and no two give the same one,
    at the check's own inputs (the values recorded from the instructor's notebook)."""
    from utils.diagnose import lint_spec
    problems = [f"{grade_id} / {record['check']}: {problem}"
                for notebook in recorded_specs[assignment]
                for grade_id, records in notebook.reference.items()
                for record in records
                for problem in lint_spec(record["kind"], record.get("spec", {}))]
    assert problems == []


def _descend(f, x0, lr, tol, max_steps, dtype):
    """Assignment 1's descend_until_flat, in ``dtype``."""
    import torch
    x, steps = torch.tensor(float(x0), dtype=dtype, requires_grad=True), 0
    while True:
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) <= tol or steps == max_steps:
            return [x.item(), steps]
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1


@pytest.mark.notebook
@pytest.mark.xdist_group("recorded-specs")
def test_a_float32_descent_fails_on_its_value_not_on_a_step_count(recorded_specs):
    """Exercise 5 of assignment 1 says to work in float64. A float32 descent is right to about 7 digits:
    its checks name rtol 1e-9 or 1e-10, which the default atol (1e-6) would swamp, leaving only a hidden
    step count (29 or 30, by the machine's float32 rounding of log) to catch it. On a GPU machine the
    count came out right and the float32 answer kept full marks; the value must decide, on any machine."""
    import torch

    from utils.answers import to_plain
    from utils.judge import judge
    notebook = next(n for n in recorded_specs["01_manual_gradients"] if "check_descend_until_flat" in n.reference)
    specs = {r["check"]: r["spec"] for r in notebook.reference["check_descend_until_flat"]}
    cases = {"(x, steps) on (x-3)² + 1 from 0, lr=0.1, tol=0.5": (lambda x: (x - 3) ** 2 + 1, 0.0, 0.1, 0.5, 100),
             "-x² + 10 x log x from 1, lr=0.02, tol=1e-6, in float64":
                 (lambda x: -x ** 2 + 10 * x * torch.log(x), 1.0, 0.02, 1e-6, 500)}
    for check, args in cases.items():
        assert judge("close", to_plain(_descend(*args, torch.float64)), specs[check]).passed, check
        verdict = judge("close", to_plain(_descend(*args, torch.float32)), specs[check])
        assert not verdict.passed, f"{check}: a float32 descent passes ({verdict.message})"
