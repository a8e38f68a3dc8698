"""Checks of the derivations in chapter 1, "Linear regression and the normal equation".

Every formula the chapter derives is compared here with an independent computation:
central finite differences, scikit-learn, a linear program, or a numerical minimiser
from SciPy that knows nothing about the closed form. Some tests also show that the check
is sharp, i.e. that a plausible wrong answer fails it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from sklearn.datasets import make_regression
from sklearn.linear_model import LinearRegression

from lr2dnn.checks import numerical_gradient

# --------------------------------------------------------------------------------------
# The formulas of chapter 1, written out as the chapter writes them.
# --------------------------------------------------------------------------------------


def cost(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """J(w) = 1/(2m) * ||X w - y||^2."""
    r = X @ w - y
    return float(r @ r) / (2 * len(y))


def gradient(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The gradient derived in chapter 1: X^T (X w - y) / m."""
    return X.T @ (X @ w - y) / len(y)


def normal_equation(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Solve X^T X w = X^T y."""
    return np.linalg.solve(X.T @ X, X.T @ y)


def gaussian_nll(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Negative log-likelihood of y = X w + eps, eps ~ N(0, sigma^2); theta = (w, log sigma^2)."""
    w, log_var = theta[:-1], theta[-1]
    r = X @ w - y
    m = len(y)
    return 0.5 * m * np.log(2 * np.pi) + 0.5 * m * log_var + (r @ r) / (2 * np.exp(log_var))


def laplace_nll(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Negative log-likelihood of y = X w + eps, eps ~ Laplace(0, s); theta = (w, log s)."""
    w, log_s = theta[:-1], theta[-1]
    r = X @ w - y
    m = len(y)
    return m * np.log(2) + m * log_s + np.sum(np.abs(r)) / np.exp(log_s)


def mse(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean((X @ w - y) ** 2))


def mae(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean(np.abs(X @ w - y)))


def least_absolute_deviations(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact minimiser of the MAE, as a linear program.

    Minimise sum(t) over (w, t) subject to -t <= y - X w <= t.
    """
    m, n = X.shape
    c = np.concatenate([np.zeros(n), np.ones(m)])
    A_ub = np.block([[X, -np.eye(m)], [-X, -np.eye(m)]])
    b_ub = np.concatenate([y, -y])
    bounds = [(None, None)] * n + [(0, None)] * m
    result = optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert result.success, result.message
    return result.x[:n]


NELDER_MEAD = {"method": "Nelder-Mead", "options": {"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20_000}}

# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_data():
    """The chapter's simulated data set, exactly as the chapter makes it."""
    np.random.seed(42)
    X, y, coef = make_regression(
        n_samples=1000, n_features=2, n_informative=2, n_targets=1, bias=0, noise=10, coef=True
    )
    return X, y, coef


@pytest.fixture(scope="module")
def laplace_data():
    """A smaller data set with Laplace noise, for the likelihood checks."""
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(200, 2))
    y = X @ np.array([3.0, -2.0]) + rng.laplace(scale=1.5, size=200)
    return X, y


@pytest.fixture(scope="module")
def skewed_sample():
    """An odd-sized sample whose mean and median are far apart."""
    rng = np.random.default_rng(7)
    return rng.exponential(scale=10.0, size=101)


# --------------------------------------------------------------------------------------
# Gradient of the cost and the normal equation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    w = rng.normal(size=3)
    numeric = numerical_gradient(lambda v: cost(X, y, v), w, h=1e-5)
    assert np.allclose(gradient(X, y, w), numeric, rtol=1e-6, atol=1e-9)


def test_gradient_check_rejects_a_gradient_without_the_half():
    """Forgetting the 1/2 of the cost doubles the gradient; the check must notice."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    w = rng.normal(size=3)
    numeric = numerical_gradient(lambda v: cost(X, y, v), w, h=1e-5)
    assert not np.allclose(2 * gradient(X, y, w), numeric, rtol=1e-6, atol=1e-9)


def test_gradient_is_zero_at_the_normal_equation_solution(seeded_data):
    X, y, coef = seeded_data
    w_hat = normal_equation(X, y)
    scale = np.abs(X.T @ y).max() / len(y)  # size of the gradient's terms
    assert np.abs(gradient(X, y, w_hat)).max() < 1e-12 * scale
    # ... and not zero elsewhere, not even at the true coefficients (noise moves the minimum)
    assert np.abs(gradient(X, y, coef)).max() > 1e-3


def test_normal_equation_is_the_minimum(seeded_data):
    """J(w_hat + v) - J(w_hat) = ||X v||^2 / (2m) > 0 for every v != 0."""
    X, y, _ = seeded_data
    w_hat = normal_equation(X, y)
    rng = np.random.default_rng(1)
    for v in rng.normal(size=(20, 2)):
        increase = cost(X, y, w_hat + v) - cost(X, y, w_hat)
        assert increase > 0
        assert np.isclose(increase, np.sum((X @ v) ** 2) / (2 * len(y)), rtol=1e-8)


def test_normal_equation_matches_sklearn_without_intercept(seeded_data):
    X, y, _ = seeded_data
    model = LinearRegression(fit_intercept=False).fit(X, y)
    assert np.allclose(normal_equation(X, y), model.coef_, rtol=1e-10, atol=1e-10)


def test_normal_equation_with_a_column_of_ones_matches_sklearn_intercept(seeded_data):
    X, y, _ = seeded_data
    y_shifted = y + 50.0
    X1 = np.column_stack([np.ones(len(y)), X])
    w1 = normal_equation(X1, y_shifted)
    model = LinearRegression().fit(X, y_shifted)
    assert np.isclose(w1[0], model.intercept_, rtol=1e-10)
    assert np.allclose(w1[1:], model.coef_, rtol=1e-10)


def test_residual_is_orthogonal_to_the_columns(seeded_data):
    X, y, _ = seeded_data
    residual = X @ normal_equation(X, y) - y  # r = y_hat - y
    assert np.allclose(X.T @ residual, 0.0, atol=1e-9 * np.abs(X.T @ y).max())


def test_gradient_expansion_is_exact_and_catches_a_wrong_gradient(seeded_data):
    """Chapter 1's analytic check: J(w + v) = J(w) + grad^T v + ||X v||^2 / (2m), exactly."""
    X, y, _ = seeded_data
    rng = np.random.default_rng(5)
    for w, v in rng.normal(scale=20.0, size=(5, 2, 2)):
        expansion = cost(X, y, w) + gradient(X, y, w) @ v + np.sum((X @ v) ** 2) / (2 * len(y))
        assert cost(X, y, w + v) == pytest.approx(expansion, rel=1e-12)
        wrong = cost(X, y, w) + 2 * gradient(X, y, w) @ v + np.sum((X @ v) ** 2) / (2 * len(y))
        assert cost(X, y, w + v) != pytest.approx(wrong, rel=1e-3)


def test_primer_eigenvalues_singular_values_and_the_ellipse(seeded_data):
    """cond(X^T X) = mu_max / mu_min = cond(X)^2, and v^T A v = 1 has half-axes 1/sqrt(mu)."""
    X, _, _ = seeded_data
    A = X.T @ X
    mu, Q = np.linalg.eigh(A)
    assert np.allclose(np.linalg.svd(X, compute_uv=False)[::-1] ** 2, mu)
    assert np.isclose(np.linalg.cond(A), mu[-1] / mu[0])
    for i in range(2):  # the end of each half-axis lies on the ellipse, and nothing longer does
        end = Q[:, i] / np.sqrt(mu[i])
        assert end @ A @ end == pytest.approx(1.0)
        assert (1.01 * end) @ A @ (1.01 * end) > 1.0


def test_condition_number_of_the_gram_matrix_is_squared():
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=200)
    for delta in (1.0, 1e-1, 1e-2, 1e-3):
        X = np.column_stack([x1, x1 + delta * rng.normal(size=200)])
        assert np.isclose(np.linalg.cond(X.T @ X), np.linalg.cond(X) ** 2, rtol=1e-8)


def test_lstsq_beats_the_normal_equation_on_a_nearly_collinear_design():
    rng = np.random.default_rng(4)
    x1 = rng.normal(size=200)
    X = np.column_stack([x1, x1 + 1e-6 * rng.normal(size=200)])
    w_true = np.array([1.0, 2.0])
    y = X @ w_true  # noise-free: the exact least-squares answer is w_true

    def error(w):
        return np.linalg.norm(w - w_true) / np.linalg.norm(w_true)

    error_lstsq = error(np.linalg.lstsq(X, y, rcond=None)[0])
    error_inv = error(np.linalg.inv(X.T @ X) @ (X.T @ y))
    assert error_lstsq < 1e-8
    assert error_inv > 1e3 * error_lstsq


# --------------------------------------------------------------------------------------
# Maximum likelihood
# --------------------------------------------------------------------------------------


def test_gaussian_mle_is_least_squares_with_variance_the_mean_squared_residual(laplace_data):
    X, y = laplace_data
    result = optimize.minimize(gaussian_nll, np.zeros(3), args=(X, y), method="BFGS",
                               options={"gtol": 1e-8})
    w_mle, var_mle = result.x[:-1], np.exp(result.x[-1])
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(w_mle, w_ls, atol=1e-6)
    assert np.isclose(var_mle, mse(X, y, w_ls), rtol=1e-6)
    # the maximised log-likelihood has the closed form -m/2 (log(2 pi sigma^2) + 1)
    m = len(y)
    var_hat = mse(X, y, w_ls)
    assert np.isclose(-result.fun, -0.5 * m * (np.log(2 * np.pi * var_hat) + 1), rtol=1e-9)


def test_laplace_mle_is_least_absolute_deviations_with_scale_the_mean_absolute_residual(
    laplace_data,
):
    X, y = laplace_data
    result = optimize.minimize(laplace_nll, np.zeros(3), args=(X, y), **NELDER_MEAD)
    assert result.success, result.message
    w_mle, s_mle = result.x[:-1], np.exp(result.x[-1])
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    # the Laplace weights have the least absolute deviation: no larger than least squares'
    assert mae(X, y, w_mle) <= mae(X, y, w_ls)
    # ... and they agree with the exact minimiser of the MAE (a linear program)
    w_lad = least_absolute_deviations(X, y)
    assert np.isclose(mae(X, y, w_mle), mae(X, y, w_lad), rtol=1e-9)
    assert np.allclose(w_mle, w_lad, atol=1e-5)
    # the noise scale is the mean absolute residual
    assert np.isclose(s_mle, mae(X, y, w_mle), rtol=1e-6)
    # the maximised log-likelihood has the closed form -m (log(2 s) + 1)
    m = len(y)
    s_hat = mae(X, y, w_lad)
    assert np.isclose(-result.fun, -m * (np.log(2 * s_hat) + 1), rtol=1e-9)


def test_each_noise_model_wins_on_its_own_loss(laplace_data):
    """Least squares has the smaller MSE, least absolute deviations the smaller MAE."""
    X, y = laplace_data
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    w_lad = least_absolute_deviations(X, y)
    assert mse(X, y, w_ls) < mse(X, y, w_lad)
    assert mae(X, y, w_lad) < mae(X, y, w_ls)


def test_constant_model_gaussian_mle_is_the_mean(skewed_sample):
    y = skewed_sample
    ones = np.ones((len(y), 1))
    result = optimize.minimize(gaussian_nll, np.array([0.0, 0.0]), args=(ones, y),
                               method="BFGS", options={"gtol": 1e-8})
    c_mle, var_mle = result.x[0], np.exp(result.x[1])
    assert np.isclose(c_mle, np.mean(y), rtol=1e-6)
    assert np.isclose(var_mle, np.var(y), rtol=1e-6)  # np.var divides by m, like the MLE
    assert not np.isclose(c_mle, np.median(y), rtol=0.05)  # the sample is skewed


def test_constant_model_laplace_mle_is_the_median(skewed_sample):
    y = skewed_sample
    ones = np.ones((len(y), 1))
    result = optimize.minimize(laplace_nll, np.array([0.0, 0.0]), args=(ones, y), **NELDER_MEAD)
    c_mle, s_mle = result.x[0], np.exp(result.x[1])
    assert np.isclose(c_mle, np.median(y), rtol=1e-6)
    assert np.isclose(s_mle, np.mean(np.abs(y - np.median(y))), rtol=1e-6)
    assert not np.isclose(c_mle, np.mean(y), rtol=0.05)


def test_constant_model_on_a_grid(skewed_sample):
    """The profile losses, minimised on a fine grid, land on the mean and the median."""
    y = skewed_sample
    step = 1e-3
    grid = np.arange(np.min(y), np.max(y), step)
    residuals = y[None, :] - grid[:, None]
    best_squared = grid[np.argmin(np.mean(residuals**2, axis=1))]
    best_absolute = grid[np.argmin(np.mean(np.abs(residuals), axis=1))]
    assert abs(best_squared - np.mean(y)) <= step
    assert abs(best_absolute - np.median(y)) <= step


def test_laplace_constant_minimum_is_flat_between_the_middle_values():
    """For an even sample, every c between the two middle values minimises the MAE."""
    y = np.array([1.0, 2.0, 6.0, 10.0])
    f = [np.mean(np.abs(y - c)) for c in (2.0, 3.0, 4.5, 6.0)]
    assert np.allclose(f, f[0])
    assert np.mean(np.abs(y - 1.9)) > f[0]
    assert np.mean(np.abs(y - 6.1)) > f[0]


# --------------------------------------------------------------------------------------
# Hypotheses and exercise claims of chapter 1
# --------------------------------------------------------------------------------------


def test_an_exact_fit_has_no_maximum_likelihood_scale():
    """The propositions need MSE > 0 and MAE > 0: with an exact fit the likelihood is unbounded."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    w = np.array([2.0, -1.0])
    y = X @ w  # every residual is zero
    scales = [1e-1, 1e-3, 1e-5, 1e-7]
    gauss = [-gaussian_nll(np.r_[w, np.log(s)], X, y) for s in scales]
    laplace = [-laplace_nll(np.r_[w, np.log(s)], X, y) for s in scales]
    assert np.all(np.diff(gauss) > 1.0) and np.all(np.diff(laplace) > 1.0)


def test_ticket_by_hand_a_third_ticket_at_the_mean_distance_only_shifts_the_line():
    """ex-ch01-ticket-by-hand, part 2: (b, w) = (18.5, 0.125), up by the residual / 3."""
    X3 = np.array([[1.0, 100.0], [1.0, 300.0], [1.0, 500.0]])
    y3 = np.array([30.0, 58.0, 80.0])
    b, w = normal_equation(X3, y3)
    assert np.allclose([b, w], [18.5, 0.125])
    residual_of_new_ticket = 58.0 - (17.5 + 0.125 * 300.0)
    assert np.isclose(b - 17.5, residual_of_new_ticket / 3)


def test_with_an_intercept_the_residuals_add_up_to_zero_and_the_fit_passes_through_the_means(
    seeded_data,
):
    """ex-ch01-intercept-residuals, on the shifted data of the intercept section."""
    X, y, _ = seeded_data
    y_shift = y + 50.0
    X1 = np.column_stack([np.ones(len(y)), X])
    theta = normal_equation(X1, y_shift)
    residual = X1 @ theta - y_shift
    assert abs(residual.sum()) < 1e-8 * np.abs(y_shift).sum()
    assert np.isclose(y_shift.mean(), theta[0] + X.mean(axis=0) @ theta[1:])
    # without the column of ones the residuals do not add up to zero
    w_no_bias = normal_equation(X, y_shift)
    assert abs((X @ w_no_bias - y_shift).sum()) > 1e3


def test_the_normal_equation_always_has_a_solution_even_with_dependent_columns():
    """ex-ch01-singular, part 3: X^T y lies in the range of X^T X, so lstsq solves the system."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 2))
    X = np.column_stack([x, x[:, 0] - 2 * x[:, 1]])  # the third column depends on the others
    y = rng.normal(size=40)
    G = X.T @ X
    assert np.linalg.matrix_rank(G) == 2
    assert np.linalg.matrix_rank(np.column_stack([G, X.T @ y])) == 2  # X^T y adds no new direction
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(G @ w, X.T @ y)
    # and adding any null-space vector gives another solution
    v = np.array([1.0, -2.0, -1.0])
    assert np.allclose(X @ v, 0)
    assert np.allclose(G @ (w + 3 * v), X.T @ y)


def test_the_conditioning_prose_quotes_the_stored_sweep():
    """The sweep's table is not compared by nbval (its rounding digits depend on the processor),
    so the numbers the text quotes from it must follow the stored output after every execution."""
    import json
    import re
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[1] / "chapters" / "01-linear-regression.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    sweep = [
        c for c in cells
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("# NBVAL_IGNORE_OUTPUT")
    ]
    assert len(sweep) == 1
    printed = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                      for o in sweep[0]["outputs"])
    low, high, _, lstsq_high = re.search(
        r"from ([\d.]+) to ([\d.]+);.*from ([\d.]+) to ([\d.]+)", printed).groups()
    right_end = printed.strip().splitlines()[-1].split()  # gamma, cond(X), inv, solve, lstsq
    prose = next("".join(c["source"]) for c in cells
                 if c["cell_type"] == "markdown" and "in the table's run" in "".join(c["source"]))
    prose = " ".join(prose.split())
    assert f"between {low} and {high}" in prose
    assert f"({right_end[2]} and {right_end[3]} in the table)" in prose
    assert f"(at most {lstsq_high} times it)" in prose and f"({right_end[4]})" in prose
