"""Benchmark: `autograder grade` against stock `nbgrader autograde` on the same synthetic batch.

    python benchmarks/grading.py [--students 6] [--workers 1,2]    (make bench)

Builds a scratch course with every assignment and ``--students`` synthetic
students per assignment, a mix of fully answered, partly answered and blank
notebooks. Registers the assignments in a gradebook once (nbgrader
generate_assignment; not timed, both tools need it). Then, on the same machine
in the same run, times:

- stock ``nbgrader autograde`` for every assignment (one kernel per notebook, in series);
- ``autograder grade`` for every assignment, sandbox on, once per worker count, always
  regrading (``--force``), with the recorded references dropped so they are recomputed;
- ``autograder grade`` again without ``--force``: unchanged submissions are not run;
- what a kernel's fresh state costs (its own user and mount namespace, a new tmpfs with
  home, caches and socket folder, and the grader finding and pinning that folder), over
  ``--kernels`` kernels forked by one sandboxed warm server.

It prints wall time, notebooks per second, the per-notebook overhead (wall time
times workers, minus the time the notebooks' own cells took, per notebook), the
speed-up, the scaling with workers, and checks that both tools gave the same
score to every student.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import demo  # noqa: E402
from autograder.assemble import nbgrader_meta  # noqa: E402
from autograder.release import assignments  # noqa: E402

KINDS = ("answered", "partial", "blank")


def tool_env(course: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["COURSE_GRADEBOOK_URL"] = f"sqlite:///{course / 'gradebook.db'}"
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", COURSE_DEVICE="cpu")
    return env


def build_course(root: Path, students: int) -> tuple[Path, dict[str, dict[str, str]]]:
    """A course with every assignment and a synthetic batch; returns it and student -> assignment -> kind."""
    course = root / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source", course / "source")
    shutil.copytree(REPO / "release", course / "release")
    kinds: dict[str, dict[str, str]] = {}
    for assignment in assignments(course):
        for path in sorted((course / "source" / assignment).glob("*.ipynb")):
            answers = demo.solutions(nbformat.read(path, as_version=4))
            first_half = dict(list(answers.items())[: max(1, len(answers) // 2)])
            for number in range(students):
                student = f"student{number:03d}"
                kind = KINDS[number % len(KINDS)]
                kinds.setdefault(student, {})[assignment] = kind
                given = {"answered": answers, "partial": first_half, "blank": {}}[kind]
                notebook = nbformat.read(course / "release" / assignment / path.name, as_version=4)
                for cell in notebook.cells:
                    grade_id = nbgrader_meta(cell).get("grade_id")
                    if grade_id in given:
                        cell.source = given[grade_id]
                target = course / "submitted" / student / assignment / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, target)
    return course, kinds


def run(command: list[str], course: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env=tool_env(course), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def stock_scores(course: Path) -> dict[tuple[str, str], float]:
    from nbgrader.api import Gradebook
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in assignments(course):
            for submission in gradebook.find_assignment(assignment).submissions:
                scores[(submission.student.id, assignment)] = submission.score
    return scores


def our_results(course: Path) -> tuple[dict[tuple[str, str], float], float, float]:
    """(student, assignment) -> score from the CSVs; total cell seconds; total in-worker seconds."""
    scores, cells, walls = {}, 0.0, 0.0
    for assignment in assignments(course):
        with open(course / "grades" / f"{assignment}.csv") as handle:
            for row in csv.DictReader(handle):
                scores[(row["student_id"], assignment)] = float(row["score"])
        for saved in (course / "autograded").glob(f"*/{assignment}/grading.json"):
            result = json.loads(saved.read_text())
            cells += result["cell_seconds"]
            walls += result["wall_seconds"]
    return scores, cells, walls


def fresh_state_ms(kernels: int) -> tuple[list[float], list[float]]:
    """Per kernel, for ``kernels`` sandboxed kernels: milliseconds spent setting up its fresh
    state in the kernel, and milliseconds the grader spent finding and pinning its socket folder."""
    import asyncio

    from autograder.kernels import WarmWorker
    from autograder.sandbox import Limits

    async def measure() -> tuple[list[float], list[float]]:
        worker = WarmWorker(0, Limits(), {"OMP_NUM_THREADS": "1"})
        await worker.start()
        try:
            for _ in range(kernels):
                km = worker.kernel_manager()
                await km.start_kernel()
                await km.shutdown_kernel(now=True)
                await worker.reap()
            return worker.setup_ms, worker.pin_ms
        finally:
            await worker.stop()

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6, help="students per assignment")
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}", help="worker counts to time")
    parser.add_argument("--kernels", type=int, default=20, help="kernels timed for the fresh-state cost")
    args = parser.parse_args()
    worker_counts = sorted({int(w) for w in args.workers.split(",")})

    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course, kinds = build_course(Path(tmp), args.students)
        names = assignments(course)
        notebooks = len(names) * args.students
        print(f"Batch: {args.students} students × {len(names)} assignments = {notebooks} notebooks "
              f"({', '.join(KINDS)} in turn); {os.cpu_count()} CPU cores; "
              f"load average {os.getloadavg()[0]:.2f} at the start.")
        for assignment in names:  # both tools grade against an assignment registered in the gradebook
            run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], course)

        stock_wall = sum(run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], course)
                         for assignment in names)
        stock = stock_scores(course)

        autograder = str(Path(sys.executable).parent / "autograder")
        ours = {}
        for workers in worker_counts:
            shutil.rmtree(course / "autograded", ignore_errors=True)  # references recomputed too
            wall = run([autograder, "grade", *names, "--workers", str(workers), "--force", "--no-progress"], course)
            scores, cell_seconds, worker_seconds = our_results(course)
            ours[workers] = (wall, scores, cell_seconds, worker_seconds)
        unchanged_wall = run([autograder, "grade", *names, "--no-progress"], course)

        best = max(worker_counts)
        wall, scores, cell_seconds, _ = ours[best]
        disagree = [(key, stock.get(key), scores.get(key)) for key in sorted(set(stock) | set(scores))
                    if stock.get(key) != scores.get(key)]
        print(f"\nOwn cells of all notebooks (kernel-reported): {cell_seconds:.1f} s CPU, "
              f"{cell_seconds / notebooks:.3f} s per notebook")
        print(f"\n{'tool':<34}{'wall s':>9}{'nb/s':>8}{'overhead s/nb':>15}{'speed-up':>10}")
        stock_overhead = (stock_wall - cell_seconds) / notebooks
        print(f"{'stock nbgrader autograde':<34}{stock_wall:>9.1f}{notebooks / stock_wall:>8.2f}"
              f"{stock_overhead:>15.3f}{1.0:>10.2f}")
        for workers in worker_counts:
            w_wall, _, w_cells, w_in_worker = ours[workers]
            overhead = (w_wall * workers - w_cells) / notebooks
            print(f"{f'autograder grade, {workers} worker(s)':<34}{w_wall:>9.1f}{notebooks / w_wall:>8.2f}"
                  f"{overhead:>15.3f}{stock_wall / w_wall:>10.2f}")
        print(f"{'autograder grade, unchanged batch':<34}{unchanged_wall:>9.1f}{notebooks / unchanged_wall:>8.2f}"
              f"{'—':>15}{stock_wall / unchanged_wall:>10.2f}")
        print("\nPer-notebook time inside a worker beyond the cells (kernel start, nbclient, stop):")
        for workers in worker_counts:
            _, _, w_cells, w_in_worker = ours[workers]
            print(f"  {workers} worker(s) on {os.cpu_count()} cores: {(w_in_worker - w_cells) / notebooks:.3f} s")
        if len(worker_counts) > 1:
            one, many = ours[min(worker_counts)][0], ours[best][0]
            print(f"Scaling {min(worker_counts)} → {best} workers: {one / many:.2f}× "
                  f"(ideal {best / min(worker_counts):.0f}×)")
        setup, pin = (sorted(times) for times in fresh_state_ms(args.kernels))
        print(f"Fresh per-submission state, median of {len(setup)} kernels: {setup[len(setup) // 2]:.1f} ms "
              f"in the kernel (namespaces, tmpfs, folders) + {pin[len(pin) // 2]:.1f} ms in the grader "
              f"(finding and pinning the socket folder)")
        print(f"Load average at the end (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"\nScores: {len(stock)} stock, {len(scores)} ours; "
              f"{'all agree' if not disagree else f'{len(disagree)} disagree'}")
        for key, theirs, mine in disagree[:10]:
            print(f"  {key}: stock {theirs}, autograder {mine} ({kinds[key[0]][key[1]]})")


if __name__ == "__main__":
    main()
