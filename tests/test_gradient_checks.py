"""Tests of lr2dnn.checks: central differences and the relative error of two gradients."""

import numpy as np
import pytest

from lr2dnn.checks import numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic_form_matrix_argument():
    # f(W) = sum(A * W**2) has gradient 2 A W; central differences are exact for a
    # quadratic up to rounding.
    rng = np.random.default_rng(0)
    A, W = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    estimate = numerical_gradient(lambda V: np.sum(A * V**2), W, h=1e-4)
    assert estimate.shape == W.shape
    np.testing.assert_allclose(estimate, 2 * A * W, atol=1e-9)


def test_numerical_gradient_error_is_of_order_h_squared():
    # d/dx exp(x) at 0 is 1; the central difference is (e^h - e^-h) / 2h = 1 + h^2/6 + ...
    for h in (1e-2, 1e-3):
        error = numerical_gradient(lambda v: np.exp(v[0]), np.array([0.0]), h=h)[0] - 1
        assert error == pytest.approx(h**2 / 6, rel=1e-3)


def test_numerical_gradient_leaves_theta_alone_and_takes_a_scalar():
    theta = np.array([1.0, 2.0])
    numerical_gradient(lambda v: float(v @ v), theta)
    np.testing.assert_array_equal(theta, [1.0, 2.0])
    assert numerical_gradient(lambda v: float(v) ** 3, 2.0) == pytest.approx(12.0, rel=1e-8)


@pytest.mark.parametrize("theta, h, f, message", [
    ([1.0, np.nan], 1e-6, lambda v: 0.0, "theta must hold finite numbers"),
    ([], 1e-6, lambda v: 0.0, "theta must not be empty"),
    ([1.0], 0.0, lambda v: 0.0, "h must be a positive number, got 0.0"),
    ([1.0], -1e-3, lambda v: 0.0, "h must be a positive number"),
    ([1.0, 2.0], 1e-6, lambda v: v, r"f must return one finite number, got an array of shape \(2,\)"),
    ([1.0], 1e-6, lambda v: np.inf, "f must return one finite number"),
])
def test_numerical_gradient_bad_input(theta, h, f, message):
    with pytest.raises(ValueError, match=message):
        numerical_gradient(f, np.array(theta), h=h)


def test_relative_error_known_values():
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert relative_error([2.0], [1.0]) == pytest.approx(1 / 3)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # independent of scale
    assert relative_error([2e-9], [1e-9]) == pytest.approx(1 / 3)


def test_relative_error_bad_input():
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="b must hold finite numbers"):
        relative_error([1.0], [np.nan])
