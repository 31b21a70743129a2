"""Progress bars for training loops: a widget in JupyterLab, plain text where no browser draws it.

``progress(range(epochs), desc="training")`` is ``tqdm.auto.tqdm``: in
JupyterLab a widget bar. A notebook executed headless (CI, ``make site``, the
grader) has no browser to draw a widget, so those runs set
``COURSE_PLAIN_PROGRESS=1`` and get tqdm's plain text bar instead, which reads
the same in a log, a rendered page or an executed notebook.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

PLAIN_ENV_VAR = "COURSE_PLAIN_PROGRESS"


def plain() -> bool:
    """True where progress bars should be plain text (``COURSE_PLAIN_PROGRESS=1``)."""
    return os.environ.get(PLAIN_ENV_VAR) == "1"


def progress(iterable: Iterable, **options):
    """Wrap ``iterable`` in a progress bar; ``options`` are tqdm's (``desc``, ``unit``, ``leave``...)."""
    if plain():
        from tqdm.std import tqdm
        return tqdm(iterable, ascii=True, **options)
    from tqdm.auto import tqdm
    return tqdm(iterable, **options)
