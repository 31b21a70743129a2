"""Check analytic gradients against centred finite differences.

The numerical gradient of a loss L with respect to one number p is

    (L(p + eps) - L(p - eps)) / (2 eps)

computed in float64, where the rounding error of the two loss values is
small enough for eps around 1e-6. Agreement is measured by the relative error
``|a - n| / max(floor, |a| + |n|)``: the floor stops a gradient that is zero
in both from looking like a large relative error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch


def numerical_gradient(loss: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                       params: Mapping[str, torch.Tensor], eps: float = 1e-6) -> dict[str, torch.Tensor]:
    """Centred finite-difference gradient of ``loss`` for every element of every parameter.

    Args:
        loss: takes a dict of float64 tensors shaped like ``params`` and
            returns a scalar tensor or float.
        params: the point to differentiate at, name -> tensor of any shape.
        eps: the step, in the parameters' own units.

    Returns:
        name -> float64 CPU tensor with the shape of that parameter.
    """
    point = {name: p.detach().to("cpu", torch.float64).clone() for name, p in params.items()}
    grads = {}
    for name, tensor in point.items():
        grad = torch.zeros_like(tensor)
        flat, flat_grad = tensor.view(-1), grad.view(-1)
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            above = float(loss(point))
            flat[i] = original - eps
            below = float(loss(point))
            flat[i] = original
            flat_grad[i] = (above - below) / (2 * eps)
        grads[name] = grad
    return grads


def relative_error(analytic: torch.Tensor, numeric: torch.Tensor, floor: float = 1e-8) -> float:
    """Largest elementwise ``|a - n| / max(floor, |a| + |n|)``, a number in [0, 1]."""
    a = analytic.detach().to("cpu", torch.float64).reshape(-1)
    n = numeric.detach().to("cpu", torch.float64).reshape(-1)
    errors = (a - n).abs() / torch.clamp(a.abs() + n.abs(), min=floor)
    return float(errors.max()) if errors.numel() else 0.0


@dataclass
class GradientCheck:
    """The outcome of ``check_gradients``: one row per parameter and a verdict."""

    rows: list[dict]
    tolerance: float

    @property
    def passed(self) -> bool:
        return all(row["relative_error"] <= self.tolerance for row in self.rows)

    def verdict(self) -> str:
        failing = [row for row in self.rows if row["relative_error"] > self.tolerance]
        if not failing:
            return f"All {len(self.rows)} gradients agree with finite differences."
        lines = []
        for row in failing:
            line = f"{row['name']}: the analytic gradient disagrees (relative error {row['relative_error']:.2g})"
            ratio = row["ratio"]
            if ratio is not None and abs(ratio + 1) < 0.02:
                line += "; it has the wrong sign"
            elif ratio is not None and abs(ratio - 1) > 0.02:
                line += f"; it is {ratio:.3g}x the numerical one"
            lines.append(line + ".")
        return "\n".join(lines)

    def table(self) -> str:
        header = f"{'parameter':<12}{'analytic':>14}{'numerical':>14}{'rel. error':>12}  ok"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            ok = "yes" if row["relative_error"] <= self.tolerance else "NO"
            lines.append(f"{row['name']:<12}{row['analytic_first']:>14.6g}{row['numeric_first']:>14.6g}"
                         f"{row['relative_error']:>12.2e}  {ok}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.table()}\n{self.verdict()}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def _consistent_ratio(analytic: torch.Tensor, numeric: torch.Tensor) -> float | None:
    """analytic / numeric when that ratio is the same for every element, else None."""
    mask = numeric.abs() > 1e-9
    if not mask.any():
        return None
    ratios = analytic[mask] / numeric[mask]
    if (ratios.max() - ratios.min()).abs() <= 1e-3 * ratios.abs().max():
        return float(ratios.mean())
    return None


def check_gradients(loss: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                    params: Mapping[str, torch.Tensor], analytic: Mapping[str, torch.Tensor],
                    eps: float = 1e-6, tolerance: float = 1e-6) -> GradientCheck:
    """Compare ``analytic`` gradients with centred finite differences of ``loss``.

    Args:
        loss: as in ``numerical_gradient``.
        params: name -> tensor, the point where ``analytic`` was computed.
        analytic: name -> gradient tensor with the same shape as the parameter.
        tolerance: largest relative error that counts as agreement.

    Returns:
        A ``GradientCheck``; print it for a table and a verdict.
    """
    numeric = numerical_gradient(loss, params, eps)
    rows = []
    for name, grad in numeric.items():
        a = torch.as_tensor(analytic[name]).detach().to("cpu", torch.float64).reshape(grad.shape)
        rows.append({
            "name": name,
            "analytic_first": float(a.reshape(-1)[0]),
            "numeric_first": float(grad.reshape(-1)[0]),
            "relative_error": relative_error(a, grad),
            "ratio": _consistent_ratio(a.reshape(-1), grad.reshape(-1)),
        })
    return GradientCheck(rows, tolerance)
