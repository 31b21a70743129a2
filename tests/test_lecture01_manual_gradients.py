"""Lecture 1 reproduces the figures of the lecture notes."""

import pytest

from conftest import number_after

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


def test_accumulation_and_one_step(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "after a second backward: a.grad =") == 192.0
    assert number_after(text, "after one step: a =") == pytest.approx(3.04, abs=1e-6)
    assert number_after(text, ", b =") == pytest.approx(4.68, abs=1e-6)
    assert number_after(text, "(was 17.00), loss") == pytest.approx(163.84, abs=1e-6)


def test_minimising_x_log_x(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "after 20 steps: x =") == pytest.approx(0.398, abs=1e-3)
    assert number_after(text, "after 20 steps: x = 0.398, f(x) =") == pytest.approx(-3.825, abs=1e-3)
    assert number_after(text, "exact minimum: x* =") == pytest.approx(0.3984, abs=1e-4)
