"""Lecture 1 reproduces the figures of the lecture notes, and every number its text quotes."""

import pytest

import nbformat

from conftest import REPO, number_after
from lecture_exercises import exercise_names, run_exercises

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("01_manual_gradients")]
LECTURE = "notebooks/01_manual_gradients.ipynb"


def test_one_point_loss_and_its_gradients(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "prediction") == 17.0
    assert number_after(text, ", loss") == 256.0
    assert number_after(text, "by the chain rule: dL/da =") == 96.0
    assert number_after(text, "dL/db =") == 32.0
    assert number_after(text, "after backward:  a.grad =") == 96.0
    assert number_after(text, "b.grad =") == 32.0


def test_centred_difference_beats_forward(notebook_text):
    text = notebook_text(LECTURE)
    assert abs(number_after(text, "centred difference:  dL/da ≈") - 96.0) < 1e-3
    assert abs(number_after(text, "forward difference:  dL/da ≈") - 96.09) < 1e-3


def test_forward_error_is_half_h_times_the_curvature(notebook_text):
    """'off by (h/2)·L'' = 0.005 × 18 = 0.09', and the Taylor lines of the figure."""
    text = notebook_text(LECTURE)
    assert number_after(text, "forward difference off by") == pytest.approx(0.09, abs=1e-4)
    assert number_after(text, "Taylor's (h/2)·L'' =") == pytest.approx(0.09, abs=1e-4)
    forward, taylor = number_after(text, "forward error"), number_after(text, "Taylor (h/2)|f''| =")
    assert forward == pytest.approx(taylor, rel=1e-3)
    centred, taylor = number_after(text, "centred error"), number_after(text, "Taylor (h^2/6)|f'''| =")
    assert centred == pytest.approx(taylor, rel=1e-3)


def test_centred_is_thousands_of_times_better_and_its_best_step(notebook_text):
    """'thousands of times more accurate' at h = 1e-3; 'the best step ... a few times 1e-6'."""
    text = notebook_text(LECTURE)
    assert 1000 <= number_after(text, "centred is") < 10000
    assert 1e-6 <= number_after(text, "best step for the centred difference: h =") <= 1e-5


def test_backpropagation_by_hand_engine_and_autograd_agree(notebook_text):
    text = notebook_text(LECTURE)
    expected = {"dL/dw1 =": 0.4058, "dL/db1 =": 0.2029, "dL/dw2 =": 0.1288, "dL/db2 =": 0.2131}
    for prefix in ("backprop by hand:", "tiny engine:"):
        line = text.split(prefix)[1].split("\n")[0]
        for label, value in expected.items():
            assert number_after(line, label) == pytest.approx(value, abs=1e-4)
    assert number_after(text, "from torch autograd: by hand") < 1e-12
    assert number_after(text, "tiny engine") < 1e-12 or number_after(text, ", tiny engine") < 1e-12
    nodes = number_after(text, "one backward pass visits")
    assert number_after(text, "evaluate the loss 8 times,") == 8 * nodes


def test_local_minimum_is_not_global(notebook_text):
    """0.398 is a local minimum; f(50) ≈ -544 is lower; descent from 25 runs away."""
    text = notebook_text(LECTURE)
    assert number_after(text, "after 20 steps: x =") == pytest.approx(0.398, abs=1e-3)
    assert number_after(text, "after 20 steps: x = 0.398, f(x) =") == pytest.approx(-3.825, abs=1e-3)
    assert number_after(text, "local minimum: x* =") == pytest.approx(0.3984, abs=1e-4)
    assert number_after(text, "f''(x*) =") > 0
    assert number_after(text, "local maximum: x =") == pytest.approx(19.97, abs=0.01)
    assert number_after(text, "local maximum: x = 19.97, f = 199.15, f'' =") < 0
    assert number_after(text, "f(50) =") == pytest.approx(-544.0, abs=0.1)
    assert number_after(text, "from x = 15: after 100 steps x =") == pytest.approx(0.398, abs=1e-3)
    assert number_after(text, "from x = 25: after 100 steps x =") > 100
    assert number_after(text, "from x = 25: after 100 steps x = 157.468, f(x) =") < -10000


def test_accumulation_and_one_step(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "after a second backward: a.grad =") == 192.0
    assert number_after(text, "after one step: a =") == pytest.approx(3.04, abs=1e-6)
    assert number_after(text, ", b =") == pytest.approx(4.68, abs=1e-6)
    assert number_after(text, "(was 17.00), loss") == pytest.approx(163.84, abs=1e-6)


def test_exercises_left_alone_do_not_stop_the_lecture(notebook_text):
    assert exercise_names(LECTURE) == ["forward-error", "two-units"]
    assert notebook_text(LECTURE).count("not attempted yet") == 2


WRONG = {
    "forward-error": "def forward_difference_error(h, second_derivative):\n    return h * second_derivative\n",
    "two-units": (
        "def backprop_two_units(x, y, w1, w2, v1, v2):\n"
        "    h1, h2 = math.tanh(w1 * x), math.tanh(w2 * x)\n"
        "    d = 2 * (v1 * h1 + v2 * h2 - y)\n"
        "    dz1, dz2 = d * v1 * (1 - h1 ** 2), d * v2 * (1 - h2 ** 2)\n"
        "    return [dz1 * x, dz2 * x, d * h1, d * h2, dz1 * w1]\n"),
}


def test_exercises_catch_a_wrong_answer_and_pass_the_solution():
    runs = run_exercises(LECTURE, WRONG)
    assert "Likely mistake: h·f''" in runs["forward-error"].wrong
    assert "dL/dx follows only one path" in runs["two-units"].wrong
    for name, run in runs.items():
        assert "✗" in run.wrong, name
        assert "✗" not in run.solution and "passed" in run.solution, name


def test_wording_of_the_fixed_sentences():
    """Finite differences are too *expensive* for training; 0.398 is a *local* minimum."""
    source = "\n".join(cell.source for cell in nbformat.read(REPO / LECTURE, as_version=4).cells)
    assert "too cheap" not in source and "far too expensive" in source
    assert "exact minimum" not in source and "**no global minimum**" in source
    assert "backpropagation" in source.lower() and "h}{2}" in source
