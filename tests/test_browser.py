"""A student's session in JupyterLab, in headless Chromium: answer, run, read the checks, validate.

One JupyterLab server runs on a copy of the course for the whole module; each
test opens its notebook in a fresh browser page and fails on any JavaScript
error the page raises. Set ``COURSE_UPDATE_SCREENSHOT=1`` to rewrite the
README's screenshot, ``docs/images/student-flow.png``, from the student test.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from browser_helpers import CHROMIUM, JupyterLabServer, NotebookPage, copy_course, launch_chromium, \
    screenshot_on_failure
from conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.xdist_group("browser")]

ASSIGNMENT = "release/01_manual_gradients/01_manual_gradients.ipynb"
LECTURE = "notebooks/01_manual_gradients.ipynb"
PROGRESS_NOTEBOOK = "progress_bar.ipynb"
README_SCREENSHOT = REPO / "docs" / "images" / "student-flow.png"


def _cell_positions(path: str) -> dict[str, int]:
    """nbgrader's id of each cell (e.g. "check_descend") → its position in the notebook, from 0."""
    notebook = nbformat.read(REPO / path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: index for index, cell in enumerate(notebook.cells)
            if "nbgrader" in cell.metadata}


# Each exercise of ASSIGNMENT is an answer cell and the check cell below it.
CELLS = _cell_positions(ASSIGNMENT)
CENTRED_SLOPE, CENTRED_SLOPE_CHECK = CELLS["centred_slope"], CELLS["check_centred_slope"]
MSE_GRADIENTS, MSE_GRADIENTS_CHECK = CELLS["mse_gradients"], CELLS["check_mse_gradients"]
RELU_GRADIENTS, RELU_GRADIENTS_CHECK = CELLS["relu_neuron_gradients"], CELLS["check_relu_neuron_gradients"]
DESCEND, DESCEND_CHECK = CELLS["descend"], CELLS["check_descend"]

CORRECT_CENTRED_SLOPE = "return (f(x + h) - f(x - h)) / (2 * h)"
# The mistake the check names: a sum where the loss has a mean, so both gradients are N = 3 times too large.
SUMMED_MSE_GRADIENTS = "return (2 * (w * x + b - y) * x).sum(), (2 * (w * x + b - y)).sum()"


def _missing_tools() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed in .venv"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}"
    return None


def test_browser_tools_are_installed():
    """Fails, never skips, where the browser tests cannot run, so `make test` cannot pass without them."""
    missing = _missing_tools()
    assert missing is None, f"{missing}: run `make system-tools` (it installs Chromium; Playwright comes with `make install`)."


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of the course, with a one-cell progress-bar notebook added at its root."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    cell = nbformat.v4.new_code_cell("from utils.progress import progress\n\nfor _ in progress(range(3)):\n    pass")
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": kernel}), course / PROGRESS_NOTEBOOK)
    with JupyterLabServer(course, tmp_path_factory.mktemp("jupyter-state")) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    missing = _missing_tools()
    if missing:
        pytest.fail(f"{missing}: run `make system-tools`.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, tmp_path):
    """A fresh page; after the test, it fails if the page raised a JavaScript error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    javascript_errors = []
    page.on("pageerror", lambda error: javascript_errors.append(f"uncaught: {error}"))
    # Errors logged to the console count too: JupyterLab and its extensions log
    # none in this flow (the news feed, which would fail offline, is switched off).
    page.on("console", lambda message: message.type == "error"
            and javascript_errors.append(f"console: {message.text}"))
    yield page
    context.close()
    assert javascript_errors == [], "the page raised JavaScript errors"


def test_student_answers_runs_all_and_validates(lab, page, tmp_path):
    """Assignment 1: one right answer, one with a named mistake, two untouched; then nbgrader's Validate."""
    notebook = NotebookPage(page, lab, ASSIGNMENT)
    with screenshot_on_failure(page, tmp_path, "student-flow"):
        notebook.open()
        notebook.replace_stub(CENTRED_SLOPE, CORRECT_CENTRED_SLOPE)
        notebook.replace_stub(MSE_GRADIENTS, SUMMED_MSE_GRADIENTS)
        assert notebook.source(MSE_GRADIENTS).rstrip().endswith("    " + SUMMED_MSE_GRADIENTS)

        notebook.run_all()
        passed = notebook.output_text(CENTRED_SLOPE_CHECK)
        assert "✓ slope of t³ at t=2 with h=0.1: passed" in passed
        assert "All 2 checks passed." in passed
        failed = notebook.output_text(MSE_GRADIENTS_CHECK)
        assert "✗ dL/dw at w=1, b=0: expected -9.26667, found -27.8. Likely mistake: summed instead of " \
               "averaged (forgot the 1/N of the mean)." in failed
        assert "✗ dL/db at w=1, b=0: expected -4.0, found -12.0." in failed
        assert "Traceback" not in failed, "a failed check reads as a verdict, not as a traceback"
        # Run All stops at the first cell that raises, as in every Jupyter front end.
        assert notebook.output_text(RELU_GRADIENTS_CHECK) == ""
        if os.environ.get("COURSE_UPDATE_SCREENSHOT") == "1":
            _save_readme_screenshot(notebook)

        # The student goes on from the next exercise, which they have not started.
        notebook.run_from(RELU_GRADIENTS)
        assert notebook.output_text(RELU_GRADIENTS_CHECK).strip() == (
            "Exercise 3 · ReLU neuron: not attempted yet. Replace `raise NotImplementedError()` "
            "with your answer and run this cell again.")
        notebook.run_from(DESCEND)
        assert "Exercise 4 · gradient descent: not attempted yet." in notebook.output_text(DESCEND_CHECK)
        assert notebook.figures().count() == 0  # the assignment draws nothing: no figure to look for

        verdict = notebook.validate()
        assert verdict.count("The following cell failed") == 3
        assert "Exercise 2 · gradient of the MSE: 2 of 2 checks failed" in verdict
        assert "Exercise 3 · ReLU neuron: not attempted yet" in verdict
        assert "Exercise 4 · gradient descent: not attempted yet" in verdict
        assert '"1 · centred difference"' not in verdict, "the exercise that passes is not listed"
        notebook.close_dialog()


def _save_readme_screenshot(notebook: NotebookPage) -> None:
    """The passing check of exercise 1, then exercise 2's answer and its diagnosis, in one picture."""
    page = notebook.page
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # fold the file browser away
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").wait_for(state="detached")
    # Exercise 1's verdict at the top, with the last lines of its check cell above it.
    notebook.cell(CENTRED_SLOPE_CHECK).locator(".jp-OutputArea").evaluate(
        """output => {
            output.scrollIntoView({block: 'start'});
            output.closest('.jp-WindowedPanel-outer').scrollTop -= 50;
        }""")
    page.wait_for_timeout(500)  # let the cells scrolled into view paint
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_SCREENSHOT))
    print(f"README screenshot written to {README_SCREENSHOT}")


def test_lecture_runs_and_draws_its_figures(lab, page, tmp_path):
    """Lecture 1 (the quickest to run) runs to the end from Run → Run All Cells, and its figures show."""
    notebook = NotebookPage(page, lab, LECTURE)
    with screenshot_on_failure(page, tmp_path, "lecture"):
        notebook.open()
        notebook.run_all()
        assert notebook.unrun_code_cells() == 0, "Run All went through: no cell raised"
        assert notebook.stderr_outputs().count() == 0, "no traceback, no warning"
        figures = notebook.figures()
        assert figures.count() >= 2, "the lecture shows its results in figures"
        for index in range(figures.count()):
            assert figures.nth(index).evaluate("image => image.complete && image.naturalWidth > 100"), \
                "every figure is a decoded image, not a broken one"


def test_progress_bar_is_a_widget(lab, page, tmp_path):
    """utils.progress, as in lectures 5 and 6, draws a progress-bar widget in JupyterLab, and it ends full."""
    notebook = NotebookPage(page, lab, PROGRESS_NOTEBOOK)
    with screenshot_on_failure(page, tmp_path, "progress-bar"):
        notebook.open()
        notebook.run_all()
        bar = notebook.cell(0).locator(".jp-OutputArea .jupyter-widgets.widget-hprogress")
        bar.wait_for()
        assert bar.locator(".progress-bar").evaluate("fill => fill.style.width") == "100%"
        widget_text = notebook.cell(0).locator(".jp-OutputArea").inner_text()
        assert "100%" in widget_text and "3/3" in widget_text, widget_text
