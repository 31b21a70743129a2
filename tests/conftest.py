"""Shared test helpers: run a notebook headless once per test process, and read what it printed."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent

# Kernels started by the tests inherit these: one thread each, so two test
# workers do not fight over two cores; the device stays whatever the
# machine offers unless COURSE_DEVICE says otherwise.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
os.environ.setdefault("COURSE_PLAIN_PROGRESS", "1")  # headless runs: text progress bars, not widgets
os.environ.pop("COURSE_CHECK_RECORD", None)


def lecture_notebooks() -> list[Path]:
    return sorted((REPO / "notebooks").glob("*.ipynb"))


def source_notebooks() -> list[Path]:
    return sorted((REPO / "source").glob("*/*.ipynb"))


def release_notebooks() -> list[Path]:
    return sorted((REPO / "release").glob("*/*.ipynb"))


@functools.lru_cache(maxsize=None)
def run_notebook(path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel (working directory: its folder) and return it.

    Cached per test process: tests of one notebook share one run when they are
    in the same xdist group (``pytest.mark.xdist_group(notebook stem)``).
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            shutdown_kernel="immediate")
    client.execute()
    return notebook


def printed_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook printed to stdout, in order."""
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", [])
                   if output.output_type == "stream" and output.name == "stdout")


def figure_count(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


def number_after(text: str, label: str) -> float:
    """The first number printed after ``label`` (a literal string), e.g. ``number_after(t, "loss")``."""
    match = re.search(re.escape(label) + r"\s*[=:≈]?\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[-+]?inf|nan)", text)
    if match is None:
        raise AssertionError(f"the notebook never printed {label!r}")
    return float(match.group(1))


@pytest.fixture
def notebook_text():
    """``notebook_text("notebooks/02_temperature_fit.ipynb")`` → what that notebook printed."""
    return lambda relative: printed_text(run_notebook(REPO / relative))


def pytest_configure(config):
    """``--dist loadgroup`` (``make test``) keeps each xdist_group, and its expensive module
    fixtures, on one worker. pytest-xdist up to 3.8 marks grouped tests by rewriting their node
    ids, which pytest 9.2 no longer reads: grouping is then silently off and every grouped
    fixture runs once per worker. Refuse that pair of versions with a message."""
    from importlib.metadata import version

    def release(name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", version(name))[:2])

    if getattr(config.option, "dist", "no") == "loadgroup" and release("pytest") >= (9, 2) \
            and release("pytest-xdist") <= (3, 8):
        raise pytest.UsageError(f"pytest {version('pytest')} with pytest-xdist {version('pytest-xdist')} "
                                "ignores xdist_group under --dist loadgroup; install pytest<9.2 "
                                "(make install does, see pyproject.toml)")
