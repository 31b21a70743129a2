"""utils.gradcheck and utils.plots."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from utils.gradcheck import check_gradients, numerical_gradient, relative_error  # noqa: E402
from utils.plots import plot_fit, plot_loss_curves, plot_loss_surface  # noqa: E402


def _loss(params):
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    return (torch.tanh(params["W"] @ torch.stack([x, x ** 2]) + params["b"][:, None]) ** 2).mean()


def _point():
    generator = torch.Generator().manual_seed(0)
    return {"W": torch.randn(3, 2, generator=generator), "b": torch.randn(3, generator=generator)}


def test_numerical_gradient_agrees_with_autograd():
    point = {k: v.double().requires_grad_() for k, v in _point().items()}
    _loss(point).backward()
    numeric = numerical_gradient(_loss, point)
    for name, tensor in point.items():
        assert relative_error(tensor.grad, numeric[name]) < 1e-7


def test_check_passes_autograd_and_names_a_scaled_gradient():
    point = {k: v.double().requires_grad_() for k, v in _point().items()}
    _loss(point).backward()
    good = check_gradients(_loss, point, {k: v.grad for k, v in point.items()})
    assert good.passed and "agree" in good.verdict()
    bad = check_gradients(_loss, point, {"W": point["W"].grad * 3, "b": -point["b"].grad})
    assert not bad.passed
    assert "3x the numerical one" in bad.verdict() and "wrong sign" in bad.verdict()
    assert "NO" in bad.table()


def test_relative_error_floor_keeps_zero_gradients_quiet():
    assert relative_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert relative_error(torch.tensor([1e-12]), torch.tensor([0.0])) < 1e-3


def test_every_figure_is_labelled():
    axes = [
        plot_loss_curves({"train": [3, 2, 1], "validation": [3.5, 2.5, float("inf")]}, log_scale=True),
        plot_fit(torch.arange(5.0), torch.arange(5.0) * 2, predict=lambda x: 2 * x),
        plot_loss_surface(lambda w, b: (w - 1) ** 2 + (b + 1) ** 2 + 0.1, (-2, 3), (-3, 2),
                          paths={"lr 0.1": [[0, 0], [0.5, -0.5]]}, resolution=20),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert "log" in axes[0].get_ylabel() and axes[0].get_yscale() == "log"
    assert len(axes[0].lines[1].get_xdata()) == 2, "the non-finite point is left out"
