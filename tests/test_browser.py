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
MAE_GRADIENTS, MAE_GRADIENTS_CHECK = CELLS["mae_gradients"], CELLS["check_mae_gradients"]
TWO_LAYER, TWO_LAYER_CHECK = CELLS["two_layer_gradients"], CELLS["check_two_layer_gradients"]
FLOAT32_STEP, FLOAT32_STEP_CHECK = CELLS["float32_step"], CELLS["check_float32_step"]
DESCEND, DESCEND_CHECK = CELLS["descend_until_flat"], CELLS["check_descend_until_flat"]

CORRECT_MAE_GRADIENTS = "return (torch.sign(w * x + b - y) * x).mean(), torch.sign(w * x + b - y).mean()"
# The mistake the check names: a sum where the loss has a mean, so every gradient is N = 3 times too large.
SUMMED_TWO_LAYER = ("z = w1 * x + b1; h = torch.relu(z); d = 2 * (w2 * h + b2 - y); dz = d * w2 * (z > 0); "
                    "return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()")


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
        notebook.replace_stub(MAE_GRADIENTS, CORRECT_MAE_GRADIENTS)
        notebook.replace_stub(TWO_LAYER, SUMMED_TWO_LAYER)
        assert notebook.source(TWO_LAYER).rstrip().endswith("    " + SUMMED_TWO_LAYER)

        notebook.run_all()
        passed = notebook.output_text(MAE_GRADIENTS_CHECK)
        assert "✓ (dL/dw, dL/db) at w=1, b=0: passed" in passed
        assert "All 2 checks passed." in passed
        failed = notebook.output_text(TWO_LAYER_CHECK)
        assert "✗ (dL/dw1, dL/db1, dL/dw2, dL/db2) at w1=1, b1=0.5, w2=2, b2=-1: expected [2.66667, 1.33333, " \
               "1.66667, -0.333333], found [8" in failed
        assert "Likely mistake: summed instead of averaged (forgot the 1/N of the mean)." in failed
        assert "Traceback" not in failed, "a failed check reads as a verdict, not as a traceback"
        # Run All stops at the first cell that raises, as in every Jupyter front end.
        assert notebook.output_text(FLOAT32_STEP_CHECK) == ""
        if os.environ.get("COURSE_UPDATE_SCREENSHOT") == "1":
            _save_readme_screenshot(notebook)

        # The student goes on from the next exercise, which they have not started.
        notebook.run_from(FLOAT32_STEP_CHECK)
        assert notebook.output_text(FLOAT32_STEP_CHECK).strip() == (
            "Exercise 3 · a float32 step: not attempted yet. Replace `raise NotImplementedError()` "
            "with your answer and run this cell again.")
        notebook.run_from(DESCEND)
        assert "Exercise 5 · descend until flat: not attempted yet." in notebook.output_text(DESCEND_CHECK)
        assert notebook.figures().count() == 0  # the assignment draws nothing: no figure to look for

        verdict = notebook.validate()
        assert "Exercise 2 · backpropagation through two layers: 2 of 2 checks failed" in verdict
        assert "Exercise 3 · a float32 step: not attempted yet" in verdict
        assert "Exercise 5 · descend until flat: not attempted yet" in verdict
        assert "1 · gradient of the MAE" not in verdict, "the exercise that passes is not listed"
        notebook.close_dialog()


def _save_readme_screenshot(notebook: NotebookPage) -> None:
    """The passing check of exercise 1, then exercise 2's answer and its diagnosis, in one picture."""
    page = notebook.page
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # fold the file browser away
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").wait_for(state="detached")
    # Exercise 1's verdict at the top, with the last lines of its check cell above it.
    notebook.cell(MAE_GRADIENTS_CHECK).locator(".jp-OutputArea").evaluate(
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
