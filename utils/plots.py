"""Labelled figures the lectures reuse: loss curves, a fitted model over its data,
a loss surface with the path gradient descent took across it, and a
computation graph with the values and gradients at every node.

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


def log_levels_between(low: float, high: float, count: int = 20) -> np.ndarray:
    """``count`` contour levels spaced evenly on a log scale from ``low`` to ``high`` (both > 0),
    so several panels can share one set of levels and one colourbar."""
    return np.logspace(np.log10(max(low, 1e-12)), np.log10(high), count)


def loss_contours(loss: Callable[[float, float], float], w_range: tuple[float, float],
                  b_range: tuple[float, float], *, levels=20, resolution: int = 100, ax=None):
    """Contour lines of ``loss(w, b)`` over a ``resolution`` × ``resolution`` grid; returns the ContourSet
    (pass it to ``fig.colorbar``). ``levels`` is a count or the level values themselves."""
    ax = _new_axes(ax)
    ws = np.linspace(*w_range, resolution)
    bs = np.linspace(*b_range, resolution)
    grid = np.array([[loss(w, b) for w in ws] for b in bs])
    return ax.contour(ws, bs, grid, levels=levels, cmap="viridis", linewidths=0.8)


def plot_loss_surface(loss: Callable[[float, float], float], w_range: tuple[float, float],
                      b_range: tuple[float, float], *, paths: Mapping[str, Sequence] | None = None,
                      resolution: int = 100, log_levels: bool = True,
                      title: str = "Loss surface", xlabel: str = "w", ylabel: str = "b", ax=None,
                      levels=None, colorbar: bool = True, minimum: Sequence[float] | None = None,
                      legend: bool = True):
    """Contours of ``loss(w, b)`` over a grid, with descent paths drawn on top.

    ``paths`` maps a label to a sequence of ``(w, b)`` points, shape (steps, 2),
    such as the parameters after each step of gradient descent; a black dot
    marks where each starts. Points outside the ranges are clipped by the
    axes, so a diverging path runs off the picture rather than rescaling it.
    ``minimum`` = ``(w*, b*)`` is marked with a star. For several panels that
    share one colourbar, pass the same ``levels`` (e.g. ``log_levels_between``)
    with ``colorbar=False``, and one ``legend`` for the figure.
    """
    ax = _new_axes(ax)
    if levels is None and log_levels:
        ws = np.linspace(*w_range, resolution)
        bs = np.linspace(*b_range, resolution)
        grid = np.array([[loss(w, b) for w in ws] for b in bs])
        levels = log_levels_between(grid.min(), grid.max())
    contours = loss_contours(loss, w_range, b_range, levels=20 if levels is None else levels,
                             resolution=resolution, ax=ax)
    if colorbar:
        plt.colorbar(contours, ax=ax, label="loss")
    for label, points in (paths or {}).items():
        points = to_numpy(points).reshape(-1, 2)
        ax.plot(points[:, 0], points[:, 1], ".-", label=label, markersize=4)
        ax.plot(points[0, 0], points[0, 1], "ko", markersize=5)
    if minimum is not None:
        ax.plot(*minimum, "*", color="red", markersize=14, markeredgecolor="black", label="minimum", zorder=5)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=w_range, ylim=b_range)
    if legend and (paths or minimum is not None):
        ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_computation_graph(output, *, title: str = "Computation graph", ax=None):
    """Draw the graph of ``output`` (a ``utils.scalar_autograd.Scalar``), inputs on the left.

    Each node shows its name or operation, its value and, once
    ``output.backward()`` has run, its gradient d(output)/d(node). Arrows
    follow the forward computation; backpropagation walks them right to left.
    """
    nodes = output.graph()
    depth = {}
    for node in nodes:  # parents come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    for node in reversed(nodes):  # an input sits just left of the first node that uses it
        children = [depth[id(c)] for c in nodes if any(p is node for p in c.parents)]
        if not node.parents and children:
            depth[id(node)] = min(children) - 1
    columns: dict[int, list] = {}
    for node in nodes:
        columns.setdefault(depth[id(node)], []).append(node)
    place = {}
    for column, members in columns.items():
        for row, node in enumerate(members):
            place[id(node)] = (column, (len(members) - 1) / 2 - row)
    ax = _new_axes(ax, figsize=(1.9 * len(columns) + 1, 1.3 * max(len(m) for m in columns.values()) + 1.5))
    for node in nodes:
        for parent in node.parents:
            ax.annotate("", xy=place[id(node)], xytext=place[id(parent)],
                        arrowprops={"arrowstyle": "->", "color": "gray", "shrinkA": 24, "shrinkB": 24})
    for node in nodes:
        name = node.label or node.op or f"{node.value:g}"
        is_input = not node.parents
        ax.text(*place[id(node)], f"{name}\n{node.value:.3g}\ngrad {node.grad:.3g}", ha="center", va="center",
                fontsize=8, bbox={"boxstyle": "round", "facecolor": "lightyellow" if is_input else "lightblue"})
    ax.set(title=title, xlabel="forward: inputs → loss        backward: gradients flow ←", ylabel="",
           xlim=(-0.6, len(columns) - 0.4),
           ylim=(-max(len(m) for m in columns.values()) / 2 - 0.2, max(len(m) for m in columns.values()) / 2 + 0.2))
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
