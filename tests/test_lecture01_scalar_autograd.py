"""utils.scalar_autograd, the tiny engine of lecture 1, against torch as the oracle."""

import math

import matplotlib
import matplotlib.text
import torch
import pytest

from utils.plots import plot_computation_graph
from utils.scalar_autograd import Scalar

matplotlib.use("Agg")
# 40 seeded points in [-3, 3]^3, plus the ReLU's kink side by side
POINTS = (torch.rand(40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 6 - 3).tolist()
POINTS += [[0.0, 1.0, 2.0], [-1e-3, 0.5, -0.5]]


def _expression(a, b, c):
    """Every operation of the engine in one expression (a, b, c: Scalars or float64 tensors)."""
    relu = a.relu() if isinstance(a, Scalar) else torch.relu(a)
    return ((a * b + c).tanh() - 2.0 * relu) ** 2 + 3.0 - b * (1.5 - c) + (-a) * c


@pytest.mark.parametrize("a, b, c", POINTS)
def test_values_and_gradients_match_torch(a, b, c):
    scalars = [Scalar(v) for v in (a, b, c)]
    out = _expression(*scalars)
    out.backward()
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b, c)]
    reference = _expression(*tensors)
    reference.backward()
    assert math.isclose(out.value, reference.item(), rel_tol=1e-12, abs_tol=1e-12)
    for scalar, tensor in zip(scalars, tensors):
        assert math.isclose(scalar.grad, tensor.grad.item(), rel_tol=1e-9, abs_tol=1e-12)


def test_a_value_used_twice_receives_both_gradients():
    x = Scalar(3.0)
    y = x * x + x          # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0


def test_inputs_accumulate_like_torch_intermediates_do_not():
    w = Scalar(2.0)
    hidden = w * 3.0
    out = hidden * hidden    # d out / dw = 2 * 6 * 3 = 36
    out.backward()
    out.backward()
    assert w.grad == 72.0 and hidden.grad == 12.0


def test_graph_lists_parents_first_and_the_drawing_is_labelled():
    a, b = Scalar(1.0, label="a"), Scalar(2.0, label="b")
    loss = (a * b - 1.0) ** 2
    order = loss.graph()
    assert order[-1] is loss and order.index(a) < order.index(loss.parents[0])
    loss.backward()
    ax = plot_computation_graph(loss)
    assert ax.get_title() and ax.get_xlabel()
    boxes = [text for text in ax.texts if not isinstance(text, matplotlib.text.Annotation)]
    assert len(boxes) == len(order)  # one box per node; the arrows are annotations
    assert sum("grad" in box.get_text() for box in boxes) == len(order)
