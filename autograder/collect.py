"""The grader's part of nbgrader's collect step: submission times, and a batch filed where nbgrader looks.

nbgrader's formgrader lists the students found in ``submitted/<student>/<assignment>/``
and counts a submission as autograded when the gradebook's timestamp equals that
folder's ``timestamp.txt``. So, for every submission the grader grades:

- its time is decided once (``autograder.timestamps``) and kept on the ``Submission``;
- a batch graded ``--from`` a folder or zip is filed into ``submitted/`` (as
  ``nbgrader zip_collect`` would), with a ``timestamp.txt``; a different earlier copy
  of the same student's folder is moved to ``submitted/.replaced/`` first, never lost;
- a ``submitted/`` folder without ``timestamp.txt`` gets one, holding the time used.
"""

from __future__ import annotations

import filecmp
import shutil
from datetime import datetime, timezone
from pathlib import Path

from autograder import timestamps
from autograder.submissions import Submission

NOT_FILED = {"duplicate-id", "invalid-id"}   # an id that cannot name a folder safely, or names two


def stamp(batch: list[Submission], manifest: dict[str, datetime] | None = None) -> None:
    """Set ``submitted_at`` on every submission that handed something in."""
    for submission in batch:
        found = timestamps.submission_time(submission.student_id, submission.notebooks, manifest)
        submission.submitted_at = found.at if found else None
        if found and found.source == "file time":
            submission.notes.append("no timestamp.txt: the submission time is the file's modification time")


def _write_timestamp(folder: Path, moment: datetime) -> None:
    (folder / timestamps.TIMESTAMP_FILE).write_text(timestamps.format_utc(moment) + "\n")


def _same_files(folder: Path, files: dict[str, Path]) -> bool:
    held = {p.name for p in folder.iterdir() if p.suffix == ".ipynb"}
    return held == set(files) and all(filecmp.cmp(folder / name, path, shallow=False) for name, path in files.items())


def file_submission(course_root: Path, assignment: str, submission: Submission,
                    notebook_names: list[str]) -> Path | None:
    """Copy a submission graded from elsewhere into ``submitted/<student>/<assignment>/``; return that folder.

    A single notebook under another name is filed under the assignment's notebook name
    (the grader matched it so). Nothing is filed for an unusable or duplicated id.
    """
    if set(submission.status) & NOT_FILED or not submission.notebooks or submission.submitted_at is None:
        return None
    files = {p.name: p for p in submission.notebooks}
    if len(notebook_names) == 1 and len(files) == 1 and f"{notebook_names[0]}.ipynb" not in files:
        files = {f"{notebook_names[0]}.ipynb": submission.notebooks[0]}
    folder = course_root / "submitted" / submission.student_id / assignment
    if folder.is_dir():
        if _same_files(folder, files):
            _write_timestamp(folder, submission.submitted_at)
            return folder
        now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        kept = course_root / "submitted" / ".replaced" / f"{submission.student_id}-{assignment}-{now}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), kept)
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        shutil.copyfile(path, folder / name)
    _write_timestamp(folder, submission.submitted_at)
    return folder


def keep_time_in_submitted(course_root: Path, assignment: str, submission: Submission) -> None:
    """Write ``timestamp.txt`` into the student's ``submitted/`` folder when it has none."""
    folder = course_root / "submitted" / submission.student_id / assignment
    if submission.submitted_at is None or set(submission.status) & NOT_FILED or not folder.is_dir():
        return
    if not any(p.parent == folder for p in submission.notebooks):
        return
    held = folder / timestamps.TIMESTAMP_FILE
    if not held.exists() and not held.is_symlink():   # an unreadable one stays as it is
        _write_timestamp(folder, submission.submitted_at)


def file_batch(course_root: Path, assignment: str, batch: list[Submission], notebook_names: list[str],
               from_elsewhere: bool) -> None:
    """After grading: make ``submitted/`` agree with what was graded (see the module's docstring)."""
    for submission in batch:
        if from_elsewhere:
            file_submission(course_root, assignment, submission, notebook_names)
        else:
            keep_time_in_submitted(course_root, assignment, submission)
