"""`autograder mutants`: the runner's bookkeeping, a suite that misbehaves on purpose, and every
assignment's own mutation suite graded by the real grader (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import grade
from autograder.mutants import (MIN_RIGHT, MIN_WRONG, Outcome, SuiteError, answer_cells, build_batch,
                                coverage_problems, load_suite, right, score_line, wrong)
from autograder.release import assignments
from conftest import REPO

ASSIGNMENTS = assignments(REPO)
FIRST = "01_manual_gradients"
MAE = "def mae_gradients(x, y, w, b):\n    s = torch.sign(w * x + b - y)\n    return (s * x).mean(), s.mean()\n"
MAE_SUMMED = MAE.replace(".mean()", ".sum()")


def run_mutants(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([str(Path(sys.executable).parent / "autograder"), "mutants", "--workers", "2",
                           "--no-progress", "--course-root", str(course), *args],
                          env=env, capture_output=True, text=True, timeout=2400)


def test_a_mutant_replaces_the_whole_cell_dedented():
    mutant = wrong("forward", "\n    def f():\n        return 1\n", diagnosis="forward")
    assert mutant.cell_source == "def f():\n    return 1\n"
    assert not mutant.correct and right("r", "x = 1").correct


def test_coverage_names_every_gap():
    suite = {"a": [wrong(f"w{i}", "") for i in range(MIN_WRONG)] + [right(f"r{i}", "") for i in range(MIN_RIGHT)],
             "b": [wrong("w", ""), wrong("w", ""), right("r", "")],
             "stray": [wrong("w", "")]}
    problems = coverage_problems(suite, ["a", "b", "c"])
    assert problems == ["b: 2 wrong answers and 1 alternatives (at least 6 and 3)",
                        "b: two mutants are named 'w'",
                        "c: no mutants (at least 6 wrong answers and 3 alternatives)",
                        "stray: not a code answer cell of the source"]


def test_outcomes_say_what_misbehaved():
    kept = Outcome("a", wrong("w", "", diagnosis="forward"), 10, 10, ["ok"])
    assert "kept full marks" in kept.problem()
    undiagnosed = Outcome("a", wrong("w", "", diagnosis="forward"), 8, 10, ["ok"], ["slope: expected 1, found 2."])
    assert "no failing check says 'forward'" in undiagnosed.problem()
    diagnosed = Outcome("a", wrong("w", "", diagnosis="Forward"), 8, 10, ["ok"], ["slope: … (a forward difference)"])
    assert diagnosed.problem() is None
    lost = Outcome("a", right("r", ""), 9, 10, ["ok"], ["slope: expected 1, found 2."])
    assert "lost points" in lost.problem()
    crashed = Outcome("a", wrong("w", ""), 0, 10, ["grader-error"])
    assert "could not grade" in crashed.problem()
    assert score_line([kept, diagnosed, lost], 1) == \
        "mutation score: 1/2 wrong answers lose points, 0/1 alternatives keep full marks (1 answer cells)"


def test_bad_suite_files_are_named(tmp_path):
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(tmp_path / "none.py")
    (tmp_path / "broken.py").write_text("CELLS = {'a': ['not a mutant']}\n")
    with pytest.raises(SuiteError, match="CELLS must map"):
        load_suite(tmp_path / "broken.py")
    (tmp_path / "crash.py").write_text("raise ValueError('oops')\n")
    with pytest.raises(SuiteError, match="oops"):
        load_suite(tmp_path / "crash.py")


def test_batch_holds_one_student_per_mutant_and_the_reference(tmp_path):
    notebooks = grade.load_notebooks(REPO, FIRST)
    suite = {"mae_gradients": [wrong("zero", "def mae_gradients(x, y, w, b):\n    return 0\n")]}
    students = build_batch(notebooks, suite, tmp_path)
    assert set(students) == {"reference", "m0001"}
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source
             for c in nbformat.read(tmp_path / "m0001" / f"{FIRST}.ipynb", as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    assert cells["mae_gradients"] == "def mae_gradients(x, y, w, b):\n    return 0\n"
    assert "BEGIN SOLUTION" not in cells["two_layer_gradients"] and "(z > 0)" in cells["two_layer_gradients"]
    assert list(answer_cells(notebooks)) == ["mae_gradients", "two_layer_gradients", "float32_step",
                                             "gradient_diagnoses", "descend_until_flat"]


@pytest.mark.notebook
@pytest.mark.xdist_group("mutants-self-test")
def test_a_misbehaving_suite_fails_and_names_each_mutant(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(REPO / "source" / FIRST, tmp_path / "source" / FIRST)
    (tmp_path / "tests" / "mutants").mkdir(parents=True)
    (tmp_path / "tests" / "mutants" / f"{FIRST}.py").write_text(f'''
from autograder.mutants import right, wrong
CELLS = {{"mae_gradients": [
    wrong("actually correct", {MAE!r}),
    wrong("summed", {MAE_SUMMED!r}, diagnosis="summed instead of averaged"),
    wrong("summed, wrong words", {MAE_SUMMED!r}, diagnosis="a diagnosis no check gives"),
    right("actually wrong", "def mae_gradients(x, y, w, b):\\n    return 0.0, 0.0\\n"),
]}}
''')
    result = run_mutants(tmp_path, FIRST, "--cell", "mae_gradients")
    assert result.returncode == 1, result.stderr[-2000:]
    out = result.stdout
    assert "✗ wrong 'actually correct': kept full marks" in out
    assert "✗ wrong 'summed, wrong words': lost points, but no failing check says" in out
    assert "✗ right 'actually wrong': lost points" in out
    assert "'summed':" not in out
    assert "mae_gradients: 1/3 wrong lose points, 0/1 alternatives keep full marks" in out
    assert out.strip().splitlines()[-1] == \
        "mutation score: 1/3 wrong answers lose points, 0/1 alternatives keep full marks (1 answer cells)"


@pytest.fixture(scope="module")
def every_suite() -> subprocess.CompletedProcess:
    """Every assignment's mutation suite in one ``autograder mutants`` run: one pool of sandboxes,
    warmed up once, graded by the real grader."""
    return run_mutants(REPO)


def report_block(report: str, assignment: str) -> list[str]:
    """The lines of ``assignment``'s part of an ``autograder mutants`` report."""
    lines = report.splitlines()
    if assignment not in lines:
        return []
    block = []
    for line in lines[lines.index(assignment) + 1:]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def test_report_blocks_are_found_per_assignment():
    report = "a\n  x: 1/1 wrong lose points\n    ✗ wrong 'w': kept full marks\n  mutation score: 0/1\nb\n" \
             "  mutation score: 1/1\nmutation score: 1/2"
    assert report_block(report, "a")[1] == "    ✗ wrong 'w': kept full marks"
    assert report_block(report, "b") == ["  mutation score: 1/1"]
    assert report_block(report, "c") == []


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.xdist_group("mutants")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_passes_its_mutation_suite(assignment, every_suite):
    block = report_block(every_suite.stdout, assignment)
    assert block, every_suite.stdout[-4000:] + every_suite.stderr[-2000:]
    misbehaved = [line.strip() for line in block if line.strip().startswith("✗")]
    assert not misbehaved, "\n".join(misbehaved)
    assert block[-1].strip().startswith("mutation score: ")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.xdist_group("mutants")
def test_the_whole_mutation_run_behaves(every_suite):
    assert every_suite.returncode == 0, every_suite.stdout[-4000:] + every_suite.stderr[-2000:]
    assert every_suite.stdout.strip().splitlines()[-1].startswith("mutation score: ")
