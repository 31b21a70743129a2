"""Lecture 2 reproduces the figures of the lecture notes on the temperature fit, and every number its text quotes."""

import math

import pytest

import nbformat

from conftest import REPO, number_after
from lecture_exercises import exercise_names, run_exercises

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("02_temperature_fit")]
LECTURE = "notebooks/02_temperature_fit.ipynb"


def _line(text, prefix):
    return text.split(prefix)[1].split("\n")[0]


def test_initial_loss_and_gradient(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "initial loss at w=1, b=0:") == pytest.approx(1763.88, abs=0.01)
    assert number_after(text, "dL/dw =") == pytest.approx(4517.2969, rel=1e-5)
    assert number_after(text, "dL/db =") == pytest.approx(82.6, rel=1e-5)
    assert number_after(text, "dL/dw is") == pytest.approx(54.7, abs=0.1)  # "about fifty times"


def test_large_learning_rate_diverges_at_epoch_11(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "  epoch 1: loss 1763.884766, w") == pytest.approx(-44.1730, abs=1e-3)
    assert math.isinf(number_after(text, "lr=1e-2 on raw inputs: loss is"))
    assert number_after(text, "by epoch") == 11


def test_divergence_is_explained_by_the_largest_curvature(notebook_text):
    """'1e-2 is about thirty times over the limit of 3.4e-4'."""
    text = notebook_text(LECTURE)
    limit = number_after(text, "largest stable lr 2/lambda_max =")
    assert limit == pytest.approx(3.4e-4, rel=0.01)
    assert 25 < 1e-2 / limit < 35
    assert 1e-4 < limit  # why 1e-4 is stable


def test_small_learning_rate_stalls_along_the_tilted_valley(notebook_text):
    """w 0.23 against 0.54, 'curvature 0.175, 33,599 times flatter', '99.8 % of it is still there'."""
    text = notebook_text(LECTURE)
    assert number_after(text, "lr=1e-4 on raw inputs: after 100 epochs: loss") == pytest.approx(29.02, abs=0.01)
    assert number_after(text, "after 100 epochs: loss 29.022667, w") == pytest.approx(0.2327, abs=1e-4)
    assert number_after(text, "the best line on raw inputs: w* =") == pytest.approx(0.5368, abs=1e-4)
    assert number_after(text, "lambda_max =") == pytest.approx(5883, abs=1)
    assert number_after(text, "lambda_min =") == pytest.approx(0.175, abs=1e-3)
    assert number_after(text, "raw: condition number") == pytest.approx(33599, abs=1)
    flat = _line(text, "flat axis (w, b) = (")
    assert abs(float(flat.split(",")[1].split(")")[0])) > 0.999  # 'almost pure b'
    assert number_after(text, "changes w by") == pytest.approx(number_after(text, "w* - w ="), abs=2e-3)
    assert number_after(text, "w* - w =") == pytest.approx(0.30, abs=0.01)
    assert number_after(text, "shrinks by a factor") == pytest.approx(1 - 1.75e-5, abs=1e-6)
    remains = float(_line(text, "shrinks by a factor").split("after 100 epochs ")[1].split(" ")[0])
    assert remains == pytest.approx(0.998, abs=1e-3)


def test_centring_and_scaling_fix_the_conditioning(notebook_text):
    """Condition numbers 33,600 / 357 / 258 / 2.6 / 1.1 and epochs ≈1,600 / 1,400 / 11 / 3 within 0.1 %."""
    text = notebook_text(LECTURE)
    assert number_after(text, "mean reading") == pytest.approx(52, abs=0.5)
    w1 = number_after(text, "  epoch 1: loss 1763.884766, w")
    w2 = number_after(text, "  epoch 2: loss 5.8025e+06, w")
    assert 40 < abs(w2 / w1) < 70  # 'grow about fiftyfold each epoch'
    kappas = {"scaled × 0.1": 357.0, "centred": 257.6, "centred, × 0.1": 2.6, "standardised": 1.1}
    epochs = {"scaled × 0.1": (1550, 1700), "centred": (1300, 1450), "centred, × 0.1": (11, 11),
              "standardised": (3, 3)}
    for name, kappa in kappas.items():
        line = _line(text, f"{name}: condition number")
        assert float(line.split(",")[0]) == pytest.approx(kappa, abs=0.1)
        low, high = epochs[name]
        assert low <= number_after(line, "best loss after") <= high
    assert "not within 5000 epochs" in _line(text, "raw: condition number")


def test_normalised_inputs_converge(notebook_text):
    text = notebook_text(LECTURE)
    for label in ("normalised inputs, by hand:", "autograd:", "torch.optim.SGD:"):
        assert number_after(text, f"{label} after 5000 epochs: loss") == pytest.approx(2.927648, abs=2e-6)
        line = _line(text, f"{label} after 5000 epochs:")
        assert number_after(line, ", w") == pytest.approx(5.3671, abs=2e-4)
        assert number_after(line, ", b") == pytest.approx(-17.3012, abs=2e-3)


def test_least_squares_is_a_hair_better(notebook_text):
    text = notebook_text(LECTURE)
    best = number_after(text, "least squares: loss")
    assert best <= number_after(text, "normalised inputs, by hand: after 5000 epochs: loss")
    assert best == pytest.approx(2.927646, abs=2e-6)
    line = _line(text, "least squares:")
    assert number_after(line, ", w") == pytest.approx(5.3677, abs=1e-4)
    assert number_after(line, ", b") == pytest.approx(-17.3048, abs=1e-4)
    assert 1e-3 <= abs(number_after(text, "gap after 5000 epochs: b")) < 1e-2  # 'differs in the third decimal'


def test_adam_on_raw_inputs(notebook_text):
    text = notebook_text(LECTURE)
    line = _line(text, "Adam, lr=0.1, raw inputs: after 2000 epochs:")
    assert number_after(line, "loss") == pytest.approx(2.927646, abs=1e-5)
    assert number_after(line, ", w") == pytest.approx(0.5367, abs=2e-4)
    assert number_after(line, ", b") == pytest.approx(-17.3021, abs=2e-3)


def test_absolute_error_resists_a_wrong_reading(notebook_text):
    """'+10.29 °C against +0.22 °C'; 'median 10.3 against 0.18, less in 10 of 11 cases'."""
    text = notebook_text(LECTURE)
    assert number_after(text, "largest slope difference from the exact fits") < 2e-4
    assert number_after(text, "slipped readings: largest slope difference from the exact fits") < 2e-4
    assert number_after(text, "at 60 units by") == pytest.approx(10.29, abs=0.02)
    assert number_after(text, "(squared error) and") == pytest.approx(0.22, abs=0.02)
    assert number_after(text, "squared error: the prediction at 60 units moves by a median of") == pytest.approx(10.3, abs=0.05)
    assert number_after(text, "absolute error: the prediction at 60 units moves by a median of") == pytest.approx(0.18, abs=0.01)
    assert number_after(text, "the absolute-error fit moved less in") == 10


def test_validation_spread_over_splits_and_conversion(notebook_text):
    """'ranges over a factor of six', 'usually, not always, above', 'about 31', 'a little more than half'."""
    text = notebook_text(LECTURE)
    train, val = number_after(text, "train loss"), number_after(text, "validation loss")
    assert 2.0 < train < 4.0 and 0 < val < 10.0
    line = _line(text, "over 20 splits:")
    low = float(line.split("validation loss ")[1].split(" to ")[0])
    high = float(line.split(" to ")[2].split(" ")[0])
    assert 5 < high / low < 8
    assert 15 <= number_after(text, "validation loss above training loss in") < 20
    assert number_after(text, "a reading of 60.0 is") == pytest.approx(14.7, abs=0.5)
    assert 0.5 < number_after(text, "one unit is") < 0.55
    assert number_after(text, "0 °C reads as") == pytest.approx(31.0, abs=0.5)


def test_exercises_left_alone_do_not_stop_the_lecture(notebook_text):
    assert exercise_names(LECTURE) == ["condition-number", "mae-gradient"]
    assert notebook_text(LECTURE).count("not attempted yet") == 2


WRONG = {
    "condition-number": "def condition_number(x):\n    H = line_hessian(x)\n    return (H[0, 0] / H[1, 1]).item()\n",
    "mae-gradient": ("def mae_gradient(x, y, w, b):\n"
                     "    return grad_fn(x, y, model(x, w, b))\n"),
}


def test_exercises_catch_a_wrong_answer_and_pass_the_solution():
    runs = run_exercises(LECTURE, WRONG)
    assert "the ratio of H's diagonal entries" in runs["condition-number"].wrong
    assert "found 29.4" in runs["condition-number"].wrong  # 'the diagonal ratio is about 29 while ... 357'

    assert "that is the squared error's gradient" in runs["mae-gradient"].wrong
    for name, run in runs.items():
        assert "✗" in run.wrong, name
        assert "✗" not in run.solution and "passed" in run.solution, name


def test_wording_of_the_fixed_sentences():
    """No 'w was fixed quickly'; the valley, not per-coordinate gradient sizes, is named as the obstacle."""
    source = "\n".join(cell.source for cell in nbformat.read(REPO / LECTURE, as_version=4).cells)
    assert "fixed quickly" not in source
    assert "the ill-conditioned valley is the disease" in source
    assert "empirical risk" in source and "mean absolute error" in source
