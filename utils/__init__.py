"""Small helpers shared by every notebook of the course.

Each module owns one idea:

- ``utils.device``    which device to compute on (CUDA, MPS or CPU)
- ``utils.seeding``   one call that makes every random number repeatable
- ``utils.data``      the course's tiny data sets, embedded or generated
- ``utils.plots``     labelled figures: loss curves, fits, loss surfaces
- ``utils.gradcheck`` compare analytic gradients with finite differences
- ``utils.checks``    the checks behind every exercise (the student-facing API), built on
  ``utils.answers`` (answers as plain data), ``utils.judge`` (verdicts) and
  ``utils.diagnose`` (why an answer is wrong)
- ``utils.your_turn`` the same checks for in-lecture exercises, which never stop a lecture
- ``utils.scalar_autograd`` a tiny autograd engine for single numbers (lecture 1)
- ``utils.interactive`` a slider in JupyterLab, a static figure in headless runs

The first two give ``from utils import pick_device, set_seed, seeded_generator``,
loaded on first use, so ``import utils.checks`` does not import torch (the
grader judges answers without it); import the others by name
(``from utils.plots import plot_loss_curves``).
No exercise solution lives in this package: students have it.
"""

__all__ = ["pick_device", "set_seed", "seeded_generator"]


def __getattr__(name: str):
    if name == "pick_device":
        from utils.device import pick_device
        return pick_device
    if name in ("set_seed", "seeded_generator"):
        from utils import seeding
        return getattr(seeding, name)
    raise AttributeError(f"module 'utils' has no attribute {name!r}")
