"""Lecture 4 reproduces the figures of the lecture notes on minibatch SGD, and every claim it makes."""

import re

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("04_sgd_batching")]
LECTURE = "notebooks/04_sgd_batching.ipynb"


def numbers_in_line(text: str, start: str) -> list[float]:
    """Every number on the first printed line that starts with ``start``."""
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line[len(start):])]


def test_the_notes_data_and_batches(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "N =") == 100
    assert number_after(text, "x from") == 0.0
    assert number_after(text, "x from 0.0 to") == pytest.approx(9.9)
    assert number_after(text, "(mean") == pytest.approx(4.95)  # "every x is positive (mean 4.95)"
    assert number_after(text, "len(dataset) =") == 100
    assert number_after(text, "batches per epoch with batch_size 4:") == 25
    assert number_after(text, "batch_size 8, drop_last=False:") == 13
    assert number_after(text, "batch_size 8, drop_last=True:") == 12


def test_exercises_read_not_attempted_in_a_headless_run(notebook_text):
    text = notebook_text(LECTURE)
    assert "Exercise 4.1 · steps in a run: not attempted yet" in text
    assert "Exercise 4.2 · the early-stopping rule: not attempted yet" in text


def test_no_grad_decorator_switches_autograd_off(notebook_text):
    assert "inside the decorated function autograd is off: False; outside it is on: True" in notebook_text(LECTURE)


def test_sgd_finds_the_slope_but_not_yet_the_intercept(notebook_text):
    """'SGD found the slope (2.94 against 3.00) but not the intercept (0.57 against 0.04), about 8% above the best.'"""
    text = notebook_text(LECTURE)
    steps, loss, w, b = numbers_in_line(text, "after 10 epochs")
    assert steps == 250
    assert loss == pytest.approx(1.13, abs=0.01)
    assert w == pytest.approx(2.94, abs=0.01)
    assert b == pytest.approx(0.57, abs=0.01)
    best_loss, best_w, best_b = numbers_in_line(text, "least squares:")
    assert best_loss == pytest.approx(1.0495, abs=1e-3)
    assert best_w == pytest.approx(2.9997, abs=1e-3)
    assert best_b == pytest.approx(0.0385, abs=1e-3)
    assert number_after(text, "SGD's loss is") == pytest.approx(7.7, abs=0.5)
    assert number_after(text, "slope off by") < 0.1 < 0.4 < number_after(text, "intercept off by")


def test_small_learning_rate_is_calm_but_slow(notebook_text):
    """'after the same 4 epochs it is still descending along the valley (its intercept is still far from 0.04)'."""
    text = notebook_text(LECTURE)
    steps, _, excess, w, b = numbers_in_line(text, "batch_size 2, lr 0.001:")  # "..., L - L* after 4 epochs ..."
    assert steps == 200 and b > 0.5
    for start, count in [("batch_size 2, lr 0.02:", 200), ("batch_size 4, lr 0.02:", 100), ("batch_size 8, lr 0.02:", 52)]:
        assert numbers_in_line(text, start)[0] == count


def test_per_batch_spread_mostly_measures_the_batches(notebook_text):
    """A frozen line scores about as much per-batch 'noise' as the SGD runs, falling with B."""
    text = notebook_text(LECTURE)
    frozen = {B: number_after(text, f"B {B}: per-batch spread of a frozen line") for B in (2, 4, 8)}
    run = {B: number_after(text, f"B {B}: per-batch spread of a frozen line {frozen[B]:.2f}, of the SGD run's last epoch")
           for B in (2, 4, 8)}
    assert frozen[2] > frozen[4] > frozen[8] > 0.2
    for B in (2, 4, 8):
        assert 0.6 < frozen[B] / run[B] < 1.7


def test_noise_at_the_optimum_falls_with_batch_size_and_learning_rate_in_every_seed(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "seeds where B 2 > B 4 > B 8 at lr 0.02:") == 5
    assert "seeds where B 2 > B 4 > B 8 at lr 0.02: 5 of 5" in text
    assert "seeds where lr 0.001 (B 2) is calmer than lr 0.02 at any B: 5 of 5" in text
    # "doubling the batch ... cuts the mean excess loss by a factor of roughly 2.5 to 3 each time"
    assert 1.8 < number_after(text, "B2/B4") < 3.5
    assert 1.8 < number_after(text, "B4/B8") < 3.5
    # "hundreds of times closer"
    assert 100 < number_after(text, "lr 0.02/lr 0.001 at B 2") < 1000


def test_gradient_variance_falls_like_one_over_b(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "autograd full-batch gradient") == pytest.approx(
        number_after(text, "mean of per-example gradients"), abs=1e-3)
    for B in (1, 2, 4, 8, 16, 32, 64):
        measured, predicted, _ = numbers_in_line(text, f"B = {B:2d}:")
        assert measured == pytest.approx(predicted, rel=0.15)
    assert number_after(text, "B =  1: measured variance") / number_after(text, "B = 16: measured variance") \
        == pytest.approx(16 * 99 / 84, rel=0.15)


def test_early_stopping_follows_the_course_rule_and_restores_the_best_line(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "train") == 80 and number_after(text, "validation") == 20
    stopped, restored, val_loss, w, b = numbers_in_line(text, "centred x: stopped after epoch")
    assert stopped - restored == 5 and stopped < 200  # patience 5
    w_ls, b_ls, val_ls = numbers_in_line(text, "least squares on the training points:")
    assert abs(w - w_ls) < 0.015 and abs(b - b_ls) < 0.015  # "matches least squares to about 0.01"
    assert val_loss == pytest.approx(val_ls, abs=0.01) and val_ls == pytest.approx(0.72, abs=0.01)


def test_early_stopping_is_fooled_by_a_crawl_on_raw_inputs(notebook_text):
    text = notebook_text(LECTURE)
    stopped, restored, val_loss, w, b = numbers_in_line(text, "raw x: stopped after epoch")
    w_ls, b_ls, val_ls = numbers_in_line(text, "least squares on the training points:")
    assert stopped - restored == 5 and stopped < 200
    assert abs(b - b_ls) > 0.3 and val_loss > val_ls
