"""Reproducibility: seeding every random number generator, choosing the torch device.

Introduced in the preface; every chapter calls :func:`seed_everything` in its first cells.
Chapter 8 chooses its device with :func:`pick_device`.
"""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and (if installed) PyTorch's random number generators.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        A fresh NumPy generator seeded with ``seed``, for code that prefers an explicit
        generator to the global state.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If ``seed`` is negative or does not fit in 32 bits (NumPy's legacy seeding limit).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


DEVICE_VARIABLE = "LR2DNN_DEVICE"
"""The environment variable that, when set, decides what :func:`pick_device` returns."""

_DEVICES = ("cuda", "mps", "cpu")


def pick_device(prefer: str | None = None):
    """Choose the torch device to compute on: CUDA, then Apple's MPS, then the CPU.

    Introduced in chapter 8. Without arguments the best available device is chosen, unless
    the environment variable ``LR2DNN_DEVICE`` is set: then its value is used instead of
    looking, so that a reader (or a test) can force one device for every call, for example
    ``LR2DNN_DEVICE=cpu`` on a machine with a GPU. Besides ``"cuda"``, ``"mps"`` and
    ``"cpu"`` it accepts ``"meta"``, PyTorch's device that records shapes but computes no
    numbers: the course's tests use it to show that no printed result of a chapter was
    computed on the chosen device. An empty value counts as unset. An explicit ``prefer``
    argument is a request by the caller and wins over the variable.

    Parameters
    ----------
    prefer : str, optional
        ``"cuda"``, ``"mps"`` or ``"cpu"`` to ask for one device; it is used if available,
        otherwise a ``ValueError`` says so. By default the best available one is chosen
        (or the one ``LR2DNN_DEVICE`` names).

    Returns
    -------
    torch.device
        The device chosen.

    Raises
    ------
    ValueError
        If ``prefer`` or ``LR2DNN_DEVICE`` names an unknown or unavailable device.

    Examples
    --------
    >>> import os
    >>> os.environ["LR2DNN_DEVICE"] = "meta"
    >>> pick_device()
    device(type='meta')
    >>> pick_device("cpu")
    device(type='cpu')
    >>> del os.environ["LR2DNN_DEVICE"]
    """
    import torch

    available = ["cpu"]
    if torch.backends.mps.is_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if prefer is None:
        forced = os.environ.get(DEVICE_VARIABLE, "").strip()
        if not forced:
            return torch.device(available[0])
        if forced not in _DEVICES + ("meta",):
            raise ValueError(
                f"the environment variable {DEVICE_VARIABLE} must be 'cuda', 'mps', 'cpu', "
                f"'meta' or empty, got {forced!r}"
            )
        if forced != "meta" and forced not in available:
            raise ValueError(
                f"the environment variable {DEVICE_VARIABLE} asks for device {forced!r}, "
                f"but only {available} are available here"
            )
        return torch.device(forced)
    if prefer not in _DEVICES:
        raise ValueError(f"prefer must be 'cuda', 'mps', 'cpu' or None, got {prefer!r}")
    if prefer not in available:
        raise ValueError(
            f"prefer asks for device {prefer!r}, but only {available} are available here"
        )
    return torch.device(prefer)
