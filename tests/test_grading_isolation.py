"""No submission reaches another: graded by `autograder grade --workers 1`, in this order, in one worker.

1. ``a-honest`` leaves private notes in every folder it can write;
2. ``b-attacker`` looks for them, then attacks the next kernels: notes everywhere, IPython
   start-up files and configs, squatted socket names, /tmp and the socket folder filled past
   the disk limit, System V IPC objects, a stop signal to every process in reach (the next
   submission's kernel is started while this one runs), a daemon that keeps copying whatever
   it finds;
3. ``c-honest`` is graded right after the attacker;
4. ``d-reader`` publishes, through its own answers, whatever of the others it can still see;
5. ``e-honest`` closes the batch.

Every exercise of every honest student must score full marks with status ``ok``, and
neither the attacker nor the reader may see a byte of anyone else. Then: a rerun with
changed grader code recomputes every row, a SIGKILLed grader leaves no sandbox behind, and
the warm server's replies survive cancelled requests.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from autograder.assemble import nbgrader_meta
from autograder.kernels import WarmWorker, WorkerDied
from autograder.sandbox import Limits, isolation_problem
from conftest import REPO
from frozen_course import FROZEN

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("grading"),
              pytest.mark.skipif(isolation_problem() is not None, reason="this machine cannot sandbox")]
ASSIGNMENT = "01_manual_gradients"
FULL = 10.0
DISK_MIB = 16
SECRET = "private-notes-of-a-honest"   # what a-honest writes; nobody else may read it
PLANTED = "planted-by-b-attacker"      # what b-attacker leaves; nobody after it may find it
DAEMON_MARK = "isolation-daemon-7731"  # in the attacker daemon's command line
SYSV_KEY = 0x7731                       # the System V IPC key the attacker plants under

HONEST_NOTES = f"""
import os, pathlib
for folder in ('/tmp', os.environ.get('HOME', '/tmp'), os.getcwd(), '/dev/shm'):
    try:
        pathlib.Path(folder, 'notes.txt').write_text({SECRET!r})
    except OSError:
        pass
"""

# Lists every file it can reach in the places a kernel may write or guess, and what it finds
# of the other students; `seen` is empty when isolation holds.
LOOK_AROUND = f"""
import glob, os
def _look_around():
    found = []
    roots = ['/tmp', '/dev/shm', os.environ.get('HOME', '/tmp'), os.getcwd()]
    roots += glob.glob('/proc/[0-9]*/root/tmp')
    for root in roots:
        for folder, _, names in os.walk(root, onerror=lambda error: None):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    with open(path, 'rb') as handle:
                        data = handle.read(1 << 16)
                except OSError:
                    continue
                if {SECRET!r}.encode() in data or {PLANTED!r}.encode() in data:
                    found.append(path)
    for pid in glob.glob('/proc/[0-9]*/cmdline'):
        try:
            if {DAEMON_MARK!r}.encode() in open(pid, 'rb').read():
                found.append(pid)
        except OSError:
            pass
    if 'POISONED' in dir(__import__('builtins')):
        found.append('builtins.POISONED')
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget({SYSV_KEY}, 0, 0) >= 0 or libc.msgget({SYSV_KEY}, 0) >= 0:
        found.append('System V IPC')
    return sorted(set(found))
seen = _look_around()
print('SEEN', seen)
"""

STARTUP = (f"# {PLANTED}\nimport builtins\nbuiltins.POISONED = True\n"
           "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n")
CONFIG = (f"# {PLANTED}\nc.InteractiveShellApp.exec_lines = ['import builtins; builtins.POISONED = True']\n"
          "c.InteractiveShellApp.extensions = ['poison']\n")
DAEMON = f"""
import os, shutil, time, glob  # {DAEMON_MARK}
for _ in range(600):
    for path in glob.glob('/proc/[0-9]*/root/tmp/**', recursive=True) + glob.glob('/tmp/**', recursive=True):
        try:
            shutil.copy(path, '/dev/shm/')
        except OSError:
            pass
    time.sleep(0.1)
"""

ATTACK = LOOK_AROUND + f"""
import os, signal, subprocess, sys, pathlib
print('EARLIER', seen)
homes = {{os.environ.get('HOME', '/tmp'), '/tmp', os.getcwd(), '/tmp/home'}}
homes |= {{f'/tmp/submission-{{n}}' for n in range(1, 12)}} | {{'/tmp/submission', '/root'}}
for env in ('IPYTHONDIR', 'JUPYTER_CONFIG_DIR', 'MPLCONFIGDIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'TORCH_HOME'):
    if os.environ.get(env):
        homes.add(os.environ[env])
planted = 0
for home in sorted(homes):
    for profile in ('.ipython/profile_default', 'profile_default', '.jupyter', ''):
        try:
            folder = pathlib.Path(home, profile)
            (folder / 'startup').mkdir(parents=True, exist_ok=True)
            (folder / 'startup' / '00-poison.py').write_text({STARTUP!r})
            (folder / 'ipython_config.py').write_text({CONFIG!r})
            (folder / 'ipython_kernel_config.py').write_text({CONFIG!r})
            (folder / 'notes.txt').write_text({PLANTED!r})
            planted += 1
        except OSError:
            pass
print('PLANTED', planted)
# Squat every name a kernel's connection might use, in the own socket folder and beside it.
squatted = 0
for folder in glob.glob('/tmp/.kernel-*') + ['/tmp', '/dev/shm']:
    for name in ['connection.json'] + [f'kernel-{{n}}' for n in range(1, 8)] + [f'kernel-{{n}}.json' for n in range(1, 8)]:
        try:
            os.makedirs(os.path.join(folder, name + '-squat'), exist_ok=True)
            target = os.path.join(folder, name)
            if not os.path.exists(target):
                os.makedirs(target)
            squatted += 1
        except OSError:
            pass
print('SQUATTED', squatted)
# Fill every writable place until the disk says no.
written = 0
for folder in glob.glob('/tmp/.kernel-*') + ['/tmp', '/dev/shm', os.environ.get('HOME', '/tmp')]:
    for n in range(1000):
        try:
            with open(os.path.join(folder, f'fill-{{n}}'), 'wb') as handle:
                for _ in range(16):
                    handle.write(b'x' * (1 << 20))
                    written += 1 << 20
        except OSError:
            break
print('WRITTEN_MIB', written // (1 << 20))
print('UNSHARE', subprocess.run(['unshare', '-Ur', 'true'], capture_output=True).returncode)
# System V shared memory and message queues outlive their processes: plant one of each.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
segment = libc.shmget({SYSV_KEY}, 4096, 0o1666)
if segment >= 0:
    ctypes.memmove(libc.shmat(segment, None, 0), {PLANTED!r}.encode(), len({PLANTED!r}))
print('SYSV', segment >= 0, libc.msgget({SYSV_KEY}, 0o1666) >= 0)
# Stop every process in reach: the next submission's kernel is already waiting.
try:
    os.kill(-1, signal.SIGSTOP)  # every process it may signal, but itself
except OSError:
    pass
subprocess.Popen([sys.executable, '-c', {DAEMON!r}], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

READER = LOOK_AROUND + """
_right_slope = centred_slope
def centred_slope(f, x, h=1e-3):
    # right only if nothing of another student was in sight: the check publishes the verdict
    return _right_slope(f, x, h) + (1.0 if seen else 0.0)
"""


def answers() -> dict[str, str]:
    source = nbformat.read(FROZEN / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return demo.solutions(source)


def submit(batch: Path, student: str, cells: dict[str, str]) -> None:
    notebook = nbformat.read(FROZEN / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    target = batch / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def course_copy(into: Path) -> Path:
    (into / "source").mkdir(parents=True)
    (into / "release").mkdir()
    shutil.copy(REPO / "nbgrader_config.py", into)
    for folder in ("source", "release"):
        shutil.copytree(FROZEN / folder / ASSIGNMENT, into / folder / ASSIGNMENT)
    return into


def grade(course: Path, batch: Path, scratch: Path, python_path: Path | None = None,
          wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "TMPDIR": str(scratch)}
    env.pop("COURSE_GRADEBOOK_URL", None)
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
    command = [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, "--from", str(batch),
               "--course-root", str(course), "--workers", "1", "--cell-timeout", "20",
               "--disk-mib", str(DISK_MIB), "--no-progress"]
    if not wait:  # the course folder as working folder: `-m` must not find this checkout's code first
        return subprocess.Popen(command, env=env, cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(command, env=env, cwd=course, capture_output=True, text=True, timeout=400)


def read_rows(course: Path) -> dict[str, dict]:
    with open(course / "grades" / f"{ASSIGNMENT}.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def printed(course: Path, student: str) -> str:
    notebook = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    return "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("course"))
    batch = tmp_path_factory.mktemp("batch")
    scratch = tmp_path_factory.mktemp("grader-tmp")
    good = answers()
    first = "centred_slope"
    submit(batch, "a-honest", {**good, first: HONEST_NOTES + good[first]})
    submit(batch, "b-attacker", {**good, first: ATTACK + good[first]})
    submit(batch, "c-honest", {**good, first: HONEST_NOTES + good[first]})
    submit(batch, "d-reader", {**good, first: good[first] + READER})
    submit(batch, "e-honest", good)
    done = grade(course, batch, scratch)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"course": course, "batch": batch, "scratch": scratch, "done": done, "rows": read_rows(course),
            "printed": {student: printed(course, student) for student in ("b-attacker", "d-reader")}}


@pytest.mark.parametrize("student", ["a-honest", "c-honest", "e-honest"])
def test_honest_students_keep_exactly_full_marks(graded, student):
    row = graded["rows"][student]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (FULL, FULL, "ok")


def test_the_attack_ran_and_saw_nothing_earlier(graded):
    output = graded["printed"]["b-attacker"]
    assert "EARLIER []" in output
    planted = int(output.split("PLANTED ")[1].split()[0])
    squatted = int(output.split("SQUATTED ")[1].split()[0])
    written = int(output.split("WRITTEN_MIB ")[1].split()[0])
    assert planted > 5 and squatted > 10  # the attack really wrote where it could
    assert 0 < written <= DISK_MIB       # /tmp, the socket folder and /dev/shm share one limit
    assert "UNSHARE " in output and "UNSHARE 0" not in output   # no nested user namespace
    assert "SYSV True True" in output    # it planted System V IPC objects, which outlive processes


def test_a_later_reader_sees_nothing(graded):
    assert "SEEN []" in graded["printed"]["d-reader"]
    row = graded["rows"]["d-reader"]
    assert row["check_centred_slope"] == "2" and float(row["score"]) == FULL


def test_nothing_of_the_attack_outlives_the_batch(graded):
    leftovers = subprocess.run(["pgrep", "-f", DAEMON_MARK], capture_output=True, text=True).stdout
    assert leftovers == ""
    assert list(graded["scratch"].iterdir()) == []   # the grader's private folders are gone too


def test_changed_grader_code_recomputes_saved_results(graded, tmp_path):
    code = tmp_path / "code"
    for package in ("autograder", "utils"):
        shutil.copytree(REPO / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    saved = graded["course"] / "autograded" / "e-honest" / ASSIGNMENT / "grading.json"
    before = json.loads(saved.read_text())["content_key"]
    batch = graded["batch"].parent / "rerun-batch"
    submit(batch, "e-honest", answers())   # the very same notebook

    same_code = grade(graded["course"], batch, graded["scratch"], python_path=code)
    assert same_code.returncode == 0, same_code.stderr[-3000:]
    assert json.loads(saved.read_text())["content_key"] == before      # reused: nothing changed

    with open(code / "autograder" / "verdicts.py", "a") as handle:
        handle.write("\n# a change to the grader\n")
    changed = grade(graded["course"], batch, graded["scratch"], python_path=code)
    assert changed.returncode == 0, changed.stderr[-3000:]
    after = json.loads(saved.read_text())
    assert after["content_key"] != before and after["wall_seconds"] > 0   # graded again
    assert float(read_rows(graded["course"])["e-honest"]["score"]) == FULL


def _descendants(root: int) -> dict[int, str]:
    """pid -> command name of every living process below ``root``."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
            if state != "Z":
                parents[int(entry)] = (int(ppid), name)
    found, frontier = {}, {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in parents.items() if ppid in frontier and pid not in found}
        found.update({pid: parents[pid][1] for pid in frontier})
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_grader_leaves_no_sandbox(graded, tmp_path):
    batch = tmp_path / "slow-batch"
    good = answers()
    submit(batch, "slow", {**good, "descend": "import time\ntime.sleep(60)\n"})
    scratch = tmp_path / "grader-tmp"
    scratch.mkdir()
    grader = grade(graded["course"], batch, scratch, wait=False)
    sandboxes: dict[int, str] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(n == "bwrap" for n in sandboxes.values()):
        time.sleep(0.2)
        sandboxes = _descendants(grader.pid)
    assert any(name == "bwrap" for name in sandboxes.values()), "the grader started no sandbox"
    time.sleep(1.0)
    sandboxes = _descendants(grader.pid)   # the warm server and whatever it forked by now
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in sandboxes):
        time.sleep(0.1)
    assert [f"{pid} {name}" for pid, name in sandboxes.items() if _alive(pid)] == []


def test_late_replies_never_answer_another_request():
    """nbclient cancels its kernel-alive poll at the end of every cell; the next request must
    still get its own reply (before request ids: `KeyError: 'pid'` and the like)."""

    async def scenario() -> tuple[list[dict], int, int]:
        worker = WarmWorker(0, Limits(), {"OMP_NUM_THREADS": "1"})
        await worker.start()
        replies = []
        try:
            for _ in range(20):
                waiting = asyncio.ensure_future(worker.request({"op": "poll", "pid": 999_999}))
                while not worker._pending:   # the request is written; its reply is on its way
                    await asyncio.sleep(0)
                waiting.cancel()
                replies.append(await worker.request({"op": "reap"}))
            await asyncio.sleep(0.2)
            return replies, worker.late_replies, len(worker._pending)
        finally:
            await worker.stop()

    replies, late, pending = asyncio.run(scenario())
    assert all("reaped" in reply for reply in replies), replies
    assert late == 20 and pending == 0     # every abandoned reply arrived, and was dropped


def test_stopping_while_a_sandbox_starts_leaves_nothing():
    async def scenario() -> BaseException | None:
        worker = WarmWorker(0, Limits(), {"OMP_NUM_THREADS": "1"})
        starting = asyncio.ensure_future(worker.start())
        await asyncio.sleep(0.3)
        await asyncio.wait_for(worker.stop(), 15)
        try:
            await asyncio.wait_for(starting, 15)
        except WorkerDied as error:
            return error
        return None

    started = time.monotonic()
    error = asyncio.run(scenario())
    assert isinstance(error, WorkerDied) and time.monotonic() - started < 30
    assert [name for name in _descendants(os.getpid()).values() if name == "bwrap"] == []


def test_with_a_gpu_memory_is_bounded_by_data_not_address_space():
    """CUDA reserves tens of GiB of address space at start (PROT_NONE, like the reservation
    below): under RLIMIT_AS it cannot start. With devices passed in, the bound is RLIMIT_DATA,
    which ignores reservations and still stops a kernel that really allocates too much.
    Also with devices, no spare kernel waits, and a finished kernel's processes are all gone
    when the next could start (a CUDA context must not outlive its submission)."""
    from autograder import execute
    from nbformat.v4 import new_code_cell, new_notebook

    reserve = "import mmap\nreserved = mmap.mmap(-1, 64 << 30, flags=mmap.MAP_PRIVATE, prot=0)  # PROT_NONE\nprint('reserved')\n"
    hog = "import torch\nhog = torch.ones((3 << 30) // 4)\nprint('allocated')\n"  # 3 GiB, over 1 GiB

    async def scenario(devices: list[str]) -> list[str]:
        limits = Limits(memory_mib=1024)
        worker = WarmWorker(0, limits, {"OMP_NUM_THREADS": "1"}, devices=devices)
        await worker.start()
        try:
            notebook = new_notebook(cells=[new_code_cell(reserve), new_code_cell(hog)])
            run = await execute.execute(worker, notebook, limits)
            left = sorted(_descendants(worker.sandbox_init_pid).values())  # the server, and any spare
            return ["".join(o.get("text", "") + o.get("ename", "") for o in c.outputs) for c in notebook.cells] \
                + run.status + [f"processes {len(left)}"]
        finally:
            await worker.stop()

    # /dev/null stands in for the NVIDIA device files: what matters is that devices are passed.
    with_gpu = asyncio.run(scenario(["/dev/null"]))
    assert with_gpu[0] == "reserved\n" and "allocated" not in with_gpu[1] and "out-of-memory" in with_gpu
    assert "processes 1" in with_gpu    # the server alone
    cpu_only = asyncio.run(scenario([]))
    assert "reserved" not in cpu_only[0] and "out-of-memory" in cpu_only
    # the server and the spare (its keeper, init and kernel), and perhaps the last kernel, dying
    assert int(cpu_only[-1].split()[1]) >= 4


def test_how_a_kernel_ended_reaches_the_grader_through_its_keeper():
    """The server sees a kernel's keeper, not the kernel: the keeper ends as the kernel ended,
    so an exit code and the CPU-limit signal are told apart as before."""
    from autograder import execute
    from nbformat.v4 import new_code_cell, new_notebook

    async def scenario() -> list[list[str]]:
        limits = Limits(cpu_seconds=2)
        worker = WarmWorker(0, limits, {"OMP_NUM_THREADS": "1"})
        await worker.start()
        try:
            statuses = []
            for code in ("import os\nos._exit(3)\n", "while True:\n    pass\n"):
                run = await execute.execute(worker, new_notebook(cells=[new_code_cell(code)]), limits)
                statuses.append(run.status + run.notes)
            return statuses
        finally:
            await worker.stop()

    exited, spun = asyncio.run(scenario())
    assert exited[0] == "crash" and "exit code 3" in exited[1], exited
    assert spun[0] == "cpu-limit", spun
