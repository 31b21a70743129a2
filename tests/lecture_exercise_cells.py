"""Run a lecture's in-lecture exercises outside the notebook: its stub, its solution, or a wrong answer.

A "your turn" exercise in a lecture is three cells: a code cell tagged
``exercise-answer`` (the stub the student fills), the next code cell tagged
``exercise-check`` (checks with ``utils.checks.exercise``; it prints "not
attempted yet" instead of raising while the stub is untouched), and a markdown
cell with the solution in a ``<details>`` block, one click away.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass

import nbformat

from conftest import REPO

_SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```.*?</details>", re.DOTALL)


@dataclass(frozen=True)
class LectureExercise:
    """The three cells of one exercise, and the lecture's setup cell (imports, device)."""

    setup: str
    stub: str
    check: str
    solution: str


def lecture_exercises(relative_path: str) -> list[LectureExercise]:
    """Every exercise of a lecture notebook, in order."""
    cells = nbformat.read(REPO / relative_path, as_version=4).cells
    setup = next(cell.source for cell in cells if cell.cell_type == "code")
    found = []
    for i, cell in enumerate(cells):
        if "exercise-answer" not in cell.metadata.get("tags", []):
            continue
        check = cells[i + 1]
        assert "exercise-check" in check.metadata.get("tags", []), f"cell {i + 1} should be the exercise's checks"
        solution = next(_SOLUTION.search(c.source) for c in cells[i + 2:]
                        if c.cell_type == "markdown" and _SOLUTION.search(c.source))
        found.append(LectureExercise(setup, cell.source, check.source, solution.group(1)))
    return found


def run_checks(exercise: LectureExercise, answer: str | None = None) -> str:
    """Run the setup, then ``answer`` (default: the stub), then the check cell; return what was printed.

    A failing check raises ``utils.checks.ChecksFailed`` after printing its lines.
    """
    namespace: dict = {"__name__": "__lecture__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(exercise.setup, "<setup cell>", "exec"), namespace)
            exec(compile(exercise.stub if answer is None else answer, "<answer cell>", "exec"), namespace)
            exec(compile(exercise.check, "<check cell>", "exec"), namespace)
        except Exception as error:
            error.printed = printed.getvalue()
            raise
    return printed.getvalue()
