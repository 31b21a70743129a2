"""Labelled figures the lectures reuse: loss curves, a fitted model over its data,
and a loss surface with the path gradient descent took across it.

Every function draws on a matplotlib ``Axes`` (a new figure when ``ax`` is
None) and returns that ``Axes``, so a notebook can add to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def to_numpy(values) -> np.ndarray:
    """A tensor (any device, with or without grad), array or list as a NumPy array."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _new_axes(ax, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_loss_curves(curves: Mapping[str, Sequence[float]], *, log_scale: bool = False,
                     title: str = "Loss during training", xlabel: str = "epoch",
                     ylabel: str = "loss", ax=None):
    """One line per named curve, e.g. ``{"train": [...], "validation": [...]}``.

    ``log_scale`` puts the loss axis on a log scale, where a loss falling
    steadily by a constant factor is a straight line. Non-finite values
    (a diverged run) are dropped from the line, not plotted as spikes.
    """
    ax = _new_axes(ax)
    for label, values in curves.items():
        y = to_numpy(values).astype(float)
        x = np.arange(1, len(y) + 1)
        finite = np.isfinite(y)
        ax.plot(x[finite], y[finite], label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel + (" (log scale)" if log_scale else ""))
    if len(curves) > 1:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def plot_fit(x, y, predict: Callable | None = None, *, title: str = "Data and fitted model",
             xlabel: str = "x", ylabel: str = "y", data_label: str = "data",
             model_label: str = "model", ax=None):
    """Scatter the data ``(x, y)`` (1-D or shape (N, 1)) and draw ``predict`` over it.

    ``predict`` maps a float32 tensor of shape (200,) of evenly spaced x
    values to predictions of the same length; it runs under ``torch.no_grad``.
    """
    ax = _new_axes(ax)
    x_np, y_np = to_numpy(x).reshape(-1), to_numpy(y).reshape(-1)
    ax.plot(x_np, y_np, "o", label=data_label)
    if predict is not None:
        grid = torch.linspace(float(x_np.min()), float(x_np.max()), 200)
        with torch.no_grad():
            y_grid = to_numpy(predict(grid)).reshape(-1)
        ax.plot(grid.numpy(), y_grid, "-", label=model_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def plot_loss_surface(loss: Callable[[float, float], float], w_range: tuple[float, float],
                      b_range: tuple[float, float], *, paths: Mapping[str, Sequence] | None = None,
                      resolution: int = 100, log_levels: bool = True,
                      title: str = "Loss surface", xlabel: str = "w", ylabel: str = "b", ax=None):
    """Contours of ``loss(w, b)`` over a grid, with descent paths drawn on top.

    ``paths`` maps a label to a sequence of ``(w, b)`` points, shape (steps, 2),
    such as the parameters after each step of gradient descent. Points
    outside the ranges are clipped by the axes, so a diverging path runs off
    the picture rather than rescaling it.
    """
    ax = _new_axes(ax)
    ws = np.linspace(*w_range, resolution)
    bs = np.linspace(*b_range, resolution)
    grid = np.array([[loss(w, b) for w in ws] for b in bs])
    if log_levels:
        low, high = np.log10(max(grid.min(), 1e-12)), np.log10(grid.max())
        levels = np.logspace(low, high, 20)
    else:
        levels = 20
    contours = ax.contour(ws, bs, grid, levels=levels, cmap="viridis", linewidths=0.8)
    plt.colorbar(contours, ax=ax, label="loss")
    for label, points in (paths or {}).items():
        points = to_numpy(points).reshape(-1, 2)
        ax.plot(points[:, 0], points[:, 1], ".-", label=label, markersize=4)
        ax.plot(points[0, 0], points[0, 1], "ko", markersize=5)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=w_range, ylim=b_range)
    if paths:
        ax.legend(loc="upper right", fontsize="small")
    return ax
