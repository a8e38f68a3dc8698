"""Chapter 3's ridge regression, checked: the gradient with an unpenalised bias, the
closed form, gradient descent and scikit-learn's Ridge all agree.

The formulas below are the ones the chapter derives and writes in its cells.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from lr2dnn.optim import gradient_descent


def ridge_cost(w, b, X, y, lam):
    """J(w, b) = 1/(2m) sum (x_i . w + b - y_i)^2 + lam/(2m) sum_j w_j^2 (b not penalised)."""
    m = len(y)
    return float(np.sum((X @ w + b - y) ** 2) / (2 * m) + lam / (2 * m) * np.sum(w**2))


def ridge_gradient(w, b, X, y, lam):
    """(X^T r + lam w) / m for w and mean(r) for b, with r = X w + b - y."""
    m = len(y)
    r = X @ w + b - y
    return (X.T @ r + lam * w) / m, float(np.mean(r))


def ridge_closed_form(X, y, lam):
    """Solve (A^T A + lam D) theta = A^T y, A = [1, X], D = diag(0, 1, ..., 1)."""
    A = np.column_stack([np.ones(len(y)), X])
    D = np.eye(A.shape[1])
    D[0, 0] = 0.0
    theta = np.linalg.solve(A.T @ A + lam * D, A.T @ y)
    return theta[1:], theta[0]


@pytest.fixture
def data():
    rng = np.random.default_rng(2)
    X = rng.normal(loc=[0.0, 3.0, -1.0, 0.5], size=(40, 4))
    y = X @ np.array([1.0, -2.0, 0.0, 4.0]) + 5.0 + rng.normal(size=40)
    return X, y


@pytest.mark.parametrize("lam", [0.0, 0.3, 25.0])
def test_ridge_gradient_matches_central_differences(data, lam):
    X, y = data
    rng = np.random.default_rng(0)
    w, b, h = rng.normal(size=4), 0.7, 1e-5
    g_w, g_b = ridge_gradient(w, b, X, y, lam)
    numeric_w = [(ridge_cost(w + e, b, X, y, lam) - ridge_cost(w - e, b, X, y, lam)) / (2 * h)
                 for e in np.eye(4) * h]
    numeric_b = (ridge_cost(w, b + h, X, y, lam) - ridge_cost(w, b - h, X, y, lam)) / (2 * h)
    np.testing.assert_allclose(g_w, numeric_w, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(g_b, numeric_b, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("lam", [0.3, 25.0])
def test_ridge_gradient_matches_autograd_and_leaves_bias_unpenalised(data, lam):
    X, y = data
    w = np.array([0.5, -1.0, 2.0, 0.1])
    b = -3.0
    w_t = torch.tensor(w, requires_grad=True)
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    m = len(y)
    J = ((torch.tensor(X) @ w_t + b_t - torch.tensor(y)) ** 2).sum() / (2 * m) \
        + lam / (2 * m) * (w_t**2).sum()
    J.backward()
    g_w, g_b = ridge_gradient(w, b, X, y, lam)
    np.testing.assert_allclose(J.item(), ridge_cost(w, b, X, y, lam), rtol=1e-12)
    np.testing.assert_allclose(g_w, w_t.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g_b, b_t.grad.item(), rtol=1e-10)
    # the bias's gradient does not depend on lambda
    assert g_b == ridge_gradient(w, b, X, y, 0.0)[1]


@pytest.mark.parametrize("lam", [0.1, 4.0, 100.0])
def test_closed_form_gradient_descent_and_scikit_learn_agree(data, lam):
    X, y = data
    Z = (X - X.mean(axis=0)) / X.std(axis=0)  # standardised: gradient descent is quick
    w_cf, b_cf = ridge_closed_form(Z, y, lam)

    def grad(theta):
        g_w, g_b = ridge_gradient(theta[1:], theta[0], Z, y, lam)
        return np.concatenate([[g_b], g_w])

    result = gradient_descent(grad, np.zeros(5), eta=0.2, n_steps=20_000, tol=1e-12)
    assert result.status == "converged"
    np.testing.assert_allclose(result.theta[1:], w_cf, atol=1e-9)
    np.testing.assert_allclose(result.theta[0], b_cf, atol=1e-9)
    # scikit-learn minimises ||y - Z w - b||^2 + alpha ||w||^2 = 2 m J: alpha = lam
    model = Ridge(alpha=lam).fit(Z, y)
    np.testing.assert_allclose(model.coef_, w_cf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, b_cf, rtol=1e-9)


def test_closed_form_equals_centred_form_and_gradient_vanishes(data):
    X, y = data
    lam = 3.0
    w, b = ridge_closed_form(X, y, lam)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w_centred = np.linalg.solve(Xc.T @ Xc + lam * np.eye(4), Xc.T @ yc)
    np.testing.assert_allclose(w, w_centred, rtol=1e-10)
    np.testing.assert_allclose(b, y.mean() - X.mean(axis=0) @ w, rtol=1e-10)
    g_w, g_b = ridge_gradient(w, b, X, y, lam)
    np.testing.assert_allclose(g_w, 0, atol=1e-10)
    np.testing.assert_allclose(g_b, 0, atol=1e-10)


def test_ridge_shrinks_the_weights_as_lambda_grows(data):
    X, y = data
    norms = [np.linalg.norm(ridge_closed_form(X, y, lam)[0]) for lam in [0.0, 1.0, 10.0, 1e3]]
    assert np.all(np.diff(norms) < 0)
    w_big, b_big = ridge_closed_form(X, y, 1e9)
    np.testing.assert_allclose(w_big, 0, atol=1e-6)
    np.testing.assert_allclose(b_big, y.mean(), atol=1e-5)  # the unpenalised bias survives


# --------------------------------------------------------------------------------------
# Claims of the chapter's later sections and exercises
# --------------------------------------------------------------------------------------

from lr2dnn.datasets import make_apartment_prices  # noqa: E402
from lr2dnn.linear import add_intercept  # noqa: E402


@pytest.fixture(scope="module")
def apartments():
    """The chapter's training set of simulated apartment prices."""
    X_all, price_all = make_apartment_prices(500, rng=np.random.default_rng(11))
    train = np.random.default_rng(12).permutation(500)[:300]
    return X_all[train], price_all[train]


def test_ridge_shrinkage_factor_explains_the_scaling_exercise(apartments):
    """ex-ch03-scaling-and-penalty: factor m s_j^2 / (m s_j^2 + lambda), about 0.9985 and 0.84."""
    X, y = apartments
    m, lam = len(y), 1000.0
    w_ls, _ = ridge_closed_form(X, y, 0.0)
    w_ridge, _ = ridge_closed_form(X, y, lam)
    s2 = X.var(axis=0)
    factor = m * s2 / (m * s2 + lam)
    np.testing.assert_allclose(w_ridge / w_ls, factor, rtol=0.02)  # nearly uncorrelated features
    assert factor[0] == pytest.approx(0.9985, abs=5e-4) and factor[1] == pytest.approx(0.84, abs=0.01)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    standardised = ridge_closed_form(Z, y, lam)[0] / ridge_closed_form(Z, y, 0.0)[0]
    np.testing.assert_allclose(standardised, [0.23, 0.21], atol=0.005)  # m / (m + lam) = 0.231
    np.testing.assert_allclose(standardised, m / (m + lam), rtol=0.1)
    # ex-ch03-ridge-agree: lambda = 10 multiplies the standardised weights by about m / (m + 10)
    np.testing.assert_allclose(ridge_closed_form(Z, y, 10.0)[0] / ridge_closed_form(Z, y, 0.0)[0],
                               m / (m + 10.0), rtol=5e-3)  # 0.968 and 0.964


def test_ridge_has_one_minimiser_even_with_constant_or_repeated_columns():
    """The proposition needs no hypothesis on X: A^T A + lambda D is positive definite."""
    m = 20
    for X in (np.ones((m, 2)), np.column_stack([np.arange(m), np.arange(m)]).astype(float)):
        A = add_intercept(X)
        D = np.diag([0.0, 1.0, 1.0])
        assert np.linalg.eigvalsh(A.T @ A + 0.5 * D).min() > 0
        assert np.linalg.eigvalsh(A.T @ A).min() < 1e-9  # without the penalty it is singular


def test_lasso_alpha_is_lambda_over_m_and_zeroes_irrelevant_weights(apartments):
    """scikit-learn's Lasso(alpha = lambda / m) satisfies the optimality conditions of
    1/(2m) ||X w + b - y||^2 + (lambda / m) sum |w_j|."""
    from sklearn.linear_model import Lasso

    X, y = apartments
    m, lam = len(y), 1000.0
    extra = np.random.default_rng(41).normal(size=(m, 4))
    Z = np.column_stack([X, extra])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    model = Lasso(alpha=lam / m, tol=1e-12, max_iter=100_000).fit(Z, y)
    w, b = model.coef_, model.intercept_
    grad = Z.T @ (Z @ w + b - y) / m  # gradient of the squared part
    nonzero = w != 0
    np.testing.assert_allclose(grad[nonzero], -lam / m * np.sign(w[nonzero]), atol=1e-6)
    assert np.all(np.abs(grad[~nonzero]) <= lam / m + 1e-6)
    assert np.sum(w == 0) == 4 and np.all(w[:2] != 0)  # the four random features, exactly zero


def test_step_count_from_the_error_recursion_equals_the_loop(apartments):
    """The chapter counts gradient-descent steps from e_t = (I - eta H)^t e_0."""
    X, y = apartments
    A = add_intercept(X / X.std(axis=0))  # 'scaled only': 89 steps
    mu, Q = np.linalg.eigh(A.T @ A / len(y))
    theta_best = np.linalg.lstsq(A, y, rcond=None)[0]
    J_min = np.sum((A @ theta_best - y) ** 2) / (2 * len(y))
    eta = 1 / mu.max()
    c = Q.T @ -theta_best
    t = np.arange(10_000)[:, None]
    formula = int(np.argmax(0.5 * np.sum(mu * c**2 * (1 - eta * mu) ** (2 * t), axis=1) <= 0.01 * J_min))
    theta, loop = np.zeros(3), None
    for step in range(10_000):
        r = A @ theta - y
        if np.sum(r**2) / (2 * len(y)) <= 1.01 * J_min:
            loop = step
            break
        theta = theta - eta * A.T @ r / len(y)
    assert formula == loop == 89


def test_an_unpenalised_bias_makes_ridge_follow_a_shift_of_the_targets(apartments):
    """Shifting every target by c moves only b, by c, when b is free; a penalised b lags behind,
    and with uncentred features the weights move too."""
    X, y = apartments
    lam, c = 50.0, 1000.0
    for features in (X, (X - X.mean(axis=0)) / X.std(axis=0)):
        A = add_intercept(features)
        free = [np.linalg.solve(A.T @ A + lam * np.diag([0.0, 1.0, 1.0]), A.T @ t) for t in (y, y + c)]
        assert free[1][0] - free[0][0] == pytest.approx(c)
        np.testing.assert_allclose(free[1][1:], free[0][1:], rtol=1e-8)
        penalised = [np.linalg.solve(A.T @ A + lam * np.eye(3), A.T @ t) for t in (y, y + c)]
        assert penalised[1][0] - penalised[0][0] < 0.9 * c  # the bias no longer follows in full
        # scaling the targets is harmless either way: both fits are linear in y
        np.testing.assert_allclose(np.linalg.solve(A.T @ A + lam * np.eye(3), A.T @ (3 * y)),
                                   3 * penalised[0])
    A_raw = add_intercept(X)
    penalised = [np.linalg.solve(A_raw.T @ A_raw + lam * np.eye(3), A_raw.T @ t) for t in (y, y + c)]
    assert np.abs(penalised[1][1:] - penalised[0][1:]).max() > 1e-2  # uncentred: the weights move


def test_the_ridge_exercise_42_steps_and_the_weights_in_thousand_eur(apartments):
    """ex-ch03-ridge-agree: eta = 0.5 reaches a gradient below 1e-10 in 42 steps; 2.413 and -5.622."""
    X, y = apartments
    mean, sd = X.mean(axis=0), X.std(axis=0)
    A = add_intercept((X - mean) / sd)
    D = np.diag([0.0, 1.0, 1.0])
    lam, m = 10.0, len(y)
    theta_cf = np.linalg.solve(A.T @ A + lam * D, A.T @ y)
    theta = np.zeros(3)
    for t in range(10_000):
        grad = (A.T @ (A @ theta - y) + lam * D @ theta) / m
        if np.linalg.norm(grad) < 1e-10:
            break
        theta = theta - 0.5 * grad
    assert t == 42 and np.abs(theta - theta_cf).max() < 1e-9
    per_unit = theta_cf[1:] / sd
    assert [f"{v:.3f}" for v in per_unit] == ["2.413", "-5.622"]
    w_ls = np.linalg.lstsq(add_intercept(X), y, rcond=None)[0][1:]
    assert [f"{v:.3f}" for v in w_ls] == ["2.494", "-5.832"]
    assert np.all(np.abs(per_unit) < np.abs(w_ls))


def test_the_quoted_speed_up_is_the_one_the_notebook_stored():
    """The timing cell's output is not compared by nbval and changes with every execution, so the
    prose's 'N times on the machine that built this page' must be updated with it."""
    import json
    import re
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[1] / "chapters" / "03-multiple-regression.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    timing = [
        c for c in cells
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("# NBVAL_IGNORE_OUTPUT")
        and "ratio about" in "".join(c["source"])
    ]
    assert len(timing) == 1, "exactly one timing cell"
    printed = "".join("".join(o.get("text", "")) for o in timing[0]["outputs"])
    ratio = int(re.search(r"ratio about (\d+)", printed).group(1))
    prose = [
        "".join(c["source"]) for c in cells
        if c["cell_type"] == "markdown" and "on the machine that built this page" in "".join(c["source"])
    ]
    assert len(prose) == 1
    quoted = re.search(r"([\d,]+) times on the machine that built this page", prose[0]).group(1)
    assert int(quoted.replace(",", "")) == ratio, (
        f"the prose quotes {quoted}, the stored output says {ratio}: update the prose after executing")
