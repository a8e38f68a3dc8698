"""Gradient checks by finite differences (introduced in chapter 2).

Chapter 2 writes the central-difference check in the open; later chapters import it from
here to test the gradients they derive (chapters 4, 5 and 7).

Not to be confused with the private module ``lr2dnn._checks``, which validates the
arguments of the package's public functions.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import as_float_array


def numerical_gradient(
    f: Callable[[np.ndarray], float], theta: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Estimate the gradient of a scalar function by central differences.

    Entry ``j`` of the result is ``(f(theta + h e_j) - f(theta - h e_j)) / (2 h)``, where
    ``e_j`` is the array with 1 in position ``j`` and 0 elsewhere. The error of the
    estimate is of order ``h**2`` for a smooth ``f`` (plus rounding, about
    ``machine epsilon * |f| / h``; chapter 7 shows how to choose ``h``).

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``theta`` and returns a number.
    theta : array_like
        The point, an array of any shape (a vector of weights, a weight matrix, ...).
        It is not modified.
    h : float, optional
        The step, a positive number (``1e-6`` by default).

    Returns
    -------
    numpy.ndarray
        The estimated gradient, an array of floats shaped like ``theta``.

    Raises
    ------
    ValueError
        If ``theta`` is empty or not finite, if ``h`` is not positive, or if ``f`` does
        not return one finite number.

    Examples
    --------
    >>> numerical_gradient(lambda v: float(v @ v), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])
    """
    theta = as_float_array(theta, "theta", ndim=np.ndim(theta))
    if not (isinstance(h, (int, float, np.floating)) and np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive number, got {h!r}")
    gradient = np.zeros_like(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = h
        gradient[index] = (_value(f, theta + step) - _value(f, theta - step)) / (2 * h)
    return gradient


def _value(f: Callable[[np.ndarray], float], theta: np.ndarray) -> float:
    """``f(theta)`` as a float, with a clear error if it is not one finite number."""
    value = np.asarray(f(theta), dtype=float)
    if value.size != 1 or not np.isfinite(value).all():
        raise ValueError(
            f"f must return one finite number, got an array of shape {value.shape} "
            f"with values {value.ravel()[:3]}"
        )
    return float(value.reshape(()))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative distance ``||a - b|| / (||a|| + ||b||)`` between two gradients.

    The result lies between 0 (equal) and 1 (for example, opposite signs); it does not
    depend on the scale of the gradients. Two zero arrays are at distance 0.

    Parameters
    ----------
    a, b : array_like
        Arrays of the same shape, for instance a derived gradient and its numerical
        estimate.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ or an array is empty or not finite.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    as_float_array(a.ravel(), "a", ndim=1)
    as_float_array(b.ravel(), "b", ndim=1)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)
