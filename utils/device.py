"""Pick the device to compute on: CUDA, then Apple's MPS, then the CPU.

Set the environment variable ``COURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``,
``mps``) to override the choice, for example to run a notebook on the CPU of
a machine that has a GPU.
"""

from __future__ import annotations

import os

import torch

DEVICE_ENV_VAR = "COURSE_DEVICE"

_announced: set[str] = set()


def _is_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        index = device.index or 0
        return torch.cuda.is_available() and index < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return False


def pick_device(verbose: bool = True) -> torch.device:
    """Return the best available ``torch.device``, honouring ``COURSE_DEVICE``.

    The first call in a process prints which device was picked and why;
    later calls stay quiet. Raises ``RuntimeError`` when ``COURSE_DEVICE``
    names a device this machine does not have.
    """
    requested = os.environ.get(DEVICE_ENV_VAR, "").strip().lower()
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as error:
            raise RuntimeError(
                f"{DEVICE_ENV_VAR}={requested!r} is not a device name "
                "(try 'cpu', 'cuda' or 'mps')"
            ) from error
        if not _is_available(device):
            raise RuntimeError(
                f"{DEVICE_ENV_VAR}={requested!r} asks for a device this machine "
                "does not have; unset it to let the course pick one"
            )
        reason = f"set by {DEVICE_ENV_VAR}"
    elif torch.cuda.is_available():
        device, reason = torch.device("cuda"), "a CUDA GPU is available"
    elif torch.backends.mps.is_available():
        device, reason = torch.device("mps"), "Apple's MPS is available"
    else:
        device, reason = torch.device("cpu"), "no GPU found"

    if verbose and str(device) not in _announced:
        _announced.add(str(device))
        print(f"Computing on {device} ({reason}).")
    return device
