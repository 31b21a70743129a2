"""Diagnoses: say why a numeric answer is wrong, and only when that really is the cause.

A diagnosis is a claim about the student's code, so each one here is made
only when the numbers leave little room for coincidence:

- a named mistake matches when the answer equals that mistake's value at the
  check's inputs (and that value differs from the expected one);
- "scaled by a constant" needs one ratio shared by at least two nonzero
  numbers, or a lone number off by a clean factor (−1, an integer k ≥ 2 or
  1/k); a ratio that would print as "1×" is never a diagnosis;
- shapes: transposed, or the right numbers in the wrong shape.

``lint_spec`` is the authoring side: it rejects named mistakes that could
never be told apart from the expected value or from each other.
"""

from __future__ import annotations

import math
from typing import Any

MISTAKE_RTOL, MISTAKE_ATOL = 1e-4, 1e-6   # how close an answer must be to a mistake's value, at least
CLEAN_FACTOR_RTOL = 1e-6                  # a lone number's ratio must be this close to k or 1/k
LARGEST_CLEAN_FACTOR = 100_000
NOT_ONE = 0.05                            # a shared ratio within 5% of 1 is a near miss, not a factor


def _close(a, b, rtol: float, atol: float) -> bool:
    import numpy as np
    with np.errstate(all="ignore"):
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def match_mistake(values, expected, mistakes: Any, rtol: float, atol: float) -> str | None:
    """The label of the first named mistake whose value ``values`` equals (within the looser of the
    check's tolerance and ``MISTAKE_RTOL``/``MISTAKE_ATOL``), skipping mistakes indistinguishable
    from ``expected``."""
    from utils.answers import validate_plain
    from utils.judge import as_array
    if not isinstance(mistakes, dict):
        return None
    loose_rtol, loose_atol = max(rtol, MISTAKE_RTOL), max(atol, MISTAKE_ATOL)
    for label, wrong in mistakes.items():
        try:
            wrong_values = as_array(validate_plain(wrong))
        except ValueError:
            continue
        if wrong_values is None or _close(wrong_values, expected, loose_rtol, loose_atol):
            continue
        if _close(values, wrong_values, loose_rtol, loose_atol):
            return str(label)
    return None


def _clean_factor(ratio: float) -> str | None:
    """"2× too large", "3× too small" or "the sign is flipped" when ``ratio`` is −1, k or 1/k for an integer k ≥ 2."""
    if abs(ratio + 1) <= CLEAN_FACTOR_RTOL:
        return "the sign is flipped"
    for value, word in ((abs(ratio), "large"), (1 / abs(ratio), "small")):
        k = round(value)
        if 2 <= k <= LARGEST_CLEAN_FACTOR and abs(value - k) <= CLEAN_FACTOR_RTOL * k:
            sign = "the sign is flipped and it is " if ratio < 0 else ""
            return f"{sign}{k}× too {word}"
    return None


def shared_ratio(values, expected) -> tuple[float, int] | None:
    """(found / expected, how many numbers share it) when the ratio is the same wherever expected is
    nonzero and found is zero wherever expected is; else None."""
    import numpy as np
    mask = np.abs(expected) > 1e-12
    if not mask.any() or not np.all(np.isfinite(values)) or not np.all(np.isfinite(expected)):
        return None
    if np.any(np.abs(values[~mask]) > 1e-9):
        return None
    with np.errstate(all="ignore"):
        ratios = values[mask] / expected[mask]
    if not np.all(np.isfinite(ratios)) or np.ptp(ratios) > 1e-4 * max(1.0, float(np.abs(ratios).max())):
        return None
    ratio = float(ratios.mean())
    if ratio == 0:
        return None
    return ratio, int(mask.sum())


def constant_factor(values, expected) -> tuple[str, str] | None:
    """(text, mistake) when the answer is the expected value times one constant, told honestly."""
    shared = shared_ratio(values, expected)
    if shared is None:
        return None
    ratio, count = shared
    clean = _clean_factor(ratio)
    if clean == "the sign is flipped":
        return clean, "sign flipped"
    if clean:
        return clean, "scaled by a constant"
    if count < 2 or abs(math.log(abs(ratio))) < math.log1p(NOT_ONE):
        return None  # a lone number, or a ratio near 1: no evidence of a constant factor
    size = f"{abs(ratio):.3g}× too large" if abs(ratio) > 1 else f"{1 / abs(ratio):.3g}× too small"
    if ratio < 0:
        return f"the sign is flipped and it is {size}", "scaled by a constant"
    return f"every number is {size}", "scaled by a constant"


def near_miss(values, expected) -> str:
    """" (0.5% off)" for a lone number within 10% of a nonzero expected value, else ""."""
    import numpy as np
    if values.size != 1 or not np.all(np.isfinite(values)) or not np.all(np.isfinite(expected)):
        return ""
    want, got = float(expected.reshape(-1)[0]), float(values.reshape(-1)[0])
    if want == 0 or abs(got - want) / abs(want) > 0.1:
        return ""
    return f" ({abs(got - want) / abs(want):.2g} relative difference)"


def shape_mistake(values, expected):
    """The verdict for an answer whose shape differs from the expected one."""
    import numpy as np

    from utils.judge import Verdict
    if values.size == expected.size:
        if values.ndim == 2 and expected.ndim == 2 and values.shape == expected.T.shape:
            return Verdict(False, f"expected shape {expected.shape}, found {values.shape}: transposed?",
                           "transposed")
        with np.errstate(all="ignore"):
            same = np.allclose(values.reshape(expected.shape), expected, rtol=1e-4, atol=1e-6)
        if same:
            return Verdict(False, f"right numbers, wrong shape: expected {expected.shape}, found "
                                  f"{values.shape} (reshape, or check for an extra dimension).", "wrong shape")
    return Verdict(False, f"expected shape {expected.shape}, found {values.shape}.", "wrong shape")


# ---------------------------------------------------------------------------
# Authoring lint

def lint_spec(kind: str, spec: dict) -> list[str]:
    """Named mistakes of one recorded check that can never be diagnosed honestly: a mistake whose
    value passes the check (it equals the expected value), or two mistakes with the same value."""
    from utils.judge import _tolerances, judge
    mistakes = spec.get("mistakes") if isinstance(spec, dict) else None
    if kind not in ("close", "equal") or not isinstance(mistakes, dict):
        return []
    problems = []
    plain_spec = {k: v for k, v in spec.items() if k not in ("mistakes", "hint", "kind", "dtype", "device")}
    if kind == "close":  # mistakes are matched with a looser tolerance than the answer
        rtol, atol = _tolerances(spec.get("expected"), spec)
        plain_spec.update(rtol=max(rtol, MISTAKE_RTOL), atol=max(atol, MISTAKE_ATOL))
    for label, value in mistakes.items():
        if judge(kind, value, plain_spec).passed:
            problems.append(f"the mistake {label!r} gives the expected value")
    labels = list(mistakes)
    for i, first in enumerate(labels):
        for second in labels[i + 1:]:
            if judge(kind, mistakes[second], {**plain_spec, "expected": mistakes[first]}).passed:
                problems.append(f"the mistakes {first!r} and {second!r} give the same value")
    return problems
