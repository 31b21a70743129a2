"""Run a lecture's "your turn" exercises twice in one kernel: a wrong answer, then the solution.

A lecture exercise is three tagged cells: ``stub:NAME`` (the code cell the
reader fills), ``check:NAME`` (the ``utils.your_turn`` check) and
``solution:NAME`` (a markdown ``<details>`` block holding one ```python
fence). ``run_exercises`` replaces each stub with a plausible wrong answer,
and inserts after its check the solution's code and a second copy of the
check, so one execution shows both verdicts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import nbformat
from nbclient import NotebookClient

from conftest import REPO

FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class ExerciseRun:
    """What the check printed for the wrong answer and for the solution."""

    wrong: str
    solution: str


def _tagged(notebook, role: str) -> dict[str, int]:
    found = {}
    for index, cell in enumerate(notebook.cells):
        for tag in cell.metadata.get("tags", []):
            if tag.startswith(role + ":"):
                found[tag.split(":", 1)[1]] = index
    return found


def exercise_names(relative: str) -> list[str]:
    """The exercises of a lecture in order, after checking each has its three cells in order."""
    notebook = nbformat.read(REPO / relative, as_version=4)
    stubs, checks, solutions = (_tagged(notebook, role) for role in ("stub", "check", "solution"))
    assert stubs.keys() == checks.keys() == solutions.keys(), "every exercise has a stub, a check and a solution"
    for name in stubs:
        assert stubs[name] < checks[name] < solutions[name], f"{name}: stub, then check, then solution"
        solution = notebook.cells[solutions[name]]
        assert solution.cell_type == "markdown" and "<details>" in solution.source, f"{name}: solution behind a click"
        assert "raise NotImplementedError()" in notebook.cells[stubs[name]].source
    return sorted(stubs, key=stubs.get)


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@functools.lru_cache(maxsize=None)
def _run(relative: str, wrong_answers: tuple[tuple[str, str], ...]) -> dict[str, ExerciseRun]:
    notebook = nbformat.read(REPO / relative, as_version=4)
    wrong = dict(wrong_answers)
    stubs, checks, solutions = (_tagged(notebook, role) for role in ("stub", "check", "solution"))
    cells, again = [], {}
    for index, cell in enumerate(notebook.cells):
        name = next((n for n, i in stubs.items() if i == index), None)
        if name is not None:
            cell = nbformat.v4.new_code_cell(wrong[name])
        cells.append(cell)
        name = next((n for n, i in checks.items() if i == index), None)
        if name is not None:
            (code,) = FENCE.findall(notebook.cells[solutions[name]].source)
            cells.append(nbformat.v4.new_code_cell(code))
            cells.append(nbformat.v4.new_code_cell(cell.source))
            again[name] = (len(cells) - 3, len(cells) - 1)
    notebook.cells = cells
    NotebookClient(notebook, timeout=300, kernel_name="python3", shutdown_kernel="immediate",
                   resources={"metadata": {"path": str((REPO / relative).parent)}}).execute()
    return {name: ExerciseRun(_stdout(notebook.cells[i]), _stdout(notebook.cells[j])) for name, (i, j) in again.items()}


def run_exercises(relative: str, wrong_answers: dict[str, str]) -> dict[str, ExerciseRun]:
    """Execute the lecture with every stub replaced by ``wrong_answers[name]``, each check
    followed by the solution and the check again; returns name -> ``ExerciseRun``."""
    return _run(relative, tuple(sorted(wrong_answers.items())))
