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
import linecache
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
    namespace: dict = {"__name__": "__main__"}   # as in a notebook's kernel
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            for name, source in (("setup", exercise.setup), ("answer", exercise.stub if answer is None else answer),
                                 ("check", exercise.check)):
                filename = f"<{name} cell>"
                # like IPython, keep each cell's lines where tracebacks (and the checks) can read them
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                exec(compile(source, filename, "exec"), namespace)
        except Exception as error:
            error.printed = printed.getvalue() + str(error)   # failing checks are listed in the error itself
            raise
    return printed.getvalue()
