"""Lecture 4 reproduces the figures of the lecture notes on minibatch SGD."""

import re

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("04_sgd_batching")]
LECTURE = "notebooks/04_sgd_batching.ipynb"


def numbers_in_line(text: str, start: str) -> list[float]:
    """Every number on the first printed line that starts with ``start``."""
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?", line[len(start):])]


def test_the_notes_data_and_batches(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "N =") == 100
    assert number_after(text, "x from") == 0.0
    assert number_after(text, "x from 0.0 to") == pytest.approx(9.9)
    assert number_after(text, "len(dataset) =") == 100
    assert number_after(text, "batches per epoch with batch_size 4:") == 25
    assert number_after(text, "batch_size 8, drop_last=False:") == 13
    assert number_after(text, "batch_size 8, drop_last=True:") == 12


def test_sgd_recovers_the_slope_of_three(notebook_text):
    text = notebook_text(LECTURE)
    steps, loss, w, b = numbers_in_line(text, "after 10 epochs")
    assert steps == 250
    assert loss == pytest.approx(1.13, abs=0.05)
    assert w == pytest.approx(3.0, abs=0.15)
    best_loss, best_w, best_b = numbers_in_line(text, "least squares:")
    assert best_loss == pytest.approx(1.0495, abs=1e-3)
    assert best_w == pytest.approx(2.9997, abs=1e-3)
    assert best_b == pytest.approx(0.0385, abs=1e-3)
    assert best_loss < loss < 1.1 * best_loss


def test_bigger_batches_and_smaller_lr_are_less_noisy(notebook_text):
    text = notebook_text(LECTURE)
    noise = {setting: number_after(text, f"batch_size {setting[0]}, lr {setting[1]}: {setting[2]} steps, noise")
             for setting in [(2, 0.02, 200), (4, 0.02, 100), (8, 0.02, 52), (2, 0.001, 200)]}
    assert noise[(2, 0.02, 200)] > noise[(4, 0.02, 100)] > noise[(8, 0.02, 52)]
    assert noise[(2, 0.001, 200)] < noise[(2, 0.02, 200)]


def test_gradient_variance_falls_like_one_over_b(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "autograd full-batch gradient") == pytest.approx(
        number_after(text, "mean of per-example gradients"), abs=1e-3)
    for B in (1, 2, 4, 8, 16, 32, 64):
        measured, predicted, _ = numbers_in_line(text, f"B = {B:2d}:")
        assert measured == pytest.approx(predicted, rel=0.15)
    assert number_after(text, "B =  1: measured variance") / number_after(text, "B = 16: measured variance") \
        == pytest.approx(16 * 99 / 84, rel=0.15)


def test_early_stopping_stops_well_before_the_limit(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "train") == 80 and number_after(text, "validation") == 20
    stopped = number_after(text, "early stopping after epoch")
    assert 10 <= stopped < 200
    assert number_after(text, "validation loss") == pytest.approx(1.0, abs=0.5)
    assert number_after(text, "train loss") == pytest.approx(1.05, abs=0.3)
