"""Small helpers shared by every notebook of the course.

Each module owns one idea:

- ``utils.device``    which device to compute on (CUDA, MPS or CPU)
- ``utils.seeding``   one call that makes every random number repeatable
- ``utils.data``      the course's tiny data sets, embedded or generated
- ``utils.plots``     labelled figures: loss curves, fits, loss surfaces
- ``utils.gradcheck`` compare analytic gradients with finite differences
- ``utils.checks``    the checks behind every exercise

Only the first two are imported here, so ``import utils`` stays fast;
import the others by name (``from utils.plots import plot_loss_curves``).
No exercise solution lives in this package: students have it.
"""

from utils.device import pick_device
from utils.seeding import seeded_generator, set_seed

__all__ = ["pick_device", "set_seed", "seeded_generator"]
