"""Build the notebook the grader runs: the instructor's cells with the student's answers in them.

Only answer cells (nbgrader ``solution`` cells, matched by ``grade_id``) and
the student's own extra code cells come from the submission. Every locked and
test cell comes from the instructor's source (the same cells nbgrader put in
the gradebook), with its checks stripped of what they are judged against. So
deleting, editing or duplicating test cells changes nothing, and a damaged
notebook still yields every answer that can be read from it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.strip import strip_expectations

MAX_CELL_CHARS = 200_000
STUB = "raise NotImplementedError()"


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _text(source) -> str:
    if isinstance(source, list):
        source = "".join(str(s) for s in source)
    return str(source)[:MAX_CELL_CHARS] if source is not None else ""


@dataclass
class StudentCells:
    """What could be read from a submitted notebook."""

    answers: dict[str, str] = field(default_factory=dict)       # grade_id -> source
    extras: dict[str | None, list[str]] = field(default_factory=dict)  # anchor grade_id -> code cells before it
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def looks_like_a_notebook(raw: dict) -> bool:
    """The structure nbformat 4 requires, checked without a schema (jsonschema costs ~10 ms a notebook)."""
    return (raw.get("nbformat") == 4 and isinstance(raw.get("metadata"), dict)
            and all(isinstance(c, dict) and c.get("cell_type") in ("code", "markdown", "raw")
                    and isinstance(c.get("source"), (str, list)) for c in raw["cells"]))


def _code_cell(source: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.from_dict({"cell_type": "code", "execution_count": None, "metadata": metadata,
                               "outputs": [], "source": source})


@functools.lru_cache(maxsize=256)
def _stripped(source: str) -> str:
    """A check cell with its expectations stripped: the same for every student, so computed once."""
    return strip_expectations(source)


def read_student_cells(path: Path | None, solution_ids: set[str], known_ids: set[str]) -> StudentCells:
    """Answers and extra cells of a submitted notebook, salvaging what a damaged file still holds."""
    found = StudentCells()
    if path is None:
        found.status.append("missing")
        found.notes.append("no notebook was submitted")
        return found
    try:
        raw = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
        cells = raw.get("cells") if isinstance(raw, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no list of cells")
    except (ValueError, OSError, RecursionError) as error:
        found.status.append("invalid-notebook")
        found.notes.append(f"the notebook file cannot be read ({type(error).__name__}: {str(error)[:120]}); "
                           "every answer counts as not attempted")
        return found
    if not looks_like_a_notebook(raw):  # readable cells in a damaged notebook: grade what is there
        found.notes.append("the notebook does not follow the notebook format; its readable cells were graded")
    pending: list[str] = []
    duplicated = set()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in solution_ids and nbgrader_meta(cell).get("solution"):
            if grade_id in found.answers:
                duplicated.add(grade_id)
                continue
            found.answers[grade_id] = _text(cell.get("source"))
            found.extras[grade_id] = pending
            pending = []
        elif grade_id in known_ids:
            found.extras.setdefault(grade_id, []).extend(pending)  # locked/test cells: the source's copy runs
            pending = []
        elif cell.get("cell_type") == "code":
            pending.append(_text(cell.get("source")))
    found.extras[None] = pending
    if duplicated:
        found.status.append("duplicated-cells")
        found.notes.append(f"answer cells appear more than once ({', '.join(sorted(duplicated))}): the first was graded")
    deleted = solution_ids - set(found.answers)
    if deleted and len(deleted) < len(solution_ids):
        found.status.append("deleted-cells")
        found.notes.append(f"answer cells were deleted ({', '.join(sorted(deleted))}): counted as not attempted")
    elif deleted:
        found.status.append("no-answer-cells")
        found.notes.append("no answer cell of the assignment was found in the notebook (wrong notebook?)")
    return found


def grading_notebook(source: nbformat.NotebookNode, student: StudentCells) -> nbformat.NotebookNode:
    """The source notebook with the student's answers and extra cells in place and test cells stripped."""
    notebook = nbformat.from_dict({"nbformat": 4, "nbformat_minor": source.get("nbformat_minor", 5),
                                   "metadata": json.loads(json.dumps(source.metadata)), "cells": []})
    for cell in source.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        for extra in student.extras.get(grade_id, []) if grade_id else []:
            notebook.cells.append(_code_cell(extra, student_extra=True))
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        if cell.cell_type == "code":
            copy.outputs, copy.execution_count = [], None
        if meta.get("solution") and cell.cell_type == "code":
            copy.source = student.answers.get(grade_id, STUB)
        elif meta.get("grade") and cell.cell_type == "code":
            copy.source = _stripped(cell.source)
        notebook.cells.append(copy)
    for extra in student.extras.get(None, []):
        notebook.cells.append(_code_cell(extra, student_extra=True))
    return notebook


def reference_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The instructor's notebook as it runs to record each check's spec: unchanged, outputs cleared."""
    notebook = nbformat.from_dict(json.loads(json.dumps(source)))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook
