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
MAX_EXTRA_CELLS = 200           # the student's own code cells that are run
MAX_STUDENT_CHARS = 2_000_000   # all code taken from one submission
STUB = "raise NotImplementedError()"


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata if both levels are objects, else ``{}`` (submitted metadata may be anything)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    grade_id = nbgrader_meta(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _text(source) -> str:
    """A submitted cell's source as text: a string, or nbformat's list of lines; anything else is empty."""
    if isinstance(source, list):
        lines, size = [], 0
        for line in source:
            if not isinstance(line, str):
                return ""
            lines.append(line)
            size += len(line)
            if size > MAX_CELL_CHARS:
                break
        source = "".join(lines)
    return source[:MAX_CELL_CHARS] if isinstance(source, str) else ""


@dataclass
class StudentCells:
    """What could be read from a submitted notebook."""

    answers: dict[str, str] = field(default_factory=dict)       # grade_id -> source
    extras: dict[str | None, list[str]] = field(default_factory=dict)  # anchor grade_id -> code cells before it
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def looks_like_a_notebook(raw: dict) -> bool:
    """The structure nbformat 4 requires, checked without a schema (jsonschema costs ~10 ms a notebook)."""
    return (raw.get("nbformat") == 4 and isinstance(raw.get("metadata"), dict) and isinstance(raw.get("cells"), list)
            and all(isinstance(c, dict) and c.get("cell_type") in ("code", "markdown", "raw")
                    and isinstance(c.get("source"), (str, list)) for c in raw["cells"]))


def _code_cell(source: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.from_dict({"cell_type": "code", "execution_count": None, "metadata": metadata,
                               "outputs": [], "source": source})


@functools.lru_cache(maxsize=256)
def _stripped(source: str) -> str:
    """A check cell with its expectations stripped: the same for every student, so computed once."""
    return strip_expectations(source)


def _parse(contents: bytes) -> tuple[dict, list]:
    """The notebook and its list of cells of a submitted notebook's bytes; ``ValueError`` (or ``RecursionError``) if none."""
    raw = json.loads(contents.decode("utf-8", errors="replace"))
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        raise ValueError("no list of cells")
    return raw, cells


def read_student_cells(submitted: bytes | Path | None, solution_ids: set[str], known_ids: set[str]) -> StudentCells:
    """Answers and extra cells of a submitted notebook (its bytes, or a path read with
    ``submissions.read_submitted``), salvaging what a damaged file still holds. Never raises for
    what the file contains: unreadable is ``invalid-notebook``, wrong types are skipped."""
    from autograder.submissions import Refused, read_submitted

    found = StudentCells()
    if submitted is None:
        found.status.append("missing")
        found.notes.append("no notebook was submitted")
        return found
    try:
        raw, cells = _parse(submitted if isinstance(submitted, bytes) else read_submitted(submitted))
    except Refused as refusal:
        found.status.append(refusal.status)
        found.notes.append(refusal.note)
        return found
    except (ValueError, OSError, RecursionError, MemoryError) as error:
        found.status.append("invalid-notebook")
        found.notes.append(f"the notebook file cannot be read ({type(error).__name__}: {str(error)[:120]!r}); "
                           "every answer counts as not attempted")
        return found
    if not looks_like_a_notebook(raw):  # readable cells in a damaged notebook: grade what is there
        found.notes.append("the notebook does not follow the notebook format; its readable cells were graded")
    pending: list[str] = []
    duplicated = set()
    extra_cells = student_chars = 0
    dropped = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        grade_id = _grade_id(cell)
        if grade_id in solution_ids and nbgrader_meta(cell).get("solution") is True:
            if grade_id in found.answers:
                duplicated.add(grade_id)
                continue
            found.answers[grade_id] = _text(cell.get("source"))
            student_chars += len(found.answers[grade_id])
            found.extras[grade_id] = pending
            pending = []
        elif grade_id in known_ids:
            found.extras.setdefault(grade_id, []).extend(pending)  # locked/test cells: the source's copy runs
            pending = []
        elif cell.get("cell_type") == "code":
            source = _text(cell.get("source"))
            if extra_cells >= MAX_EXTRA_CELLS or student_chars + len(source) > MAX_STUDENT_CHARS:
                dropped += 1
                continue
            extra_cells += 1
            student_chars += len(source)
            pending.append(source)
    found.extras[None] = pending
    if dropped:
        found.notes.append(f"{dropped} extra code cells beyond {MAX_EXTRA_CELLS} cells or "
                           f"{MAX_STUDENT_CHARS // 1000} kB of code were not run")
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
