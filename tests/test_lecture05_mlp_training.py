"""Lecture 5 reproduces the MLP of the lecture notes and trains it below the stated loss."""

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("05_mlp_training")]
LECTURE = "notebooks/05_mlp_training.ipynb"


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


def _after(text, line_start, label):
    """The number after ``label`` on the first line that starts with ``line_start``."""
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return number_after(line, label)


def test_seeded_training_reaches_the_noise_level(notebook_text):
    """With the seeds fixed, the final validation MSE is below 0.1 (the noise alone gives 0.04)."""
    text = notebook_text(LECTURE)
    assert 0.0 < _after(text, "after 160 epochs:", "train loss") < 0.1
    assert 0.0 < _after(text, "after 160 epochs:", "validation loss") < 0.1
    assert 0.0 < _after(text, "normalised inputs, after 160 epochs:", "train loss") < 0.1
    assert 0.0 < _after(text, "normalised inputs, after 160 epochs:", "validation loss") < 0.1
    assert number_after(text, "training statistics: mean") == pytest.approx(0.4796, abs=1e-3)


def test_initialisation_through_depth(notebook_text):
    """Var(s) = n Var(w) Var(x): the default's n Var(w) = 1/3 shrinks activations layer after layer,
    Xavier loses half the variance at every ReLU, Kaiming's 2/n keeps it steady."""
    text = notebook_text(LECTURE)
    last = {name: _after(text, name + ":", "after layer 15") for name in
            ["tanh default", "tanh xavier", "tanh kaiming", "relu default", "relu xavier", "relu kaiming"]}
    assert _after(text, "relu default:", "after layer 1") == pytest.approx(0.34, abs=0.03)
    assert last["relu default"] < 0.05
    assert last["relu xavier"] < 0.01
    assert 0.5 < last["relu kaiming"] < 2.0
    assert last["tanh default"] < 0.1
    assert last["tanh default"] < last["tanh xavier"] < last["tanh kaiming"] < 1.0
