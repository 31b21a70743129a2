"""The course's data sets: tiny, embedded or generated from a seed, never downloaded.

Every function returns float32 tensors on the CPU; move them with ``.to(device)``.
"""

from __future__ import annotations

import torch

# Eleven readings of the same moments: a thermometer in degrees Celsius and
# an instrument in unknown units. The fit in lecture 2 discovers the relation.
_CELSIUS = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
_UNKNOWN = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]

# "Will I pass?": the most lectures a student can attend in a term
# (13 weeks, 2 a week) and the hours a final project is planned for.
MAX_LECTURES = 26
PLANNED_PROJECT_HOURS = 40.0


def temperature_readings() -> tuple[torch.Tensor, torch.Tensor]:
    """The 11 paired readings ``(t_c, t_u)``.

    Returns:
        t_c: shape (11,), degrees Celsius.
        t_u: shape (11,), the instrument's unknown units.
    """
    return torch.tensor(_CELSIUS), torch.tensor(_UNKNOWN)


def noisy_line(slope: float = 3.0, noise_std: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on ``y = slope * x`` plus Gaussian noise, x from 0 to 9.9 in steps of 0.1.

    Returns:
        x: shape (100, 1).
        y: shape (100, 1), ``slope * x + noise`` with ``noise ~ N(0, noise_std²)``.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.arange(0, 10, 0.1, dtype=torch.float32)[:, None]
    noise = torch.randn(x.shape, generator=generator) * noise_std
    return x, slope * x + noise


def noisy_sine(n: int = 50, noise_std: float = 0.2, x_min: float = -10.0,
               x_max: float = 10.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` evenly spaced points of ``sin(0.5 x)`` plus Gaussian noise.

    Returns:
        x: shape (n, 1), from ``x_min`` to ``x_max``.
        y: shape (n, 1), ``sin(0.5 x) + noise`` with ``noise ~ N(0, noise_std²)``.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.linspace(x_min, x_max, n, dtype=torch.float32)[:, None]
    noise = torch.randn(x.shape, generator=generator) * noise_std
    return x, torch.sin(0.5 * x) + noise


def will_i_pass(n: int = 200, label_noise: float = 0.05, pass_line: float = 1.0,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Students described by two features, and whether they passed.

    The rule: a student passes when
    ``lectures / 26 + hours / 40 > pass_line``, so with the default line,
    attending every lecture makes up for a project nobody worked on, and
    half of each is just enough. Then each label is flipped with probability
    ``label_noise``: real grades are not a clean function of two numbers.
    Raise ``pass_line`` (to 1.8, say) for an imbalanced set where under a
    fifth of the students pass.

    Returns:
        X: shape (n, 2), float32; column 0 is lectures attended (whole
           numbers 0 to 26), column 1 is hours spent on the final project
           (0 to 60, uniform).
        y: shape (n,), float32, 1.0 for pass and 0.0 for fail.
    """
    generator = torch.Generator().manual_seed(seed)
    lectures = torch.randint(0, MAX_LECTURES + 1, (n,), generator=generator).float()
    hours = torch.rand(n, generator=generator) * 1.5 * PLANNED_PROJECT_HOURS
    score = lectures / MAX_LECTURES + hours / PLANNED_PROJECT_HOURS
    passed = score > pass_line
    flipped = torch.rand(n, generator=generator) < label_noise
    y = (passed ^ flipped).float()
    return torch.stack([lectures, hours], dim=1), y
