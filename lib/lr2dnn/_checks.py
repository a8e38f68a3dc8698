"""Input checks shared by the public functions of the package.

Every public function validates what it is given and raises a ``TypeError`` or
``ValueError`` whose message names the argument, what was expected and what came instead.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value: object, name: str, ndim: int) -> np.ndarray:
    """Convert ``value`` to a finite float array with ``ndim`` dimensions.

    Parameters
    ----------
    value : array_like
        The argument to check.
    name : str
        The argument's name, used in error messages.
    ndim : int
        The number of dimensions expected (1 for a vector, 2 for a matrix).

    Returns
    -------
    numpy.ndarray
        ``value`` as an array of floats.

    Raises
    ------
    TypeError
        If ``value`` cannot be read as an array of numbers.
    ValueError
        If it has the wrong number of dimensions, is empty, or holds NaN or infinity.
    """
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be an array of numbers, got {type(value).__name__}"
        ) from error
    if array.ndim != ndim:
        kind = {1: "a 1-d array (a vector)", 2: "a 2-d array (a matrix)"}.get(
            ndim, f"a {ndim}-d array"
        )
        raise ValueError(f"{name} must be {kind}, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got an array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must hold finite numbers, got {bad} NaN or infinite value(s)")
    return array


def check_same_length(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same number of rows.

    Parameters
    ----------
    a, b : numpy.ndarray
        Arrays whose first dimensions must agree.
    a_name, b_name : str
        Their names, used in the error message.
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{a_name} and {b_name} must have the same number of examples (rows), "
            f"got {a.shape[0]} and {b.shape[0]}"
        )


def as_int(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    """Check that ``value`` is an integer in ``[minimum, maximum]`` and return it as an int.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        The argument's name, used in error messages.
    minimum : int
        The smallest allowed value.
    maximum : int, optional
        The largest allowed value; no upper bound by default.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` does not count as one).
    ValueError
        If it lies outside the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        wanted = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {wanted}, got {value}")
    return int(value)
