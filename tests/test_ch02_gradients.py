"""Chapter 2's derivations, checked: the gradients of the squared-error cost and the
largest stable learning rate of gradient descent on it.

The formulas below are the ones the chapter derives and writes in its cells.
"""

import numpy as np
import pytest
import torch

from lr2dnn.datasets import make_chapter1_data
from lr2dnn.optim import gradient_descent


def cost(w, b, X, y):
    """J(w, b) = 1/(2m) sum (x_i . w + b - y_i)^2."""
    return float(np.mean((X @ w + b - y) ** 2) / 2)


def grad_w_by_components(w, b, X, y):
    """dJ/dw_j = 1/m sum_i (y_hat_i - y_i) x_ij, one j at a time."""
    residual = X @ w + b - y
    return np.array([np.mean(residual * X[:, j]) for j in range(X.shape[1])])


def grad_b(w, b, X, y):
    """dJ/db = 1/m sum_i (y_hat_i - y_i)."""
    return float(np.mean(X @ w + b - y))


def grad_w_vector(w, b, X, y):
    """The vector form X^T (X w + b - y) / m."""
    return X.T @ (X @ w + b - y) / len(y)


@pytest.fixture(params=["chapter1", "random"])
def point(request):
    if request.param == "chapter1":
        X, y, _ = make_chapter1_data()
    else:
        rng = np.random.default_rng(4)
        X = rng.normal(size=(60, 5)) * [1.0, 3.0, 0.1, 10.0, 1.0]
        y = rng.normal(size=60)
    rng = np.random.default_rng(11)
    return rng.normal(size=X.shape[1]), float(rng.normal()), X, y


def central_differences(f, theta, h=1e-5):
    steps = np.eye(len(theta)) * h
    return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in steps])


def test_gradients_match_central_differences(point):
    w, b, X, y = point
    numeric_w = central_differences(lambda v: cost(v, b, X, y), w)
    numeric_b = central_differences(lambda v: cost(w, v[0], X, y), np.array([b]))[0]
    scale = 1 + np.abs(numeric_w).max()
    np.testing.assert_allclose(grad_w_by_components(w, b, X, y), numeric_w, atol=1e-6 * scale)
    np.testing.assert_allclose(grad_w_vector(w, b, X, y), numeric_w, atol=1e-6 * scale)
    np.testing.assert_allclose(grad_b(w, b, X, y), numeric_b, atol=1e-6 * scale)


def test_gradients_match_autograd(point):
    w, b, X, y = point
    w_t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    X_t, y_t = torch.tensor(X), torch.tensor(y)
    J = ((X_t @ w_t + b_t - y_t) ** 2).mean() / 2
    J.backward()
    np.testing.assert_allclose(J.item(), cost(w, b, X, y), rtol=1e-12)
    np.testing.assert_allclose(grad_w_vector(w, b, X, y), w_t.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad_w_by_components(w, b, X, y), w_t.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad_b(w, b, X, y), b_t.grad.item(), rtol=1e-10, atol=1e-12)


def test_hessian_is_XtX_over_m_and_positive_definite():
    X, y, _ = make_chapter1_data()
    H = X.T @ X / len(y)
    w0, h = np.array([1.0, -2.0]), 1e-4
    # the Hessian's columns are differences of gradients (exact for a quadratic)
    numeric = np.column_stack([
        (grad_w_vector(w0 + e, 0.0, X, y) - grad_w_vector(w0 - e, 0.0, X, y)) / (2 * h)
        for e in np.eye(2) * h
    ])
    np.testing.assert_allclose(numeric, H, rtol=1e-6)
    assert np.linalg.eigvalsh(H).min() > 0


def distance_after(eta, n_steps=2000):
    X, y, _ = make_chapter1_data()
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    result = gradient_descent(lambda w: grad_w_vector(w, 0.0, X, y), np.zeros(2), eta, n_steps)
    return np.linalg.norm(result.theta - w_star) / np.linalg.norm(w_star)


def test_stability_bound_two_over_largest_eigenvalue():
    X, y, _ = make_chapter1_data()
    bound = 2 / np.linalg.eigvalsh(X.T @ X / len(y)).max()
    assert distance_after(0.99 * bound) < 1e-8  # just below: converges
    assert distance_after(1.01 * bound) > 1e6  # just above: the error grows without end
    assert distance_after(0.5 * bound) < 1e-12
