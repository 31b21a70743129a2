"""Decide test cells from the plain answers a notebook published, outside the process that ran it.

An executed notebook run with ``COURSE_CHECK_RECORD=1`` carries, in the
outputs of each test cell, one ``utils.checks.RECORD_MIME`` record per check.
The instructor's run (the *reference*) carries each check's spec (expected
value, tolerances, mistakes); a student's run, whose check cells were
stripped, carries only the answers. ``grade_cells`` pairs them by cell and
check name and judges each with ``utils.checks.judge``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from utils.checks import CHECK_KINDS, RECORD_MIME, Verdict, judge, validate_plain

SPEC_OPTIONAL = {"finite"}  # a finite check may have no keyword at all, so nothing to record


@dataclass
class CellResult:
    """One graded test cell: passed only if every reference check passed."""

    grade_id: str
    points: float
    checks: list[tuple[str, Verdict]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(verdict.passed for _, verdict in self.checks)

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


def records_by_cell(notebook) -> dict[str, list[dict]]:
    """grade_id -> the check records published by that test cell, in order.

    Attribution comes from where the output appeared (the executing client
    knows which cell was running), never from the record's own content.
    """
    found: dict[str, list[dict]] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        records = found.setdefault(meta["grade_id"], [])
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(RECORD_MIME) if output.get("output_type") == "display_data" else None
            if isinstance(record, dict):
                records.append(record)
    return found


def _student_answer(record: dict | None) -> dict:
    """The record's answer if it is well-formed plain data, else a plain description of the problem."""
    if record is None:
        return {"type": "error", "error": "this check did not run (the cell was skipped, stopped or changed)"}
    found = record.get("found")
    if isinstance(found, dict) and found.get("type") == "not_attempted" and set(found) == {"type"}:
        return found
    if isinstance(found, dict) and found.get("type") == "error":
        return {"type": "error", "error": str(found.get("error", ""))[:500]}
    try:
        return validate_plain(found)
    except (ValueError, TypeError, KeyError):
        return {"type": "error", "error": "the answer could not be read as plain data"}


def grade_cells(reference: dict[str, list[dict]], student: dict[str, list[dict]],
                points: dict[str, float]) -> dict[str, CellResult]:
    """Judge every reference check against the student's answer of the same cell and name.

    Checks are keyed by (exercise title, check name); a student record for a
    check the reference does not have is ignored, and the first student
    record of a check counts.
    """
    results = {}
    for grade_id, reference_records in reference.items():
        answers: dict[tuple[str, str], dict] = {}
        for record in student.get(grade_id, []):
            key = (str(record.get("exercise")), str(record.get("check")))
            answers.setdefault(key, record)
        result = CellResult(grade_id, points.get(grade_id, 0.0))
        for ref in reference_records:
            if ref.get("kind") not in CHECK_KINDS or ("spec" not in ref and ref["kind"] not in SPEC_OPTIONAL):
                raise ValueError(f"{grade_id}: reference record without a spec: {ref.get('check')!r}")
            found = _student_answer(answers.get((ref["exercise"], ref["check"])))
            result.checks.append((ref["check"], judge(ref["kind"], found, ref.get("spec", {}))))
        results[grade_id] = result
    return results
