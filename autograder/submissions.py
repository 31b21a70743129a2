"""Find the submissions of a batch: nbgrader's ``submitted/`` folder, a folder of per-student folders, or a zip.

Accepted layouts (``ROOT`` is ``submitted/``, a folder, or the top of a zip):

- ``ROOT/<student>/<assignment>/*.ipynb`` (nbgrader's own layout);
- ``ROOT/<student>/*.ipynb`` (one folder per student);
- ``ROOT/<student>_<anything>.ipynb`` (flat files, as LMS downloads name them).

Bad input never stops the batch: a student whose files cannot be used gets a
``Submission`` with a named ``status``; only a batch that cannot be read at
all (no such path, unreadable zip, no notebooks anywhere) raises ``BatchError``.

Submitted files are plain files or nothing: a symbolic link (to the
instructor's ``source/``, say), a hard link, a FIFO or a device is never
followed or read, and the student's row says ``not-a-plain-file``; a notebook
over ``MAX_NOTEBOOK_BYTES`` is never read (``too-large``). Zips unpack only
their notebooks, each within the same cap, and at most ``MAX_UNPACKED_BYTES``
in all, whatever sizes the archive declares.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# Letters of any script, digits and . _ @ + -, starting with a letter or digit; no spaces,
# control characters or path separators (nbgrader strips whitespace, so "ada\n" would become "ada").
STUDENT_ID = re.compile(r"[^\W_][\w.@+-]{0,99}")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
NOT_A_PLAIN_FILE = "not-a-plain-file"
TOO_LARGE = "too-large"
REFUSED = (NOT_A_PLAIN_FILE, TOO_LARGE)
SYMLINK_ENTRY_TARGET = "/dev/null/refused-zip-symlink"   # can never resolve: /dev/null is not a folder


class BatchError(ValueError):
    """The batch as a whole cannot be read; the message says what was expected."""


class Refused(ValueError):
    """A submitted file that is not read: ``status`` is ``not-a-plain-file`` or ``too-large``."""

    def __init__(self, status: str, note: str):
        super().__init__(note)
        self.status, self.note = status, note


@dataclass
class Submission:
    """One student's files for one assignment, and what intake noticed about them."""

    student_id: str
    notebooks: list[Path] = field(default_factory=list)
    status: list[str] = field(default_factory=list)   # e.g. ["duplicate-id"]; empty when fine
    notes: list[str] = field(default_factory=list)    # human-readable details
    submitted_at: datetime | None = None               # naive UTC; see autograder.timestamps

    def refuse(self, status: str, note: str) -> None:
        if status not in self.status:
            self.status.append(status)
        self.notes.append(note)
        self.notebooks = []


def valid_student_id(student_id: str) -> bool:
    return STUDENT_ID.fullmatch(student_id) is not None


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_plain_file(info: os.stat_result, name: str) -> None:
    """Raise ``Refused`` unless ``info`` (from lstat or fstat) is one regular file within the size cap."""
    if not stat.S_ISREG(info.st_mode):
        raise Refused(NOT_A_PLAIN_FILE, f"{name!r} is {_kind(info.st_mode)}, not a plain file: not read")
    if info.st_nlink > 1:
        raise Refused(NOT_A_PLAIN_FILE, f"{name!r} is a hard link ({info.st_nlink} names for one file): not read")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise Refused(TOO_LARGE, f"{name!r} is {info.st_size / 2**20:.0f} MiB, more than the "
                                 f"{MAX_NOTEBOOK_BYTES >> 20} MiB a notebook may be: not read")


def read_submitted(path: Path) -> bytes:
    """The bytes of a submitted notebook, read without following links, at most the size cap.

    The checks are made on the opened file itself, so nothing can swap it between check and read.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        try:
            check_plain_file(os.lstat(path), path.name)
        except OSError:
            pass
        raise Refused(NOT_A_PLAIN_FILE, f"{path.name!r} cannot be opened as a plain file "
                                        f"({error.strerror or type(error).__name__}): not read") from error
    try:
        check_plain_file(os.fstat(handle), path.name)
        chunks, left = [], MAX_NOTEBOOK_BYTES + 1
        while left > 0:
            chunk = os.read(handle, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(handle)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Refused(TOO_LARGE, f"{path.name!r} is more than {MAX_NOTEBOOK_BYTES >> 20} MiB: not read")
    return data


def _is_notebook_name(name: str) -> bool:
    return name.endswith(".ipynb") and not name.startswith(".")


def _student_notebooks(folder: Path, assignment: str) -> tuple[list[Path], list[Refused]]:
    """Notebooks of one student folder: inside ``<assignment>/`` if present, else directly inside;
    and the entries refused on the way (links, special files, files over the cap)."""
    refused: list[Refused] = []
    where = folder
    inner = folder / assignment
    try:
        info = os.lstat(inner)
        if stat.S_ISDIR(info.st_mode):
            where = inner
        elif stat.S_ISLNK(info.st_mode):
            refused.append(Refused(NOT_A_PLAIN_FILE, f"{assignment}/ is a symbolic link: not followed"))
            return [], refused
    except FileNotFoundError:
        pass
    notebooks = []
    with os.scandir(where) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if not _is_notebook_name(entry.name):
                continue
            try:
                check_plain_file(entry.stat(follow_symlinks=False), entry.name)
                notebooks.append(Path(entry.path))
            except Refused as refusal:
                refused.append(refusal)
    return notebooks, refused


def _normalised(name: str) -> str:
    """Ids compare in Unicode NFC, the form most systems write (macOS writes NFD file names)."""
    return unicodedata.normalize("NFC", name)


def from_folder(root: Path, assignment: str) -> list[Submission]:
    """Submissions under ``root`` in any accepted layout, one per student id."""
    if not root.is_dir():
        raise BatchError(f"{root} is not a folder")
    found: dict[str, Submission] = {}
    sources: dict[str, list[str]] = {}

    def add(student: str, notebooks: list[Path], source: str, refused: list[Refused] = ()) -> None:
        student = _normalised(student)
        key = student.casefold()
        sources.setdefault(key, []).append(source)
        if key in found:
            found[key].status = ["duplicate-id"]
            found[key].notes.append(f"the id {student!r} appears more than once ({', '.join(sources[key])}): "
                                    "not graded until the instructor resolves it")
            found[key].notebooks = []
            return
        found[key] = Submission(student, list(notebooks))
        for refusal in refused:
            found[key].refuse(refusal.status, refusal.note)

    with os.scandir(root) as entries:
        listing = sorted(entries, key=lambda e: e.name)
    for entry in listing:
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            notebooks, refused = _student_notebooks(Path(entry.path), assignment)
            add(entry.name, notebooks, f"folder {entry.name}/", refused)
        elif _is_notebook_name(entry.name) or (stat.S_ISLNK(info.st_mode) and "." not in entry.name):
            student = entry.name.split("_", 1)[0].removesuffix(".ipynb")
            try:
                check_plain_file(info, entry.name)
                add(student, [Path(entry.path)], f"file {entry.name}")
            except Refused as refusal:
                add(student, [], f"{entry.name}", [refusal])
    if not found:
        raise BatchError(f"{root} holds no submissions: expected <student>/{assignment}/*.ipynb, "
                         "<student>/*.ipynb or <student>_*.ipynb")
    if not any(s.notebooks for s in found.values()) and not any(s.status for s in found.values()):
        raise BatchError(f"{root} has student folders but not one notebook: expected "
                         f"<student>/{assignment}/*.ipynb or <student>/*.ipynb")
    for submission in found.values():
        if not valid_student_id(submission.student_id):
            submission.status = ["invalid-id"]
            submission.notes.append(f"the student id {submission.student_id[:40]!r} is not usable: an id holds "
                                    "letters, digits and . _ @ + - only, and starts with a letter or digit")
            submission.notebooks = []
    return sorted(found.values(), key=lambda s: s.student_id)


def _is_symlink_entry(member: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(member.external_attr >> 16)


def unpack_zip(archive: Path, into: Path) -> Path:
    """Extract the notebooks of ``archive`` into ``into`` safely; return ``into``.

    No path may leave ``into``. A symbolic-link entry becomes a dangling link
    (so intake refuses it by name, and nothing is followed); a notebook over
    ``MAX_NOTEBOOK_BYTES`` is not extracted but left as an empty sparse file of
    cap + 1 bytes, so intake names it ``too-large`` without reading it. Other
    files are not extracted at all.
    """
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                target = (into / member.filename).resolve()
                if into.resolve() not in target.parents or member.filename.startswith("/"):
                    raise BatchError(f"{archive}: the entry {member.filename!r} points outside the archive")
            members = [m for m in zipped.infolist() if not m.is_dir() and _is_notebook_name(Path(m.filename).name)
                       and not any(part.startswith(".") or part == "__MACOSX" for part in Path(m.filename).parts)]
            total = sum(m.file_size for m in members if m.file_size <= MAX_NOTEBOOK_BYTES)
            if total > MAX_UNPACKED_BYTES:
                raise BatchError(f"{archive}: its notebooks hold {total >> 20} MiB once unpacked, more than "
                                 f"{MAX_UNPACKED_BYTES >> 20} MiB: split the batch")
            for member in members:
                target = (into / member.filename).resolve()
                target.parent.mkdir(parents=True, exist_ok=True)
                if _is_symlink_entry(member):
                    os.symlink(SYMLINK_ENTRY_TARGET, target)
                elif member.file_size > MAX_NOTEBOOK_BYTES:
                    with open(target, "wb") as sink:
                        sink.truncate(MAX_NOTEBOOK_BYTES + 1)
                else:
                    with open(target, "wb") as sink:
                        try:
                            with zipped.open(member) as source:
                                shutil.copyfileobj(_Capped(source, member.file_size), sink, 1 << 20)
                        except (zipfile.BadZipFile, zlib.error, EOFError):
                            sink.truncate(0)   # a damaged entry: left empty, so it is that student's invalid-notebook
                    _keep_entry_time(target, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as error:
        raise BatchError(f"{archive} cannot be read as a zip file: {error}") from error
    return into


class _Capped:
    """A reader that stops after ``limit`` bytes, whatever the stream would still yield."""

    def __init__(self, stream, limit: int):
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        chunk = self.stream.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(chunk)
        return chunk
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
    if len(entries) != 1 or entries[0].is_symlink() or not entries[0].is_dir():
        return None
    inside = [p for p in entries[0].iterdir() if not p.name.startswith(".")]
    student_folders = [p for p in inside if not p.is_symlink() and p.is_dir() and p.name != assignment]
    flat_students = {p.name.split("_", 1)[0] for p in inside if _is_notebook_name(p.name) and "_" in p.name}
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
