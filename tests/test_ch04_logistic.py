"""Checks of the derivations in chapter 4 (logistic regression).

- the log loss is the negative mean log-likelihood of Bernoulli labels;
- its gradient is (1/m) X^T (g(Xw + b) - y) (and the mean residual for b), checked against
  central finite differences and torch.autograd, with and without the L2 term;
- its Hessian is X~^T S X~ / m with S = diag(p (1 - p)), positive semi-definite;
- the L2-penalised mean log loss with lambda has the same minimiser as scikit-learn's
  objective C * sum(log loss) + ||w||^2 / 2 when C = 1 / lambda;
- on linearly separable data, gradient descent without regularisation lets ||w|| grow like
  log(step), and with L2 it stays bounded.
"""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from lr2dnn.checks import numerical_gradient
from lr2dnn.classification import sigmoid


def cost(X, y, w, b, lam=0.0):
    """Mean log loss plus (lam / 2m) ||w||^2, from the logits."""
    m = X.shape[0]
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z) + lam / (2 * m) * (w @ w)


def gradient(X, y, w, b, lam=0.0):
    """The chapter's formula: ((1/m) X^T (p - y) + (lam/m) w, mean(p - y))."""
    m = X.shape[0]
    residual = sigmoid(X @ w + b) - y
    return X.T @ residual / m + lam / m * w, residual.mean()


def random_problem(seed, m=25, n=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = rng.integers(0, 2, size=m).astype(float)
    w = rng.normal(size=n)
    b = float(rng.normal())
    return X, y, w, b


def test_log_loss_is_the_negative_mean_bernoulli_log_likelihood():
    X, y, w, b = random_problem(0)
    p = sigmoid(X @ w + b)
    likelihood = np.prod(p**y * (1 - p) ** (1 - y))
    assert cost(X, y, w, b) == pytest.approx(-np.log(likelihood) / X.shape[0], rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gradient_matches_central_finite_differences(seed, lam):
    X, y, w, b = random_problem(seed)
    n = X.shape[1]
    numeric = numerical_gradient(
        lambda theta: cost(X, y, theta[:n], theta[n], lam), np.append(w, b)
    )
    grad_w, grad_b = gradient(X, y, w, b, lam)
    np.testing.assert_allclose(np.append(grad_w, grad_b), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("lam", [0.0, 2.5])
def test_gradient_matches_torch_autograd(lam):
    X, y, w, b = random_problem(4, m=40, n=6)
    m = X.shape[0]
    w_t = torch.tensor(w, requires_grad=True)
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(X) @ w_t + b_t
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y))
    loss = loss + lam / (2 * m) * (w_t @ w_t)
    loss.backward()
    grad_w, grad_b = gradient(X, y, w, b, lam)
    np.testing.assert_allclose(grad_w, w_t.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert grad_b == pytest.approx(b_t.grad.item(), rel=1e-12)
    assert cost(X, y, w, b, lam) == pytest.approx(loss.item(), rel=1e-12)


def test_hessian_formula_and_convexity():
    X, y, w, b = random_problem(5, m=30, n=3)
    m, n = X.shape
    X1 = np.column_stack([X, np.ones(m)])
    p = sigmoid(X @ w + b)
    hessian = X1.T @ ((p * (1 - p))[:, None] * X1) / m

    def gradient_vector(theta):
        return np.append(*gradient(X, y, theta[:n], theta[n]))

    theta = np.append(w, b)
    # row j of the Hessian is the gradient of the j-th component of the gradient
    numeric = np.array([numerical_gradient(lambda t: gradient_vector(t)[j], theta)
                        for j in range(n + 1)])
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-9)
    assert np.linalg.eigvalsh(hessian).min() >= -1e-12


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, y_train.astype(float)


def test_objectives_differ_only_by_the_factor_m_over_lambda():
    X, y, w, b = random_problem(6, m=50, n=5)
    m = X.shape[0]
    for lam in (0.1, 1.0, 30.0):
        C = 1.0 / lam
        z = X @ w + b
        sklearn_objective = C * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * (w @ w)
        assert sklearn_objective == pytest.approx(m / lam * cost(X, y, w, b, lam), rel=1e-12)


@pytest.mark.parametrize("lam", [0.3, 1.0, 10.0])
def test_c_equals_one_over_lambda_gives_sklearns_coefficients(breast_cancer, lam):
    X, y = breast_cancer
    n = X.shape[1]
    result = minimize(
        lambda theta: cost(X, y, theta[:n], theta[n], lam),
        np.zeros(n + 1),
        jac=lambda theta: np.append(*gradient(X, y, theta[:n], theta[n], lam)),
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000},
    )
    ours = result.x
    model = LogisticRegression(C=1.0 / lam, tol=1e-10, max_iter=20000).fit(X, y)
    theirs = np.append(model.coef_[0], model.intercept_[0])
    np.testing.assert_allclose(ours, theirs, atol=2e-4)
    # The mapping matters: C = lambda (the wrong way round) gives other coefficients.
    wrong = LogisticRegression(C=lam, tol=1e-10, max_iter=20000).fit(X, y)
    if lam != 1.0:
        assert np.max(np.abs(wrong.coef_[0] - ours[:n])) > 1e-2


def test_gradient_descent_reaches_sklearns_solution(breast_cancer):
    X, y = breast_cancer
    lam, eta = 1.0, 0.5
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(10000):
        grad_w, grad_b = gradient(X, y, w, b, lam)
        w, b = w - eta * grad_w, b - eta * grad_b
    model = LogisticRegression(C=1.0 / lam, tol=1e-10, max_iter=20000).fit(X, y)
    np.testing.assert_allclose(w, model.coef_[0], atol=1e-4)
    assert b == pytest.approx(model.intercept_[0], abs=1e-4)


def separable_data(seed=0, per_class=20):
    rng = np.random.default_rng(seed)
    X = np.vstack([
        rng.normal([-1.5, -1.0], 0.6, size=(per_class, 2)),
        rng.normal([1.5, 1.0], 0.6, size=(per_class, 2)),
    ])
    y = np.repeat([0.0, 1.0], per_class)
    return X, y


def norms_along_gradient_descent(X, y, lam, checkpoints, eta=1.0):
    w, b = np.zeros(X.shape[1]), 0.0
    norms = []
    for step in range(1, max(checkpoints) + 1):
        grad_w, grad_b = gradient(X, y, w, b, lam)
        w, b = w - eta * grad_w, b - eta * grad_b
        if step in checkpoints:
            norms.append(np.linalg.norm(w))
    return np.array(norms), cost(X, y, w, b)


def test_separable_data_weights_grow_like_log_step_without_regularisation():
    X, y = separable_data()
    p = sigmoid(X @ np.array([1.5, 1.0]))
    assert np.all((p > 0.5) == (y == 1)), "the data must be linearly separable"
    norms, final_cost = norms_along_gradient_descent(X, y, 0.0, [100, 1000, 10000, 20000])
    assert np.all(np.diff(norms) > 0)
    # Growth like log(step): the gain from 100 to 1000 steps and from 1000 to 10000 steps
    # are similar (about 2 each), far from the tenfold gain a linear growth would give.
    gain_2, gain_3 = norms[1] - norms[0], norms[2] - norms[1]
    assert 0.7 < gain_3 / gain_2 < 1.5
    # Doubling the steps adds about log(2) times the per-decade gain: small, but not zero.
    assert 0.1 * gain_3 < norms[3] - norms[2] < 0.5 * gain_3
    assert final_cost < 1e-3


def test_separable_data_weights_stay_bounded_with_l2():
    X, y = separable_data()
    norms, _ = norms_along_gradient_descent(X, y, 0.5, [1000, 10000, 20000])
    np.testing.assert_allclose(norms[1:], norms[0], rtol=1e-6)
    assert norms[0] < 5


def test_squared_error_through_a_sigmoid_is_not_convex_and_its_slope_vanishes():
    """Chapter 4: for y = 1, (1 - sigma(z))^2 / 2 has second derivative
    -sigma (1 - sigma)^2 (1 - 3 sigma), negative for z < -log 2; the log loss's slope tends to -1."""
    z = np.array([-6.0, -2.0, -0.8, -0.6, 1.0])
    square = lambda v: np.sum(0.5 * (1 - sigmoid(v)) ** 2)
    slope = lambda v: np.sum(numerical_gradient(square, v, h=1e-4))  # sum of the elementwise slopes
    curvature = numerical_gradient(slope, z, h=1e-4)
    s = sigmoid(z)
    np.testing.assert_allclose(curvature, -s * (1 - s) ** 2 * (1 - 3 * s), atol=1e-6)
    assert np.all((curvature < 0) == (z < -np.log(2)))
    log_slope = numerical_gradient(lambda v: np.sum(np.logaddexp(0.0, v) - v), z)
    np.testing.assert_allclose(log_slope, s - 1, atol=1e-8)
    assert abs(numerical_gradient(square, z)[0]) < 0.003 < 0.99 < abs(log_slope[0])


def test_each_unit_of_a_feature_multiplies_the_odds_by_exp_w():
    w, b = -0.0555, 3.9217
    price = np.linspace(0, 150, 7)
    odds = lambda p: p / (1 - p)
    ratio = odds(sigmoid(w * (price + 1) + b)) / odds(sigmoid(w * price + b))
    np.testing.assert_allclose(ratio, np.exp(w), rtol=1e-10)


def test_separable_gains_stay_below_the_max_margin_limit_and_grow_towards_it():
    """Soudry et al. (2018): ||w_t|| grows like ||w_hat|| log t; the gain per decade tends to
    log(10) ||w_hat|| and the direction of w_t approaches that of w_hat."""
    from scipy.optimize import minimize

    X, y = separable_data()
    X1 = np.column_stack([np.ones(len(y)), X])
    signs = 2 * y - 1
    margin = minimize(lambda t: t @ t / 2, np.array([0.0, 3.0, 3.0]), jac=lambda t: t, method="SLSQP",
                      constraints=[{"type": "ineq", "fun": lambda t: signs * (X1 @ t) - 1,
                                    "jac": lambda t: signs[:, None] * X1}])
    assert margin.success
    w_hat = margin.x[1:]
    limit = np.log(10) * np.linalg.norm(w_hat)
    w, b, norms, angles = np.zeros(2), 0.0, {}, {}
    for step in range(1, 20001):
        grad_w, grad_b = gradient(X, y, w, b)
        w, b = w - grad_w, b - grad_b
        if step in (10, 100, 1000, 10000, 20000):
            norms[step] = np.linalg.norm(w)
            angles[step] = np.arccos(w @ w_hat / (np.linalg.norm(w) * np.linalg.norm(w_hat)))
    gains = [norms[100] - norms[10], norms[1000] - norms[100], norms[10000] - norms[1000]]
    assert gains[0] < gains[1] < gains[2] < limit
    # the direction converges only like 1 / log t, and not monotonically on every data set:
    # after 20000 steps it is within a few degrees of the max-margin direction
    assert angles[20000] < np.radians(6)


def gradient_theta(theta, X, y, lam=0.0):
    """The chapter's stacked gradient, for theta = (b, w)."""
    grad_w, grad_b = gradient(X, y, theta[1:], theta[0], lam)
    return np.concatenate([[grad_b], grad_w])


def test_the_exercise_gradient_check_reproduces_the_chapters_draws():
    """ex-ch04-gradient: the chapter's X_check and y_check (drawn from seed_everything(4)'s
    generator after the log-loss check) and a fixed theta give a relative error of about 6e-10."""
    from lr2dnn.checks import relative_error
    from lr2dnn.repro import seed_everything

    rng = seed_everything(4)
    rng.normal(scale=3.0, size=8), rng.integers(0, 2, size=8)  # the chapter's log-loss check
    X_check = rng.normal(size=(30, 4))
    y_check = rng.integers(0, 2, size=30).astype(float)
    theta_check = np.concatenate([[0.3], rng.normal(size=4)])
    # the chapter printed this gradient at theta_check: the draws are the same
    np.testing.assert_allclose(gradient_theta(theta_check, X_check, y_check),
                               [0.0448, 0.0730, 0.1507, 0.0381, 0.1532], atol=5e-5)
    theta = np.concatenate([[0.3], np.random.default_rng(0).normal(size=4)])
    numeric = numerical_gradient(lambda t: cost(X_check, y_check, t[1:], t[0]), theta)
    assert f"{relative_error(gradient_theta(theta, X_check, y_check), numeric):.0e}" == "6e-10"


def test_the_exercise_c_is_one_over_m_lambda_for_a_penalty_on_the_mean(breast_cancer):
    """ex-ch04-c-per-example: (lambda / 2) ||w||^2 on the mean loss needs C = 1 / (m lambda)."""
    from lr2dnn.optim import gradient_descent

    X, y = breast_cancer
    m, n = X.shape
    lam_text = 0.01
    theta = gradient_descent(lambda t: gradient_theta(t, X, y, lam=m * lam_text), np.zeros(n + 1),
                             eta=0.5, n_steps=10000).theta
    model = LogisticRegression(C=1 / (m * lam_text), tol=1e-10, max_iter=10000).fit(X, y)
    assert f"{1 / (m * lam_text):.4f}" == "0.2347"
    assert np.abs(theta[1:] - model.coef_[0]).max() < 1e-6 and abs(theta[0] - model.intercept_[0]) < 1e-6
