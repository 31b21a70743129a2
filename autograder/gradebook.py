"""Write grades into nbgrader's gradebook, from the grader's own process only.

The assignment's cells enter the gradebook the way nbgrader always puts them
there, by ``nbgrader generate_assignment`` (run in a scratch copy of the
course, pointed at the real database). Scores are then written with
nbgrader's API, one writer, after the sandboxes have finished: no student
process ever has the database in reach.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

from autograder.release import _nbgrader, _scratch_course_files


def default_db_url(course_root: Path) -> str:
    """The database nbgrader_config.py names: ``COURSE_GRADEBOOK_URL`` or ``gradebook.db`` in the course root."""
    return os.environ.get("COURSE_GRADEBOOK_URL", f"sqlite:///{course_root / 'gradebook.db'}")


def is_registered(db_url: str, assignment: str, points: dict[str, dict[str, float]]) -> bool:
    """True if the gradebook already holds the assignment with exactly these notebooks, test cells and points."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gradebook:
            found = gradebook.find_assignment(assignment)
            held = {nb.name: {cell.name: cell.max_score for cell in nb.grade_cells} for nb in found.notebooks}
    except MissingEntry:
        return False
    return held == points


def register_assignment(assignment: str, course_root: Path, db_url: str,
                        points: dict[str, dict[str, float]] | None = None) -> None:
    """Put the assignment's notebooks and cells (points, checksums, sources) into the gradebook,
    unless it holds them already (``points``: notebook -> grade_id -> points)."""
    if points is not None and is_registered(db_url, assignment, points):
        return
    with tempfile.TemporaryDirectory(prefix="gradebook-") as tmp:
        scratch = _scratch_course_files(assignment, course_root, Path(tmp))
        _nbgrader(scratch, "generate_assignment", assignment, "--force", db_url=db_url)


def record_scores(db_url: str, assignment: str, rows: list[dict]) -> None:
    """Store each row's per-cell scores: ``{"student_id", "notebooks": {name: {grade_id: score}}}``."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warnings; harmless.
        warnings.simplefilter("ignore", SAWarning)
        for row in rows:
            student = row["student_id"]
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student, timestamp=now)
            for notebook, scores in row["notebooks"].items():
                for grade_id, score in scores.items():
                    try:
                        grade = gradebook.find_grade(grade_id, notebook, assignment, student)
                    except MissingEntry:
                        continue
                    grade.auto_score = float(score)
                    grade.needs_manual_grade = False
            gradebook.db.commit()


def gradebook_scores(db_url: str, assignment: str) -> dict[str, tuple[float, float]]:
    """student -> (score, max_score) as nbgrader reports them."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {s.student.id: (s.score, s.max_score) for s in gradebook.find_assignment(assignment).submissions}
