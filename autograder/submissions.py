"""Find the submissions of a batch: nbgrader's ``submitted/`` folder, a folder of per-student folders, or a zip.

Accepted layouts (``ROOT`` is ``submitted/``, a folder, or the top of a zip):

- ``ROOT/<student>/<assignment>/*.ipynb`` (nbgrader's own layout);
- ``ROOT/<student>/*.ipynb`` (one folder per student);
- ``ROOT/<student>_<anything>.ipynb`` (flat files, as LMS downloads name them).

Bad input never stops the batch: a student whose files cannot be used gets a
``Submission`` with a named ``status``; only a batch that cannot be read at
all (no such path, unreadable zip, no notebooks anywhere) raises ``BatchError``.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_ZIP_BYTES = 2 * 1024 * 1024 * 1024


class BatchError(ValueError):
    """The batch as a whole cannot be read; the message says what was expected."""


@dataclass
class Submission:
    """One student's files for one assignment, and what intake noticed about them."""

    student_id: str
    notebooks: list[Path] = field(default_factory=list)
    status: list[str] = field(default_factory=list)   # e.g. ["duplicate-id"]; empty when fine
    notes: list[str] = field(default_factory=list)    # human-readable details
    submitted_at: datetime | None = None               # naive UTC; see autograder.timestamps


def _is_notebook(path: Path) -> bool:
    return path.suffix == ".ipynb" and not any(part.startswith(".") for part in path.parts)


def _student_notebooks(folder: Path, assignment: str) -> list[Path]:
    """Notebooks of one student folder: inside ``<assignment>/`` if present, else directly inside."""
    inner = folder / assignment
    where = inner if inner.is_dir() else folder
    return sorted(p for p in where.iterdir() if p.is_file() and _is_notebook(p))


def from_folder(root: Path, assignment: str) -> list[Submission]:
    """Submissions under ``root`` in any accepted layout, one per student id."""
    if not root.is_dir():
        raise BatchError(f"{root} is not a folder")
    found: dict[str, Submission] = {}
    sources: dict[str, list[str]] = {}

    def add(student: str, notebooks: list[Path], source: str) -> None:
        key = student.lower()
        sources.setdefault(key, []).append(source)
        if key in found:
            found[key].status = ["duplicate-id"]
            found[key].notes.append(f"the id {student!r} appears more than once ({', '.join(sources[key])}): "
                                    "not graded until the instructor resolves it")
            found[key].notebooks = []
            return
        found[key] = Submission(student, list(notebooks))

    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            add(entry.name, _student_notebooks(entry, assignment), f"folder {entry.name}/")
        elif entry.is_file() and _is_notebook(entry):
            add(entry.name.split("_", 1)[0].removesuffix(".ipynb"), [entry], f"file {entry.name}")
    if not found:
        raise BatchError(f"{root} holds no submissions: expected <student>/{assignment}/*.ipynb, "
                         "<student>/*.ipynb or <student>_*.ipynb")
    if not any(s.notebooks for s in found.values()) and not any(s.status for s in found.values()):
        raise BatchError(f"{root} has student folders but not one notebook: expected "
                         f"<student>/{assignment}/*.ipynb or <student>/*.ipynb")
    for submission in found.values():
        if not STUDENT_ID.match(submission.student_id):
            submission.status = ["invalid-id"]
            submission.notes.append("the student id may hold only letters, digits and . _ @ + -")
            submission.notebooks = []
    return sorted(found.values(), key=lambda s: s.student_id)


def unpack_zip(archive: Path, into: Path) -> Path:
    """Extract ``archive`` into ``into`` safely (no paths outside it, bounded size); return ``into``."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise BatchError(f"{archive}: more than {MAX_ZIP_BYTES >> 30} GiB once unpacked")
            for member in members:
                target = (into / member.filename).resolve()
                if into.resolve() not in target.parents or member.filename.startswith("/"):
                    raise BatchError(f"{archive}: the entry {member.filename!r} points outside the archive")
                if member.file_size > MAX_NOTEBOOK_BYTES and member.filename.endswith(".ipynb"):
                    continue  # reported as a missing notebook, with the size in the notes
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, open(target, "wb") as sink:
                    sink.write(source.read(MAX_NOTEBOOK_BYTES + 1))
                _keep_entry_time(target, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise BatchError(f"{archive} cannot be read as a zip file: {error}") from error
    return into


def _keep_entry_time(target: Path, member: zipfile.ZipInfo) -> None:
    """Give an unpacked file the time its zip entry carries (local time of the machine that zipped
    it, read as this machine's), so the file time still says when it was handed in."""
    try:
        seconds = time.mktime((*member.date_time, 0, 0, -1))
        os.utime(target, (seconds, seconds))
    except (OverflowError, ValueError, OSError):
        pass


def _wrapper_folder(root: Path, assignment: str) -> Path | None:
    """The one folder an archive wraps a whole batch in, if it does (``export/<student>/...``)."""
    entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(entries) != 1 or not entries[0].is_dir():
        return None
    inside = [p for p in entries[0].iterdir() if not p.name.startswith(".")]
    student_folders = [p for p in inside if p.is_dir() and p.name != assignment]
    flat_students = {p.name.split("_", 1)[0] for p in inside if _is_notebook(p) and "_" in p.name}
    return entries[0] if student_folders or len(flat_students) >= 2 else None


def collect(course_root: Path, assignment: str, source: Path | None = None,
            scratch: Path | None = None) -> list[Submission]:
    """The batch to grade: ``source`` (folder or zip) if given, else ``submitted/`` of the course."""
    if source is None:
        submitted = course_root / "submitted"
        if not submitted.is_dir():
            raise BatchError(f"no submitted/ folder in {course_root} (or pass --from PATH)")
        return from_folder(submitted, assignment)
    if not source.exists():
        raise BatchError(f"{source} does not exist")
    if source.is_file():
        scratch = scratch or Path(tempfile.mkdtemp(prefix="autograder-batch-"))
        scratch.mkdir(parents=True, exist_ok=True)
        root = unpack_zip(source, scratch)
        return from_folder(_wrapper_folder(root, assignment) or root, assignment)
    return from_folder(source, assignment)
