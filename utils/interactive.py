"""A slider where a browser draws widgets, the same figure for a few fixed values where none does.

``slider_or_static(draw, values=[...], static=[...])`` calls ``draw(value, ax)``
from an ``ipywidgets`` slider in JupyterLab. Headless runs (CI, ``make site``,
the grader) set ``COURSE_PLAIN_PROGRESS=1`` (see ``utils.progress``): there a
slider would be an empty box, so one figure with a panel per ``static`` value
is drawn instead, and the executed notebook still shows what the text says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt

from utils.progress import plain


def widgets_drawn() -> bool:
    """True where a widget frontend is expected (not a headless run) and ipywidgets is installed."""
    if plain():
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def slider_or_static(draw: Callable[[float, plt.Axes], None], *, values: Sequence[float],
                     static: Sequence[float], name: str = "lr", title: str = "",
                     panel_size: tuple[float, float] = (4.5, 3.6)):
    """An ``ipywidgets`` selection slider over ``values`` calling ``draw(value, ax)``, or, headless,
    one figure with a panel per value in ``static`` (each panel drawn by ``draw``)."""
    if widgets_drawn():
        import ipywidgets

        def redraw(value):
            fig, ax = plt.subplots(figsize=(panel_size[0] * 1.4, panel_size[1] * 1.4))
            draw(value, ax)
            if title:
                fig.suptitle(title)
            plt.show()
        return ipywidgets.interact(redraw, value=ipywidgets.SelectionSlider(options=list(values),
                                                                           value=static[0], description=name))
    fig, axes = plt.subplots(1, len(static), figsize=(panel_size[0] * len(static), panel_size[1]),
                             constrained_layout=True, squeeze=False)
    for value, ax in zip(static, axes.flat):
        draw(value, ax)
    if title:
        fig.suptitle(title + " (headless: fixed values instead of a slider)")
    plt.show()
    return None
