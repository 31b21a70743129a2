"""When each submission was handed in, as nbgrader records it.

In order of trust:

1. a row of the instructor's manifest (``--manifest FILE``: a CSV with columns
   ``student_id`` and ``submitted_at``, e.g. an LMS's submission report);
2. nbgrader's ``timestamp.txt`` next to the notebooks (written by ``nbgrader submit``
   and kept by ``nbgrader collect``);
3. the modification time of the newest submitted notebook (for a zip, the time its
   entry carries).

Times are kept as naive datetimes in UTC, as nbgrader's gradebook stores them, and
written to ``timestamp.txt`` in nbgrader's own format, so formgrader compares equal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

TIMESTAMP_FILE = "timestamp.txt"
NBGRADER_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"   # nbgrader submit's timestamp_format, in UTC
MAX_TIMESTAMP_BYTES = 200


class ManifestError(ValueError):
    """The manifest cannot be used; the message says which row and why."""


@dataclass(frozen=True)
class SubmissionTime:
    """When a submission was handed in (naive UTC) and where that was read from."""

    at: datetime
    source: str   # "manifest", "timestamp.txt" or "file time"


def parse(text: str) -> datetime:
    """A timestamp as nbgrader writes or reads it (``2026-11-30 16:43:17.123456 UTC``, ISO 8601, ...),
    as a naive UTC datetime; a time without a zone is taken as UTC. Raises ValueError."""
    from nbgrader.utils import parse_utc

    text = text.strip()
    if not text or len(text) > MAX_TIMESTAMP_BYTES:
        raise ValueError(f"not a timestamp: {text[:40]!r}")
    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError) as error:
        raise ValueError(f"not a timestamp: {text[:40]!r}") from error


def format_utc(moment: datetime) -> str:
    """``moment`` (naive UTC) in the format nbgrader writes to ``timestamp.txt``."""
    return moment.strftime(NBGRADER_FORMAT)


def from_file_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)


def read_timestamp_file(folder: Path) -> datetime | None:
    """The time in ``folder/timestamp.txt``, or None if there is none or it cannot be read."""
    path = folder / TIMESTAMP_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            return parse(handle.read(MAX_TIMESTAMP_BYTES + 1).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None


def load_manifest(path: Path) -> dict[str, datetime]:
    """student id (lower case) -> submission time, from a CSV with ``student_id`` and ``submitted_at`` columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            if not {"student_id", "submitted_at"} <= columns:
                raise ManifestError(f"{path}: expected the columns student_id and submitted_at, "
                                    f"found {', '.join(sorted(columns)) or 'none'}")
            times = {}
            for number, row in enumerate(reader, start=2):
                student = (row.get("student_id") or "").strip()
                if not student:
                    continue
                try:
                    times[student.lower()] = parse(row.get("submitted_at") or "")
                except ValueError as error:
                    raise ManifestError(f"{path}, line {number}: {error}") from error
            return times
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ManifestError(f"{path} cannot be read as a CSV file: {error}") from error


def submission_time(student_id: str, notebooks: list[Path],
                    manifest: dict[str, datetime] | None = None) -> SubmissionTime | None:
    """When this student handed in ``notebooks``; None when nothing was handed in."""
    if manifest and student_id.lower() in manifest:
        return SubmissionTime(manifest[student_id.lower()], "manifest")
    for folder in dict.fromkeys(p.parent for p in notebooks):
        stamped = read_timestamp_file(folder)
        if stamped is not None:
            return SubmissionTime(stamped, TIMESTAMP_FILE)
    times = [p.lstat().st_mtime for p in notebooks if p.exists()]
    return SubmissionTime(from_file_time(max(times)), "file time") if times else None
