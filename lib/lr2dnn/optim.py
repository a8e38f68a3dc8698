"""Gradient descent and mini-batch stochastic gradient descent (introduced in chapter 2).

Chapter 2 writes both loops in the open; these are the same loops, with input checks
and a record of the path, for later chapters to import. Parameters are a flat vector
``theta``; the caller supplies the gradient (and, if wanted, the cost) as functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._checks import as_float_array, check_same_length, as_int
from ._random import as_generator

MAX_NORM: float = 1e12
"""A run whose parameters grow beyond this norm is declared diverged."""


@dataclass(frozen=True)
class OptimResult:
    """What an optimiser returns.

    Attributes
    ----------
    theta : numpy.ndarray, shape (p,)
        The last parameters reached.
    path : numpy.ndarray, shape (k + 1, p)
        Every iterate, starting with ``theta0``: row ``i`` is the parameter vector after
        ``i`` updates (``k`` updates in all).
    costs : numpy.ndarray or None
        The cost at each row of ``path`` (gradient descent) or at the start and after
        each epoch (mini-batch SGD); ``None`` if no cost function was given.
    status : str
        ``"max_steps"`` (ran the steps or epochs asked for), ``"converged"`` (the
        gradient norm fell to ``tol``) or ``"diverged"`` (a value became NaN or infinite,
        or the parameters' norm exceeded :data:`MAX_NORM`; the path stops there).
    """

    theta: np.ndarray
    path: np.ndarray
    costs: np.ndarray | None
    status: str

    @property
    def n_steps(self) -> int:
        """The number of updates made."""
        return self.path.shape[0] - 1

    @property
    def diverged(self) -> bool:
        """Whether the run stopped because it diverged."""
        return self.status == "diverged"


def _check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)



def _checked_gradient(g: object, theta: np.ndarray, name: str) -> np.ndarray:
    g = np.asarray(g, dtype=float)
    if g.shape != theta.shape:
        raise ValueError(
            f"{name} must return an array shaped like theta {theta.shape}, got shape {g.shape}"
        )
    return g


def _blown_up(*values: np.ndarray | float) -> bool:
    if not all(np.all(np.isfinite(v)) for v in values):
        return True
    return bool(np.linalg.norm(values[0]) > MAX_NORM)


def gradient_descent(
    grad: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    eta: float,
    n_steps: int,
    cost: Callable[[np.ndarray], float] | None = None,
    tol: float | None = None,
) -> OptimResult:
    """Full-batch gradient descent, ``theta <- theta - eta * grad(theta)``, with its path.

    Introduced in chapter 2.

    Parameters
    ----------
    grad : callable
        ``grad(theta)`` returns the gradient of the cost at ``theta``, shaped like it.
    theta0 : array_like, shape (p,)
        Starting parameters.
    eta : float
        Learning rate, > 0.
    n_steps : int
        Largest number of updates, >= 0.
    cost : callable, optional
        ``cost(theta)`` returns the cost; if given, it is recorded at every iterate.
    tol : float, optional
        If given, stop as soon as the gradient's Euclidean norm is ``<= tol``.

    Returns
    -------
    OptimResult
        The final ``theta``, the ``path`` of iterates, the ``costs`` and the ``status``.
        A diverging run is not an error: it stops early with ``status == "diverged"``.

    Examples
    --------
    >>> result = gradient_descent(lambda t: 2 * t, [1.0], eta=0.25, n_steps=2)
    >>> result.path.ravel().tolist()
    [1.0, 0.5, 0.25]
    """
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    eta = _check_positive(eta, "eta")
    n_steps = as_int(n_steps, "n_steps", 0)
    if tol is not None:
        tol = _check_positive(tol, "tol")
    path, costs, status = [theta.copy()], [], "max_steps"
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(n_steps + 1):
            if cost is not None:
                costs.append(float(cost(theta)))
            if step == n_steps:
                break
            g = _checked_gradient(grad(theta), theta, "grad")
            if _blown_up(theta, g, *costs[-1:]):
                status = "diverged"
                break
            if tol is not None and np.linalg.norm(g) <= tol:
                status = "converged"
                break
            theta = theta - eta * g
            path.append(theta.copy())
    if status == "max_steps" and _blown_up(theta, *costs[-1:]):
        status = "diverged"
    return OptimResult(theta, np.array(path), np.array(costs) if cost is not None else None, status)


def minibatch_sgd(
    grad: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    theta0: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    eta: float,
    batch_size: int,
    n_epochs: int,
    rng: np.random.Generator | int | None = None,
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float] | None = None,
) -> OptimResult:
    """Mini-batch stochastic gradient descent, reshuffling the examples every epoch.

    Each epoch draws a new order of the ``m`` examples from ``rng`` and walks through it
    in batches of ``batch_size`` (the last batch is smaller when ``batch_size`` does not
    divide ``m``), updating ``theta <- theta - eta * grad(theta, X_batch, y_batch)``
    after each batch. Introduced in chapter 2.

    Parameters
    ----------
    grad : callable
        ``grad(theta, X_batch, y_batch)`` returns the gradient of the batch's cost.
    theta0 : array_like, shape (p,)
        Starting parameters.
    X : array_like, shape (m, n)
        Features.
    y : array_like, shape (m,)
        Targets.
    eta : float
        Learning rate, > 0.
    batch_size : int
        Examples per batch, between 1 and ``m``.
    n_epochs : int
        Number of passes through the data, >= 0.
    rng : numpy.random.Generator, int or None, optional
        The generator that shuffles, or a seed for a new one.
    cost : callable, optional
        ``cost(theta, X, y)``; if given, it is recorded on all the data at the start and
        after each epoch.

    Returns
    -------
    OptimResult
        ``path`` holds the parameters after every update (``ceil(m / batch_size)``
        updates per epoch) and ``costs`` the cost per epoch.
    """
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_same_length(X, "X", y, "y")
    eta = _check_positive(eta, "eta")
    m = X.shape[0]
    batch_size = as_int(batch_size, "batch_size", 1)
    if batch_size > m:
        raise ValueError(f"batch_size must be between 1 and m = {m}, got {batch_size}")
    n_epochs = as_int(n_epochs, "n_epochs", 0)
    rng = as_generator(rng)
    path, costs, status = [theta.copy()], [], "max_steps"
    if cost is not None:
        costs.append(float(cost(theta, X, y)))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_epochs):
            order = rng.permutation(m)
            for start in range(0, m, batch_size):
                batch = order[start:start + batch_size]
                g = _checked_gradient(grad(theta, X[batch], y[batch]), theta, "grad")
                theta = theta - eta * g
                path.append(theta.copy())
                if _blown_up(theta, g):
                    status = "diverged"
                    break
            if cost is not None:
                costs.append(float(cost(theta, X, y)))
            if status == "diverged":
                break
    return OptimResult(theta, np.array(path), np.array(costs) if cost is not None else None, status)


def patience_stop(errors: np.ndarray, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    """Apply the early-stopping rule to a recorded curve of validation errors.

    Chapter 2 writes the rule in the open, inside a gradient-descent loop; chapter 3 applies
    it to a curve recorded after every step. Walking along ``errors``, a step counts as an
    improvement only if it lowers the best error so far by more than ``min_delta``; the rule
    stops at the first step that is ``patience`` steps after the last improvement.

    Parameters
    ----------
    errors : array_like, shape (k,)
        The validation error after 0, 1, ..., k - 1 steps (finite numbers, at least one).
    patience : int
        How many steps without an improvement the rule waits, >= 1.
    min_delta : float, optional
        The smallest decrease that counts as an improvement, >= 0 (0 by default: any
        decrease counts).

    Returns
    -------
    stop_step, best_step : tuple of int
        The step at which the rule stops (``k - 1`` if it never does) and the step with the
        best error it keeps.

    Raises
    ------
    ValueError
        If ``errors`` is empty or not finite, ``patience`` is not an integer >= 1, or
        ``min_delta`` is negative or not finite.

    Examples
    --------
    >>> patience_stop([5.0, 3.0, 2.9, 2.95, 3.1, 3.2], patience=2, min_delta=0.05)
    (4, 2)
    """
    errors = as_float_array(errors, "errors", ndim=1)
    patience = as_int(patience, "patience", 1)
    if not (isinstance(min_delta, (int, float, np.floating)) and np.isfinite(min_delta)
            and min_delta >= 0):
        raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
    best_error, best_step = np.inf, 0
    for t, error in enumerate(errors):
        if error < best_error - min_delta:
            best_error, best_step = error, t
        elif t - best_step >= patience:
            return t, best_step
    return len(errors) - 1, best_step
