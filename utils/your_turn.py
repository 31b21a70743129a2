"""In-lecture exercises: the assignments' checks, but a lecture keeps running.

A "your turn" exercise in a lecture is three cells: a stub the reader fills
(a function whose body is ``raise NotImplementedError()``), a check cell, and
the solution behind a click (a collapsed ``<details>`` block). The check cell
reads::

    with your_turn("1.1 · the forward-difference error") as ex:
        ex.close("error at h = 0.01", lambda: forward_difference_error(0.01, 18.0), expected=0.09)

``ex`` is a ``utils.checks.exercise``: the same vocabulary, the same
one-line verdicts and named mistakes. Two things differ, because nothing is
graded here: a stub left untouched prints one line instead of stopping
"Run All", and a wrong answer prints its ✗ lines without raising, so the
rest of the lecture still runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from utils.checks import ChecksFailed, NotAttempted, exercise


@contextmanager
def your_turn(title: str) -> Iterator[exercise]:
    """Group the checks of one in-lecture exercise; see the module docstring."""
    try:
        with exercise(title) as ex:
            yield ex
    except NotAttempted:
        print(f"Your turn {title}: not attempted yet. Fill in the cell above, run it, "
              "then run this cell again (the solution is one click below).")
    except ChecksFailed as failed:
        print("\n".join(str(failed).splitlines()[1:]))   # the ✗ lines: what was expected, found, likely
        print("  Not yet: read the ✗ lines above, change your answer and run both cells again.")
