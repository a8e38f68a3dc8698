"""Tests of lr2dnn.optim: gradient descent and mini-batch SGD (chapter 2)."""

import numpy as np
import pytest

from lr2dnn.optim import MAX_NORM, gradient_descent, minibatch_sgd, patience_stop


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.normal(size=120)
    return X, y


def mse_grad(theta, X, y):
    return X.T @ (X @ theta - y) / len(y)


def mse_cost(theta, X, y):
    return float(np.mean((X @ theta - y) ** 2) / 2)


def test_gradient_descent_known_path():
    # J = theta^2, grad 2 theta: each step with eta = 0.25 halves theta
    result = gradient_descent(lambda t: 2 * t, [1.0], eta=0.25, n_steps=3, cost=lambda t: t @ t)
    np.testing.assert_allclose(result.path.ravel(), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(result.costs, [1.0, 0.25, 0.0625, 0.015625])
    np.testing.assert_allclose(result.theta, [0.125])
    assert result.status == "max_steps" and result.n_steps == 3 and not result.diverged


def test_gradient_descent_reaches_least_squares(problem):
    X, y = problem
    result = gradient_descent(lambda t: mse_grad(t, X, y), np.zeros(3), eta=0.5, n_steps=500)
    np.testing.assert_allclose(result.theta, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-10)
    assert result.path.shape == (501, 3) and result.costs is None


def test_gradient_descent_tolerance_stop(problem):
    X, y = problem
    result = gradient_descent(
        lambda t: mse_grad(t, X, y), np.zeros(3), eta=0.5, n_steps=10_000, tol=1e-6,
        cost=lambda t: mse_cost(t, X, y),
    )
    assert result.status == "converged"
    assert result.n_steps < 200
    assert np.linalg.norm(mse_grad(result.theta, X, y)) <= 1e-6
    assert len(result.costs) == len(result.path)
    # one step fewer and the gradient was still too large
    assert np.linalg.norm(mse_grad(result.path[-2], X, y)) > 1e-6
    assert np.all(np.diff(result.costs) <= 0)


def test_gradient_descent_flags_divergence():
    # J = theta^2 with eta = 1.5: theta is multiplied by -2 at each step
    result = gradient_descent(lambda t: 2 * t, [1.0], eta=1.5, n_steps=10_000)
    assert result.status == "diverged" and result.diverged
    assert result.n_steps < 100
    np.testing.assert_allclose(result.path[:4].ravel(), [1.0, -2.0, 4.0, -8.0])
    assert np.abs(result.theta[0]) > MAX_NORM / 2 or not np.isfinite(result.theta[0])


def test_gradient_descent_flags_non_finite_values():
    result = gradient_descent(lambda t: np.array([np.nan]), [1.0], eta=0.1, n_steps=5)
    assert result.status == "diverged" and result.n_steps == 0


def test_gradient_descent_bad_input():
    grad = lambda t: 2 * t  # noqa: E731
    with pytest.raises(ValueError, match="eta must be a finite number > 0, got 0"):
        gradient_descent(grad, [1.0], eta=0, n_steps=5)
    with pytest.raises(TypeError, match="eta must be a number, got str"):
        gradient_descent(grad, [1.0], eta="0.1", n_steps=5)
    with pytest.raises(ValueError, match="n_steps must be at least 0, got -1"):
        gradient_descent(grad, [1.0], eta=0.1, n_steps=-1)
    with pytest.raises(TypeError, match="n_steps must be an int, got float"):
        gradient_descent(grad, [1.0], eta=0.1, n_steps=2.5)
    with pytest.raises(ValueError, match="theta0 must be a 1-d array"):
        gradient_descent(grad, [[1.0]], eta=0.1, n_steps=2)
    with pytest.raises(ValueError, match=r"grad must return an array shaped like theta \(2,\)"):
        gradient_descent(lambda t: np.zeros(3), [1.0, 2.0], eta=0.1, n_steps=2)
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        gradient_descent(grad, [1.0], eta=0.1, n_steps=2, tol=-1.0)


def test_zero_steps_returns_the_start():
    result = gradient_descent(lambda t: 2 * t, [3.0], eta=0.1, n_steps=0, cost=lambda t: t @ t)
    np.testing.assert_array_equal(result.path, [[3.0]])
    np.testing.assert_array_equal(result.costs, [9.0])


def test_full_batch_sgd_equals_gradient_descent(problem):
    X, y = problem
    sgd = minibatch_sgd(mse_grad, np.zeros(3), X, y, eta=0.3, batch_size=len(y), n_epochs=20,
                        rng=0)
    gd = gradient_descent(lambda t: mse_grad(t, X, y), np.zeros(3), eta=0.3, n_steps=20)
    np.testing.assert_allclose(sgd.path, gd.path, atol=1e-12)


def test_sgd_records_every_step_and_every_epoch(problem):
    X, y = problem
    result = minibatch_sgd(mse_grad, np.zeros(3), X, y, eta=0.05, batch_size=50, n_epochs=4,
                           rng=np.random.default_rng(1), cost=mse_cost)
    assert result.path.shape == (1 + 4 * 3, 3)  # 120 = 50 + 50 + 20: three batches an epoch
    assert result.costs.shape == (5,)
    np.testing.assert_allclose(result.costs[-1], mse_cost(result.theta, X, y))
    assert result.costs[-1] < result.costs[0]


def test_sgd_reproduces_a_hand_written_loop(problem):
    X, y = problem
    rng = np.random.default_rng(7)
    theta, steps = np.zeros(3), [np.zeros(3)]
    for _ in range(3):
        order = rng.permutation(len(y))
        for start in range(0, len(y), 32):
            batch = order[start:start + 32]
            theta = theta - 0.1 * mse_grad(theta, X[batch], y[batch])
            steps.append(theta)
    result = minibatch_sgd(mse_grad, np.zeros(3), X, y, eta=0.1, batch_size=32, n_epochs=3,
                           rng=7)
    np.testing.assert_array_equal(result.path, np.array(steps))


def test_sgd_converges_near_least_squares(problem):
    X, y = problem
    result = minibatch_sgd(mse_grad, np.zeros(3), X, y, eta=0.02, batch_size=8, n_epochs=200,
                           rng=3)
    np.testing.assert_allclose(result.theta, np.linalg.lstsq(X, y, rcond=None)[0], atol=0.02)


def test_sgd_flags_divergence(problem):
    X, y = problem
    result = minibatch_sgd(mse_grad, np.zeros(3), X, y, eta=50.0, batch_size=10, n_epochs=100,
                           rng=0)
    assert result.diverged and result.n_steps < 100 * 12


def test_sgd_bad_input(problem):
    X, y = problem
    theta0 = np.zeros(3)
    with pytest.raises(ValueError, match="batch_size must be between 1 and m = 120, got 121"):
        minibatch_sgd(mse_grad, theta0, X, y, eta=0.1, batch_size=121, n_epochs=1, rng=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        minibatch_sgd(mse_grad, theta0, X, y, eta=0.1, batch_size=0, n_epochs=1, rng=0)
    with pytest.raises(ValueError, match="n_epochs must be at least 0"):
        minibatch_sgd(mse_grad, theta0, X, y, eta=0.1, batch_size=10, n_epochs=-3, rng=0)
    with pytest.raises(ValueError, match="eta must be a finite number > 0"):
        minibatch_sgd(mse_grad, theta0, X, y, eta=-0.1, batch_size=10, n_epochs=1, rng=0)
    with pytest.raises(ValueError, match="same number of examples"):
        minibatch_sgd(mse_grad, theta0, X, y[:-1], eta=0.1, batch_size=10, n_epochs=1, rng=0)
    with pytest.raises(ValueError, match="X must be a 2-d array"):
        minibatch_sgd(mse_grad, theta0, y, y, eta=0.1, batch_size=10, n_epochs=1, rng=0)
    with pytest.raises(ValueError, match="grad must return an array shaped like theta"):
        minibatch_sgd(lambda t, Xb, yb: Xb, theta0, X, y, eta=0.1, batch_size=10, n_epochs=1,
                      rng=0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        minibatch_sgd(mse_grad, theta0, X, y, eta=0.1, batch_size=10, n_epochs=1, rng="x")


def test_patience_stop_on_a_known_curve():
    errors = [5.0, 3.0, 2.9, 2.95, 3.1, 3.2]
    assert patience_stop(errors, patience=2, min_delta=0.05) == (4, 2)
    # a larger tolerance: the step to 2.9 is no improvement, so the rule stops earlier
    assert patience_stop(errors, patience=2, min_delta=0.2) == (3, 1)
    # a rule that never runs out of patience stops at the end of the curve
    assert patience_stop([3.0, 2.0, 1.0], patience=5) == (2, 2)


def test_patience_stop_matches_the_rule_inside_a_loop(problem):
    """The loop of chapter 2: stop `patience` steps after the last improvement by > min_delta."""
    X, y = problem
    X_fit, y_fit, X_val, y_val = X[:80], y[:80], X[80:], y[80:]
    for min_delta in (0.0, 1e-4):
        theta, best, best_step, history = np.zeros(3), np.inf, 0, []
        for t in range(5000):
            val = float(np.mean((X_val @ theta - y_val) ** 2))
            history.append(val)
            if val < best - min_delta:
                best, best_step = val, t
            elif t - best_step >= 15:
                break
            theta = theta - 0.1 * mse_grad(theta, X_fit, y_fit)
        assert patience_stop(history, patience=15, min_delta=min_delta) == (t, best_step)


@pytest.mark.parametrize("kwargs, error", [
    ({"errors": [], "patience": 3}, "errors must not be empty"),
    ({"errors": [1.0, np.nan], "patience": 3}, "errors must hold finite numbers"),
    ({"errors": [1.0, 2.0], "patience": 0}, "patience"),
    ({"errors": [1.0, 2.0], "patience": 2, "min_delta": -1.0}, "min_delta must be a number >= 0, got -1.0"),
])
def test_patience_stop_bad_input(kwargs, error):
    with pytest.raises(ValueError, match=error):
        patience_stop(**kwargs)
