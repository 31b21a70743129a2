"""Lecture 5 reproduces the MLP of the lecture notes, and every claim it makes about training it."""

import re

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("05_mlp_training")]
LECTURE = "notebooks/05_mlp_training.ipynb"


def _line(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def _after(text, line_start, label):
    """The number after ``label`` on the first line that starts with ``line_start``."""
    return number_after(_line(text, line_start), label)


def _numbers(line):
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def test_hand_made_line_equals_nn_linear(notebook_text):
    text = notebook_text(LECTURE)
    assert "by hand:   [-1.0, 1.0, 5.0]" in text
    assert "nn.Linear: [-1.0, 1.0, 5.0]" in text


def test_the_notes_architecture(notebook_text):
    text = notebook_text(LECTURE)
    assert text.count("Linear(in_features=20, out_features=20, bias=True)") == 3
    assert "Linear(in_features=1, out_features=20, bias=True)" in text
    assert "Linear(in_features=20, out_features=1, bias=True)" in text
    assert number_after(text, "parameters in the MLP:") == 1321


def test_widths_that_do_not_chain_raise(notebook_text):
    text = notebook_text(LECTURE)
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (50x20 and 30x20)" in text


def test_split_and_training_settings(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "points:") == 50
    assert number_after(text, "training:") == 40
    assert number_after(text, "validation:") == 10
    assert number_after(text, "gradient steps:") == 640  # 160 epochs of 4 batches of 10


def test_seeded_training_reaches_the_noise_level(notebook_text):
    """With the seeds fixed, the final validation MSE is below 0.1 (the noise alone gives 0.04)."""
    text = notebook_text(LECTURE)
    assert 0.0 < _after(text, "after 160 epochs:", "train loss") < 0.1
    assert 0.0 < _after(text, "after 160 epochs:", "validation loss") < 0.1
    assert number_after(text, "training statistics: mean") == pytest.approx(0.4796, abs=1e-3)
    assert number_after(text, "training statistics: mean 0.4796, std") == pytest.approx(5.83, abs=0.01)


def test_validation_spikes_and_the_schedule_that_calms_them(notebook_text):
    text = notebook_text(LECTURE)
    assert _after(text, "constant lr:", "constant lr:") >= 2  # "every so often it jumps up"
    assert _after(text, "constant lr:", "highest validation loss in the last 40 epochs") > \
        2 * _after(text, "after 160 epochs:", "validation loss")  # "several times its level"
    finals = []
    for seed in (0, 1):
        line = _line(text, f"seed {seed}: late std constant")
        std_constant, std_cosine = number_after(line, "late std constant"), number_after(line, "vs cosine")
        assert std_constant > 10 * std_cosine  # "falls by more than ten times"
        spikes = line.split("spikes in the last 40 epochs")[1]
        constant_spikes, cosine_spikes = _numbers(spikes)[:2]
        assert constant_spikes >= 1 and cosine_spikes == 0  # "the late spikes disappear"
        finals.append(_numbers(line.split("final validation loss")[1])[:2])
    assert any(cosine > constant for constant, cosine in finals)  # "the final validation loss is not always lower"


def test_overfitting_turns_up_and_weight_decay_fixes_it(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "parameters in the wide MLP:") == 8513
    for seed in (0, 1):
        train_free, lowest_free, step_free, final_free = _numbers(
            _line(text, f"seed {seed}, weight_decay 0.0:").split(":", 1)[1])
        train_wd, lowest_wd, step_wd, final_wd = _numbers(_line(text, f"seed {seed}, weight_decay 0.01:").split(":", 1)[1])
        assert step_free <= 150 and final_free > 1.5 * lowest_free  # falls for ~100 steps, then turns up
        assert train_free < 0.09  # far below the noise variance
        assert final_wd < 1.25 * lowest_wd and final_wd < final_free  # within about 20%, and below


def test_zero_and_constant_initialisations_keep_units_identical(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "four hidden weight matrices") == 0.0
    assert "distinct units in the first layer: 1 of 20" in text
    # "stuck at the variance of y: it predicts the mean"
    assert number_after(text, "distinct units in the first layer: 1 of 20; training loss") == pytest.approx(
        number_after(text, "(the variance of y:"), abs=0.01)


def test_signals_through_depth_vanish_or_explode_by_a_constant_factor(notebook_text):
    """Var(s) = n Var(w) Var(x), halved by a ReLU: factors sqrt(1/6), sqrt(1/2), 1, sqrt(2) per ReLU layer."""
    text = notebook_text(LECTURE)

    def stats(name):
        line = _line(text, name + ":")
        return (number_after(line, "after layer 1"), number_after(line, "after layer 15"),
                number_after(line, "factor per layer"), number_after(line, "gradient at layer 1 / at layer 15"))

    assert stats("relu default")[2] == pytest.approx(6 ** -0.5, abs=0.03)
    assert stats("relu xavier")[2] == pytest.approx(0.5 ** 0.5, abs=0.03)
    assert stats("relu kaiming")[2] == pytest.approx(1.0, abs=0.05)
    assert stats("relu too large")[2] == pytest.approx(2 ** 0.5, abs=0.05)
    assert stats("tanh default")[2] == pytest.approx(3 ** -0.5, abs=0.03)
    assert 0.9 < stats("tanh xavier")[2] < 0.97
    assert stats("tanh xavier, tanh gain")[2] == pytest.approx(1.0, abs=0.02)
    first, last, _, grad_ratio = stats("relu default")
    assert last < 1e-5 and grad_ratio < 1e-4  # activations and gradients vanish
    first, last, _, grad_ratio = stats("relu too large")
    assert 30 < last / first < 300 and 50 < grad_ratio < 200  # "explode by about 10^2", "about a hundred times"
    first, last, _, grad_ratio = stats("relu kaiming")
    assert 0.5 < last / first < 2 and 0.5 < grad_ratio < 2
    first, last, _, grad_ratio = stats("tanh too large")
    assert last < 1 and 5 < grad_ratio < 15  # bounded activations, gradients still grow about 9x


def test_inputs_far_from_zero_stall_unless_standardised(notebook_text):
    text = notebook_text(LECTURE)
    variance = number_after(text, "(the loss of always predicting its mean):")
    for seed in (0, 1):
        raw = _after(text, f"x + 50, raw, seed {seed}:", "final train loss")
        standardised = _after(text, f"x + 50, standardised, seed {seed}:", "final train loss")
        assert raw == pytest.approx(variance, abs=0.03)
        assert standardised < raw / 1.9


def test_pca_whitening_removes_the_valley(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "standardised: condition number of the feature covariance") > 50
    assert number_after(text, "PCA-whitened: condition number of the feature covariance") == pytest.approx(1.0, abs=0.01)


def test_exercises_and_the_guarded_export_do_not_stop_a_headless_run(notebook_text):
    text = notebook_text(LECTURE)
    assert "Exercise 5.1 · diagnose the curves: not attempted yet" in text
    assert "Exercise 5.2 · a weight scale for ReLU: not attempted yet" in text
    assert "skipped: set RUN_EXPORT = True" in text
