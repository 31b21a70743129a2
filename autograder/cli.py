"""Command line of the course's grading tool.

    autograder release [ASSIGNMENT ...] [--no-verify]
        regenerate release/ from source/ with nbgrader, then verify with stock
        nbgrader that the answered source earns full marks and the release zero.

    autograder grade [ASSIGNMENT ...] [--from PATH] [--workers N] [--force] [limits]
        grade a batch in sandboxes, in parallel: gradebook, autograded/,
        feedback/, grades/<assignment>.csv, histogram and a summary.

    autograder demo
        grade the bundled demo batch of assignment 1 (what `make grade` does
        when submitted/ is empty).

    autograder mutants [ASSIGNMENT ...] [--cell GRADE_ID ...] [--workers N] [limits]
        grade each answer cell's wrong answers and correct alternatives
        (tests/mutants/<assignment>.py) with the real grader; non-zero exit
        unless every wrong answer loses points and every alternative keeps full marks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from autograder.sandbox import Limits

COURSE_ROOT = Path(__file__).resolve().parent.parent


def _course_root(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    here = Path.cwd()
    return here if (here / "nbgrader_config.py").exists() else COURSE_ROOT


def _add_grading_options(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: CPU cores)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that did not change")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without isolation (only where sandboxing is impossible, for trusted code)")
    parser.add_argument("--device", default="cpu", help="device for student code: cpu (default) or cuda")
    parser.add_argument("--db-url", default=None, help="gradebook database URL (default: nbgrader_config.py's)")
    parser.add_argument("--course-root", default=None, help="course folder (default: here, or this repository)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    limits = parser.add_argument_group("limits per submission")
    limits.add_argument("--memory-mib", type=int, default=defaults.memory_mib)
    limits.add_argument("--cpu-seconds", type=int, default=defaults.cpu_seconds)
    limits.add_argument("--processes", type=int, default=defaults.processes)
    limits.add_argument("--open-files", type=int, default=defaults.open_files)
    limits.add_argument("--file-size-mib", type=int, default=defaults.file_size_mib)
    limits.add_argument("--disk-mib", type=int, default=defaults.disk_mib)
    limits.add_argument("--output-kib", type=int, default=defaults.output_kib)
    limits.add_argument("--cell-timeout", type=float, default=defaults.cell_timeout_s, help="seconds")
    limits.add_argument("--notebook-timeout", type=float, default=defaults.notebook_timeout_s, help="seconds")


def _options(args):
    from autograder.grade import Options

    limits = Limits(memory_mib=args.memory_mib, cpu_seconds=args.cpu_seconds, processes=args.processes,
                    open_files=args.open_files, file_size_mib=args.file_size_mib, disk_mib=args.disk_mib,
                    output_kib=args.output_kib, cell_timeout_s=args.cell_timeout,
                    notebook_timeout_s=args.notebook_timeout)
    options = Options(force=args.force, sandboxed=not args.unsafe_no_sandbox, limits=limits,
                      device=args.device, db_url=args.db_url, progress=not args.no_progress)
    if args.workers:
        options.workers = args.workers
    return options


def _submitted_assignments(course_root: Path) -> list[str]:
    submitted = course_root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted({p.name for p in submitted.glob("*/*") if p.is_dir() and (course_root / "source" / p.name).is_dir()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description="The course's grading tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    release = sub.add_parser("release", help="regenerate release/ from source/ and verify it")
    release.add_argument("assignments", nargs="*", help="assignment names (default: every one in source/)")
    release.add_argument("--no-verify", action="store_true", help="skip grading with stock nbgrader")
    grade = sub.add_parser("grade", help="grade a batch of submissions")
    grade.add_argument("assignments", nargs="*", help="assignment names (default: every one in submitted/)")
    grade.add_argument("--from", dest="source", default=None,
                       help="a folder of per-student folders, or a zip as downloaded from an LMS")
    _add_grading_options(grade)
    demo = sub.add_parser("demo", help="grade the bundled demo batch of assignment 1")
    _add_grading_options(demo)
    demo.set_defaults(cell_timeout=10.0)  # the demo batch holds an endless loop: keep the wait short
    mutants = sub.add_parser("mutants", help="grade each answer cell's mutation suite (tests/mutants/)")
    mutants.add_argument("assignments", nargs="*", help="assignment names (default: every one in source/)")
    mutants.add_argument("--cell", dest="cells", action="append", default=None, metavar="GRADE_ID",
                         help="only the mutants of this answer cell (repeatable)")
    _add_grading_options(mutants)
    args = parser.parse_args(argv)

    if args.command == "release":
        from autograder.release import main as release_main
        return release_main(args.assignments, check=not args.no_verify)

    from autograder import grade as grading
    from autograder.sandbox import IsolationUnavailable
    from autograder.submissions import BatchError

    course_root = _course_root(args.course_root)
    options = _options(args)
    try:
        if args.command == "mutants":
            from autograder import mutants as mutation
            options.force = True
            try:
                return mutation.main(args.assignments, course_root, options, set(args.cells or ()))
            except mutation.SuiteError as error:
                print(f"autograder: {error}", file=sys.stderr)
                return 2
        if args.command == "demo":
            from autograder import demo
            with tempfile.TemporaryDirectory(prefix="autograder-demo-") as tmp:
                batch = demo.build(course_root, Path(tmp))
                print(f"Grading the bundled demo batch of {demo.ASSIGNMENT} ({len(list(batch.iterdir()))} students).")
                return grading.main([demo.ASSIGNMENT], course_root, batch, options)
        assignments = args.assignments or _submitted_assignments(course_root)
        if not assignments:
            print("Nothing to grade: submitted/ holds no <student>/<assignment>/ folders. "
                  "Name an assignment and pass --from PATH, or run `autograder demo`.", file=sys.stderr)
            return 2
        source = Path(args.source).resolve() if args.source else None
        return grading.main(assignments, course_root, source, options)
    except (BatchError, IsolationUnavailable, grading.SourceError) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
