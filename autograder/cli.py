"""Command line of the course's grading tool.

    autograder release [ASSIGNMENT ...] [--no-verify]
        regenerate release/ from source/ with nbgrader, then verify with stock
        nbgrader that the answered source earns full marks and the release zero.

    autograder grade [ASSIGNMENT ...] [--from PATH] [--workers N] [--force] [limits]
        grade a batch in sandboxes, in parallel: gradebook, autograded/,
        feedback/, grades/<assignment>.csv, histogram and a summary.

    autograder grade ... --scheduler ADDRESS
        the same, with the notebooks run by the grading workers of a Dask
        cluster; judging and every output stay on this machine.

    autograder worker SCHEDULER_ADDRESS [--sandboxes N]
        join a Dask cluster as a grading worker with N warm sandboxes.

    autograder demo
        grade the bundled demo batch of assignment 1 (what `make grade` does
        when submitted/ is empty).

    autograder mutants [ASSIGNMENT ...] [--cell GRADE_ID ...] [--workers N] [limits]
        grade each answer cell's wrong answers and correct alternatives
        (tests/mutants/<assignment>.py) with the real grader; non-zero exit
        unless every wrong answer loses points and every alternative keeps full marks.
    autograder export ASSIGNMENT --to canvas|moodle|csv [--output FILE]
        the gradebook (hand-graded points and late penalties included) as a
        CSV that the learning management system imports.
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run notebooks on the grading workers of this Dask scheduler "
                             "(e.g. tcp://10.0.0.5:8786; see `autograder worker`)")
    limits = parser.add_argument_group("limits per submission")
    limits.add_argument("--memory-mib", type=int, default=defaults.memory_mib)
    limits.add_argument("--cpu-seconds", type=int, default=defaults.cpu_seconds)
    limits.add_argument("--processes", type=int, default=defaults.processes)
    limits.add_argument("--open-files", type=int, default=defaults.open_files)
    limits.add_argument("--file-size-mib", type=int, default=defaults.file_size_mib)
    limits.add_argument("--disk-mib", type=int, default=defaults.disk_mib)
    limits.add_argument("--output-kib", type=int, default=defaults.output_kib)
    limits.add_argument("--cell-timeout", type=_seconds, default=defaults.cell_timeout_s,
                        help="seconds, fractions allowed (e.g. 2.5)")
    limits.add_argument("--notebook-timeout", type=_seconds, default=defaults.notebook_timeout_s,
                        help="seconds, fractions allowed")


def _seconds(text: str) -> float:
    """A time limit: a positive, finite number of seconds such as ``60`` or ``2.5``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: a time limit must be a positive number of seconds")
    return value


def _options(args):
    from autograder.grade import Options

    limits = Limits(memory_mib=args.memory_mib, cpu_seconds=args.cpu_seconds, processes=args.processes,
                    open_files=args.open_files, file_size_mib=args.file_size_mib, disk_mib=args.disk_mib,
                    output_kib=args.output_kib, cell_timeout_s=args.cell_timeout,
                    notebook_timeout_s=args.notebook_timeout)
    options = Options(force=args.force, sandboxed=not args.unsafe_no_sandbox, limits=limits,
                      device=args.device, db_url=args.db_url, progress=not args.no_progress,
                      manifest=Path(args.manifest).resolve() if getattr(args, "manifest", None) else None,
                      file_into_submitted=args.command != "demo", scheduler=args.scheduler)
    if args.workers:
        options.workers = args.workers
    return options


def _export(args) -> int:
    from autograder.export import ExportError, export
    from autograder.gradebook import default_db_url

    course_root = _course_root(args.course_root)
    output = Path(args.output) if args.output else course_root / "grades" / f"{args.assignment}-{args.to}.csv"
    try:
        path, rows = export(args.db_url or default_db_url(course_root), args.assignment, args.to, output)
    except (ExportError, OSError) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    pending = sum(1 for row in rows if row.pending_points)
    print(f"{path}: {sum(r.submitted for r in rows)} submissions of {len(rows)} students"
          + (f"; {pending} still have written answers to grade by hand" if pending else ""))
    return 0


def _submitted_assignments(course_root: Path) -> list[str]:
    submitted = course_root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted({p.name for p in submitted.glob("*/*") if p.is_dir() and (course_root / "source" / p.name).is_dir()})


def _put_interpreter_on_path() -> None:
    """nbgrader's gradebook runs ``alembic`` as a program: find it next to this interpreter
    even when the environment is not activated (``.venv/bin/autograder`` from a bare shell)."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + (os.pathsep + path if path else "")


def main(argv=None) -> int:
    _put_interpreter_on_path()
    parser = argparse.ArgumentParser(prog="autograder", description="The course's grading tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    release = sub.add_parser("release", help="regenerate release/ from source/ and verify it")
    release.add_argument("assignments", nargs="*", help="assignment names (default: every one in source/)")
    release.add_argument("--no-verify", action="store_true", help="skip grading with stock nbgrader")
    grade = sub.add_parser("grade", help="grade a batch of submissions")
    grade.add_argument("assignments", nargs="*", help="assignment names (default: every one in submitted/)")
    grade.add_argument("--from", dest="source", default=None,
                       help="a folder of per-student folders, or a zip as downloaded from an LMS "
                            "(filed into submitted/ for formgrader)")
    grade.add_argument("--manifest", default=None,
                       help="CSV with columns student_id, submitted_at: submission times (else timestamp.txt, "
                            "else the file time)")
    _add_grading_options(grade)
    demo = sub.add_parser("demo", help="grade the bundled demo batch of assignment 1")
    _add_grading_options(demo)
    demo.set_defaults(cell_timeout=10.0)  # the demo batch holds an endless loop: keep the wait short
    mutants = sub.add_parser("mutants", help="grade each answer cell's mutation suite (tests/mutants/)")
    mutants.add_argument("assignments", nargs="*", help="assignment names (default: every one in source/)")
    mutants.add_argument("--cell", dest="cells", action="append", default=None, metavar="GRADE_ID",
                         help="only the mutants of this answer cell (repeatable)")
    _add_grading_options(mutants)
    export = sub.add_parser("export", help="the gradebook as a CSV for Canvas, Moodle or anything else")
    export.add_argument("assignment", help="assignment name")
    export.add_argument("--to", required=True, choices=("canvas", "moodle", "csv"), help="the format")
    export.add_argument("--output", default=None, help="file to write (default: grades/<assignment>-<format>.csv)")
    export.add_argument("--db-url", default=None, help="gradebook database URL (default: nbgrader_config.py's)")
    export.add_argument("--course-root", default=None, help="course folder (default: here, or this repository)")
    worker = sub.add_parser("worker", help="join a Dask cluster as a grading worker")
    worker.add_argument("scheduler", metavar="SCHEDULER_ADDRESS", help="e.g. tcp://10.0.0.5:8786")
    worker.add_argument("--sandboxes", "--nthreads", type=int, default=1,
                        help="warm sandboxes, i.e. notebooks graded at once on this machine (default 1)")
    worker.add_argument("--name", default=None, help="the worker's name on the scheduler")
    worker.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run notebooks without isolation (only for code you trust)")
    args = parser.parse_args(argv)

    if args.command == "export":
        return _export(args)
    if args.command == "worker":
        from autograder.cluster_worker import main as worker_main
        return worker_main(args.scheduler, args.sandboxes, not args.unsafe_no_sandbox, args.name)

    if args.command == "release":
        from autograder.release import main as release_main
        return release_main(args.assignments, check=not args.no_verify)

    from autograder import grade as grading
    from autograder.sandbox import IsolationUnavailable
    from autograder.submissions import BatchError
    from autograder.timestamps import ManifestError
    from autograder.cluster import ClusterUnavailable
    from autograder.gradebook import GradebookUnavailable

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
    except (BatchError, IsolationUnavailable, grading.SourceError, ManifestError, ClusterUnavailable,
            GradebookUnavailable) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
