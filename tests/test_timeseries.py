"""Tests of lr2dnn.timeseries (chapter 9): lag features, splits, naive forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from lr2dnn.timeseries import (
    LaggedSplit,
    every_fifth,
    lag_features,
    lagged_split,
    naive_forecast,
    one_step_ahead,
    split_by_target_day,
)

SERIES = [1, 2, 3, 4, 5, 6]


# --------------------------------------------------------------------------- lag_features


def test_lag_features_one_lag():
    X, y, day = lag_features(SERIES, 1)
    np.testing.assert_array_equal(X, [[1], [2], [3], [4], [5]])
    np.testing.assert_array_equal(y, [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(day, [1, 2, 3, 4, 5])


def test_lag_features_three_lags_most_recent_first():
    X, y, day = lag_features(SERIES, 3)
    np.testing.assert_array_equal(X, [[3, 2, 1], [4, 3, 2], [5, 4, 3]])
    np.testing.assert_array_equal(y, [4, 5, 6])
    np.testing.assert_array_equal(day, [3, 4, 5])


def test_lag_features_largest_k_leaves_one_example():
    X, y, day = lag_features(SERIES, 5)
    np.testing.assert_array_equal(X, [[5, 4, 3, 2, 1]])
    np.testing.assert_array_equal(y, [6])
    np.testing.assert_array_equal(day, [5])


def test_lag_features_matches_its_definition_on_a_random_series():
    rng = np.random.default_rng(3)
    series = rng.normal(size=40)
    k = 6
    X, y, day = lag_features(series, k)
    assert X.shape == (40 - k, k)
    for i, n in enumerate(day):
        assert y[i] == series[n]
        for j in range(k):  # x_{j+1} is the value j+1 days before the target
            assert X[i, j] == series[n - (j + 1)]


def test_lag_features_does_not_share_memory_with_input():
    series = np.array(SERIES, dtype=float)
    X, y, _ = lag_features(series, 2)
    y[0] = -99.0
    X[0, 0] = -99.0
    np.testing.assert_array_equal(series, SERIES)


@pytest.mark.parametrize("k", [0, -1, 6, 7])
def test_lag_features_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must"):
        lag_features(SERIES, k)


def test_lag_features_k_message_names_length():
    with pytest.raises(ValueError, match=r"k must be less than the length of series \(6\).*k=6"):
        lag_features(SERIES, 6)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        lag_features(SERIES, 0)


def test_lag_features_rejects_non_int_k():
    with pytest.raises(TypeError, match="k must be an int, got float"):
        lag_features(SERIES, 2.0)
    with pytest.raises(TypeError, match="k must be an int, got bool"):
        lag_features(SERIES, True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_lag_features_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="series must hold finite numbers"):
        lag_features([1.0, bad, 3.0, 4.0], 1)


def test_lag_features_rejects_2d_and_empty_and_text():
    with pytest.raises(ValueError, match=r"series must be a 1-d array.*shape \(3, 2\)"):
        lag_features(np.ones((3, 2)), 1)
    with pytest.raises(ValueError, match="series must not be empty"):
        lag_features([], 1)
    with pytest.raises(TypeError, match="series must be an array of numbers"):
        lag_features(["a", "b"], 1)


# --------------------------------------------------------------------------- naive_forecast


def test_naive_forecast_lag_one_is_tomorrow_equals_today():
    y_hat, day = naive_forecast(SERIES, 1)
    np.testing.assert_array_equal(y_hat, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(day, [1, 2, 3, 4, 5])


def test_naive_forecast_lag_three():
    y_hat, day = naive_forecast(SERIES, 3)
    np.testing.assert_array_equal(y_hat, [1, 2, 3])
    np.testing.assert_array_equal(day, [3, 4, 5])


def test_naive_forecast_equals_lag_feature_column():
    """The lag-L forecast is column x_L of the lag features, on the same target days."""
    rng = np.random.default_rng(0)
    series = rng.normal(size=30)
    X, _, day_X = lag_features(series, 7)
    y_hat, day = naive_forecast(series, 7)
    np.testing.assert_array_equal(day, day_X)
    np.testing.assert_array_equal(y_hat, X[:, 6])


def test_naive_forecast_of_weekly_cycle_is_exact_with_lag_seven():
    week = np.array([5.0, 9, 9, 8, 7, 2, 1])
    series = np.tile(week, 4)
    y_hat, day = naive_forecast(series, 7)
    np.testing.assert_array_equal(y_hat, series[day])
    y_hat1, day1 = naive_forecast(series, 1)
    assert np.abs(y_hat1 - series[day1]).mean() > 0


def test_naive_forecast_rejects_bad_lag():
    with pytest.raises(ValueError, match="lag must be at least 1, got 0"):
        naive_forecast(SERIES, 0)
    with pytest.raises(ValueError, match=r"lag must be less than the length of series \(6\)"):
        naive_forecast(SERIES, 6)
    with pytest.raises(TypeError, match="lag must be an int"):
        naive_forecast(SERIES, 1.5)
    with pytest.raises(ValueError, match="series must hold finite numbers"):
        naive_forecast([1.0, np.nan, 2.0], 1)


# --------------------------------------------------------------------------- splits


def test_split_by_target_day():
    _, _, day = lag_features(SERIES, 2)  # target days 2, 3, 4, 5
    train, test = split_by_target_day(day, 4)
    np.testing.assert_array_equal(train, [0, 1])
    np.testing.assert_array_equal(test, [2, 3])
    np.testing.assert_array_equal(day[test], [4, 5])


def test_split_by_target_day_rejects_empty_sides():
    day = np.array([2, 3, 4, 5])
    with pytest.raises(ValueError, match="first_test_day must leave examples on both sides"):
        split_by_target_day(day, 2)
    with pytest.raises(ValueError, match="first_test_day must leave examples on both sides"):
        split_by_target_day(day, 6)
    with pytest.raises(TypeError, match="first_test_day must be an int"):
        split_by_target_day(day, 3.5)
    with pytest.raises(ValueError, match="target_index must hold whole numbers"):
        split_by_target_day([1.5, 2.0], 2)


def test_every_fifth_positions():
    fit, val = every_fifth(12)
    np.testing.assert_array_equal(val, [4, 9])
    np.testing.assert_array_equal(fit, [0, 1, 2, 3, 5, 6, 7, 8, 10, 11])


def test_every_third():
    fit, val = every_fifth(7, every=3)
    np.testing.assert_array_equal(val, [2, 5])
    np.testing.assert_array_equal(fit, [0, 1, 3, 4, 6])


def test_every_fifth_rejects_bad_arguments():
    with pytest.raises(ValueError, match="m must be at least 5, got 4"):
        every_fifth(4)
    with pytest.raises(ValueError, match="every must be at least 2, got 1"):
        every_fifth(10, every=1)
    with pytest.raises(TypeError, match="m must be an int"):
        every_fifth(10.0)


# --------------------------------------------------------------------------- lagged_split


def test_lagged_split_on_small_series():
    series = np.arange(20.0) ** 2  # not linear, so scaling statistics differ per column
    split = lagged_split(series, k=2, first_test_day=15, every=5)
    assert isinstance(split, LaggedSplit)
    # Training targets: days 2..14 (13 examples); positions 4, 9 are days 6, 11.
    np.testing.assert_array_equal(split.day_val, [6, 11])
    np.testing.assert_array_equal(split.day_fit, [2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14])
    np.testing.assert_array_equal(split.day_test, [15, 16, 17, 18, 19])
    np.testing.assert_array_equal(split.y_test, series[15:])
    np.testing.assert_array_equal(split.X_test[0], [series[14], series[13]])
    # Scaling statistics come from the fitting examples only.
    np.testing.assert_allclose(split.x_mean, split.X_fit.mean(axis=0))
    np.testing.assert_allclose(split.x_sd, split.X_fit.std(axis=0))
    assert split.y_mean == pytest.approx(series[split.day_fit].mean())
    assert split.y_sd == pytest.approx(series[split.day_fit].std())
    Z = split.scale_X(split.X_fit)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1)
    np.testing.assert_allclose(split.unscale_y(split.scale_y(split.y_test)), split.y_test)


def test_lagged_split_test_days_do_not_depend_on_k():
    series = np.sin(np.arange(60.0)) + np.arange(60.0)
    days = [lagged_split(series, k, first_test_day=50).day_test for k in (1, 3, 7)]
    for d in days:
        np.testing.assert_array_equal(d, np.arange(50, 60))


def test_lagged_split_rejects_constant_series_and_wrong_columns():
    with pytest.raises(ValueError, match="series must vary on the fitting examples"):
        lagged_split(np.ones(30), k=2, first_test_day=20)
    split = lagged_split(np.arange(30.0) ** 2, k=2, first_test_day=20)
    with pytest.raises(ValueError, match=r"X must have k=2 columns, got shape \(3, 3\)"):
        split.scale_X(np.ones((3, 3)))


# --------------------------------------------------------------------------- one_step_ahead


def _seasonal_series(T=120, seed=4):
    """A weekly pattern on a wandering level, on a log-like scale."""
    rng = np.random.default_rng(seed)
    level = 5 + np.cumsum(rng.normal(scale=0.05, size=T))
    weekly = np.tile([0.3, 0.1, 0.2, 0.0, -0.1, -0.6, -0.8], T // 7 + 1)[:T]
    return level + weekly + rng.normal(scale=0.05, size=T)


def _sarima(endog):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(endog, order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)


def test_one_step_ahead_random_walk_forecasts_the_previous_value():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    series = np.array([2.0, 5.0, 3.0, 4.0, 8.0, 6.0, 7.0])
    forecasts, params = one_step_ahead(lambda e: SARIMAX(e, order=(0, 1, 0)), series, 5)
    np.testing.assert_allclose(forecasts[1:], series[:-1])
    assert forecasts.shape == series.shape and params.shape == (1,)


def test_one_step_ahead_never_reads_the_future():
    """Change the series after day d: no forecast up to day d may move."""
    series = _seasonal_series()
    first_test_day = 84
    forecasts, params = one_step_ahead(_sarima, series, first_test_day)
    for d in (first_test_day, 100, 116):
        changed = series.copy()
        changed[d + 1 :] += 3.0
        moved, moved_params = one_step_ahead(_sarima, changed, first_test_day)
        np.testing.assert_array_equal(moved_params, params)  # estimated on training days only
        np.testing.assert_allclose(moved[: d + 1], forecasts[: d + 1], rtol=0, atol=1e-12)
        assert np.abs(moved[d + 2 :] - forecasts[d + 2 :]).min() > 0.1  # later ones do move


def test_one_step_ahead_estimates_on_the_training_days():
    """Changing a training day changes the parameters: they are estimated there."""
    series = _seasonal_series()
    _, params = one_step_ahead(_sarima, series, 84)
    changed = series.copy()
    changed[40:50] += np.linspace(0, 1, 10)
    _, other = one_step_ahead(_sarima, changed, 84)
    assert np.abs(other - params).max() > 1e-3


def test_one_step_ahead_equals_refiltering_with_frozen_parameters():
    """The forecasts on the test days are the Kalman filter's, with the training fit's params."""
    series = _seasonal_series()
    forecasts, params = one_step_ahead(_sarima, series, 84)
    fitted = _sarima(series[:84]).fit(disp=False)
    np.testing.assert_allclose(params, fitted.params)
    np.testing.assert_allclose(forecasts[:84], fitted.predict(), rtol=1e-10, atol=1e-10)


def test_one_step_ahead_checks_its_arguments():
    series = _seasonal_series(30)
    with pytest.raises(TypeError, match="make_model must be callable"):
        one_step_ahead("sarima", series, 20)
    with pytest.raises(ValueError, match="first_test_day must be between 2 and 29"):
        one_step_ahead(_sarima, series, 30)
    with pytest.raises(ValueError, match="series must hold finite numbers"):
        one_step_ahead(_sarima, [1.0, np.nan, 2.0, 3.0], 2)
