"""Benchmark: grading through a Dask cluster on this machine against the local pool.

    python benchmarks/cluster.py [--students 6]         (part of make bench)

Builds the same synthetic batch as ``benchmarks/grading.py`` (every assignment,
answered, partial and blank notebooks in turn), registers it once, then times
``autograder grade --force`` with the local pool at 1 and 2 sandboxes, and
through a loopback ``dask scheduler`` with 1 and then 2 ``autograder worker``
processes of one sandbox each. It prints the wall times, the overhead Dask adds
per notebook (cluster minus local at the same number of sandboxes), checks the
CSVs agree, and turns the measured throughput into a sizing table: grading
workers (one sandbox per core) needed for a course by a deadline.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("grading_bench", Path(__file__).with_name("grading.py"))
grading_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(grading_bench)

BIN = Path(sys.executable).parent


def _csvs(course: Path) -> dict[str, list[dict]]:
    """Every grades CSV without its notes column: the first run of a batch notes that it wrote
    nbgrader's timestamp.txt, and later runs read it, with the same submission time."""
    tables = {}
    for path in sorted((course / "grades").glob("*.csv")):
        with open(path, newline="") as handle:
            tables[path.name] = [{k: v for k, v in row.items() if k != "notes"} for row in csv.DictReader(handle)]
    return tables


def _start(args: list[str], course: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=course, env=grading_bench.tool_env(course), stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, seconds: float, what: str):
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6, help="students per assignment")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        course, _ = grading_bench.build_course(Path(tmp), args.students)
        names = grading_bench.assignments(course)
        notebooks = len(names) * args.students
        print(f"Batch: {args.students} students × {len(names)} assignments = {notebooks} notebooks; "
              f"{os.cpu_count()} CPU cores.")
        for assignment in names:
            grading_bench.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                              course)
        grade = [str(BIN / "autograder"), "grade", *names, "--force", "--no-progress"]

        walls, csvs = {}, {}
        for sandboxes in (1, 2):
            shutil.rmtree(course / "autograded", ignore_errors=True)
            walls[("local", sandboxes)] = grading_bench.run([*grade, "--workers", str(sandboxes)], course)
            csvs[("local", sandboxes)] = _csvs(course)

        scheduler_file = Path(tmp) / "scheduler.json"
        processes = [_start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                             "--no-dashboard", "--scheduler-file", str(scheduler_file)], course,
                            Path(tmp) / "scheduler.log")]
        try:
            address = _wait(lambda: scheduler_file.exists() and
                            json.loads(scheduler_file.read_text() or "{}").get("address"), 60, "the scheduler")
            for workers in (1, 2):
                log = Path(tmp) / f"worker{workers}.log"
                processes.append(_start([str(BIN / "autograder"), "worker", address, "--sandboxes", "1"],
                                        course, log))
                _wait(lambda: "grading at" in log.read_text(), 60, "a grading worker")
                shutil.rmtree(course / "autograded", ignore_errors=True)
                walls[("dask", workers)] = grading_bench.run([*grade, "--scheduler", address], course)
                csvs[("dask", workers)] = _csvs(course)
        finally:
            _stop(processes)

        print(f"\n{'run':<40}{'wall s':>9}{'nb/s':>8}{'nb per sandbox-minute':>24}")
        for (how, n), wall in walls.items():
            label = f"local pool, {n} sandbox(es)" if how == "local" else f"Dask, {n} worker(s) × 1 sandbox"
            print(f"{label:<40}{wall:>9.1f}{notebooks / wall:>8.2f}{notebooks / wall / n * 60:>24.1f}")
        for n in (1, 2):
            extra = (walls[("dask", n)] - walls[("local", n)]) / notebooks
            print(f"Dask's overhead at {n} sandbox(es): {extra * 1000:+.0f} ms per notebook "
                  f"(wall time, cluster minus local, per notebook)")
        agree = all(csvs[key] == csvs[("local", 1)] for key in csvs)
        print(f"CSV rows: {'identical in every run' if agree else 'DIFFER between runs'}")

        rate = notebooks / walls[("dask", 2)] / 2 * 60   # notebooks per sandbox (core) per minute
        print(f"\nSizing, from {rate:.1f} notebooks per core per minute through Dask: cores (one sandbox "
              f"each) to grade one assignment's submissions within a time after its deadline")
        print(f"{'students':>10}{'within 1 h':>12}{'within 15 min':>15}{'within 5 min':>14}")
        for students in (300, 3_000, 30_000, 300_000):
            cores = [math.ceil(students / rate / minutes) for minutes in (60, 15, 5)]
            print(f"{students:>10}{cores[0]:>12}{cores[1]:>15}{cores[2]:>14}")
        if not agree:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
