"""`make lab` as a student runs it: a non-root user, no sudo, on a copy of the course.

The copy shares this checkout's ``.venv`` (installed already, so the target
installs nothing) and runs ``make lab`` as an unprivileged uid with a bare
PATH. The lab must serve the student's own copies from ``work/``, with
nbgrader's instructor tools switched off and Validate kept.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import free_port
from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("student-lab")]
NOBODY = 65534
VENV = Path(sys.executable).parent.parent


def _student_prefix(home: Path) -> list[str]:
    """Run as the unprivileged ``nobody`` when the tests run as root and nobody can run the venv's
    interpreter; otherwise as oneself (the PATH then holds failing ``sudo`` and ``apt-get``)."""
    if os.getuid() != 0:
        return []
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    # Through a shell, as make runs it: setpriv itself may still reach a path the uid cannot.
    reachable = subprocess.run([*prefix, "sh", "-c", f"'{VENV}/bin/python' -c pass"], capture_output=True)
    if reachable.returncode != 0:
        return []
    os.chown(home, NOBODY, NOBODY)
    return prefix


def _poisoned_tools(folder: Path) -> Path:
    """``sudo`` and ``apt-get`` that record being called and fail, first on the PATH."""
    folder.mkdir()
    for name in ("sudo", "apt-get"):
        tool = folder / name
        tool.write_text(f"#!/bin/sh\necho {name} >> {folder / 'called'}\nexit 1\n")
        tool.chmod(0o755)
    return folder


def _copy_course(destination: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / ".venv").symlink_to(VENV)
    return destination


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.fixture(scope="module")
def student_lab():
    if not (VENV / ".installed").exists():
        pytest.fail("the course's .venv is not installed: run `make install` first", pytrace=False)
    # Not under pytest's temporary folder, which only its owner may enter.
    outside = Path(tempfile.mkdtemp(prefix="student-lab-"))
    outside.chmod(0o755)
    course = _copy_course(outside / "course")
    home = outside / "home"
    home.mkdir()
    poisoned = _poisoned_tools(home / "bin")
    prefix = _student_prefix(home)
    if prefix:
        for path in [course, *course.rglob("*"), *home.rglob("*")]:
            if not path.is_symlink():
                os.chown(path, NOBODY, NOBODY)
    port = free_port()
    env = {"PATH": f"{poisoned}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    log = home / "lab.log"
    with open(log, "w") as sink:
        server = subprocess.Popen([*prefix, "make", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"],
                                  cwd=course, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    token = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and token is None and server.poll() is None:
        time.sleep(0.5)
        match = re.search(r"http://127\.0\.0\.1:\d+/lab\?token=(\w+)", log.read_text())
        token = match.group(1) if match else None
    try:
        assert token, f"JupyterLab did not start:\n{log.read_text()[-3000:]}"
        yield {"course": course, "base": f"http://127.0.0.1:{port}", "token": token, "student": bool(prefix),
               "mine": course / "work" / "assignments" / "01_manual_gradients" / "01_manual_gradients.ipynb",
               "poisoned": poisoned}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        shutil.rmtree(outside, ignore_errors=True)


def test_make_lab_serves_the_students_own_copies_without_root(student_lab):
    status, page = _get(f"{student_lab['base']}/lab?token={student_lab['token']}")
    assert status == 200 and "JupyterLab" in page
    assert student_lab["mine"].exists(), "make lab did not copy the release into work/"
    if student_lab["student"]:
        assert student_lab["mine"].stat().st_uid == NOBODY, "the copy should belong to the student"
    assert not (student_lab["poisoned"] / "called").exists(), "make lab called sudo or apt-get"
    status, listing = _get(f"{student_lab['base']}/api/contents/assignments?token={student_lab['token']}")
    assert status == 200 and "01_manual_gradients" in listing


def test_the_student_lab_hides_the_instructor_tools_and_keeps_validate(student_lab):
    status, page = _get(f"{student_lab['base']}/lab?token={student_lab['token']}")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    disabled = config.get("disabledExtensions", [])
    for plugin in ("formgrader", "create-assignment", "course-list", "assignment-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    assert _get(f"{student_lab['base']}/formgrader?token={student_lab['token']}")[0] == 404


def test_make_lab_never_overwrites_a_students_work(tmp_path):
    spec = importlib.util.spec_from_file_location("student_copies", REPO / "tools" / "student_copies.py")
    student_copies = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student_copies)
    make_copies = student_copies.make_copies
    copied, _ = make_copies(REPO, tmp_path)
    mine = tmp_path / "assignments" / "01_manual_gradients" / "01_manual_gradients.ipynb"
    assert mine in copied and (tmp_path / "lectures" / "01_manual_gradients.ipynb") in copied
    mine.write_text("my answers")
    copied_again, _ = make_copies(REPO, tmp_path)
    assert copied_again == [] and mine.read_text() == "my answers"
