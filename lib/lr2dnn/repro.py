"""Reproducibility: seeding every random number generator, choosing the torch device.

Introduced in the preface; every chapter calls :func:`seed_everything` in its first cells.
"""

from __future__ import annotations

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


def pick_device(prefer: str | None = None):
    """Choose the torch device to compute on: CUDA, then Apple's MPS, then the CPU.

    Parameters
    ----------
    prefer : str, optional
        ``"cuda"``, ``"mps"`` or ``"cpu"`` to ask for one device; it is used if available,
        otherwise a ``ValueError`` says so. By default the best available one is chosen.

    Returns
    -------
    torch.device
        The device chosen.

    Raises
    ------
    ValueError
        If ``prefer`` names an unknown or unavailable device.
    """
    import torch

    available = ["cpu"]
    if torch.backends.mps.is_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if prefer is None:
        return torch.device(available[0])
    if prefer not in ("cuda", "mps", "cpu"):
        raise ValueError(f"prefer must be 'cuda', 'mps', 'cpu' or None, got {prefer!r}")
    if prefer not in available:
        raise ValueError(
            f"prefer asks for device {prefer!r}, but only {available} are available here"
        )
    return torch.device(prefer)
