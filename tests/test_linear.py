"""Tests of lr2dnn.linear: the chapter-1 helpers."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from lr2dnn import linear


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    w = np.array([1.5, -2.0, 0.5])
    y = X @ w + 4.0 + 0.1 * rng.normal(size=50)
    return X, y


def test_add_intercept_known_values():
    np.testing.assert_array_equal(linear.add_intercept([[2.0], [3.0]]), [[1, 2], [1, 3]])


def test_predict_known_values():
    np.testing.assert_allclose(linear.predict([[1, 2], [3, 4]], [10, 1], b=0.5), [12.5, 34.5])


def test_normal_equation_matches_scikit_learn(sample):
    X, y = sample
    beta = linear.fit_normal_equation(linear.add_intercept(X), y)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(beta[0], model.intercept_, rtol=1e-10)
    np.testing.assert_allclose(beta[1:], model.coef_, rtol=1e-10)


def test_normal_equation_recovers_exact_line():
    # The ticket line of chapter 1: 30 EUR at 100 km, 80 EUR at 500 km.
    beta = linear.fit_normal_equation(linear.add_intercept([[100.0], [500.0]]), [30.0, 80.0])
    np.testing.assert_allclose(beta, [17.5, 0.125])


def test_least_squares_agrees_and_handles_dependent_columns(sample):
    X, y = sample
    np.testing.assert_allclose(linear.fit_least_squares(X, y), linear.fit_normal_equation(X, y))
    X_twice = np.column_stack([X[:, 0], X[:, 0]])
    w = linear.fit_least_squares(X_twice, y)
    np.testing.assert_allclose(w[0], w[1])  # the minimum-norm solution splits the weight


def test_singular_normal_equation_is_explained(sample):
    X, y = sample
    with pytest.raises(ValueError, match=r"X\^T X is singular: the 2 columns of X are linearly dependent \(rank 1\)"):
        linear.fit_normal_equation(np.column_stack([X[:, 0], 2 * X[:, 0]]), y)
    with pytest.raises(ValueError, match="rank 2"):
        linear.fit_normal_equation(X[:2], y[:2])  # fewer examples than features


def test_losses_known_values():
    y, y_hat = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    assert linear.mean_squared_error(y, y_hat) == pytest.approx(5 / 3)
    assert linear.mse_cost(y, y_hat) == pytest.approx(5 / 6)
    assert linear.mean_absolute_error(y, y_hat) == pytest.approx(1.0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: linear.add_intercept([1.0, 2.0]), ValueError,
     r"X must be a 2-d array \(a matrix\), got an array of shape \(2,\)"),
    (lambda: linear.predict([[1.0, 2.0]], [1.0]), ValueError,
     r"w must have one weight per column of X \(2\), got 1 weights"),
    (lambda: linear.fit_normal_equation([[1.0], [2.0]], [1.0, 2.0, 3.0]), ValueError,
     "X and y must have the same number of examples \\(rows\\), got 2 and 3"),
    (lambda: linear.fit_normal_equation([[1.0], [np.nan]], [1.0, 2.0]), ValueError,
     "X must hold finite numbers, got 1 NaN or infinite value"),
    (lambda: linear.mean_squared_error([], []), ValueError, "y must not be empty"),
    (lambda: linear.mean_absolute_error([1.0], ["a"]), TypeError,
     "y_hat must be an array of numbers, got list"),
    (lambda: linear.mse_cost([1.0, 2.0], [1.0]), ValueError, "y and y_hat must have the same"),
])
def test_bad_input_messages(call, error, message):
    with pytest.raises(error, match=message):
        call()
