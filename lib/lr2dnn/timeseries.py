"""Forecasting a daily series from its own past: lag features, splits and naive baselines.

Introduced in chapter 9 (the COVID-19 case study). A forecasting model there predicts the
value on day d from the values on the k days before it. This module builds those examples
(:func:`lag_features`), splits them the way the case study's protocol does
(:func:`split_by_target_day`, :func:`every_fifth`, :func:`lagged_split`), computes the two
forecasts every model is judged against (:func:`naive_forecast`), and runs a statistical
forecaster with frozen parameters one step ahead through a series (:func:`one_step_ahead`).

Days are positions in the series: the first value is Day 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, as_int



def _check_series(series: object, name: str = "series") -> np.ndarray:
    return as_float_array(series, name, ndim=1)


def lag_features(series: object, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn a series into examples: the k previous values as features, today's as target.

    Introduced in chapter 9. For every day n from k to ``len(series) - 1`` there is one
    example: the target is ``series[n]`` and the features are the k values before it, the
    most recent first, so ``x_1 = series[n - 1]``, ``x_2 = series[n - 2]``, ...,
    ``x_k = series[n - k]``.

    Parameters
    ----------
    series : array_like, shape (T,)
        The values, one per day, in time order; finite numbers.
    k : int
        The number of lags, at least 1 and less than ``T``.

    Returns
    -------
    X : numpy.ndarray, shape (T - k, k)
        Row i holds the k values before day ``k + i``, most recent first.
    y : numpy.ndarray, shape (T - k,)
        ``y[i] = series[k + i]``.
    target_index : numpy.ndarray of int, shape (T - k,)
        The day of each target: ``k, k + 1, ..., T - 1``.

    Raises
    ------
    TypeError
        If ``series`` is not numeric or ``k`` is not an int.
    ValueError
        If ``series`` is not 1-d, is empty or holds NaN or infinity, or ``k`` is not between
        1 and ``T - 1``.

    Examples
    --------
    >>> X, y, day = lag_features([1, 2, 3, 4, 5], k=2)
    >>> X.tolist(), y.tolist(), day.tolist()
    ([[2.0, 1.0], [3.0, 2.0], [4.0, 3.0]], [3.0, 4.0, 5.0], [2, 3, 4])
    """
    values = _check_series(series)
    k = as_int(k, "k", minimum=1)
    if k >= len(values):
        raise ValueError(
            f"k must be less than the length of series ({len(values)}) so that at least one "
            f"example remains, got k={k}"
        )
    target_index = np.arange(k, len(values))
    # Column j (0-based) is lag j + 1: the value j + 1 days before the target.
    X = np.column_stack([values[k - lag : len(values) - lag] for lag in range(1, k + 1)])
    return X, values[k:].copy(), target_index


def naive_forecast(series: object, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Forecast each day by the value ``lag`` days earlier.

    Introduced in chapter 9. ``lag=1`` is "tomorrow equals today"; ``lag=7`` is "same as
    seven days ago", which copies the weekly cycle.

    Parameters
    ----------
    series : array_like, shape (T,)
        The values, one per day, in time order; finite numbers.
    lag : int
        How many days back to copy from, at least 1 and less than ``T``.

    Returns
    -------
    y_hat : numpy.ndarray, shape (T - lag,)
        ``y_hat[i] = series[i]``, the forecast for day ``lag + i``.
    target_index : numpy.ndarray of int, shape (T - lag,)
        The day each forecast is for: ``lag, lag + 1, ..., T - 1``.

    Raises
    ------
    TypeError
        If ``series`` is not numeric or ``lag`` is not an int.
    ValueError
        If ``series`` is not 1-d, is empty or holds NaN or infinity, or ``lag`` is not
        between 1 and ``T - 1``.

    Examples
    --------
    >>> y_hat, day = naive_forecast([1, 2, 3, 4], lag=1)
    >>> y_hat.tolist(), day.tolist()
    ([1.0, 2.0, 3.0], [1, 2, 3])
    """
    values = _check_series(series)
    lag = as_int(lag, "lag", minimum=1)
    if lag >= len(values):
        raise ValueError(
            f"lag must be less than the length of series ({len(values)}), got lag={lag}"
        )
    return values[: len(values) - lag].copy(), np.arange(lag, len(values))


def split_by_target_day(
    target_index: object, first_test_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split examples in time: targets before ``first_test_day`` train, the rest test.

    Introduced in chapter 9. Only the target's day decides; the features of a test example
    may reach back before ``first_test_day`` (they are inputs, known at forecast time).

    Parameters
    ----------
    target_index : array_like of int, shape (m,)
        The day of each example's target, as returned by :func:`lag_features`.
    first_test_day : int
        The first day whose target belongs to the test set.

    Returns
    -------
    train_rows, test_rows : numpy.ndarray of int
        Positions (row numbers) of the training and test examples, in day order.

    Raises
    ------
    TypeError
        If ``first_test_day`` is not an int.
    ValueError
        If ``target_index`` is not a 1-d array of whole numbers, or either part would be
        empty.
    """
    days = _check_series(target_index, "target_index")
    if np.any(days != np.round(days)):
        raise ValueError("target_index must hold whole numbers (days), got fractions")
    first_test_day = as_int(first_test_day, "first_test_day", minimum=0)
    rows = np.arange(len(days))
    train_rows, test_rows = rows[days < first_test_day], rows[days >= first_test_day]
    if len(train_rows) == 0 or len(test_rows) == 0:
        raise ValueError(
            f"first_test_day must leave examples on both sides: target days run from "
            f"{int(days.min())} to {int(days.max())}, got first_test_day={first_test_day}"
        )
    return train_rows, test_rows


def every_fifth(m: int, every: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Hold out every ``every``-th example for validation.

    Introduced in chapter 9. With the default ``every=5`` the validation positions are
    4, 9, 14, ... (the 5th, 10th, 15th, ... example in order) and all others are kept for
    fitting.

    Parameters
    ----------
    m : int
        The number of examples, at least ``every``.
    every : int, optional
        One example in ``every`` is held out; at least 2.

    Returns
    -------
    fit_rows, validation_rows : numpy.ndarray of int
        Positions ``0 .. m-1`` with ``(i + 1) % every != 0`` and ``== 0``.

    Raises
    ------
    TypeError
        If ``m`` or ``every`` is not an int.
    ValueError
        If ``every`` is less than 2 or ``m`` is less than ``every``.
    """
    every = as_int(every, "every", minimum=2)
    m = as_int(m, "m", minimum=every)
    rows = np.arange(m)
    held_out = (rows + 1) % every == 0
    return rows[~held_out], rows[held_out]


@dataclass(frozen=True)
class LaggedSplit:
    """The case study's examples for one number of lags k, split and with scaling statistics.

    Introduced in chapter 9. The arrays are in the original units (cases); ``x_mean``,
    ``x_sd``, ``y_mean`` and ``y_sd`` are computed from the fitting examples alone (the
    training examples that are not held out for validation), and :meth:`scale_X`,
    :meth:`scale_y` and :meth:`unscale_y` apply them.

    Attributes
    ----------
    k : int
        The number of lags.
    X_fit, y_fit, day_fit : numpy.ndarray
        Training examples used to fit (features, targets, target days).
    X_val, y_val, day_val : numpy.ndarray
        Training examples held out for validation.
    X_test, y_test, day_test : numpy.ndarray
        Test examples.
    x_mean, x_sd : numpy.ndarray, shape (k,)
        Per-feature mean and standard deviation (population, ``ddof=0``) over ``X_fit``.
    y_mean, y_sd : float
        Mean and standard deviation of ``y_fit``.
    """

    k: int
    X_fit: np.ndarray
    y_fit: np.ndarray
    day_fit: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    day_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    day_test: np.ndarray
    x_mean: np.ndarray
    x_sd: np.ndarray
    y_mean: float
    y_sd: float

    def scale_X(self, X: object) -> np.ndarray:
        """Return ``(X - x_mean) / x_sd``, features in standard units."""
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.k:
            raise ValueError(f"X must have k={self.k} columns, got shape {X.shape}")
        return (X - self.x_mean) / self.x_sd

    def scale_y(self, y: object) -> np.ndarray:
        """Return ``(y - y_mean) / y_sd``, targets in standard units."""
        return (as_float_array(y, "y", ndim=1) - self.y_mean) / self.y_sd

    def unscale_y(self, y_scaled: object) -> np.ndarray:
        """Return ``y_mean + y_sd * y_scaled``, standard units back to cases.

        Works on arrays of any shape (e.g. one row of predictions per seed).
        """
        values = np.asarray(y_scaled, dtype=float)
        return self.y_mean + self.y_sd * values


def lagged_split(
    series: object, k: int, first_test_day: int = 800, every: int = 5
) -> LaggedSplit:
    """Build the case study's examples for k lags: fit, validation and test sets.

    Introduced in chapter 9. The steps are those of the protocol: :func:`lag_features`;
    :func:`split_by_target_day` (targets before ``first_test_day`` train, the others test);
    :func:`every_fifth` on the training examples in day order (positions 4, 9, 14, ... held
    out for validation); scaling statistics from the remaining (fitting) examples only.

    Parameters
    ----------
    series : array_like, shape (T,)
        The daily values, in time order.
    k : int
        The number of lags.
    first_test_day : int, optional
        The first target day of the test set (800 in the case study).
    every : int, optional
        One training example in ``every`` is held out for validation (5 in the case study).

    Returns
    -------
    LaggedSplit
        The three sets and the scaling statistics.

    Raises
    ------
    TypeError, ValueError
        As :func:`lag_features`, :func:`split_by_target_day` and :func:`every_fifth`; also
        ``ValueError`` if a feature or the target is constant on the fitting examples (its
        standard deviation is 0, so it cannot be standardised).
    """
    X, y, days = lag_features(series, k)
    train_rows, test_rows = split_by_target_day(days, first_test_day)
    fit_pos, val_pos = every_fifth(len(train_rows), every)
    fit_rows, val_rows = train_rows[fit_pos], train_rows[val_pos]
    x_mean, x_sd = X[fit_rows].mean(axis=0), X[fit_rows].std(axis=0)
    y_mean, y_sd = float(y[fit_rows].mean()), float(y[fit_rows].std())
    if np.any(x_sd == 0) or y_sd == 0:
        raise ValueError(
            "series must vary on the fitting examples: a feature or the target has standard "
            "deviation 0 there, so it cannot be standardised"
        )
    return LaggedSplit(
        k=k,
        X_fit=X[fit_rows], y_fit=y[fit_rows], day_fit=days[fit_rows],
        X_val=X[val_rows], y_val=y[val_rows], day_val=days[val_rows],
        X_test=X[test_rows], y_test=y[test_rows], day_test=days[test_rows],
        x_mean=x_mean, x_sd=x_sd, y_mean=y_mean, y_sd=y_sd,
    )


def one_step_ahead(
    make_model: Callable[[np.ndarray], object], series: object, first_test_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a statsmodels state-space model on the training days, freeze it, forecast one step ahead.

    Introduced in chapter 9. This gives a statistical forecaster exactly the information the
    networks of the case study get:

    1. the parameters are estimated (by maximum likelihood) on ``series[:first_test_day]``
       only, i.e. on the training days;
    2. they are then frozen, and the model is run (Kalman-filtered) through the whole series:
       the forecast for day d is computed from the observed values of days 0 .. d-1 and the
       frozen parameters; nothing is re-estimated on the test days.

    Parameters
    ----------
    make_model : callable
        ``make_model(endog)`` returns an unfitted statsmodels state-space model (an
        ``MLEModel``, such as ``SARIMAX`` or the state-space ``ExponentialSmoothing``) for
        the 1-d array ``endog``. It is called twice: on the training days, to fit, and on the
        whole series, to filter with the fitted parameters.
    series : array_like, shape (T,)
        The values, one per day, in time order, on the scale the model works on (for
        example ``np.log1p`` of counts); finite numbers.
    first_test_day : int
        The first day that is not used to estimate the parameters; at least 2 and less than
        ``T``.

    Returns
    -------
    forecasts : numpy.ndarray, shape (T,)
        ``forecasts[d]`` is the one-step-ahead forecast of ``series[d]`` made from days before
        d (on the days of the first season these come from the model's diffuse start and are
        of little use).
    params : numpy.ndarray
        The parameters estimated on the training days, as the model orders them.

    Raises
    ------
    TypeError
        If ``make_model`` is not callable or ``first_test_day`` is not an int.
    ValueError
        If ``series`` is not a 1-d array of finite numbers, or ``first_test_day`` is out of
        range.

    Examples
    --------
    >>> from statsmodels.tsa.statespace.sarimax import SARIMAX
    >>> def random_walk(endog):
    ...     return SARIMAX(endog, order=(0, 1, 0))
    >>> forecasts, params = one_step_ahead(random_walk, [1.0, 3.0, 2.0, 5.0, 4.0], 4)
    >>> forecasts[1:].round(6).tolist()   # a random walk forecasts the last observed value
    [1.0, 3.0, 2.0, 5.0]
    """
    if not callable(make_model):
        raise TypeError(f"make_model must be callable (endog -> model), got {type(make_model).__name__}")
    values = _check_series(series)
    first_test_day = as_int(first_test_day, "first_test_day", minimum=2, maximum=len(values) - 1)
    fitted = make_model(values[:first_test_day]).fit(disp=False)
    frozen = make_model(values).filter(fitted.params)
    return np.asarray(frozen.predict(), dtype=float), np.asarray(fitted.params, dtype=float)
