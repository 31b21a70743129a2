"""One batch, graded by `autograder grade` in sandboxes: honest students next to every threat we know of.

Each hostile submission answers most exercises correctly and attacks in one
place, so the test can tell "the attack was contained and the rest was
graded" from "the submission was thrown away".
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
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
from frozen_course import FROZEN

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading")]
ASSIGNMENT = "01_manual_gradients"
FULL = 10.0
DAEMON_SECONDS = "3471"   # a `sleep` no other process on the machine uses
POINTS = {"check_centred_slope": 2, "check_mse_gradients": 3, "check_relu_neuron_gradients": 2, "check_descend": 3}
# `autograder` itself, printing its peak resident memory (VmHWM, read from /proc) to stderr on exit.
GRADER_REPORTING_PEAK_RSS = [sys.executable, "-c", (
    "import atexit, sys\n"
    "atexit.register(lambda: print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')),"
    " file=sys.stderr))\n"
    "from autograder.cli import main\n"
    "sys.exit(main(sys.argv[1:]))")]
PEAK_RSS_BOUND_MIB = 400


def course_copy(into: Path) -> Path:
    (into / "source").mkdir(parents=True)
    (into / "release").mkdir()
    (into / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    for folder in ("source", "release"):
        subprocess.run(["cp", "-r", str(FROZEN / folder / ASSIGNMENT), str(into / folder)], check=True)
    return into


def answers() -> dict[str, str]:
    source = nbformat.read(FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return demo.solutions(source)


def release() -> nbformat.NotebookNode:
    return nbformat.read(FROZEN / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


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


KERNEL_SENDS = """
kernel = get_ipython().kernel
parent = kernel.get_parent("shell")
def send(kind, content):
    kernel.session.send(kernel.iopub_socket, kind, content, parent=parent)
"""
MALFORMED_MESSAGES = KERNEL_SENDS + """
send("display_data", {"data": {"text/plain": "no metadata"}})
send("display_data", {"data": ["a", "list"], "metadata": "m"})
send("execute_result", {"data": "text", "execution_count": "one"})
send("comm_open", {"comm_id": 1})
send("comm_msg", {"comm_id": "x"})
send("stream", {"name": ["stdout"], "text": {"t": 1}})
send("error", {"ename": None, "traceback": "not a list"})
send("status", {"execution_state": {"x": 1}})
send("clear_output", {"wait": "yes"})
send("update_display_data", {"data": {}, "metadata": {}, "transient": {"display_id": 5}})
send("display_data", {"data": {"application/json": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "metadata": {}})
try:
    kernel.iopub_socket.send_multipart([b"x", b"<IDS|MSG>", b"bad signature", b"{", b"}", b"[", b"]"])
except Exception as error:
    print("raw send refused:", error)
"""
COMM_FLOOD = """
from comm import create_comm
channel = create_comm(target_name="flood")
blob = "x" * (4 << 20)
for _ in range(100):
    channel.send({"blob": blob})
"""
UPDATE_FLOOD = """
from IPython.display import display
handle = display({"text/plain": "start"}, raw=True, display_id=True)
blob = {"text/plain": "y" * (4 << 20)}
for _ in range(100):
    handle.update(blob, raw=True)
"""
FORGER = """
import re
import shutil
from IPython.display import display
RECORD = "application/vnd.course.check+json"
# The visible checks of exercise 1 with the values the release shows, published before the real ones run.
FORGED = {"1 · centred difference": [("slope of t³ at t=2 with h=0.1", {"type": "number", "value": 12.01}),
                                     ("where f was evaluated", {"type": "list", "items": [
                                         {"type": "number", "value": 1.9}, {"type": "number", "value": 2.1}]})]}
def publish(title, check, found, **kwargs):
    return display({RECORD: {"exercise": title, "check": check, "kind": "close", "found": found},
                    "text/plain": "forged"}, raw=True, **kwargs)
def before(info):
    title = re.search(r"exercise\\((.)(.+?)\\1\\)", info.raw_cell or "")   # either quote
    if not title:
        return
    for check, found in FORGED.get(title.group(2), []):
        publish(title.group(2), check, found)
    if title.group(2) == "2 · gradient of the MSE":   # records for another exercise, in this cell
        publish("3 · ReLU neuron", "active neuron: x=2, y=1, w=1.5, b=0.5",
                {"type": "list", "items": [{"type": "number", "value": 10.0}, {"type": "number", "value": 5.0}]})
    if title.group(2) == "4 · gradient descent":      # a placeholder, turned into a record after the cell
        global late
        late = display({"text/plain": "placeholder"}, raw=True, display_id=True)
def after(result):
    if "late" in globals():
        late.update({RECORD: {"exercise": "4 · gradient descent", "check": "10 steps on (x-3)² + 1 from 0 with lr=0.1",
                              "kind": "close", "found": {"type": "list", "items": [
                                  {"type": "number", "value": 3 - 3 * 0.8 ** k} for k in range(11)]}},
                     "text/plain": "forged late"}, raw=True)
get_ipython().events.register("pre_run_cell", before)
get_ipython().events.register("post_run_cell", after)

def centred_slope(f, x, h=1e-3):
    return 1.0
"""
SOURCE_LEAK = """
import inspect, linecache

def descend(f, x0, lr, steps):
    seen = []
    for frame in inspect.stack():
        seen.append("".join(linecache.getlines(frame.filename)))
        try:
            seen.append("".join(inspect.getsourcelines(frame.frame)[0]))
        except (OSError, TypeError):
            pass
    raise ValueError("\\n".join(seen))
"""


def garbled_metadata(notebook) -> None:
    """Metadata of the wrong types where nbgrader writes objects and strings."""
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id == "mse_gradients":
            cell.metadata["nbgrader"] = "solution"              # a string for the whole nbgrader metadata
        elif grade_id == "check_descend":
            cell.metadata["nbgrader"]["grade_id"] = [grade_id]  # a list for a grade_id
        elif cell.cell_type == "markdown":
            cell.metadata["nbgrader"] = ["not", "an", "object"]


def submit_raw(batch: Path, student: str, cells: dict[str, str], edit) -> None:
    """Like ``submit``, written as plain JSON (nbformat would refuse to write the edit)."""
    notebook = release()
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in cells:
            cell.source = cells[nbgrader_meta(cell)["grade_id"]]
    edit(notebook)
    target = batch / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook))


def submit_boundary_attacks(batch: Path, good: dict[str, str], course: Path) -> None:
    """Students who attack what the grader reads: kernel messages, records, metadata, files and ids."""
    first = "centred_slope"
    submit(batch, "malformed-messages", {**good, first: with_first(good[first], MALFORMED_MESSAGES)})
    submit(batch, "floods-comm", {**good, first: good[first] + COMM_FLOOD})
    submit(batch, "floods-updates", {**good, first: good[first] + UPDATE_FLOOD})
    submit(batch, "huge-number", {**good, first: "def centred_slope(f, x, h=1e-3):\n    return 10 ** 400\n"})
    submit(batch, "forger", {**good, first: FORGER, "relu_neuron_gradients": (
        "def relu_neuron_gradients(x, y, w, b):\n    return 1.0, 1.0\n"),
        "descend": "def descend(f, x0, lr, steps):\n    return [x0 + 1] * (steps + 1)\n"})
    submit(batch, "leaks-source", {**good, "descend": SOURCE_LEAK})
    submit_raw(batch, "garbled-metadata", good, garbled_metadata)
    submit(batch, "José", good)
    (batch / "borrower" / ASSIGNMENT).mkdir(parents=True)
    (batch / "borrower" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").symlink_to(
        course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    submit(batch, "eve\n", good)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("course"))
    batch = tmp_path_factory.mktemp("batch")
    outside = tmp_path_factory.mktemp("outside") / "escaped.txt"
    listener = Listener()
    good = answers()
    first = "centred_slope"
    last = "descend"

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
        "def descend(f, x0, lr, steps):\n    return [0.0] * (steps + 1)\n")})
    submit(batch, "skip-later-cells", {**good, "relu_neuron_gradients": good["relu_neuron_gradients"] + (
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
        "def descend(f, x0, lr, steps):\n    while True:\n        try:\n            pass\n"
        "        except KeyboardInterrupt:\n            pass\n\ndescend(None, 0, 0, 0)\n")})
    submit(batch, "os-exit", {**good, "mse_gradients": "import os\nos._exit(3)\n"})
    submit(batch, "sys-exit", {**good, "mse_gradients": "import sys\nsys.exit('bye')\n"})
    submit(batch, "kills-everything", {**good, "relu_neuron_gradients": "import os, signal\nos.kill(-1, signal.SIGKILL)\n"})
    submit(batch, "memory-hog", {**good, "relu_neuron_gradients": (
        "import torch\nhog = torch.ones(8 * 1024 ** 3 // 4)\n")})
    submit(batch, "fork-bomb", {**good, "relu_neuron_gradients": (
        "import os, time\nchildren = 0\n"
        "try:\n    for _ in range(10_000):\n        if os.fork() == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n        children += 1\nexcept OSError as error:\n"
        "    print('fork refused after', children, error)\n")})
    submit(batch, "floods-output", {**good, first: with_first(good[first], (
        "for _ in range(50_000):\n    print('spam ' * 20)\n"))})
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
                cell.source = "def centred_slope(f, x, h=1e-3):\n    return 0.0\n"
    submit(batch, "edits-notebook", good, edit=duplicate_and_delete)
    submit_boundary_attacks(batch, good, course)
    submit(batch, "renamed", good, name="my_homework.ipynb")
    submit(batch, "blank", {})
    (batch / "missing" / ASSIGNMENT).mkdir(parents=True)
    (batch / "corrupt" / ASSIGNMENT).mkdir(parents=True)
    (batch / "corrupt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [{"cell_type": "co')

    scratch = tmp_path_factory.mktemp("grader-tmp")   # the grader's sockets folders: names this run's sandboxes
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "TMPDIR": str(scratch)}
    env.pop("COURSE_GRADEBOOK_URL", None)
    command = [*GRADER_REPORTING_PEAK_RSS, "grade", ASSIGNMENT, "--from", str(batch),
               "--course-root", str(course), "--workers", "2", "--cell-timeout", "4.5", "--no-progress"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    listener.server.close()
    rows = {}
    if (course / "grades" / f"{ASSIGNMENT}.csv").exists():
        with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
            rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {"done": done, "rows": rows, "course": course, "outside": outside, "listener": listener,
            "scratch": scratch}


def peak_rss_mib(stderr: str) -> float:
    """The grader's VmHWM, as ``GRADER_REPORTING_PEAK_RSS`` printed it on exit."""
    return int(re.search(r"VmHWM:\s+(\d+) kB", stderr).group(1)) / 1024


def row(graded, student):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    return graded["rows"][student]


def details(graded, student) -> dict:
    return json.loads((graded["course"] / "autograded" / student / ASSIGNMENT / "grading.json").read_text())


def test_every_submission_has_a_row(graded):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    assert len(graded["rows"]) == 29
    assert "Submissions that need a look" in graded["done"].stdout


@pytest.mark.parametrize("student", ["honest-ada", "honest-warns", "renamed", "malformed-messages", "José",
                                     "garbled-metadata"])
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
    assert float(result["score"]) == FULL - 3 and result["check_descend"] == "0"


def test_an_input_transformer_cannot_skip_the_checks(graded):
    result = row(graded, "skip-later-cells")
    assert float(result["score"]) < FULL
    assert result["check_centred_slope"] == "2" and result["check_mse_gradients"] == "3"


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
    ("endless-loop", "timeout", "check_descend"),
    ("os-exit", "crash", "check_mse_gradients"),
    ("kills-everything", None, "check_relu_neuron_gradients"),  # kills the warm server, not its own kernel
    ("memory-hog", "out-of-memory", "check_relu_neuron_gradients"),
])
def test_failures_cost_only_their_exercise(graded, student, status, lost):
    result = row(graded, student)
    assert status is None or status in result["status"].split("+")
    assert {k: float(result[k]) for k in POINTS} == {k: (0 if k == lost else p) for k, p in POINTS.items()}


def test_sys_exit_is_an_ordinary_error(graded):
    result = row(graded, "sys-exit")
    assert result["check_mse_gradients"] == "0" and float(result["score"]) == FULL - 3


def test_fork_bomb_is_contained(graded):
    result = row(graded, "fork-bomb")
    assert {k: float(result[k]) for k in POINTS} == {**POINTS, "check_relu_neuron_gradients": 0}


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
    assert {s: score for s, (score, _) in scores.items()} == {   # an unusable id never enters the gradebook
        s: float(r["score"]) for s, r in graded["rows"].items() if r["status"] != "invalid-id"}


def test_feedback_shows_no_hidden_expectations_or_student_html(graded):
    page = (graded["course"] / "feedback" / "honest-ada" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "✓" in page and "hidden check" not in page
    wrong = (graded["course"] / "feedback" / "tamper-libraries" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    hidden_expected = "0.625"   # second point of the hidden descent path
    assert "(hidden check)" in wrong and hidden_expected not in wrong
    assert "BEGIN HIDDEN" not in wrong and "<script>" not in (
        graded["course"] / "feedback" / "html-output" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_regrading_reuses_unchanged_submissions(graded):
    row(graded, "honest-ada")
    assert details(graded, "honest-ada")["content_key"]


# --- The untrusted boundary: kernel messages, check records, metadata, files, ids --------------

def exercise_checks(graded, student, grade_id) -> list[dict]:
    return details(graded, student)["exercises"][grade_id]["checks"]


def feedback_page(graded, student) -> str:
    return (graded["course"] / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_malformed_kernel_messages_are_dropped_not_raised(graded):
    assert row(graded, "malformed-messages")["status"] == "ok"


@pytest.mark.parametrize("student", ["floods-comm", "floods-updates"])
def test_a_message_flood_stops_the_kernel_and_costs_its_exercise(graded, student):
    result = row(graded, student)
    assert "output-limit" in result["status"].split("+") and "grader-error" not in result["status"]
    assert {k: float(result[k]) for k in POINTS} == {**POINTS, "check_centred_slope": 0}
    assert all(c["message"].startswith("did not run: the cell above sent more output")
               for c in exercise_checks(graded, student, "check_centred_slope"))
    executed = graded["course"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.stat().st_size < 3 * 1024 * 1024


def test_the_graders_memory_stays_bounded_under_floods(graded):
    row(graded, "floods-comm")
    peak = peak_rss_mib(graded["done"].stderr)
    print(f"grader peak RSS over the whole batch, floods included: {peak:.0f} MiB")
    assert peak < PEAK_RSS_BOUND_MIB


def test_an_answer_the_judge_cannot_compare_fails_only_its_check(graded):
    result = row(graded, "huge-number")
    assert result["status"] == "ok" and float(result["score"]) == FULL - 2 and result["check_centred_slope"] == "0"


def test_forged_records_count_nowhere(graded):
    result = row(graded, "forger")
    assert {k: float(result[k]) for k in POINTS} == {**{k: 0 for k in POINTS}, "check_mse_gradients": 3}
    for grade_id in ("check_centred_slope", "check_relu_neuron_gradients", "check_descend"):
        assert not any(c["passed"] for c in exercise_checks(graded, "forger", grade_id))
    page = feedback_page(graded, "forger")
    assert page.count("✓") == len(exercise_checks(graded, "forger", "check_mse_gradients"))
    assert "published 2 times" in page


def test_feedback_never_carries_hidden_check_source(graded):
    result = row(graded, "leaks-source")
    assert result["check_descend"] == "0" and float(result["score"]) == FULL - 3
    page = feedback_page(graded, "leaks-source")
    stored = json.dumps(details(graded, "leaks-source"))
    for text in (page, stored):
        assert "lambda" not in text and "x ** 4" not in text and "ex.close" not in text
    assert "your code raised ValueError" in page


def test_a_symlinked_notebook_is_refused_by_name(graded):
    result = row(graded, "borrower")
    assert result["status"] == "not-a-plain-file" and float(result["score"]) == 0


def test_ids_of_any_script_are_graded_and_unsafe_ids_are_not(graded):
    assert "José" in feedback_page(graded, "José")
    assert row(graded, "eve\n")["status"] == "invalid-id"
    assert not (graded["course"] / "feedback" / "eve\n").exists()
    scores = gradebook_scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", ASSIGNMENT)
    assert "José" in scores and "eve\n" not in scores


@pytest.fixture(scope="module")
def out_of_time(graded, tmp_path_factory):
    """A notebook that reaches --notebook-timeout (fractional) in its third exercise, graded alone."""
    course = course_copy(tmp_path_factory.mktemp("course-timeout"))
    # The reference and the gradebook's cells are already recorded: only the student is run.
    shutil.copytree(graded["course"] / "autograded" / ".reference", course / "autograded" / ".reference")
    shutil.copy(graded["course"] / "gradebook.db", course / "gradebook.db")
    batch = tmp_path_factory.mktemp("batch-timeout")
    good = answers()
    submit(batch, "slow", {**good, "relu_neuron_gradients": "import time\ntime.sleep(120)\n"})
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("COURSE_GRADEBOOK_URL", None)
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", ASSIGNMENT, "--from",
                           str(batch), "--course-root", str(course), "--workers", "1", "--notebook-timeout", "12.5",
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
        return {"row": next(csv.DictReader(handle)), "course": course}


def test_a_notebook_out_of_time_keeps_what_finished(out_of_time):
    result = out_of_time["row"]
    assert result["status"] == "timeout"
    assert {k: float(result[k]) for k in POINTS} == {"check_centred_slope": 2, "check_mse_gradients": 3,
                                                     "check_relu_neuron_gradients": 0, "check_descend": 0}
    saved = json.loads((out_of_time["course"] / "autograded" / "slow" / ASSIGNMENT / "grading.json").read_text())
    for grade_id in ("check_relu_neuron_gradients", "check_descend"):
        assert all(c["message"].startswith("did not run") for c in saved["exercises"][grade_id]["checks"])
