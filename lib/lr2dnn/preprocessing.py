"""Splitting data and preparing features (introduced in chapter 3).

Chapter 3 writes each of these in the open first: a shuffled split into training,
validation and test sets, z-scores with statistics of the training set only, and the
powers of one feature for polynomial regression. Later chapters import them from here.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_same_length
from ._random import as_generator


def _as_features(value: object, name: str) -> np.ndarray:
    """A finite float array of one feature (1-d) or of several (2-d)."""
    ndim = np.ndim(value) if np.ndim(value) in (1, 2) else 2
    return as_float_array(value, name, ndim=ndim)


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the examples and split them into training, validation and test sets.

    The training set gets ``round(fractions[0] * m)`` examples, the validation set
    ``round(fractions[1] * m)`` and the test set the rest. Introduced in chapter 3.

    Parameters
    ----------
    X : array_like, shape (m, n) or (m,)
        Features (a 1-d array is one feature).
    y : array_like, shape (m,)
        Targets.
    fractions : tuple of three floats, optional
        Shares of the training, validation and test sets: positive, summing to 1.
    rng : numpy.random.Generator, int or None, optional
        The generator that shuffles, or a seed for a new one. Pass one to make the split
        reproducible.

    Returns
    -------
    X_train, X_val, X_test, y_train, y_val, y_test : numpy.ndarray
        The three parts of ``X`` and of ``y``, rows in shuffled order.

    Raises
    ------
    ValueError
        If ``fractions`` are not three positive numbers summing to 1, if ``X`` and ``y``
        differ in length, or if a part would be empty.
    """
    X = _as_features(X, "X")
    y = as_float_array(y, "y", ndim=1)
    check_same_length(X, "X", y, "y")
    try:
        shares = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"fractions must be three numbers, got {fractions!r}") from error
    if shares.shape != (3,) or not np.all(shares > 0) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(
            f"fractions must be three positive numbers (train, validation, test) summing "
            f"to 1, got {fractions!r}"
        )
    m = X.shape[0]
    n_train = int(round(shares[0] * m))
    n_val = int(round(shares[1] * m))
    if min(n_train, n_val, m - n_train - n_val) < 1:
        raise ValueError(
            f"X has too few examples ({m}) to give every part of the split {fractions!r} "
            f"at least one example"
        )
    order = as_generator(rng).permutation(m)
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return X[train], X[val], X[test], y[train], y[val], y[test]


class Standardizer:
    """Z-scores: subtract each column's mean and divide by its standard deviation.

    The mean and the (population, ``ddof=0``) standard deviation are learnt by
    :meth:`fit` from the training set only, then applied unchanged to validation and
    test data. Introduced in chapter 3.

    Attributes
    ----------
    mean_ : numpy.ndarray, shape (n,)
        Column means of the data given to :meth:`fit`.
    scale_ : numpy.ndarray, shape (n,)
        Column standard deviations of the data given to :meth:`fit`.

    Examples
    --------
    >>> scaler = Standardizer().fit([[1.0, 10.0], [3.0, 30.0]])
    >>> scaler.transform([[2.0, 40.0]])
    array([[0., 2.]])
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> "Standardizer":
        """Learn the column means and standard deviations of ``X``.

        Parameters
        ----------
        X : array_like, shape (m, n)
            Training features.

        Returns
        -------
        Standardizer
            ``self``, so that calls can be chained.

        Raises
        ------
        ValueError
            If a column has zero spread (all its values are equal), since it cannot be
            divided by its standard deviation.
        """
        X = as_float_array(X, "X", ndim=2)
        scale = X.std(axis=0)
        flat = np.flatnonzero(scale <= 1e-12 * np.maximum(1.0, np.abs(X).max(axis=0)))
        if flat.size:
            raise ValueError(
                f"X has column(s) {flat.tolist()} with zero spread (all values equal); "
                f"a constant column cannot be standardised, drop it"
            )
        self.mean_, self.scale_ = X.mean(axis=0), scale
        return self

    def _checked(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("this Standardizer is not fitted yet: call fit(X_train) first")
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"X must have {self.mean_.shape[0]} columns, as the data the Standardizer "
                f"was fitted on, got {X.shape[1]}"
            )
        return X

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return the z-scores ``(X - mean_) / scale_``.

        Parameters
        ----------
        X : array_like, shape (m, n)
            Features with the columns the scaler was fitted on.

        Returns
        -------
        numpy.ndarray, shape (m, n)
        """
        return (self._checked(X) - self.mean_) / self.scale_

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: return ``X * scale_ + mean_``.

        Parameters
        ----------
        X : array_like, shape (m, n)
            Z-scores.

        Returns
        -------
        numpy.ndarray, shape (m, n)
            The features in their original units.
        """
        return self._checked(X) * self.scale_ + self.mean_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit on ``X`` and return its z-scores (use it on the training set only).

        Parameters
        ----------
        X : array_like, shape (m, n)
            Training features.

        Returns
        -------
        numpy.ndarray, shape (m, n)
        """
        return self.fit(X).transform(X)


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """The powers ``x, x^2, ..., x^degree`` of one feature, as columns.

    There is no column of ones: the bias is fitted separately. Introduced in chapter 3.

    Parameters
    ----------
    x : array_like, shape (m,)
        One feature.
    degree : int
        The highest power, at least 1.

    Returns
    -------
    numpy.ndarray, shape (m, degree)
        Column ``j`` holds ``x ** (j + 1)``.
    """
    x = as_float_array(x, "x", ndim=1)
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"degree must be an int, got {type(degree).__name__}")
    if degree < 1:
        raise ValueError(f"degree must be at least 1, got {degree}")
    return x[:, None] ** np.arange(1, int(degree) + 1)
