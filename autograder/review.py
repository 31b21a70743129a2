"""What a grader sees in formgrader: the autograded notebook, annotated for review.

For every graded submission (missing and corrupt ones included, so formgrader lists
them), ``autograded/<student>/<assignment>/<notebook>.ipynb`` gets:

- a note at the top when the submission's status is not ``ok``;
- in each check cell, one output line per check: ✓/✗, the diagnosed mistake and the
  hint, with the same rule as the students' feedback (a hidden check never shows its
  expected value);
- in each hand-graded (written) cell, the student's own text, with raw HTML made
  inert; right after it, the rubric from ``source/`` in a cell of its own.

Annotating twice gives the same notebook: earlier annotations are replaced.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

from autograder import assemble
from autograder.report import STATUS_MEANING

MARK = "autograder"                 # cell/output metadata key of everything added here
MAX_WRITTEN_CHARS = 20_000
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\s*\n?(.*?)### END SOLUTION", re.S)
NO_ANSWER = "*(no answer was submitted for this question)*"


def written_cells(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> model answer and rubric of every hand-graded markdown cell of the source."""
    found = {}
    for cell in source.cells:
        meta = assemble.nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution") and meta.get("grade_id"):
            region = SOLUTION_REGION.search(cell.source)
            found[meta["grade_id"]] = (region.group(1) if region else cell.source).strip()
    return found


def read_written_answers(path: Path | None, written_ids: set[str]) -> dict[str, str]:
    """grade_id -> the student's text in each hand-graded cell; whatever cannot be read is left out."""
    if path is None or not written_ids:
        return {}
    try:
        raw = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
        cells = raw.get("cells") if isinstance(raw, dict) else None
    except (ValueError, OSError, RecursionError):
        return {}
    answers = {}
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        grade_id = assemble.nbgrader_meta(cell).get("grade_id")
        if grade_id in written_ids and grade_id not in answers:
            source = cell.get("source")
            text = "".join(str(s) for s in source) if isinstance(source, list) else str(source or "")
            answers[grade_id] = text[:MAX_WRITTEN_CHARS]
    return answers


def inert_markdown(text: str) -> str:
    """Student markdown as the grader's page may render it: markup kept, raw HTML shown as text."""
    return html.escape(text, quote=False) if text.strip() else NO_ANSWER


def verdict_line(check: dict) -> str:
    """One check for the grader: the full message for visible checks; for hidden ones the verdict,
    diagnosis and hint only, never the expected value (the rule of the students' feedback)."""
    if check["passed"]:
        return f"✓ {check['what']}: passed"
    name = check["what"] if check.get("visible") else f"{check['what']} (hidden check)"
    if check.get("visible") or check.get("mistake") in ("not attempted", "missing", "raised an error"):
        return f"✗ {name}: {check['message']}"
    text = "failed."
    if check.get("mistake"):
        text += f" Likely mistake: {check['mistake']}."
    if "Hint:" in check.get("message", ""):
        text += " Hint:" + check["message"].split("Hint:", 1)[1]
    return f"✗ {name}: {text}"


def _verdict_output(exercise: dict) -> nbformat.NotebookNode:
    lines = [f"Graded: {exercise['score']:g} / {exercise['points']:g} points"]
    lines += [verdict_line(check) for check in exercise["checks"]]
    return nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")


def _annotation(cell) -> bool:
    return MARK in cell.get("metadata", {})


def _markdown(text: str, role: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata[MARK] = role
    return cell


def annotate(notebook: nbformat.NotebookNode, row: dict, written: dict[str, str],
             answers: dict[str, str]) -> nbformat.NotebookNode:
    """The autograded notebook with verdicts, written answers, rubrics and the status note in place."""
    cells = [c for c in notebook.cells if not _annotation(c)]
    annotated = []
    if row["status"] != ["ok"]:
        meaning = "; ".join(STATUS_MEANING.get(s, s) for s in row["status"])
        notes = "".join(f"\n- {html.escape(note, quote=False)}" for note in row.get("notes", []))
        annotated.append(_markdown(f"**Grader's note.** Status `{'+'.join(row['status'])}`: {meaning}.{notes}",
                                   "status"))
    for cell in cells:
        meta = assemble.nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if cell.cell_type == "code" and meta.get("grade") and grade_id in row["exercises"]:
            cell.outputs = [o for o in cell.get("outputs", []) if not _annotation(o)]
            for output in cell.outputs:   # the plain answers stay for the record, without their "[recorded]" text
                output.get("data", {}).pop("text/plain", None)
            verdicts = _verdict_output(row["exercises"][grade_id])
            verdicts.metadata = {MARK: "verdicts"}
            cell.outputs.append(verdicts)
        annotated.append(cell)
        if cell.cell_type == "markdown" and grade_id in written:
            cell.source = inert_markdown(answers.get(grade_id, ""))
            annotated.append(_markdown("**Rubric for the grader** (from `source/`; students never see it)\n\n"
                                       + written[grade_id], "rubric"))
    notebook.cells = annotated
    return notebook


def write_autograded(folder: Path, source: nbformat.NotebookNode, name: str, row: dict,
                     submitted: Path | None) -> Path:
    """Annotate (or, when nothing ran, first build) ``folder/<name>.ipynb`` for review in formgrader."""
    path = folder / f"{name}.ipynb"
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError):
        notebook = assemble.grading_notebook(source, assemble.StudentCells())
    written = written_cells(source)
    answers = read_written_answers(submitted, set(written))
    folder.mkdir(parents=True, exist_ok=True)
    # Compact JSON (json's C encoder); formgrader and nbformat read it the same as indented.
    path.write_text(json.dumps(annotate(notebook, row, written, answers), ensure_ascii=False) + "\n")
    return path
