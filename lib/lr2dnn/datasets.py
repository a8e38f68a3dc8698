"""Simulated data sets used by the chapters (chapters 1 to 3).

Every generator here draws from its own random number generator and leaves NumPy's
global random state alone, so calling one never changes what another cell draws.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_regression

from ._checks import as_int
from ._random import as_generator


def make_chapter1_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The simulated regression data of chapter 1, reproduced exactly.

    Chapter 1 calls ``np.random.seed(42)`` and then scikit-learn's
    ``make_regression(n_samples=1000, n_features=2, n_informative=2, n_targets=1,
    bias=0, noise=10, coef=True)``. Without ``random_state``, ``make_regression`` draws
    from NumPy's global generator, which the seed has just reset to the state of
    ``RandomState(42)``; passing ``random_state=42`` therefore gives the same arrays
    without touching the global generator. The unit tests check that both ways agree.

    Introduced in chapter 2, which reuses chapter 1's data.

    Returns
    -------
    X : numpy.ndarray, shape (1000, 2)
        The two features.
    y : numpy.ndarray, shape (1000,)
        The targets, ``X @ coef`` plus Gaussian noise with standard deviation 10.
    coef : numpy.ndarray, shape (2,)
        The true coefficients (there is no intercept: ``bias=0``).
    """
    X, y, coef = make_regression(
        n_samples=1000, n_features=2, n_informative=2, n_targets=1,
        bias=0, noise=10, coef=True, random_state=42,
    )
    return X, y, coef



def _check_noise(noise_sd: float) -> float:
    if isinstance(noise_sd, bool) or not isinstance(
        noise_sd, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"noise_sd must be a number, got {type(noise_sd).__name__}")
    if not (np.isfinite(noise_sd) and noise_sd >= 0):
        raise ValueError(f"noise_sd must be a finite number >= 0, got {noise_sd}")
    return float(noise_sd)


def sine_curve(x: np.ndarray) -> np.ndarray:
    """The smooth function behind :func:`make_noisy_sine`, ``sin(2 pi x)``.

    Introduced in chapter 3.

    Parameters
    ----------
    x : array_like
        Inputs.

    Returns
    -------
    numpy.ndarray
        ``sin(2 pi x)``, with the shape of ``x``.
    """
    return np.sin(2.0 * np.pi * np.asarray(x, dtype=float))


def make_noisy_sine(
    m: int = 30, noise_sd: float = 0.25, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A small noisy sample of a smooth curve, for fitting polynomials of growing degree.

    The inputs are uniform on [0, 1] and the targets are ``sin(2 pi x)`` plus Gaussian
    noise. Introduced in chapter 3 (under- and over-fitting).

    Parameters
    ----------
    m : int, optional
        Number of examples.
    noise_sd : float, optional
        Standard deviation of the noise added to the curve.
    rng : numpy.random.Generator, int or None, optional
        The generator to draw from, or a seed for a new one.

    Returns
    -------
    x : numpy.ndarray, shape (m,)
        The inputs (in the order drawn, not sorted).
    y : numpy.ndarray, shape (m,)
        The noisy targets.
    """
    m = as_int(m, "m", 1)
    noise_sd = _check_noise(noise_sd)
    rng = as_generator(rng)
    x = rng.uniform(0.0, 1.0, size=m)
    y = sine_curve(x) + noise_sd * rng.normal(size=m)
    return x, y


APARTMENT_WEIGHTS: tuple[float, float] = (2.5, -6.0)
"""True weights of :func:`make_apartment_prices`: thousand EUR per m^2 and per km."""

APARTMENT_BIAS: float = 40.0
"""True bias of :func:`make_apartment_prices`, in thousand EUR."""


def make_apartment_prices(
    m: int = 500, noise_sd: float = 20.0, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated apartment prices from two features on very different scales.

    Column 0 is the floor area in square metres (uniform on 30..200), column 1 the
    distance to the city centre in kilometres (uniform on 0.5..15). The price, in
    thousand EUR, is ``APARTMENT_BIAS + X @ APARTMENT_WEIGHTS`` plus Gaussian noise.
    The data are made up; they only serve to show why features are standardised.
    Introduced in chapter 3.

    Parameters
    ----------
    m : int, optional
        Number of apartments.
    noise_sd : float, optional
        Standard deviation of the noise, in thousand EUR.
    rng : numpy.random.Generator, int or None, optional
        The generator to draw from, or a seed for a new one.

    Returns
    -------
    X : numpy.ndarray, shape (m, 2)
        Area (m^2) and distance (km).
    y : numpy.ndarray, shape (m,)
        Price (thousand EUR).
    """
    m = as_int(m, "m", 1)
    noise_sd = _check_noise(noise_sd)
    rng = as_generator(rng)
    area = rng.uniform(30.0, 200.0, size=m)
    distance = rng.uniform(0.5, 15.0, size=m)
    X = np.column_stack([area, distance])
    y = APARTMENT_BIAS + X @ np.array(APARTMENT_WEIGHTS) + noise_sd * rng.normal(size=m)
    return X, y
