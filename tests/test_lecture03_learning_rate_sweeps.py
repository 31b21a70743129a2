"""Lecture 3 reproduces the learning-rate sweep of the lecture notes and its stability bound."""

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("03_learning_rate_sweeps")]
LECTURE = "notebooks/03_learning_rate_sweeps.ipynb"


def test_least_squares_target(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "least squares: w*") == pytest.approx(3.0, abs=0.01)
    assert number_after(text, "least squares: w* 2.9997, b*") == pytest.approx(0.0385, abs=1e-3)
    assert number_after(text, ", loss") == pytest.approx(1.0495, abs=1e-3)


def test_sweep_matches_torch_optim(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "largest difference in (w, b)") < 1e-5
    assert number_after(text, "lr 0.001: after 100 epochs: loss") == pytest.approx(1.0880, abs=1e-3)


def test_the_six_rates_of_the_notes(notebook_text):
    text = notebook_text(LECTURE)
    converging = {"0.0005": 1.4093, "0.001": 1.0880, "0.005": 1.0752, "0.025": 1.0530, "0.028": 1.0520}
    for lr, loss in converging.items():
        assert number_after(text, f"lr {lr}: after 100 epochs: loss") == pytest.approx(loss, abs=2e-3)
    assert number_after(text, "lr 0.03: after 100 epochs: loss") > 1000  # diverged
    verdicts = {"0.0005": "too slow", "0.001": "too slow", "0.005": "converged",
                "0.025": "oscillating", "0.028": "oscillating", "0.03": "diverged"}
    for lr, verdict in verdicts.items():
        assert f"lr {lr}: {verdict}\n" in text


def test_stability_bound_from_the_hessian(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "lambda_max =") == pytest.approx(67.1738, abs=1e-3)
    assert number_after(text, "lambda_min =") == pytest.approx(0.4962, abs=1e-3)
    bound = number_after(text, "stability bound 2/lambda_max =")
    assert bound == pytest.approx(0.029774, abs=1e-5)
    assert 0.028 < bound < 0.03  # why 0.028 converges and 0.03 diverges
    assert number_after(text, "difference from autograd's Hessian:") < 1e-10
    first_diverging = number_after(text, "first diverging lr")
    last_stable = number_after(text, "last stable lr")
    assert last_stable < bound < first_diverging
    assert first_diverging - last_stable == pytest.approx(1e-4, abs=1e-6)


def test_recipe_and_optimizers(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "the recipe picks lr =") == pytest.approx(0.016, abs=1e-6)
    best = 1.0495
    for name in ("SGD + momentum 0.9, lr 0.01", "Adagrad, lr 3.0", "Adam, lr 0.3"):
        assert number_after(text, f"{name}: after 200 epochs: loss") == pytest.approx(best, abs=5e-4)
    assert number_after(text, "SGD, lr 0.025: after 200 epochs: loss") < 1.06
