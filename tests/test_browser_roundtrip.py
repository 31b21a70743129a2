"""After `autograder grade`: what the instructor sees in formgrader and what a student sees in
released feedback, in headless Chromium. Set ``COURSE_UPDATE_SCREENSHOT=1`` to rewrite
``docs/images/formgrader-review.png`` from the formgrader test."""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from browser_helpers import CHROMIUM, JupyterLabServer, launch_chromium, screenshot_on_failure
from conftest import REPO
from roundtrip_helpers import ASSIGNMENT, RUBRIC, WRITTEN_ID, autograder, make_course, solutions, student_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser-roundtrip")]
SCREENSHOT = REPO / "docs" / "images" / "formgrader-review.png"
WRITTEN = "The forward difference errs by O(h) and the centred one by O(h²)."


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"))
    answers = solutions(course)
    batch = tmp_path_factory.mktemp("batch")
    summed = {**answers, "mse_gradients": answers["mse_gradients"].replace(".mean()", ".sum()")}
    for student, given in (("ada", answers), ("cy", summed)):
        path = batch / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(student_notebook(course, given, WRITTEN), path)
    autograder(course, "grade", ASSIGNMENT, "--from", str(batch), "--workers", "2", "--no-progress")
    return course


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    os.environ.pop("COURSE_GRADEBOOK_URL", None)
    with JupyterLabServer(course, tmp_path_factory.mktemp("jupyter-state")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make system-tools`.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def _submission_id(course, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).id


def test_formgrader_lists_the_batch_as_autograded(server, page, tmp_path):
    """What formgrader's Manage Submissions table is built from, asked by the logged-in browser."""
    page.goto(server.url("formgrader"))
    answer = page.request.get(server.url(f"formgrader/api/submissions/{ASSIGNMENT}"))
    assert answer.ok, answer.text()[:500]
    submissions = {s["student"]: s for s in answer.json()}
    assert set(submissions) == {"ada", "cy"}
    assert all(s["autograded"] for s in submissions.values())
    assert submissions["ada"]["score"] == 10 and submissions["cy"]["score"] == 7


def test_formgrader_shows_verdicts_the_written_answer_and_its_rubric(course, server, page, tmp_path):
    with screenshot_on_failure(page, tmp_path, "formgrader-review"):
        page.goto(server.url(f"formgrader/submissions/{_submission_id(course, 'cy')}"))
        page.get_by_text("Rubric for the grader").first.wait_for()
        text = page.locator("body").inner_text()
        assert "Graded: 0 / 3 points" in text and "summed instead of averaged" in text
        assert WRITTEN in text and RUBRIC.replace("**", "") in text
        verdict = page.get_by_text("summed instead of averaged").first
        verdict.scroll_into_view_if_needed()
        if os.environ.get("COURSE_UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))


def test_a_student_opens_released_feedback_in_jupyterlab(course, server, page, tmp_path):
    # Where nbgrader fetch_feedback puts it: <assignment>/feedback/<timestamp>/<notebook>.html
    released = course / "feedback" / "cy" / ASSIGNMENT
    timestamp = (released / "timestamp.txt").read_text().strip()
    fetched = course / "student-cy" / ASSIGNMENT / "feedback" / timestamp / f"{ASSIGNMENT}.html"
    fetched.parent.mkdir(parents=True)
    shutil.copy(released / f"{ASSIGNMENT}.html", fetched)
    relative = fetched.relative_to(course).as_posix()
    with screenshot_on_failure(page, tmp_path, "student-feedback"):
        page.goto(server.url(f"lab/tree/{relative}"))
        frame = page.frame_locator("iframe").first
        frame.get_by_text("Score:").wait_for()
        shown = frame.locator("body").inner_text()
    assert "7 of 10" in shown.replace("\n", " ") and "summed instead of averaged" in shown
