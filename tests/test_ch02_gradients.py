"""Chapter 2's derivations, checked: the gradients of the squared-error cost, the stability
threshold of gradient descent on it (and the exercise's bisection that finds it), the
variance of a mini-batch gradient, and the convergence bound of gradient flow.

The formulas below are the ones the chapter derives and writes in its cells.
"""

import numpy as np
import pytest
import torch

from lr2dnn.checks import numerical_gradient
from lr2dnn.datasets import make_chapter1_data
from lr2dnn.optim import gradient_descent


def cost(w, b, X, y):
    """J(w, b) = 1/(2m) sum (x_i^T w + b - y_i)^2."""
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


def test_gradients_match_central_differences(point):
    w, b, X, y = point
    numeric_w = numerical_gradient(lambda v: cost(v, b, X, y), w, h=1e-5)
    numeric_b = numerical_gradient(lambda v: cost(w, v[0], X, y), np.array([b]), h=1e-5)[0]
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
    w0 = np.array([1.0, -2.0])
    # row j of the Hessian is the gradient of the j-th component of the gradient
    numeric = np.array([numerical_gradient(lambda v: grad_w_vector(v, 0.0, X, y)[j], w0, h=1e-4)
                        for j in range(2)])
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


def test_at_the_threshold_the_top_component_neither_grows_nor_shrinks():
    X, y, _ = make_chapter1_data()
    H = X.T @ X / len(y)
    mu, Q = np.linalg.eigh(H)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    grad = lambda w: grad_w_vector(w, 0.0, X, y)
    result = gradient_descent(grad, np.zeros(2), 2 / mu[-1], 2000)
    top = Q[:, -1] @ (result.path - w_star).T
    np.testing.assert_allclose(np.abs(top), abs(top[0]), rtol=1e-6)  # size kept ...
    assert np.all(np.sign(top[1:]) == -np.sign(top[:-1]))  # ... sign flipped at every step


def test_the_exercise_bisection_finds_the_threshold():
    """The solution of ex-ch02-largest-rate: 'still growing at the end' bisects to 2 / mu_max."""
    X, y, _ = make_chapter1_data()
    n = X.shape[1]
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    mu_max = np.linalg.eigvalsh(X.T @ X / len(y)).max()

    def gradient(w, X, y):
        return X.T @ (X @ w - y) / len(y)

    def unstable(eta, n_steps=1000):
        result = gradient_descent(lambda w: gradient(w, X, y), np.zeros(n), eta, n_steps)
        if result.diverged:
            return True
        halfway, end = (np.linalg.norm(result.path[k] - w_ls) for k in (n_steps // 2, n_steps))
        return end > halfway and end > 1e-8

    low, high = 1.0, 3.0
    while high - low > 1e-4:
        middle = (low + high) / 2
        low, high = (low, middle) if unstable(middle) else (middle, high)
    assert f"{low:.3f}" == f"{2 / mu_max:.3f}" == "1.937"

    def unstable_naive(eta, n_steps):  # the simpler test the solution warns about
        final = gradient_descent(lambda w: gradient(w, X, y), np.zeros(n), eta, n_steps).theta
        return np.linalg.norm(final - w_ls) >= np.linalg.norm(w_ls)

    found = {}
    for n_steps in (1000, 500):
        low, high = 1.0, 3.0
        while high - low > 1e-4:
            middle = (low + high) / 2
            low, high = (low, middle) if unstable_naive(middle, n_steps) else (middle, high)
        found[n_steps] = f"{low:.3f}"
    assert found == {1000: "1.938", 500: "1.940"}  # both call rates above the threshold stable

    # the last question: the first feature times 10
    mu_10 = np.linalg.eigvalsh((X * [10.0, 1.0]).T @ (X * [10.0, 1.0]) / len(y))
    assert f"{mu_10.max():.2f}" == "92.49" and f"{2 / mu_10.max():.4f}" == "0.0216"
    assert round((2 / mu_max) / (2 / mu_10.max())) == 90 and f"{mu_10.max() / mu_10.min():.1f}" == "89.6"


def test_the_exercise_on_the_mae_gradient_hops_around_the_minimiser():
    """ex-ch02-mae-gradient: the gradient shrinks to a floor, not to 0, so fixed-eta descent hops."""
    from sklearn.linear_model import QuantileRegressor

    X, y, _ = make_chapter1_data()
    lad = QuantileRegressor(quantile=0.5, alpha=0).fit(X, y)
    theta_best = np.r_[lad.intercept_, lad.coef_]

    def mae_gradient(theta):
        signs = np.sign(X @ theta[1:] + theta[0] - y)
        return np.r_[signs.mean(), X.T @ signs / len(y)]

    run = gradient_descent(mae_gradient, np.zeros(3), eta=0.1, n_steps=3000)
    distance = np.linalg.norm(run.path - theta_best, axis=1)
    length = np.linalg.norm([mae_gradient(theta) for theta in run.path], axis=1)
    assert [f"{d:.2g}" for d in distance[[0, 1000, 2000, 3000]]] == ["42", "0.4", "0.005", "0.00012"]
    assert 0.5e-4 < distance[-500:].min() < 1.5e-4 and 4e-4 < distance[-500:].max() < 6e-4
    assert f"{length[0]:.2f}" == "0.74"
    assert 0.002 < length[-500:].min() < 0.003 and 0.005 < length[-500:].max() < 0.0065


def test_the_exercise_on_batch_sizes_batch_size_10_ends_closest():
    """ex-ch02-sgd: the costs after 5 epochs at eta = 0.05, and how often B = 10 wins."""
    from lr2dnn.optim import minibatch_sgd

    X, y, _ = make_chapter1_data()

    def gradient(w, X, y):
        return X.T @ (X @ w - y) / len(y)

    def sgd(X, y, eta, batch_size, n_epochs, seed):  # the solution's function
        shuffler = np.random.default_rng(seed)
        w = np.zeros(X.shape[1])
        costs = [cost(w, 0.0, X, y)]
        for epoch in range(n_epochs):
            order = shuffler.permutation(len(y))
            for start in range(0, len(y), batch_size):
                batch = order[start:start + batch_size]
                w = w - eta * gradient(w, X[batch], y[batch])
            costs.append(cost(w, 0.0, X, y))
        return np.array(costs)

    seed0 = {B: sgd(X, y, 0.05, B, 5, seed=0) for B in (1, 10, 100, 1000)}
    assert {B: f"{c[-1]:.3f}" for B, c in seed0.items()} == {
        1: "48.698", 10: "48.510", 100: "55.320", 1000: "548.643"}
    assert [f"{c:.3f}" for c in seed0[1][1:5]] == ["48.614", "52.964", "54.477", "48.888"]
    result = minibatch_sgd(gradient, np.zeros(2), X, y, eta=0.05, batch_size=10, n_epochs=5,
                           rng=np.random.default_rng(0), cost=lambda w, X, y: cost(w, 0.0, X, y))
    assert np.allclose(result.costs, seed0[10])
    # B = 100 and 1000 make too few steps to compete on any seed; B = 10 against B = 1:
    wins = sum(sgd(X, y, 0.05, 10, 5, seed)[-1] < sgd(X, y, 0.05, 1, 5, seed)[-1] for seed in range(20))
    assert wins == 19


@pytest.mark.parametrize("B", [1, 3, 6])
def test_minibatch_variance_has_the_finite_population_factor(B):
    """Exact, over every batch of B of m = 7 examples: Var = (1/B) (m - B)/(m - 1) sigma^2."""
    from itertools import combinations

    rng = np.random.default_rng(0)
    g = rng.normal(size=(7, 2))  # per-example gradients
    m = len(g)
    single = np.mean(np.sum((g - g.mean(axis=0)) ** 2, axis=1))
    means = np.array([g[list(c)].mean(axis=0) for c in combinations(range(m), B)])
    variance = np.mean(np.sum((means - g.mean(axis=0)) ** 2, axis=1))
    assert variance == pytest.approx(single / B * (m - B) / (m - 1), rel=1e-12)


def test_gradient_flow_bound_and_euler_limit():
    """J(theta(tau)) - J* <= ||theta_0 - theta*||^2 / (2 tau), and small steps follow the flow."""
    X, y, _ = make_chapter1_data()
    X = X * np.array([1.0, 3.0])
    m = len(y)
    H = X.T @ X / m
    mu, Q = np.linalg.eigh(H)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    w0 = np.array([0.0, 8.0])
    tau = np.linspace(0.01, 6, 300)
    flow = w_star + (np.exp(-np.outer(tau, mu)) * ((w0 - w_star) @ Q)) @ Q.T
    excess = np.array([cost(w, 0.0, X, y) for w in flow]) - cost(w_star, 0.0, X, y)
    assert np.all(excess <= np.sum((w0 - w_star) ** 2) / (2 * tau))
    gaps = []
    for eta in (0.04, 0.02, 0.01):
        steps = int(round(2 / eta))
        path = gradient_descent(lambda w: grad_w_vector(w, 0.0, X, y), w0, eta, steps).path
        at = eta * np.arange(steps + 1)
        exact = w_star + (np.exp(-np.outer(at, mu)) * ((w0 - w_star) @ Q)) @ Q.T
        gaps.append(np.abs(path - exact).max())
    assert gaps[0] > gaps[1] > gaps[2]  # Euler's method: the gap shrinks with the step ...
    assert gaps[1] / gaps[2] == pytest.approx(2, rel=0.2)  # ... in proportion to it
