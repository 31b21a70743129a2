"""Drive JupyterLab in headless Chromium the way a student does.

``JupyterLabServer`` runs JupyterLab on a copy of the course, ``launch_chromium``
starts Debian's Chromium through Playwright, and ``NotebookPage`` opens a
notebook, types into a cell, runs cells from the menus and reads what the page
shows. Playwright is imported by the caller, so a missing install is reported
as a test failure rather than a collection error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium keeps trying to reach
# Google's services, and on an offline machine each try is a refused connection.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
JUPYTER = Path(sys.executable).parent / "jupyter"

SERVER_START_TIMEOUT_S = 90
KERNEL_START_TIMEOUT_MS = 60_000
CELL_RUN_TIMEOUT_MS = 90_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_course(destination: Path) -> Path:
    """Copy what a student has (lectures, assignments, nbgrader settings) into ``destination``.

    ``utils`` is not copied: it is installed in the virtual environment.
    """
    for folder in ("notebooks", "release"):
        shutil.copytree(REPO / folder, destination / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy2(REPO / "nbgrader_config.py", destination / "nbgrader_config.py")
    return destination


class JupyterLabServer:
    """JupyterLab serving ``root`` on a free port with a random token; a context manager.

    Its configuration, data, runtime and workspace folders live under
    ``state``, so neither the user's settings nor a saved layout reach the
    test, and nothing is written outside the two folders.
    """

    def __init__(self, root: Path, state: Path):
        self.root, self.state = root, state
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = state / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("config", "data", "runtime", "ipython"):
            (self.state / name).mkdir(parents=True, exist_ok=True)
        env.update(JUPYTER_CONFIG_DIR=str(self.state / "config"), JUPYTER_DATA_DIR=str(self.state / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.state / "runtime"), IPYTHONDIR=str(self.state / "ipython"),
                   PATH=f"{JUPYTER.parent}{os.pathsep}{env.get('PATH', '')}",
                   # the kernels inherit these: one thread each, as in every other test
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        env.pop("COURSE_CHECK_RECORD", None)
        env.pop("COURSE_PLAIN_PROGRESS", None)  # a student's JupyterLab draws progress widgets
        return env

    def _command(self) -> list[str]:
        command = [str(JUPYTER), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={self.port}",
                   "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
                   f"--ServerApp.root_dir={self.root}",
                   f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
                   f"--LabApp.user_settings_dir={self.state / 'settings'}",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.getuid() == 0:
            command.append("--allow-root")
        return command

    def _write_settings(self) -> None:
        """Answer JupyterLab's "get notified about Jupyter news?" question in advance: no (we are offline)."""
        notification = self.state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    def start(self) -> JupyterLabServer:
        """Start the server (cwd: the course copy, where nbgrader finds its config) and wait until it answers."""
        self._write_settings()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self._command(), cwd=self.root, env=self._environment(),
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Shut the server and its kernels down; kill them if they do not go within a few seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        for kernel in self._running_kernels():
            self._request("DELETE", f"api/kernels/{kernel['id']}")
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def _running_kernels(self) -> list[dict]:
        try:
            return json.loads(self._request("GET", "api/kernels"))
        except (OSError, ValueError):
            return []

    def _request(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return b""

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> JupyterLabServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless, started by Playwright (its own browser download needs the internet)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


class NotebookPage:
    """One notebook open in JupyterLab, seen through a Playwright ``page``.

    Cells are counted from 0, in the order of the notebook file. Each notebook
    opens in a workspace of its own, so JupyterLab does not reopen the tabs of
    an earlier test next to it.
    """

    def __init__(self, page, server: JupyterLabServer, path: str):
        self.page, self.server, self.path = page, server, path

    def open(self) -> NotebookPage:
        """Load JupyterLab with the notebook and wait until its kernel is idle."""
        workspace = re.sub(r"[^a-z0-9]+", "-", self.path.lower())
        self.page.goto(self.server.url(f"lab/workspaces/{workspace}/tree/{self.path}"),
                       timeout=KERNEL_START_TIMEOUT_MS)
        self.cell(0).wait_for(timeout=KERNEL_START_TIMEOUT_MS)
        self.wait_until_idle(KERNEL_START_TIMEOUT_MS)
        self.select(0)  # focus this notebook: the menus act on the notebook last focused
        return self

    @property
    def notebook(self):
        """The notebook panel on show (the current tab)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def cell(self, index: int):
        return self.notebook.locator(".jp-Notebook .jp-Cell").nth(index)

    def wait_until_idle(self, timeout_ms: int = CELL_RUN_TIMEOUT_MS) -> None:
        """Wait until the kernel is idle and no cell is waiting to run (no ``[*]`` prompt)."""
        self.page.wait_for_function(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
                const statusBar = document.querySelector('#jp-main-statusbar');
                const queued = panel && [...panel.querySelectorAll('.jp-InputPrompt')]
                    .some(prompt => prompt.textContent.includes('*'));
                return indicator !== null && indicator.dataset.status === 'idle' && !queued
                    && statusBar !== null && /\\| Idle/.test(statusBar.textContent);
            }""", timeout=timeout_ms, polling=250)

    def replace_stub(self, index: int, line: str) -> None:
        """In answer cell ``index``, select the stub's last line, ``raise NotImplementedError()``, and type ``line``.

        Shift+Home selects back to the indentation, as it does for a student;
        a one-line answer keeps the editor's auto-indentation out of the way.
        """
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Control+End")
        self.page.keyboard.press("Shift+Home")
        self.page.keyboard.type(line)
        self.page.keyboard.press("Escape")  # back to command mode, where the menus act on cells

    def source(self, index: int) -> str:
        return self.cell(index).locator(".cm-content").inner_text()

    def menu(self, *labels: str) -> None:
        """Click through the menu bar, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.locator("#jp-menu-panel .lm-MenuBar-itemLabel").get_by_text(labels[0], exact=True).click()
        for label in labels[1:]:
            self.page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text(label, exact=True).click()

    def select(self, index: int) -> None:
        """Make cell ``index`` the active cell, in command mode."""
        self.cell(index).locator(".jp-InputPrompt").click()

    def run_all(self) -> None:
        self.menu("Run", "Run All Cells")
        self.wait_until_idle()

    def run_from(self, index: int) -> None:
        """Run cell ``index`` and every cell below it (Run → Run Selected Cell and All Below)."""
        self.select(index)
        self.menu("Run", "Run Selected Cell and All Below")
        self.wait_until_idle()

    def output_text(self, index: int) -> str:
        """The text of cell ``index``'s outputs (``textContent``: cells scrolled out of view count too)."""
        return self.cell(index).locator(".jp-OutputArea").text_content()

    def figures(self):
        """Every image rendered in an output area of the notebook."""
        return self.notebook.locator(".jp-OutputArea-output img")

    def stderr_outputs(self):
        """Every output JupyterLab shows on red: tracebacks, and anything else written to stderr."""
        return self.notebook.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')

    def unrun_code_cells(self) -> int:
        """How many code cells have not run (their prompt still reads ``[ ]:``)."""
        return self.notebook.locator(".jp-CodeCell .jp-InputPrompt").evaluate_all(
            "prompts => prompts.filter(prompt => prompt.textContent.trim() === '[ ]:').length")

    def validate(self, timeout_ms: int = CELL_RUN_TIMEOUT_MS) -> str:
        """Click nbgrader's Validate button (it saves, then runs the notebook on the server) and return the verdict.

        Returns the text of the dialog that opens, which stays open.
        """
        self.notebook.locator("jp-button", has_text="Validate").click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.locator(".jp-Dialog-header").wait_for(timeout=timeout_ms)
        return dialog.inner_text()

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")


@contextlib.contextmanager
def screenshot_on_failure(page, folder: Path, name: str):
    """Save a screenshot of ``page`` to ``folder/name.png`` when the block fails, and say where."""
    try:
        yield
    except BaseException:
        path = folder / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failing page: {path}")
        except Exception as error:  # a dead page must not hide the failure itself
            print(f"no screenshot ({error})")
        raise
