"""Make random numbers repeatable, so every printed number in a notebook is stable."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds all CUDA devices


def seeded_generator(seed: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` for ``DataLoader(generator=...)`` and ``random_split``.

    Passing a generator makes the shuffling order depend on this seed alone,
    not on how many random numbers other cells drew before.
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
