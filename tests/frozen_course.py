"""A frozen one-assignment course for the grader's tests (tests/fixtures/frozen_course/README.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FROZEN = REPO / "tests" / "fixtures" / "frozen_course"
ASSIGNMENT = "01_manual_gradients"
SOURCE = FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = FROZEN / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def make_course(into: Path) -> Path:
    """Fill ``into`` with the course config and the frozen assignment's source and release; return it."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", into)
    shutil.copytree(FROZEN / "source", into / "source")
    shutil.copytree(FROZEN / "release", into / "release")
    return into
