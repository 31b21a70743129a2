"""Write grades into nbgrader's gradebook, from the grader's own process only.

The assignment's cells enter the gradebook the way nbgrader always puts them
there, by ``nbgrader generate_assignment`` (run in a scratch copy of the
course, pointed at the real database). Scores are then written with
nbgrader's API, one writer, once an assignment's sandboxes have finished with
it: no student process ever has the database in reach.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder.release import _nbgrader, _scratch_course_files


def default_db_url(course_root: Path) -> str:
    """The database nbgrader_config.py names: ``COURSE_GRADEBOOK_URL`` or ``gradebook.db`` in the course root."""
    return os.environ.get("COURSE_GRADEBOOK_URL", f"sqlite:///{course_root / 'gradebook.db'}")


@dataclass
class Standing:
    """What the gradebook holds for one submission once scores are recorded (points, seconds)."""

    submitted_at: datetime | None
    seconds_late: float = 0.0
    late_penalty: float = 0.0       # points nbgrader's late-submission plugin takes off
    manual_score: float = 0.0       # points a human gave to hand-graded cells so far
    pending_points: float = 0.0     # points of hand-graded cells no human has graded yet
    pending_cells: list[str] = field(default_factory=list)


def grade_cell_points(course_root: Path, assignment: str) -> dict[str, dict[str, float]]:
    """notebook -> grade_id -> points of every graded cell of the source, hand-graded ones included,
    as ``nbgrader generate_assignment`` registers them."""
    import nbformat

    points = {}
    for path in sorted((course_root / "source" / assignment).glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        points[path.stem] = {meta["grade_id"]: float(meta.get("points", 0)) for meta in
                             (c.get("metadata", {}).get("nbgrader", {}) for c in cells)
                             if isinstance(meta, dict) and (meta.get("grade") or meta.get("task"))
                             and meta.get("grade_id")}
    return points


def is_registered(db_url: str, assignment: str, points: dict[str, dict[str, float]]) -> bool:
    """True if the gradebook already holds the assignment with exactly these notebooks, test cells and points."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gradebook:
            found = gradebook.find_assignment(assignment)
            held = {nb.name: {cell.name: cell.max_score for cell in [*nb.grade_cells, *nb.task_cells]}
                    for nb in found.notebooks}
    except MissingEntry:
        return False
    return held == points


class GradebookUnavailable(RuntimeError):
    """The gradebook cannot be opened or written: nothing can be recorded in it."""


def register_assignment(assignment: str, course_root: Path, db_url: str,
                        points: dict[str, dict[str, float]] | None = None) -> None:
    """Put the assignment's notebooks and cells (points, checksums, sources) into the gradebook,
    unless it holds them already. ``points`` is accepted for callers that have them; what counts is
    every graded cell of the source, hand-graded ones included (``grade_cell_points``).
    Raises ``GradebookUnavailable``, with a one-line reason, when the gradebook cannot be used."""
    try:
        if is_registered(db_url, assignment, grade_cell_points(course_root, assignment)):
            return
        with tempfile.TemporaryDirectory(prefix="gradebook-") as tmp:
            scratch = _scratch_course_files(assignment, course_root, Path(tmp))
            _nbgrader(scratch, "generate_assignment", assignment, "--force", db_url=db_url)
    except Exception as error:  # noqa: BLE001 -- SQLAlchemy's, sqlite's or nbgrader's: one named reason
        reason = " ".join(str(error).split())[:300]
        raise GradebookUnavailable(f"the gradebook {db_url} cannot be used for {assignment} "
                                   f"({type(error).__name__}: {reason})") from error


def record_scores(db_url: str, assignment: str, rows: list[dict],
                  late_policy: "Config | None" = None) -> dict[str, Standing]:
    """Store each row's auto scores and submission time; return what the gradebook then holds.

    A row is ``{"student_id", "submitted_at" (ISO 8601, UTC, or None), "notebooks": {name:
    {grade_id: score}}}``. Only auto scores are written: a score or comment a human gave in
    formgrader is never touched, and a hand-graded cell (a written answer) stays marked
    "needs manual grade" until a human grades it. Late penalties follow nbgrader's own
    ``AssignLatePenalties`` with the course's configuration (``late_policy``, see
    ``nbgrader_settings``), against the due date and extensions held in the gradebook.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warnings; harmless.
        warnings.simplefilter("ignore", SAWarning)
        for row in rows:
            student = row["student_id"]
            gradebook.update_or_create_student(student)
            submitted_at = _naive_utc(row.get("submitted_at"))
            gradebook.update_or_create_submission(assignment, student, timestamp=submitted_at)
            for notebook, scores in row["notebooks"].items():
                try:
                    held = gradebook.find_submission_notebook(notebook, assignment, student)
                except MissingEntry:
                    continue
                for grade in held.grades:
                    if grade.name in scores:
                        grade.auto_score = float(scores[grade.name])
                        if grade.manual_score is None:
                            grade.needs_manual_grade = False
                    elif grade.manual_score is None:   # hand-graded and not graded yet
                        grade.auto_score = None
                        grade.needs_manual_grade = True
            gradebook.db.commit()
    students = [row["student_id"] for row in rows]
    apply_late_penalties(db_url, assignment, {row["student_id"]: list(row["notebooks"]) for row in rows},
                         late_policy)
    return standings(db_url, assignment, students)


def _naive_utc(value) -> datetime | None:
    """An ISO 8601 string or datetime as the naive UTC datetime nbgrader stores; None stays None."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def nbgrader_settings(course_root: Path) -> "Config":
    """nbgrader's configuration as its own commands load it: the Jupyter config folders, then
    the course's ``nbgrader_config.py`` (so an instructor's late-submission policy applies)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course_root)]:
        for loader in (JSONFileConfigLoader("nbgrader_config.json", folder),
                       PyFileConfigLoader("nbgrader_config.py", folder)):
            try:
                config.merge(loader.load_config())
            except ConfigFileNotFound:
                continue
    return config


def apply_late_penalties(db_url: str, assignment: str, notebooks: dict[str, list[str]],
                         late_policy: "Config | None" = None) -> None:
    """Run nbgrader's ``AssignLatePenalties`` for each student's notebooks (student -> notebook names)."""
    import logging

    import nbformat
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties

    quiet = logging.getLogger("autograder.late")
    quiet.setLevel(logging.ERROR)
    assign = AssignLatePenalties(config=late_policy, log=quiet) if late_policy is not None \
        else AssignLatePenalties(log=quiet)
    for student, names in notebooks.items():
        for name in names:
            resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student,
                                      "db_url": db_url}}
            try:
                assign.preprocess(nbformat.v4.new_notebook(), resources)
            except MissingEntry:
                continue


def standings(db_url: str, assignment: str, students: list[str]) -> dict[str, Standing]:
    """student -> submission time, lateness, late penalty and hand-graded points, as the gradebook holds them."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(db_url) as gradebook:
        for student in students:
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            standing = Standing(submission.timestamp, float(submission.total_seconds_late or 0.0),
                                float(submission.late_submission_penalty or 0.0))
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.manual_score is not None:
                        if grade.auto_score is None:       # a hand-graded cell a human has graded
                            standing.manual_score += float(grade.manual_score)
                    elif grade.auto_score is None and grade.needs_manual_grade:
                        standing.pending_points += float(grade.max_score or 0.0)
                        standing.pending_cells.append(grade.name)
            found[student] = standing
    return found


def gradebook_scores(db_url: str, assignment: str) -> dict[str, tuple[float, float]]:
    """student -> (score, max_score) as nbgrader reports them."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {s.student.id: (s.score, s.max_score) for s in gradebook.find_assignment(assignment).submissions}
