"""Classification helpers: sigmoid, softmax, cross-entropy losses and scores.

Chapter 4 (logistic regression) introduces :func:`sigmoid`, :func:`log_sigmoid`,
:func:`binary_cross_entropy_from_logits`, :func:`accuracy` and :func:`confusion_matrix`;
chapter 5 (softmax regression) introduces :func:`softmax`, :func:`logsumexp`,
:func:`log_softmax`, :func:`cross_entropy_from_logits` and :func:`one_hot`. Each chapter
writes these in the open first; the versions here add input checks. Chapters 5, 6 and 7
import :func:`sigmoid`, chapter 5 also :func:`accuracy` and :func:`confusion_matrix`; from
chapter 8 on, the losses are PyTorch's.

Notation follows the book: ``z`` is a vector of scores (logits), one per example; ``Z`` is an
m x K matrix of scores, one row per example and one column per class; ``y`` holds the class
labels ``0, 1, ..., K - 1``. Every function is written so that large scores (say 1000 or
-1000) neither overflow nor raise warnings.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_float_array, check_same_length


# ----------------------------------------------------------------------------- input checks


def _as_scores(value: object, name: str, ndims: tuple[int, ...] | None = None) -> np.ndarray:
    """Convert ``value`` to a finite float array; ``ndims`` lists the allowed dimensions."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from error
    if ndims is not None and array.ndim not in ndims:
        wanted = " or ".join(f"{n}-d" for n in ndims)
        raise ValueError(f"{name} must be a {wanted} array, got an array of shape {array.shape}")
    return as_float_array(array, name, ndim=array.ndim)


def _as_labels(value: object, name: str, n_classes: int | None = None) -> np.ndarray:
    """Convert ``value`` to a 1-d integer array of class labels, optionally in 0..n_classes-1."""
    array = np.asarray(value)
    if array.dtype == bool:
        array = array.astype(np.int64)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must hold integer class labels, got an array of dtype {array.dtype}"
        )
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-d array of class labels, got an array of shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got an array of shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must hold integer class labels, got NaN or infinity")
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise ValueError(
                f"{name} must hold integer class labels, got the non-integer value "
                f"{float(fractional[0])}"
            )
    labels = array.astype(np.int64)
    if n_classes is not None:
        outside = labels[(labels < 0) | (labels >= n_classes)]
        if outside.size:
            raise ValueError(
                f"{name} must hold labels from 0 to {n_classes - 1} ({n_classes} classes), "
                f"got {outside[0]}"
            )
    return labels


def _check_n_classes(n_classes: object) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    return int(n_classes)


def _scalar_or_array(array: np.ndarray) -> float | np.ndarray:
    return float(array) if array.ndim == 0 else array


# ----------------------------------------------------------------------------- chapter 4


def sigmoid(z: float | np.ndarray) -> float | np.ndarray:
    """The logistic sigmoid ``sigma(z) = 1 / (1 + exp(-z))``, element by element.

    Introduced in chapter 4. It is computed from ``exp(-|z|)``, which lies in (0, 1], so no
    score overflows: ``sigmoid(1000)`` is 1.0 and ``sigmoid(-1000)`` is 0.0, without warnings.

    Parameters
    ----------
    z : float or array_like
        Scores (logits) of any shape.

    Returns
    -------
    float or numpy.ndarray
        Probabilities in [0, 1], a float for a scalar ``z``, else an array shaped like ``z``.

    Raises
    ------
    TypeError
        If ``z`` is not numeric.
    ValueError
        If ``z`` is empty or holds NaN or infinity.
    """
    z = _as_scores(z, "z")
    e = np.exp(-np.abs(z))
    return _scalar_or_array(np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)))


def log_sigmoid(z: float | np.ndarray) -> float | np.ndarray:
    """The logarithm of the sigmoid, ``log sigma(z) = -log(1 + exp(-z))``, element by element.

    Introduced in chapter 4. Computed as ``-logaddexp(0, -z)``, which stays finite where
    ``log(sigmoid(z))`` would give ``-inf`` (e.g. ``z = -1000`` gives -1000).

    Parameters
    ----------
    z : float or array_like
        Scores (logits) of any shape.

    Returns
    -------
    float or numpy.ndarray
        Values of ``log sigma(z)`` (all at most 0), shaped like ``z``.

    Raises
    ------
    TypeError
        If ``z`` is not numeric.
    ValueError
        If ``z`` is empty or holds NaN or infinity.
    """
    z = _as_scores(z, "z")
    return _scalar_or_array(-np.logaddexp(0.0, -z))


def binary_cross_entropy_from_logits(y: np.ndarray, z: np.ndarray) -> float:
    """Mean log loss (binary cross-entropy) of labels ``y`` given scores ``z``.

    Introduced in chapter 4. With ``p = sigmoid(z)`` the loss of one example is
    ``-[y log p + (1 - y) log(1 - p)]``, which equals ``log(1 + exp(z)) - y z``; that form is
    what is computed (with :func:`numpy.logaddexp`), so it never takes the log of 0.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        Labels, each 0 or 1.
    z : array_like, shape (m,)
        Scores (logits) ``w^T x + b``, one per example.

    Returns
    -------
    float
        The mean loss over the m examples.

    Raises
    ------
    TypeError
        If ``y`` or ``z`` is not numeric.
    ValueError
        If a label is not 0 or 1, the lengths differ, an input is empty, or ``z`` holds
        NaN or infinity.
    """
    y = _as_labels(y, "y", n_classes=2)
    z = as_float_array(z, "z", ndim=1)
    check_same_length(y, "y", z, "z")
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def accuracy(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Fraction of examples whose predicted label equals the true label.

    Introduced in chapter 4.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        True labels.
    y_hat : array_like of int, shape (m,)
        Predicted labels.

    Returns
    -------
    float
        A number between 0 and 1.

    Raises
    ------
    TypeError
        If the labels are not numeric.
    ValueError
        If the labels are not integers, are empty, or the lengths differ.
    """
    y = _as_labels(y, "y")
    y_hat = _as_labels(y_hat, "y_hat")
    check_same_length(y, "y", y_hat, "y_hat")
    return float(np.mean(y == y_hat))


def confusion_matrix(y: np.ndarray, y_hat: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true label, predicted label) pairs.

    Introduced in chapter 4. Entry ``[i, j]`` is the number of examples of class ``i``
    predicted as class ``j``: the diagonal holds the correct predictions, and row ``i``
    adds up to the number of examples of class ``i``.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        True labels in ``0, ..., n_classes - 1``.
    y_hat : array_like of int, shape (m,)
        Predicted labels in ``0, ..., n_classes - 1``.
    n_classes : int
        The number of classes K.

    Returns
    -------
    numpy.ndarray of int, shape (n_classes, n_classes)

    Raises
    ------
    TypeError
        If ``n_classes`` is not an int or the labels are not numeric.
    ValueError
        If a label is not an integer in range, an input is empty, or the lengths differ.
    """
    n_classes = _check_n_classes(n_classes)
    y = _as_labels(y, "y", n_classes=n_classes)
    y_hat = _as_labels(y_hat, "y_hat", n_classes=n_classes)
    check_same_length(y, "y", y_hat, "y_hat")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y, y_hat), 1)
    return counts


# ----------------------------------------------------------------------------- chapter 5


def logsumexp(Z: np.ndarray) -> float | np.ndarray:
    """``log(sum_k exp(z_k))`` along the last axis, computed without overflow.

    Introduced in chapter 5. The row maximum ``c`` is taken out first:
    ``log sum exp(z_k) = c + log sum exp(z_k - c)``, and every ``exp(z_k - c)`` is at most 1.

    Parameters
    ----------
    Z : array_like, shape (K,) or (m, K)
        Scores: one vector, or one row per example.

    Returns
    -------
    float or numpy.ndarray of shape (m,)
        A float for a vector, one value per row for a matrix.

    Raises
    ------
    TypeError
        If ``Z`` is not numeric.
    ValueError
        If ``Z`` is not 1-d or 2-d, is empty, or holds NaN or infinity.
    """
    Z = _as_scores(Z, "Z", ndims=(1, 2))
    c = Z.max(axis=-1)
    return _scalar_or_array(c + np.log(np.sum(np.exp(Z - c[..., None]), axis=-1)))


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Logarithm of the softmax of each row, ``z_k - logsumexp(z)``.

    Introduced in chapter 5. Finite even where ``log(softmax(Z))`` would be ``-inf``.

    Parameters
    ----------
    Z : array_like, shape (K,) or (m, K)
        Scores: one vector, or one row per example.

    Returns
    -------
    numpy.ndarray
        Log-probabilities shaped like ``Z``.

    Raises
    ------
    TypeError
        If ``Z`` is not numeric.
    ValueError
        If ``Z`` is not 1-d or 2-d, is empty, or holds NaN or infinity.
    """
    Z = _as_scores(Z, "Z", ndims=(1, 2))
    return Z - np.asarray(logsumexp(Z))[..., None]


def softmax(Z: np.ndarray) -> np.ndarray:
    """Softmax of each row: ``exp(z_k) / sum_j exp(z_j)``.

    Introduced in chapter 5. The row maximum is subtracted before exponentiating (this does
    not change the result), so large scores do not overflow.

    Parameters
    ----------
    Z : array_like, shape (K,) or (m, K)
        Scores: one vector, or one row per example.

    Returns
    -------
    numpy.ndarray
        Probabilities shaped like ``Z``; each row is positive and adds up to 1.

    Raises
    ------
    TypeError
        If ``Z`` is not numeric.
    ValueError
        If ``Z`` is not 1-d or 2-d, is empty, or holds NaN or infinity.
    """
    Z = _as_scores(Z, "Z", ndims=(1, 2))
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def cross_entropy_from_logits(y: np.ndarray, Z: np.ndarray) -> float:
    """Mean categorical cross-entropy of labels ``y`` given the score matrix ``Z``.

    Introduced in chapter 5. The loss of example i is ``-log softmax(Z[i])[y[i]]``,
    computed with :func:`log_softmax` so that it stays finite for any finite scores.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        Labels in ``0, ..., K - 1``.
    Z : array_like, shape (m, K)
        Scores (logits), one row per example, one column per class.

    Returns
    -------
    float
        The mean loss over the m examples.

    Raises
    ------
    TypeError
        If ``y`` or ``Z`` is not numeric.
    ValueError
        If a label is not an integer from 0 to K - 1, ``Z`` is not a matrix, the number of
        labels differs from the number of rows of ``Z``, an input is empty, or ``Z`` holds
        NaN or infinity.
    """
    Z = as_float_array(Z, "Z", ndim=2)
    y = _as_labels(y, "y", n_classes=Z.shape[1])
    check_same_length(y, "y", Z, "Z")
    return float(-np.mean(log_softmax(Z)[np.arange(y.shape[0]), y]))


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot encoding: row i is all zeros except a 1 in column ``y[i]``.

    Introduced in chapter 5.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        Labels in ``0, ..., n_classes - 1``.
    n_classes : int
        The number of classes K.

    Returns
    -------
    numpy.ndarray of float, shape (m, n_classes)

    Raises
    ------
    TypeError
        If ``n_classes`` is not an int or ``y`` is not numeric.
    ValueError
        If a label is not an integer in range, or ``y`` is empty.
    """
    n_classes = _check_n_classes(n_classes)
    y = _as_labels(y, "y", n_classes=n_classes)
    Y = np.zeros((y.shape[0], n_classes))
    Y[np.arange(y.shape[0]), y] = 1.0
    return Y
