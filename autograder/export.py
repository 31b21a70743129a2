"""``autograder export``: the gradebook as a CSV that a learning management system imports.

Scores come from nbgrader's gradebook, so they include what graders gave by hand in
formgrader and nbgrader's late penalties: ``final = score − late penalty`` (nbgrader's
score already counts hand-graded points). Every student in the gradebook gets a row;
one without a submission has an empty grade (the LMS leaves it unchanged).

Formats:

- ``canvas``: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one column named after the assignment. ``ID`` holds the student's
  ``lms_user_id`` when the gradebook has one (``nbgrader db student add --lms-user-id``);
  ``SIS Login ID`` holds the nbgrader student id.
- ``moodle``: for Moodle's "Import grades from CSV file": ``Username, Email address``,
  the grade column and a ``Feedback`` column; map ``Username`` (or email) to the user
  field when importing.
- ``csv``: every field, for anything else.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("canvas", "moodle", "csv")


class ExportError(ValueError):
    """The export cannot be written; the message says why."""


@dataclass(frozen=True)
class GradeRow:
    """One student's standing on one assignment, as the gradebook holds it (points, seconds)."""

    student_id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    submitted: bool
    submitted_at: str           # ISO 8601, UTC; empty without a submission
    seconds_late: float
    score: float                # auto + hand-graded points
    max_score: float
    late_penalty: float
    pending_points: float       # points of hand-graded cells no human has graded yet

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - self.late_penalty)


def read_gradebook(db_url: str, assignment: str) -> list[GradeRow]:
    """Every student of the gradebook with their standing on ``assignment``."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url) as gradebook:
        try:
            held = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise ExportError(f"the gradebook has no assignment {assignment!r}: grade it first") from None
        max_score = float(held.max_score or 0.0)
        for student in sorted(gradebook.students, key=lambda s: s.id):
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                submission = None
            pending = 0.0
            if submission is not None:
                pending = sum(float(g.max_score or 0.0) for nb in submission.notebooks for g in nb.grades
                              if g.needs_manual_grade)
            rows.append(GradeRow(
                student.id, student.first_name or "", student.last_name or "", student.email or "",
                student.lms_user_id or "", submission is not None,
                submission.timestamp.isoformat() + "Z" if submission is not None and submission.timestamp else "",
                float(submission.total_seconds_late or 0.0) if submission else 0.0,
                float(submission.score or 0.0) if submission else 0.0, max_score,
                float(submission.late_submission_penalty or 0.0) if submission else 0.0, pending))
    return rows


def _points(value: float) -> str:
    return f"{value:g}"


def _name(row: GradeRow) -> str:
    full = f"{row.last_name}, {row.first_name}".strip(", ")
    return full or row.student_id


def _feedback_text(row: GradeRow) -> str:
    parts = []
    if row.late_penalty:
        parts.append(f"late penalty {_points(row.late_penalty)} points")
    if row.pending_points:
        parts.append(f"{_points(row.pending_points)} points still to be graded by hand")
    return "; ".join(parts)


def table(rows: list[GradeRow], assignment: str, to: str) -> list[list[str]]:
    """The CSV's lines (header first) in the format ``to``."""
    if to == "canvas":
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]
        return [header, *([_name(r), r.lms_user_id, "", r.student_id, "",
                           _points(r.final_score) if r.submitted else ""] for r in rows)]
    if to == "moodle":
        header = ["Username", "Email address", assignment, "Feedback"]
        return [header, *([r.student_id, r.email, _points(r.final_score) if r.submitted else "", _feedback_text(r)]
                          for r in rows)]
    if to == "csv":
        header = ["student_id", "first_name", "last_name", "email", "lms_user_id", "submitted_at", "seconds_late",
                  "score", "max_score", "late_penalty", "final_score", "pending_points"]
        return [header, *([r.student_id, r.first_name, r.last_name, r.email, r.lms_user_id, r.submitted_at,
                           _points(r.seconds_late), _points(r.score) if r.submitted else "", _points(r.max_score),
                           _points(r.late_penalty), _points(r.final_score) if r.submitted else "",
                           _points(r.pending_points)] for r in rows)]
    raise ExportError(f"unknown format {to!r}: choose one of {', '.join(FORMATS)}")


def export(db_url: str, assignment: str, to: str, output: Path) -> tuple[Path, list[GradeRow]]:
    """Write ``output`` (the LMS's CSV); return it and the rows, for a one-line report."""
    if to not in FORMATS:
        raise ExportError(f"unknown format {to!r}: choose one of {', '.join(FORMATS)}")
    rows = read_gradebook(db_url, assignment)
    lines = table(rows, assignment, to)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    return output, rows
