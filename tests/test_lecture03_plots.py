"""utils.plots as lecture 3 uses it: panels that share contour levels, one colourbar, a marked minimum."""

import matplotlib
import matplotlib.pyplot as plt

from utils.plots import log_levels_between, plot_loss_surface

matplotlib.use("Agg")


def bowl(w, b):
    return (w - 1) ** 2 + 10 * (b + 1) ** 2 + 0.5


def test_shared_levels_no_colourbar_and_a_marked_minimum():
    plt.close("all")
    levels = log_levels_between(0.5, 50, count=12)
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        plot_loss_surface(bowl, (-2, 3), (-3, 1), paths={"path": [[0, 0], [0.5, -0.5]]}, levels=levels,
                          colorbar=False, legend=False, minimum=(1, -1), resolution=20, ax=ax)
    assert len(fig.axes) == 2, "no colourbar axes added"
    assert all(list(ax.collections[0].levels) == list(levels) for ax in axes)
    assert all(ax.get_legend() is None for ax in axes)
    labels = axes[0].get_legend_handles_labels()[1]
    assert labels == ["path", "minimum"]


def test_defaults_still_draw_a_colourbar_and_legend():
    plt.close("all")
    ax = plot_loss_surface(bowl, (-2, 3), (-3, 1), paths={"path": [[0, 0]]}, resolution=20)
    assert len(ax.figure.axes) == 2 and ax.get_legend() is not None
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
