"""Generate ``release/`` from ``source/`` with nbgrader, and verify what was released.

Both steps run stock nbgrader in a scratch copy of the course (its own
``nbgrader_config.py``, ``source/`` and a throw-away gradebook), so neither
touches the instructor's ``gradebook.db``:

- ``generate_release`` runs ``nbgrader generate_assignment`` and copies the
  student version into ``release/<assignment>/``;
- ``stock_scores`` runs ``nbgrader autograde`` on given notebooks and reads the
  scores back from the scratch gradebook. ``verify`` uses it to show that the
  answered source earns full marks and the untouched release earns zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def assignments(course_root: Path = COURSE_ROOT) -> list[str]:
    """Names of the assignments in ``source/``: folders holding at least one notebook."""
    source = course_root / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _tool_env(scratch: Path, db_url: str | None = None) -> dict[str, str]:
    """Environment for nbgrader subprocesses: this interpreter's tools first on PATH
    (nbgrader runs ``alembic`` by name), a gradebook (by default a scratch one),
    one thread per kernel."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["COURSE_GRADEBOOK_URL"] = db_url or f"sqlite:///{scratch / 'gradebook.db'}"
    env.setdefault("COURSE_DEVICE", "cpu")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = "1"
    env.pop("COURSE_CHECK_RECORD", None)
    return env


# ``python -m nbgrader``, less one import: jsonschema would build 38 parser grammars (2-3 s of CPU
# per command) for an optional IRI format checker that no notebook schema uses (autograder/__init__.py).
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
            "from nbgrader.apps.nbgraderapp import main; sys.argv[0] = 'nbgrader'; main()")


def _nbgrader(scratch: Path, *args: str, db_url: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", NBGRADER, *args]
    result = subprocess.run(command, cwd=scratch, env=_tool_env(scratch, db_url), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed:\n{result.stdout}\n{result.stderr}")
    return result


def _scratch_course_files(assignment: str, course_root: Path, into: Path) -> Path:
    """A minimal course: the config and one assignment's source."""
    shutil.copy(course_root / "nbgrader_config.py", into / "nbgrader_config.py")
    shutil.copytree(course_root / "source" / assignment, into / "source" / assignment)
    return into


def _scratch_course(assignment: str, course_root: Path, into: Path) -> Path:
    """A minimal course with the release of ``assignment`` generated (in a scratch gradebook)."""
    _scratch_course_files(assignment, course_root, into)
    _nbgrader(into, "generate_assignment", assignment, "--force")
    return into


def generate_release(assignment: str, course_root: Path = COURSE_ROOT, release_root: Path | None = None) -> Path:
    """Write the student version of ``assignment`` to ``release_root/<assignment>/`` (default ``release/``)."""
    release_root = release_root or course_root / "release"
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        scratch = _scratch_course(assignment, course_root, Path(tmp))
        target = release_root / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(scratch / "release" / assignment, target)
    problems = release_problems(target)
    if problems:
        raise RuntimeError("the release still holds solutions or hidden tests:\n" + "\n".join(problems))
    return target


def release_problems(release_dir: Path) -> list[str]:
    """Lines of released notebooks that still carry a solution or hidden-test marker."""
    problems = []
    for notebook in sorted(release_dir.glob("*.ipynb")):
        for number, line in enumerate(notebook.read_text().splitlines(), 1):
            if any(marker in line for marker in SOLUTION_MARKERS):
                problems.append(f"{notebook}:{number}: {line.strip()}")
    return problems


def stock_scores(assignment: str, submissions: dict[str, Path], course_root: Path = COURSE_ROOT) -> dict[str, tuple[float, float]]:
    """Grade notebooks with stock ``nbgrader autograde``; return student -> (code score, max code score).

    Only the autograded (code) points count: written answers wait for a person in formgrader.

    ``submissions`` maps a student id to a folder holding that student's
    notebooks for ``assignment`` (named as in ``source/``).
    """
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="stock-grade-") as tmp:
        scratch = _scratch_course(assignment, course_root, Path(tmp))
        for student, folder in submissions.items():
            shutil.copytree(folder, scratch / "submitted" / student / assignment)
        _nbgrader(scratch, "autograde", assignment, "--create", "--force")
        scores = {}
        with Gradebook(_tool_env(scratch)["COURSE_GRADEBOOK_URL"]) as gradebook:
            for student in submissions:
                submission = gradebook.find_submission(assignment, student)
                scores[student] = (submission.code_score, submission.max_code_score)
        return scores


def verify(assignment: str, course_root: Path = COURSE_ROOT) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Grade the answered source and the untouched release with stock nbgrader.

    Returns the scores and a list of problems (empty when the answered source
    earns full marks and the release earns zero).
    """
    scores = stock_scores(assignment, {
        "answered-source": course_root / "source" / assignment,
        "untouched-release": course_root / "release" / assignment,
    }, course_root)
    problems = []
    score, total = scores["answered-source"]
    if total <= 0 or score != total:
        problems.append(f"{assignment}: the answered source scored {score} of {total}, not full auto marks")
    score, total = scores["untouched-release"]
    if score != 0:
        problems.append(f"{assignment}: the untouched release scored {score} of {total}, not zero")
    return scores, problems


def main(names: list[str] | None = None, check: bool = True) -> int:
    """``autograder release``: regenerate each assignment's release, then verify it."""
    failed = False
    for assignment in names or assignments():
        target = generate_release(assignment)
        print(f"{assignment}: released to {target.relative_to(COURSE_ROOT)}")
        if check:
            scores, problems = verify(assignment)
            for student, (score, total) in scores.items():
                print(f"  stock nbgrader, {student}: {score:g} / {total:g}")
            for problem in problems:
                print(f"  PROBLEM: {problem}")
            failed = failed or bool(problems)
    return 1 if failed else 0
