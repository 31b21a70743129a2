"""What nbgrader's exchange needs beside the feedback pages, so ``release_feedback`` and
``fetch_feedback`` deliver them.

``nbgrader release_feedback`` reads ``feedback/<student>/<assignment>/timestamp.txt`` and
``submission_secret.txt`` and publishes each ``<notebook>.html`` under a hash of the
secret and the notebook's name; ``nbgrader fetch_feedback`` finds it with the secret the
student's own submission left in their cache. The secret is copied from the collected
submission; a submission that never went through ``nbgrader submit`` has none, and gets
a fresh one (its feedback is then released but no student copy can fetch it).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from autograder import timestamps

SECRET_FILE = "submission_secret.txt"
MAX_SECRET_BYTES = 1024


def submission_secret(submitted: Path) -> str | None:
    """The secret ``nbgrader submit`` wrote into a submission folder, if there is a usable one."""
    path = submitted / SECRET_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_SECRET_BYTES + 1).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    return text if 0 < len(text) <= MAX_SECRET_BYTES and text.isprintable() else None


def complete_feedback(folder: Path, submitted_at: datetime | None, submitted: Path | None) -> None:
    """Put ``timestamp.txt`` and ``submission_secret.txt`` beside the pages in ``folder``."""
    if submitted_at is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / timestamps.TIMESTAMP_FILE).write_text(timestamps.format_utc(submitted_at))
    secret = (submission_secret(submitted) if submitted else None) or secrets.token_hex(16)
    if submitted is not None and submission_secret(submitted) is None and submitted.is_dir() \
            and not (submitted / SECRET_FILE).exists():
        (submitted / SECRET_FILE).write_text(secret)
    (folder / SECRET_FILE).write_text(secret)
