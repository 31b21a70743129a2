"""Grading on a Dask cluster: a local `dask scheduler` and two `autograder worker` processes on loopback.

The cluster must give exactly the rows local grading gives (answered, wrong, blank, hostile, corrupt
and timed-out submissions), and a worker killed mid-batch must cost no row.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from autograder.assemble import nbgrader_meta
import frozen_course

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("cluster")]
BIN = Path(sys.executable).parent
ASSIGNMENT = frozen_course.ASSIGNMENT


def _env() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    env.pop("COURSE_GRADEBOOK_URL", None)
    return env


def _write(folder: Path, student: str, answers: dict[str, str] | None) -> None:
    release = frozen_course.RELEASE
    target = folder / student / ASSIGNMENT / release.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if answers is None:
        target.write_text(release.read_text()[:2000])
        return
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    nbformat.write(notebook, target)


def _solutions() -> dict[str, str]:
    return demo.solutions(nbformat.read(frozen_course.SOURCE, as_version=4))


def _hostile(answers: dict[str, str]) -> dict[str, str]:
    """Every function answers an always-equal float, after patching the checks (as the demo's fox does)."""
    return {grade_id: (demo.HOSTILE_PREAMBLE if i == 0 else "") +
            "\n".join(f"def {name}(*args, **kwargs):\n    return AlwaysEqual(0.0)"
                      for name in re.findall(r"^def (\w+)", code, re.MULTILINE))
            for i, (grade_id, code) in enumerate(answers.items())}


def _slow(answers: dict[str, str], seconds: float) -> dict[str, str]:
    first = next(iter(answers))
    return {**answers, first: f"import time\ntime.sleep({seconds})\n" + answers[first]}


def _verdicts(course: Path) -> dict[str, dict]:
    """Student -> every check's verdict and message, as the grader saved them (timings left out)."""
    return {saved.parent.parent.name: json.loads(saved.read_text())["exercises"]
            for saved in (course / "autograded").glob(f"*/{ASSIGNMENT}/grading.json")}


def _grade(course: Path, batch: Path, *extra: str, timeout: float = 600) -> dict[str, list[str]]:
    done = subprocess.run([str(BIN / "autograder"), "grade", ASSIGNMENT, "--from", str(batch), "--force",
                           "--no-progress", "--cell-timeout", "4", *extra],
                          cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
        return {row[0]: row for row in csv.reader(handle)}


def _wait_for(predicate, seconds: float, what: str):
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return frozen_course.make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two grading workers of one sandbox each; yields (address, {name: process}).

    w1 is started by `autograder worker`, w2 as a plain `dask worker` with the preload (as dask-jobqueue
    or dask-gateway would start one): both paths must grade alike."""
    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    processes = []

    scratch = folder / "tmp"   # what a worker killed on purpose leaves behind stays in the test's folder
    scratch.mkdir()

    def start(*args: str, log: str) -> subprocess.Popen:
        process = subprocess.Popen([*args], env={**_env(), "TMPDIR": str(scratch)}, stdout=open(folder / log, "w"),
                                   stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(process)
        return process

    start(str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
          "--scheduler-file", str(scheduler_file), log="scheduler.log")
    address = _wait_for(lambda: scheduler_file.exists() and json.loads(scheduler_file.read_text() or "{}")
                        .get("address"), 60, "the scheduler")
    workers = {"w1": start(str(BIN / "autograder"), "worker", address, "--sandboxes", "1", "--name", "w1",
                           log="w1.log"),
               "w2": start(str(BIN / "dask"), "worker", address, "--nthreads", "1", "--name", "w2",
                           "--resources", "grading-sandbox=1", "--preload", "autograder.cluster_worker",
                           "--no-dashboard", log="w2.log")}
    _wait_for(lambda: "grading at" in (folder / "w1.log").read_text()
              and "Registered to" in (folder / "w2.log").read_text(), 60, "two workers")
    yield address, workers
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_cluster_rows_equal_local_rows(course, cluster, tmp_path):
    address, _ = cluster
    answers = _solutions()
    wrong = dict(answers)
    first = next(iter(wrong))
    wrong[first] = wrong[first] + "\n\n" + "\n".join(
        f"def {name}(*args, **kwargs):\n    return 0.5" for name in re.findall(r"^def (\w+)", answers[first], re.M))
    endless = {**answers, first: "while True:\n    pass\n"}
    batch = tmp_path / "batch"
    for student, given in {"answered": answers, "wrong": wrong, "blank": {}, "hostile": _hostile(answers),
                           "corrupt": None, "endless": endless}.items():
        _write(batch, student, given)

    local = _grade(course, batch, "--workers", "2")
    local_verdicts = _verdicts(course)
    remote = _grade(course, batch, "--scheduler", address)

    assert remote == local
    assert _verdicts(course) == local_verdicts   # every check's verdict and message, "did not run" ones too
    assert remote["answered"][1] == remote["answered"][2]          # full marks
    assert float(remote["hostile"][1]) == 0.0 and float(remote["blank"][1]) == 0.0
    assert "invalid-notebook" in remote["corrupt"][3] and "timeout" in remote["endless"][3]


def test_a_worker_killed_mid_batch_costs_no_row(course, cluster, tmp_path):
    from distributed import Client

    address, workers = cluster
    answers = _solutions()
    batch = tmp_path / "batch"
    students = [f"s{i}" for i in range(6)]
    for student in students:
        _write(batch, student, _slow(answers, 1.5))
    grading = subprocess.Popen([str(BIN / "autograder"), "grade", ASSIGNMENT, "--from", str(batch), "--force",
                                "--no-progress", "--scheduler", address],
                               cwd=course, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with Client(address, timeout=30) as client:
        def victim_busy():
            names = {addr: info.get("name") for addr, info in
                     client.sync(client.scheduler.identity, n_workers=-1)["workers"].items()}
            return any(keys and names.get(addr) == "w1" for addr, keys in client.processing().items())
        _wait_for(victim_busy, 240, "worker w1 to start a notebook")
    os.killpg(workers["w1"].pid, signal.SIGKILL)
    output, _ = grading.communicate(timeout=600)
    assert grading.returncode == 0, output[-3000:]
    with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
        rows = {row[0]: row for row in csv.reader(handle)}
    for student in students:
        assert rows[student][3] == "ok", rows[student]
        assert rows[student][1] == rows[student][2], rows[student]
