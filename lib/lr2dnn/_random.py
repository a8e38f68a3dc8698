"""Turning a seed or a generator argument into a NumPy generator (no global state).

Used by the public functions that draw random numbers (chapters 2 and 3 onwards).
"""

from __future__ import annotations

import numpy as np


def as_generator(rng: np.random.Generator | int | None, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` as a :class:`numpy.random.Generator`.

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
        A generator is returned as it is (and so advances as it is used); a non-negative
        int is a seed for a new generator; ``None`` gives a new generator seeded from the
        operating system (not reproducible).
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        If ``rng`` is neither a generator, an int nor ``None``.
    ValueError
        If ``rng`` is a negative int.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, an int seed or None, "
            f"got {type(rng).__name__}"
        )
    if rng < 0:
        raise ValueError(f"{name} must be a non-negative seed, got {rng}")
    return np.random.default_rng(int(rng))
