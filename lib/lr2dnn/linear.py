"""Linear-algebra helpers for linear regression (introduced in chapter 1).

Chapter 1 writes each of these in the open; later chapters import them from here.
Notation follows the book: ``X`` is the m x n design matrix, ``y`` the m targets,
``w`` the n weights and ``b`` the bias.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_same_length


def add_intercept(X: np.ndarray) -> np.ndarray:
    """Prepend a column of ones to a design matrix, so that the first weight is the bias.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Design matrix.

    Returns
    -------
    numpy.ndarray, shape (m, n + 1)
        ``[1, X]``.
    """
    X = as_float_array(X, "X", ndim=2)
    return np.column_stack([np.ones(X.shape[0]), X])


def predict(X: np.ndarray, w: np.ndarray, b: float = 0.0) -> np.ndarray:
    """Linear prediction ``y_hat = X w + b``.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Design matrix.
    w : array_like, shape (n,)
        Weights.
    b : float, optional
        Bias (intercept), 0 by default.

    Returns
    -------
    numpy.ndarray, shape (m,)
        The predictions.
    """
    X = as_float_array(X, "X", ndim=2)
    w = as_float_array(w, "w", ndim=1)
    if X.shape[1] != w.shape[0]:
        raise ValueError(
            f"w must have one weight per column of X ({X.shape[1]}), got {w.shape[0]} weights"
        )
    b = float(as_float_array([b], "b", ndim=1)[0])
    return X @ w + b


def fit_normal_equation(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares weights from the normal equation ``(X^T X) w = X^T y``.

    The system is solved with :func:`numpy.linalg.solve`; the inverse of ``X^T X`` is never
    formed. Add a column of ones with :func:`add_intercept` to fit a bias.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Design matrix with linearly independent columns.
    y : array_like, shape (m,)
        Targets.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The weights that minimise the mean squared error.

    Raises
    ------
    ValueError
        If the shapes do not fit, or ``X^T X`` is singular (the columns of ``X`` are
        linearly dependent, e.g. fewer examples than features, or a repeated column).
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_same_length(X, "X", y, "y")
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(
            f"X^T X is singular: the {X.shape[1]} columns of X are linearly dependent "
            f"(rank {rank}), so the normal equation has no unique solution; remove repeated "
            f"columns, add examples, or use fit_least_squares"
        )
    return np.linalg.solve(X.T @ X, X.T @ y)


def fit_least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares weights from :func:`numpy.linalg.lstsq` (SVD based).

    Unlike :func:`fit_normal_equation` it also works when the columns of ``X`` are
    dependent, and then returns the solution with the smallest norm.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Design matrix.
    y : array_like, shape (m,)
        Targets.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The least-squares weights.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_same_length(X, "X", y, "y")
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    return w


def _residuals(y: np.ndarray, y_hat: np.ndarray) -> np.ndarray:
    y = as_float_array(y, "y", ndim=1)
    y_hat = as_float_array(y_hat, "y_hat", ndim=1)
    check_same_length(y, "y", y_hat, "y_hat")
    return y_hat - y


def mean_squared_error(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean squared error ``(1/m) sum (y_hat - y)^2``.

    Parameters
    ----------
    y, y_hat : array_like, shape (m,)
        Targets and predictions.

    Returns
    -------
    float
    """
    return float(np.mean(_residuals(y, y_hat) ** 2))


def mse_cost(y: np.ndarray, y_hat: np.ndarray) -> float:
    """The book's squared-error cost ``J = (1/(2m)) sum (y_hat - y)^2``.

    Half the mean squared error: the 1/2 cancels the 2 of the derivative.

    Parameters
    ----------
    y, y_hat : array_like, shape (m,)
        Targets and predictions.

    Returns
    -------
    float
    """
    return 0.5 * mean_squared_error(y, y_hat)


def mean_absolute_error(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean absolute error ``(1/m) sum |y_hat - y|``.

    Parameters
    ----------
    y, y_hat : array_like, shape (m,)
        Targets and predictions.

    Returns
    -------
    float
    """
    return float(np.mean(np.abs(_residuals(y, y_hat))))
