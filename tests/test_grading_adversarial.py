"""One batch, graded by `autograder grade` in sandboxes: honest students next to every threat we know of.

Each hostile submission answers most exercises correctly and attacks in one
place, so the test can tell "the attack was contained and the rest was
graded" from "the submission was thrown away".
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from autograder.assemble import nbgrader_meta
from autograder.gradebook import gradebook_scores
from conftest import REPO

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading")]
ASSIGNMENT = "01_manual_gradients"
FULL = 12.0
DAEMON_SECONDS = "3471"
POINTS = {"check_mae_gradients": 3, "check_two_layer_gradients": 4, "check_float32_step": 1,
          "check_gradient_diagnoses": 2, "check_descend_until_flat": 2}   # a `sleep` no other process on the machine uses


def course_copy(into: Path) -> Path:
    (into / "source").mkdir(parents=True)
    (into / "release").mkdir()
    (into / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    for folder in ("source", "release"):
        subprocess.run(["cp", "-r", str(REPO / folder / ASSIGNMENT), str(into / folder)], check=True)
    return into


def answers() -> dict[str, str]:
    source = nbformat.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return demo.solutions(source)


def release() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def submit(batch: Path, student: str, cells: dict[str, str], edit=None, name: str | None = None) -> None:
    notebook = release()
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    if edit:
        edit(notebook)
    target = batch / student / ASSIGNMENT / (name or f"{ASSIGNMENT}.ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def with_first(code: str, extra: str) -> str:
    return extra + "\n" + code


class Listener:
    """A TCP server on the host's loopback that counts connections (none may arrive from a sandbox)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("course"))
    batch = tmp_path_factory.mktemp("batch")
    outside = tmp_path_factory.mktemp("outside") / "escaped.txt"
    listener = Listener()
    good = answers()
    first = "mae_gradients"
    last = "descend_until_flat"

    submit(batch, "honest-ada", good)
    submit(batch, "honest-warns", {**good, first: with_first(good[first], (
        "import sys, warnings, torch\n"
        "warnings.warn('a deprecation warning the student ignores')\n"
        "print('debug output on stderr', file=sys.stderr)\n"
        "float(torch.ones(1, requires_grad=True) * 2)\n"))})
    submit(batch, "tamper-checks", {g: (demo.HOSTILE_PREAMBLE if g == first else "") +
                                    "\n".join(f"def {n}(*a, **k):\n    return AlwaysEqual(0.0)"
                                              for n in __import__("re").findall(r"^def (\w+)", c, 8))
                                    for g, c in good.items()})
    submit(batch, "tamper-libraries", {**good, last: (
        "import math, torch, numpy, builtins\n"
        "math.isclose = lambda *a, **k: True\n"
        "torch.allclose = lambda *a, **k: True\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "builtins.isinstance = lambda *a: True\n"
        "def descend_until_flat(f, x0, lr, tol, max_steps):\n    return 0.0, 0\n")})
    submit(batch, "skip-later-cells", {**good, "two_layer_gradients": good["two_layer_gradients"] + (
        "\nget_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n")})
    submit(batch, "escape-attempts", {**good, first: with_first(good[first], (
        "import os, socket\n"
        f"for path in {str(REPO / 'source')!r}, {str(REPO / 'nbgrader_config.py')!r}, '../gradebook.db':\n"
        "    try: open(path).read(); print('READ', path)\n"
        "    except OSError: print('blocked', path)\n"
        f"try: open({str(outside)!r}, 'w').write('out')\n"
        "except OSError: print('blocked write')\n"
        f"try: socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)\n"
        "except OSError: print('no network')\n"
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{DAEMON_SECONDS}'], start_new_session=True)\n"))})
    submit(batch, "endless-loop", {**good, last: (
        "def descend_until_flat(f, x0, lr, tol, max_steps):\n    while True:\n        try:\n            pass\n"
        "        except KeyboardInterrupt:\n            pass\n\ndescend_until_flat(None, 0, 0, 0, 0)\n")})
    submit(batch, "os-exit", {**good, "mae_gradients": "import os\nos._exit(3)\n"})
    submit(batch, "sys-exit", {**good, "mae_gradients": "import sys\nsys.exit('bye')\n"})
    submit(batch, "kills-everything", {**good, "two_layer_gradients": "import os, signal\nos.kill(-1, signal.SIGKILL)\n"})
    submit(batch, "memory-hog", {**good, "two_layer_gradients": (
        "import torch\nhog = torch.ones(8 * 1024 ** 3 // 4)\n")})
    submit(batch, "fork-bomb", {**good, "two_layer_gradients": (
        "import os, time\nchildren = 0\n"
        "try:\n    for _ in range(10_000):\n        if os.fork() == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n        children += 1\nexcept OSError as error:\n"
        "    print('fork refused after', children, error)\n")})
    submit(batch, "floods-output", {**good, first: with_first(good[first], (
        "for _ in range(200_000):\n    print('spam ' * 20)\n"))})
    submit(batch, "html-output", {**good, first: with_first(good[first], (
        "from IPython.display import HTML, display\n"
        "display(HTML('<script>alert(1)</script>'))\n"))})

    def duplicate_and_delete(notebook):
        cells = notebook.cells
        answer = next(c for c in cells if nbgrader_meta(c).get("grade_id") == first)
        wrong = nbformat.from_dict(json.loads(json.dumps(answer)))
        cells.insert(cells.index(answer) + 1, wrong)   # a second copy: ignored
        notebook.cells = [c for c in cells if not nbgrader_meta(c).get("grade")]  # test cells deleted
        for cell in notebook.cells:
            if cell is wrong:
                cell.source = "def mae_gradients(x, y, w, b):\n    return 0.0\n"
    submit(batch, "edits-notebook", good, edit=duplicate_and_delete)
    submit(batch, "renamed", good, name="my_homework.ipynb")
    submit(batch, "blank", {})
    (batch / "missing" / ASSIGNMENT).mkdir(parents=True)
    (batch / "corrupt" / ASSIGNMENT).mkdir(parents=True)
    (batch / "corrupt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [{"cell_type": "co')

    scratch = tmp_path_factory.mktemp("grader-tmp")   # the grader's sockets folders: names this run's sandboxes
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "TMPDIR": str(scratch)}
    env.pop("COURSE_GRADEBOOK_URL", None)
    command = [str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from", str(batch),
               "--course-root", str(course), "--workers", "2", "--cell-timeout", "5", "--no-progress"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    listener.server.close()
    rows = {}
    if (course / "grades" / f"{ASSIGNMENT}.csv").exists():
        with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
            rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {"done": done, "rows": rows, "course": course, "outside": outside, "listener": listener,
            "scratch": scratch}


def row(graded, student):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    return graded["rows"][student]


def details(graded, student) -> dict:
    return json.loads((graded["course"] / "autograded" / student / ASSIGNMENT / "grading.json").read_text())


def test_every_submission_has_a_row(graded):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    assert len(graded["rows"]) == 19
    assert "Submissions that need a look" in graded["done"].stdout


@pytest.mark.parametrize("student", ["honest-ada", "honest-warns", "renamed"])
def test_honest_students_get_exactly_full_marks(graded, student):
    assert float(row(graded, student)["score"]) == FULL
    assert float(row(graded, student)["max_score"]) == FULL


def test_warnings_on_stderr_cost_nothing(graded):
    assert row(graded, "honest-warns")["status"] == "ok"


@pytest.mark.parametrize("student", ["tamper-checks", "blank", "corrupt", "missing"])
def test_no_points_without_answers(graded, student):
    assert float(row(graded, student)["score"]) == 0


def test_patched_libraries_gain_only_what_was_earned(graded):
    result = row(graded, "tamper-libraries")
    assert float(result["score"]) == FULL - 2 and result["check_descend_until_flat"] == "0"


def test_an_input_transformer_cannot_skip_the_checks(graded):
    result = row(graded, "skip-later-cells")
    assert float(result["score"]) < FULL
    assert result["check_mae_gradients"] == "3"


def test_the_sandbox_holds(graded):
    outputs = "".join(o.get("text", "") for c in nbformat.read(
        graded["course"] / "autograded" / "escape-attempts" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4).cells
        for o in c.get("outputs", []))
    assert "READ" not in outputs and outputs.count("blocked") == 4 and "no network" in outputs
    assert not graded["outside"].exists()
    assert graded["listener"].connections == 0
    assert float(row(graded, "escape-attempts")["score"]) == FULL


def test_nothing_left_running(graded):
    row(graded, "honest-ada")
    leftovers = subprocess.run(["pgrep", "-af", f"sleep {DAEMON_SECONDS}|{graded['scratch']}"],
                               capture_output=True, text=True).stdout
    assert leftovers == ""
    assert list(graded["scratch"].iterdir()) == []   # every sockets folder removed


@pytest.mark.parametrize("student, status, lost", [
    ("endless-loop", "timeout", "check_descend_until_flat"),
    ("os-exit", "crash", "check_mae_gradients"),
    ("kills-everything", None, "check_two_layer_gradients"),  # kills the warm server, not its own kernel
    ("memory-hog", "out-of-memory", "check_two_layer_gradients"),
])
def test_failures_cost_only_their_exercise(graded, student, status, lost):
    result = row(graded, student)
    assert status is None or status in result["status"].split("+")
    assert {k: float(result[k]) for k in POINTS} == {k: (0 if k == lost else p) for k, p in POINTS.items()}


def test_sys_exit_is_an_ordinary_error(graded):
    result = row(graded, "sys-exit")
    assert result["check_mae_gradients"] == "0" and float(result["score"]) == FULL - 3


def test_fork_bomb_is_contained(graded):
    result = row(graded, "fork-bomb")
    assert {k: float(result[k]) for k in POINTS} == {**POINTS, "check_two_layer_gradients": 0}


def test_enormous_output_is_capped(graded):
    result = row(graded, "floods-output")
    assert "output-truncated" in result["status"] and float(result["score"]) == FULL
    autograded = graded["course"] / "autograded" / "floods-output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert autograded.stat().st_size < 3 * 1024 * 1024


def test_edited_test_cells_and_duplicates_change_nothing(graded):
    result = row(graded, "edits-notebook")
    assert float(result["score"]) == FULL and "duplicated-cells" in result["status"]


def test_named_statuses(graded):
    assert row(graded, "corrupt")["status"] == "invalid-notebook"
    assert row(graded, "missing")["status"] == "missing"
    assert "renamed" in row(graded, "renamed")["status"]
    assert row(graded, "blank")["status"] == "ok"


def test_gradebook_holds_what_the_grader_wrote(graded):
    scores = gradebook_scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", ASSIGNMENT)
    assert {s: score for s, (score, _) in scores.items()} == {
        s: float(r["score"]) for s, r in graded["rows"].items()}


def test_feedback_shows_no_hidden_expectations_or_student_html(graded):
    page = (graded["course"] / "feedback" / "honest-ada" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "✓" in page and "hidden check" not in page
    wrong = (graded["course"] / "feedback" / "tamper-libraries" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    hidden_expected = "0.398391"   # where the hidden descent on -x² + 10 x log x stops
    assert "(hidden check)" in wrong and hidden_expected not in wrong
    assert "BEGIN HIDDEN" not in wrong and "<script>" not in (
        graded["course"] / "feedback" / "html-output" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_regrading_reuses_unchanged_submissions(graded):
    row(graded, "honest-ada")
    assert details(graded, "honest-ada")["content_key"]
