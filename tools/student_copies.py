"""Give a student their own copies of the course notebooks in ``work/`` (ignored by git), never overwriting one.

    python tools/student_copies.py            # what `make lab` runs first

``notebooks/*.ipynb`` becomes ``work/lectures/`` and ``release/<assignment>/`` becomes
``work/assignments/<assignment>/``. A file the student already has is kept as it is;
when the course's version changed since it was copied, the script says so (delete or
rename your copy and run it again to get the new one). The committed ``notebooks/`` and
``release/`` stay untouched, so ``git pull`` never conflicts with a student's work.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def planned_copies(course: Path) -> list[tuple[Path, Path]]:
    """(course file, the student's copy) for every lecture and every released assignment file."""
    pairs = [(p, Path("lectures") / p.name) for p in sorted((course / "notebooks").glob("*.ipynb"))]
    release = course / "release"
    for path in sorted(release.rglob("*")):
        relative = path.relative_to(release)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            pairs.append((path, Path("assignments") / relative))
    return pairs


def make_copies(course: Path, work: Path) -> tuple[list[Path], list[Path]]:
    """Copy what the student lacks into ``work``; return (copied, kept but changed in the course)."""
    copied, changed = [], []
    for original, relative in planned_copies(course):
        target = work / relative
        if target.exists():
            if not filecmp.cmp(original, target, shallow=False) and original.stat().st_mtime > target.stat().st_mtime:
                changed.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(original, target)
        copied.append(target)
    return copied, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=REPO, help="course folder (default: this repository)")
    parser.add_argument("--work", type=Path, default=None, help="where the copies go (default: COURSE/work)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    work = (args.work or course / "work").resolve()
    copied, changed = make_copies(course, work)
    if copied:
        print(f"copied {len(copied)} notebooks into {work}")
    for path in changed:
        print(f"kept your {path.relative_to(work)}; the course has a newer version "
              "(rename your copy and run `make lab` again to get it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
