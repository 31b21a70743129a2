"""A scalar autograd engine small enough to read in one sitting.

Every ``Scalar`` remembers the numbers it was computed from and how to pass
a gradient back to them. ``loss.backward()`` orders the graph so that each
node comes after everything computed from it, sets ``d loss / d loss = 1``
and applies the chain rule node by node, from the loss back to the inputs:
that is backpropagation, and it is what ``torch.Tensor.backward`` does for
tensors. The tests check every operation against torch.
"""

from __future__ import annotations

import math


class Scalar:
    """One number of a computation.

    Attributes:
        value: the number (float).
        grad: d(output)/d(this number), filled by ``output.backward()``; 0 before.
        parents: the Scalars this one was computed from (empty for an input).
        op: the operation that made it, e.g. ``"*"`` or ``"tanh"`` (``""`` for an input).
        label: a name for printing and drawing, e.g. ``"w1"``.
    """

    def __init__(self, value: float, parents: tuple[Scalar, ...] = (), op: str = "", label: str = ""):
        self.value = float(value)
        self.grad = 0.0
        self.parents = parents
        self.op = op
        self.label = label
        self._pass_back = lambda: None  # adds this node's grad, times local slopes, to its parents' grads

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Scalar({name}{self.value:.4g}, grad={self.grad:.4g})"

    # -- operations: the forward value, and right next to it, the local slopes --

    def __add__(self, other: Scalar | float) -> Scalar:
        other = _as_scalar(other)
        out = Scalar(self.value + other.value, (self, other), "+")

        def pass_back():
            self.grad += out.grad          # d(a+b)/da = 1
            other.grad += out.grad         # d(a+b)/db = 1
        out._pass_back = pass_back
        return out

    def __mul__(self, other: Scalar | float) -> Scalar:
        other = _as_scalar(other)
        out = Scalar(self.value * other.value, (self, other), "*")

        def pass_back():
            self.grad += other.value * out.grad   # d(ab)/da = b
            other.grad += self.value * out.grad   # d(ab)/db = a
        out._pass_back = pass_back
        return out

    def __pow__(self, power: float) -> Scalar:
        out = Scalar(self.value ** power, (self,), f"**{power:g}")

        def pass_back():
            self.grad += power * self.value ** (power - 1) * out.grad
        out._pass_back = pass_back
        return out

    def tanh(self) -> Scalar:
        t = math.tanh(self.value)
        out = Scalar(t, (self,), "tanh")

        def pass_back():
            self.grad += (1 - t * t) * out.grad
        out._pass_back = pass_back
        return out

    def relu(self) -> Scalar:
        out = Scalar(max(0.0, self.value), (self,), "relu")

        def pass_back():
            self.grad += (1.0 if self.value > 0 else 0.0) * out.grad
        out._pass_back = pass_back
        return out

    def __neg__(self) -> Scalar:
        return self * -1.0

    def __sub__(self, other: Scalar | float) -> Scalar:
        other = _as_scalar(other)
        out = Scalar(self.value - other.value, (self, other), "-")

        def pass_back():
            self.grad += out.grad          # d(a-b)/da = 1
            other.grad -= out.grad         # d(a-b)/db = -1
        out._pass_back = pass_back
        return out

    def __radd__(self, other: float) -> Scalar:
        return self + other

    def __rmul__(self, other: float) -> Scalar:
        return self * other

    def __rsub__(self, other: float) -> Scalar:
        return _as_scalar(other) - self

    # -- backpropagation --

    def backward(self) -> None:
        """Add d(self)/d(input) to the ``.grad`` of every input this one depends on.

        Like torch, inputs (Scalars with no parents) *accumulate*: a second
        ``backward()`` adds to their ``.grad``. Intermediate results start from 0.
        """
        for node in self.graph():
            if node.parents:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(self.graph()):   # from the output back to the inputs
            node._pass_back()

    def graph(self) -> list[Scalar]:
        """Every Scalar this one was computed from, itself last, each after all its parents."""
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)
        visit(self)
        return order


def _as_scalar(x: Scalar | float) -> Scalar:
    return x if isinstance(x, Scalar) else Scalar(x)
