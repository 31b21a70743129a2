"""Lecture 2 reproduces the figures of the lecture notes on the temperature fit."""

import math

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("02_temperature_fit")]
LECTURE = "notebooks/02_temperature_fit.ipynb"


def test_initial_loss_and_gradient(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "initial loss at w=1, b=0:") == pytest.approx(1763.88, abs=0.01)
    assert number_after(text, "dL/dw =") == pytest.approx(4517.2969, rel=1e-5)
    assert number_after(text, "dL/db =") == pytest.approx(82.6, rel=1e-5)
    assert number_after(text, "dL/dw is") == pytest.approx(54.7, abs=0.1)


def test_large_learning_rate_diverges_at_epoch_11(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "  epoch 1: loss 1763.884766, w") == pytest.approx(-44.1730, abs=1e-3)
    assert math.isinf(number_after(text, "lr=1e-2 on raw inputs: loss is"))
    assert number_after(text, "by epoch") == 11


def test_small_learning_rate_stalls(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "lr=1e-4 on raw inputs: after 100 epochs: loss") == pytest.approx(29.02, abs=0.01)
    assert number_after(text, "after 100 epochs: loss 29.022667, w") == pytest.approx(0.2327, abs=1e-4)


def test_normalised_inputs_converge(notebook_text):
    text = notebook_text(LECTURE)
    for label in ("normalised inputs, by hand:", "autograd:", "torch.optim.SGD:"):
        assert number_after(text, f"{label} after 5000 epochs: loss") == pytest.approx(2.927648, abs=2e-6)
        line = text.split(f"{label} after 5000 epochs:")[1].split("\n")[0]
        assert number_after(line, ", w") == pytest.approx(5.3671, abs=2e-4)
        assert number_after(line, ", b") == pytest.approx(-17.3012, abs=2e-3)


def test_least_squares_is_a_hair_better(notebook_text):
    text = notebook_text(LECTURE)
    best = number_after(text, "least squares: loss")
    assert best <= number_after(text, "normalised inputs, by hand: after 5000 epochs: loss")
    assert best == pytest.approx(2.927646, abs=2e-6)
    line = text.split("least squares:")[1].split("\n")[0]
    assert number_after(line, ", w") == pytest.approx(5.3677, abs=1e-4)
    assert number_after(line, ", b") == pytest.approx(-17.3048, abs=1e-4)


def test_adam_on_raw_inputs(notebook_text):
    text = notebook_text(LECTURE)
    line = text.split("Adam, lr=0.1, raw inputs: after 2000 epochs:")[1].split("\n")[0]
    assert number_after(line, "loss") == pytest.approx(2.927646, abs=1e-5)
    assert number_after(line, ", w") == pytest.approx(0.5367, abs=2e-4)
    assert number_after(line, ", b") == pytest.approx(-17.3021, abs=2e-3)


def test_validation_and_conversion(notebook_text):
    text = notebook_text(LECTURE)
    train, val = number_after(text, "train loss"), number_after(text, "validation loss")
    assert 2.0 < train < 4.0 and 0 < val < 10.0
    assert number_after(text, "a reading of 60.0 is") == pytest.approx(14.7, abs=0.5)
    assert number_after(text, "one unit is") == pytest.approx(0.5367, abs=0.05)
