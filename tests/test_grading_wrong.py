"""Wrong-but-plausible solutions of every exercise set, graded through the real nbgrader.

``WRONG_SOLUTIONS`` maps each set to its solution cells, and each solution cell to variants of
it: the mistakes a student makes (a formula off by a factor, a forgotten bias, a hard-coded
visible answer, a function that reads the notebook's variables, a forbidden shortcut imported
under another name, a forecast that reads the future or is refitted on the test days, ...) and
correct variants that must keep every point (another correct algorithm, a correct solution whose
cell also draws random numbers). Each variant comes with the test cells that must lose their
points; every other test cell of the set must keep them. A variant whose name starts with
"correct" loses nothing; every other variant loses points on its own task
(``test_the_collection_is_well_formed``).

Every test cell judges one function, on what it does with its arguments, in a clean namespace
where the functions of earlier tasks are replaced by correct ones, so the tasks of a set are
graded independently. To keep CI fast, one submission therefore carries one variant of *every*
task of its set: the k-th submission of a set holds the k-th variant of each solution cell (the
solution itself for cells with fewer variants). The test asserts the score of every test cell of
every submission, so a variant that disturbed another task would fail it.

The submissions are graded by ``nbgrader autograde``, exactly as ``exercises/README.md`` tells an
instructor to grade, in two temporary course directories with their own gradebooks; the pool of
``test_grading.py`` runs them on both cores, beside the main course directory and the term variant.
"""

from __future__ import annotations

import functools

import pytest
from nbgrader.api import Gradebook

from test_grading import grading_pool  # noqa: F401 (the shared pool of grading jobs, a fixture)
from test_grading import (COURSE_ID, ONE_THREAD, SETS, code_grades, grade_id, make_course, nbgrader, nbgrader_environment,
                          read, source_notebook, submit, with_cells_replaced)

# Two groups of sets; the first (the heavier sets) takes about as long as the main course, the
# variant and the second group together, which run one after the other on the other core.
GROUPS = (["ex09-covid-case-study", "ex06-neural-networks", "ex04-logistic-regression", "ex08-pytorch-and-optimisers",
           "ex05-softmax-regression", "ex02-gradient-descent"],
          ["ex01-linear-regression", "ex03-multiple-regression", "ex07-backpropagation"])


# -------------------- ex01-linear-regression

_S01_LOSSES = '''
def mean_absolute_error(y, y_hat):
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    if y.shape != y_hat.shape:
        raise ValueError("y and y_hat must have the same length")
    return float(np.mean({mae}))


def mse_cost(y, y_hat):
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    if y.shape != y_hat.shape:
        raise ValueError("y and y_hat must have the same length")
    return float({cost})
'''
_S01_LINE = '''
def line_through(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
{body}


w_ticket, b_ticket = line_through((100, 30), (500, 80))
'''
_S01_NORMAL = '''
{imports}
def add_intercept(X):
    X = np.asarray(X, dtype=float)
    return {intercept}


def fit_normal_equation(X, y):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    return {fit}
'''
_S01_WLS = '''
{imports}
def fit_weighted_least_squares(X, y, v):
    X, y, v = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    {body}


distance = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
price = np.array([30.0, 42.5, 55.0, 95.0, 80.0])
A_tickets = add_intercept(distance.reshape(-1, 1))
v_tickets = np.array([1.0, 1.0, 1.0, 100.0, 1.0])
'''
_S01_GRAM = '''
def gram_is_invertible(X):
    X = np.asarray(X, dtype=float)
    return bool({test})
'''
_S01_ONES = "np.column_stack([np.ones(len(X)), X])"
_S01_SOLVE = "np.linalg.solve(X.T @ X, X.T @ y)"

_S01_CASES = {
    "losses": {
        "MAE without the absolute value": (
            _S01_LOSSES.format(mae="y_hat - y", cost="np.sum((y_hat - y) ** 2) / (2 * len(y))"),
            {"test-losses-hidden-values": 0, "test-losses-hidden-edges": 0}),
        "cost with 1/m instead of 1/(2m)": (
            _S01_LOSSES.format(mae="np.abs(y_hat - y)", cost="np.mean((y_hat - y) ** 2)"),
            {"test-losses-visible": 0, "test-losses-hidden-values": 0, "test-losses-hidden-edges": 0}),
        "cost with 1/(2(m - 1))": (
            _S01_LOSSES.format(mae="np.abs(y_hat - y)", cost="np.sum((y_hat - y) ** 2) / (2 * (len(y) - 1)) if len(y) > 1 else 0.0"),
            {"test-losses-visible": 0, "test-losses-hidden-values": 0, "test-losses-hidden-edges": 0}),
        "no check of the lengths (NumPy broadcasts)": (
            '''
def mean_absolute_error(y, y_hat):
    return float(np.mean(np.abs(np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float))))


def mse_cost(y, y_hat):
    r = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return float(np.sum(r ** 2) / (2 * r.size))
''', {"test-losses-hidden-edges": 0}),
    },
    "line-through": {
        "the visible answer hard-coded": (
            _S01_LINE.format(body="    return 0.125, 17.5"), {"test-line-through-hidden": 0}),
        "intercept from the other point": (
            _S01_LINE.format(body="    w = (y2 - y1) / (x2 - x1)\n    return float(w), float(y2 - w * x1)"),
            {"test-line-through-visible": 0, "test-line-through-hidden": 0}),
        "no check for equal x (ZeroDivisionError)": (
            _S01_LINE.format(body="    w = (y2 - y1) / (x2 - x1)\n    return float(w), float(y1 - w * x1)"),
            {"test-line-through-hidden": 0}),
        "correct, with numpy.polyfit": (
            _S01_LINE.format(body="    if x1 == x2:\n        raise ValueError('same x')\n"
                             "    w, b = np.polyfit([x1, x2], [y1, y2], 1)\n    return float(w), float(b)"),
            {}),
    },
    "normal-equation": {
        "the inverse, imported under another name": (
            _S01_NORMAL.format(imports="from numpy.linalg import inv as invert\n", intercept=_S01_ONES,
                          fit="invert(X.T @ X) @ X.T @ y"),
            {"test-normal-equation-visible": 0, "test-normal-equation-hidden-rules": 0,
             "test-normal-equation-hidden-values": 0}),
        "the pseudo-inverse": (
            _S01_NORMAL.format(imports="", intercept=_S01_ONES, fit="np.linalg.pinv(X) @ y"),
            {"test-normal-equation-visible": 0, "test-normal-equation-hidden-rules": 0,
             "test-normal-equation-hidden-values": 0}),
        "reads the notebook's y_sim instead of its argument y": (
            _S01_NORMAL.format(imports="", intercept=_S01_ONES, fit="np.linalg.solve(X.T @ X, X.T @ y_sim)"),
            {"test-normal-equation-hidden-rules": 0, "test-normal-equation-hidden-values": 0}),
        "correct, with a QR factorisation, and the cell also draws random numbers": (
            _S01_NORMAL.format(imports="noise_check = np.random.normal(size=1000)   # an experiment of my own\n", intercept=_S01_ONES,
                          fit="np.linalg.solve(np.linalg.qr(X)[1], np.linalg.qr(X)[0].T @ y)"),
            {}),
        "correct, with a Cholesky factorisation": (
            _S01_NORMAL.format(imports="", intercept=_S01_ONES,
                          fit="scipy.linalg.cho_solve(scipy.linalg.cho_factor(X.T @ X), X.T @ y)"),
            {}),
    },
    "weighted-least-squares": {
        "weights v instead of 1/v": (
            _S01_WLS.format(imports="", body="return np.linalg.solve(X.T @ (v[:, None] * X), X.T @ (v * y))"),
            {"test-weighted-least-squares-visible": 0, "test-weighted-least-squares-hidden": 0}),
        "weights 1/sqrt(v)": (
            _S01_WLS.format(imports="", body="s = 1 / np.sqrt(v)\n    return np.linalg.solve(X.T @ (s[:, None] * X), X.T @ (s * y))"),
            {"test-weighted-least-squares-visible": 0, "test-weighted-least-squares-hidden": 0}),
        "v ignored (ordinary least squares)": (
            _S01_WLS.format(imports="", body="return np.linalg.solve(X.T @ X, X.T @ y)"),
            {"test-weighted-least-squares-visible": 0, "test-weighted-least-squares-hidden": 0}),
        "an explicit inverse": (
            _S01_WLS.format(imports="", body="V = np.diag(1 / v)\n    return np.linalg.inv(X.T @ V @ X) @ X.T @ V @ y"),
            {"test-weighted-least-squares-visible": 0, "test-weighted-least-squares-hidden": 0}),
        "correct, by rescaling the rows and solving": (
            _S01_WLS.format(imports="", body="s = 1 / np.sqrt(v)\n    A = X * s[:, None]\n    return np.linalg.solve(A.T @ A, A.T @ (y * s))"),
            {}),
    },
    "gram-invertible": {
        "a threshold on the determinant": (
            _S01_GRAM.format(test="abs(np.linalg.det(X.T @ X)) > 1e-10"), {"test-gram-invertible-hidden": 0}),
        "compares the number of rows and columns": (
            _S01_GRAM.format(test="X.shape[0] >= X.shape[1]"),
            {"test-gram-invertible-visible": 0, "test-gram-invertible-hidden": 0}),
        "compares the rank with the number of rows": (
            _S01_GRAM.format(test="np.linalg.matrix_rank(X) == X.shape[0]"),
            {"test-gram-invertible-visible": 0, "test-gram-invertible-hidden": 0}),
        "eigenvalues of X^T X against a relative tolerance (squares the condition number)": (
            _S01_GRAM.format(test="X.shape[0] >= X.shape[1] and (lambda mu: mu.min() > mu.max() * 1e-12)(np.linalg.eigvalsh(X.T @ X))"),
            {"test-gram-invertible-hidden": 0}),
        "correct, from the singular values of X": (
            _S01_GRAM.format(test="X.shape[0] >= X.shape[1] and (lambda s: s.min() > s.max() * max(X.shape) * np.finfo(float).eps)(np.linalg.svd(X, compute_uv=False))"),
            {}),
    },
}


# -------------------- ex02-gradient-descent

_S02_GRAD = '''
def mse_gradient(X, y, w, b):
    {body}
'''
_S02_GD = '''
def gradient_descent(X, y, eta, steps):
{body}


w_gd, b_gd, costs_gd = gradient_descent(X, y, eta=0.1, steps=50)
'''
_S02_SGD = '''
def minibatch_sgd(X, y, eta, epochs, batch_size, rng):
{body}


w_sgd, b_sgd = minibatch_sgd(X, y, eta=0.05, epochs=5, batch_size=32, rng=np.random.default_rng(0))
'''
_S02_ETA = '''
def largest_stable_eta(X):
    {body}
'''
_S02_STEPS = '''
def steps_to_tolerance(X, y, eta, tol, max_steps):
{steps}


def best_learning_rate(X, y, etas, tol, max_steps):
{best}
'''
_S02_GOOD_STEPS = '''    w, b = np.zeros(X.shape[1]), 0.0
    start_cost = cost(X, y, w, b)
    for step in range(max_steps + 1):
        current = cost(X, y, w, b)
        if not np.isfinite(current) or current > 1e6 * start_cost:
            return None
        g_w, g_b = mse_gradient(X, y, w, b)
        if np.linalg.norm(np.r_[g_w, g_b]) <= tol:
            return step
        if step == max_steps:
            return None
        w, b = w - eta * g_w, b - eta * g_b'''
_S02_GOOD_BEST = '''    best = (None, None)
    for eta in etas:
        steps = steps_to_tolerance(X, y, eta, tol, max_steps)
        if steps is not None and (best[1] is None or steps < best[1]):
            best = (eta, steps)
    return best'''

_S02_SGD_LOOP = '''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    {shuffle_once}
    for _ in range(epochs):
        {shuffle}
        for start in {starts}:
            batch = order[start:start + batch_size]
            {update}
    return w, b'''
_S02_SGD_UPDATE = "g_w, g_b = mse_gradient(X[batch], y[batch], w, b)\n            w, b = w - eta * g_w, b - eta * g_b"


def _s02_sgd(shuffle_once="", shuffle="order = rng.permutation(m)", starts="range(0, m, batch_size)", update=_S02_SGD_UPDATE):
    return _S02_SGD.format(body=_S02_SGD_LOOP.format(shuffle_once=shuffle_once, shuffle=shuffle, starts=starts, update=update))


_S02_CASES = {
    "mse-gradient": {
        "the residual with the wrong sign": (
            _S02_GRAD.format(body="r = y - (X @ w + b)\n    return X.T @ r / len(y), float(np.mean(r))"),
            {"test-mse-gradient-visible": 0, "test-mse-gradient-hidden-values": 0, "test-mse-gradient-hidden-edges": 0}),
        "the 1/m forgotten": (
            _S02_GRAD.format(body="r = X @ w + b - y\n    return X.T @ r, float(np.sum(r))"),
            {"test-mse-gradient-visible": 0, "test-mse-gradient-hidden-values": 0, "test-mse-gradient-hidden-edges": 0}),
        "divides by the notebook's m instead of the number of rows": (
            _S02_GRAD.format(body="r = X @ w + b - y\n    return X.T @ r / m, float(np.sum(r) / m)"),
            {"test-mse-gradient-hidden-values": 0, "test-mse-gradient-hidden-edges": 0}),
        "correct, with a loop over the examples": (
            _S02_GRAD.format(body="g_w, g_b = np.zeros(X.shape[1]), 0.0\n    for x_i, y_i in zip(X, y):\n"
                             "        r_i = x_i @ w + b - y_i\n        g_w, g_b = g_w + r_i * x_i, g_b + r_i\n"
                             "    return g_w / len(y), float(g_b / len(y))"),
            {}),
    },
    "gradient-descent": {
        "b's gradient taken at the already updated w": (
            _S02_GD.format(body='''    w, b = np.zeros(X.shape[1]), 0.0
    costs = [cost(X, y, w, b)]
    for _ in range(steps):
        w = w - eta * mse_gradient(X, y, w, b)[0]
        b = b - eta * mse_gradient(X, y, w, b)[1]
        costs.append(cost(X, y, w, b))
    return w, b, costs'''),
            {"test-gradient-descent-hidden-steps": 0}),
        "least squares solved directly, the costs padded": (
            _S02_GD.format(body='''    A = np.column_stack([X, np.ones(len(y))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    start, end = cost(X, y, np.zeros(X.shape[1]), 0.0), cost(X, y, theta[:-1], theta[-1])
    return theta[:-1], float(theta[-1]), [start] + [end] * steps'''),
            {"test-gradient-descent-hidden-steps": 0, "test-gradient-descent-hidden-edges": 0}),
        "the cost before the first step missing": (
            _S02_GD.format(body='''    w, b = np.zeros(X.shape[1]), 0.0
    costs = []
    for _ in range(steps):
        g_w, g_b = mse_gradient(X, y, w, b)
        w, b = w - eta * g_w, b - eta * g_b
        costs.append(cost(X, y, w, b))
    return w, b, costs'''),
            {"test-gradient-descent-visible": 0, "test-gradient-descent-hidden-steps": 0, "test-gradient-descent-hidden-edges": 0}),
        "the course's helper does the loop": (
            _S02_GD.format(body='''    A = np.column_stack([X, np.ones(len(y))])
    result = lr2dnn.optim.gradient_descent(lambda t: A.T @ (A @ t - y) / len(y), np.zeros(A.shape[1]), eta, steps,
                                           cost=lambda t: cost(X, y, t[:-1], t[-1]))
    return result.theta[:-1], float(result.theta[-1]), list(result.costs)'''),
            {"test-gradient-descent-hidden-steps": 0}),
        "correct, on theta = (w, b) with the matrix [X, 1]": (
            _S02_GD.format(body='''    A = np.column_stack([X, np.ones(len(y))])
    theta = np.zeros(A.shape[1])
    costs = [float(np.sum((A @ theta - y) ** 2) / (2 * len(y)))]
    for _ in range(steps):
        theta = theta - eta * A.T @ (A @ theta - y) / len(y)
        costs.append(float(np.sum((A @ theta - y) ** 2) / (2 * len(y))))
    return theta[:-1], float(theta[-1]), costs'''),
            {}),
    },
    "minibatch-sgd": {
        "shuffles once, not every epoch": (
            _s02_sgd(shuffle_once="order = rng.permutation(m)", shuffle="pass"),
            {"test-minibatch-sgd-hidden-epochs": 0}),
        "drops the last, smaller batch": (
            _s02_sgd(starts="range(0, m - batch_size + 1, batch_size)"),
            {"test-minibatch-sgd-hidden-epoch": 0, "test-minibatch-sgd-hidden-edges": 0}),
        "the order from NumPy's global generator, not from rng": (
            _s02_sgd(shuffle="order = np.random.permutation(m)"),
            {"test-minibatch-sgd-hidden-epoch": 0, "test-minibatch-sgd-hidden-epochs": 0}),
        "b's gradient taken at the already updated w": (
            _s02_sgd(update="w = w - eta * mse_gradient(X[batch], y[batch], w, b)[0]\n            b = b - eta * mse_gradient(X[batch], y[batch], w, b)[1]"),
            {"test-minibatch-sgd-visible": 0, "test-minibatch-sgd-hidden-epoch": 0, "test-minibatch-sgd-hidden-epochs": 0,
             "test-minibatch-sgd-hidden-edges": 0}),
        "correct, and the cell also draws from NumPy's global generator": (
            _s02_sgd(shuffle="order = rng.permutation(m)\n        np.random.normal()   # a draw of my own, for an experiment"),
            {}),
    },
    "largest-stable-eta": {
        "without the column of ones": (
            _S02_ETA.format(body="return float(2.0 / np.linalg.eigvalsh(X.T @ X / len(X)).max())"),
            {"test-largest-stable-eta-hidden": 0}),
        "without the division by m": (
            _S02_ETA.format(body="A = np.column_stack([X, np.ones(len(X))])\n    return float(2.0 / np.linalg.eigvalsh(A.T @ A).max())"),
            {"test-largest-stable-eta-visible": 0, "test-largest-stable-eta-hidden": 0}),
        "1 / mu_max instead of 2 / mu_max": (
            _S02_ETA.format(body="A = np.column_stack([X, np.ones(len(X))])\n    return float(1.0 / np.linalg.eigvalsh(A.T @ A / len(X)).max())"),
            {"test-largest-stable-eta-visible": 0, "test-largest-stable-eta-hidden": 0}),
        "correct, from the largest singular value of A": (
            _S02_ETA.format(body="A = np.column_stack([X, np.ones(len(X))])\n    return float(2.0 * len(X) / np.linalg.norm(A, 2) ** 2)"),
            {}),
    },
    "learning-rate": {
        "the tolerance tested after the step (one step too many)": (
            _S02_STEPS.format(steps='''    w, b = np.zeros(X.shape[1]), 0.0
    start_cost = cost(X, y, w, b)
    for step in range(1, max_steps + 1):
        g_w, g_b = mse_gradient(X, y, w, b)
        w, b = w - eta * g_w, b - eta * g_b
        current = cost(X, y, w, b)
        if not np.isfinite(current) or current > 1e6 * start_cost:
            return None
        if np.linalg.norm(np.r_[mse_gradient(X, y, w, b)]) <= tol:
            return step + 1
    return None''', best=_S02_GOOD_BEST),
            {"test-learning-rate-visible": 0, "test-learning-rate-hidden-steps": 0}),
        "no divergence test (the cost overflows)": (
            _S02_STEPS.format(steps='''    w, b = np.zeros(X.shape[1]), 0.0
    for step in range(max_steps + 1):
        g_w, g_b = mse_gradient(X, y, w, b)
        if np.linalg.norm(np.r_[g_w, g_b]) <= tol:
            return step
        w, b = w - eta * g_w, b - eta * g_b
    return None''', best=_S02_GOOD_BEST),
            {"test-learning-rate-visible": 0, "test-learning-rate-hidden-steps": 0}),
        "stops when the cost changes by less than tol": (
            _S02_STEPS.format(steps='''    w, b = np.zeros(X.shape[1]), 0.0
    start_cost = previous = cost(X, y, w, b)
    for step in range(1, max_steps + 1):
        g_w, g_b = mse_gradient(X, y, w, b)
        w, b = w - eta * g_w, b - eta * g_b
        current = cost(X, y, w, b)
        if not np.isfinite(current) or current > 1e6 * start_cost:
            return None
        if abs(previous - current) <= tol:
            return step
        previous = current
    return None''', best=_S02_GOOD_BEST),
            {"test-learning-rate-hidden-steps": 0}),
        "sorts the rates and keeps the last of equally fast ones": (
            _S02_STEPS.format(steps=_S02_GOOD_STEPS, best='''    best = (None, None)
    for eta in sorted(etas):
        steps = steps_to_tolerance(X, y, eta, tol, max_steps)
        if steps is not None and (best[1] is None or steps <= best[1]):
            best = (eta, steps)
    return best'''),
            {"test-learning-rate-hidden-best": 0}),
        "correct, with min over the runs that reached the tolerance": (
            _S02_STEPS.format(steps=_S02_GOOD_STEPS, best='''    runs = [(steps_to_tolerance(X, y, eta, tol, max_steps), i, eta) for i, eta in enumerate(etas)]
    runs = [run for run in runs if run[0] is not None]
    if not runs:
        return None, None
    steps, _, eta = min(runs)
    return eta, steps'''),
            {}),
    },
}


# -------------------- ex03-multiple-regression

_S03_STD = '''
def standardise(X_train, X_other):
    X_train, X_other = np.asarray(X_train, dtype=float), np.asarray(X_other, dtype=float)
    {body}
'''
_S03_SPLIT = '''
def split_indices(m, rng):
    {body}
'''
_S03_POLY = '''
def polynomial_features(x, degree):
    x = np.asarray(x, dtype=float)
    return {features}


def validation_errors(x_train, y_train, x_val, y_val, degrees):
    train_mse, val_mse = [], []
    for degree in degrees:
        A_train = {a_train}
        A_val = {a_val}
        theta = np.linalg.lstsq(A_train, y_train, rcond=None)[0]
        train_mse.append({train})
        val_mse.append(np.mean((A_val @ theta - y_val) ** 2))
    return np.array(train_mse), np.array(val_mse)
'''
_S03_RIDGE = '''
def ridge_closed_form(X, y, lam):
{closed}


def ridge_gradient_descent(X, y, lam, eta, steps):
{descent}
'''
_S03_GOOD_CLOSED = '''    x_mean, y_mean = X.mean(axis=0), y.mean()
    X_c, y_c = X - x_mean, y - y_mean
    w = np.linalg.solve(X_c.T @ X_c + lam * np.eye(X.shape[1]), X_c.T @ y_c)
    return w, float(y_mean - x_mean @ w)'''
_S03_GOOD_DESCENT = '''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        r = X @ w + b - y
        w, b = w - eta * (X.T @ r + lam * w) / m, b - eta * np.mean(r)
    return w, float(b)'''
_S03_CHOOSE = '''
def ridge_validation_errors(X_train, y_train, X_val, y_val, lams):
{errors}


def choose_lambda(X_train, y_train, X_val, y_val, lams):
{choose}


lams = [0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
P_train, P_val, P_test = (polynomial_features(x_all[:24], 10), polynomial_features(x_all[24:32], 10),
                          polynomial_features(x_all[32:], 10))
'''
_S03_GOOD_ERRORS = '''    Z_train, Z_val, _, _ = standardise(X_train, X_val)
    errors = []
    for lam in lams:
        w, b = ridge_closed_form(Z_train, y_train, lam)
        errors.append(np.mean((Z_val @ w + b - y_val) ** 2))
    return np.array(errors)'''
_S03_GOOD_CHOOSE = '''    errors = ridge_validation_errors(X_train, y_train, X_val, y_val, lams)
    return lams[int(np.argmin(errors))]'''
_S03_GOOD_POLY = dict(features="np.column_stack([x ** k for k in range(1, degree + 1)])",
                 a_train="np.column_stack([np.ones(len(x_train)), polynomial_features(x_train, degree)])",
                 a_val="np.column_stack([np.ones(len(x_val)), polynomial_features(x_val, degree)])",
                 train="np.mean((A_train @ theta - y_train) ** 2)")

_S03_CASES = {
    "standardise": {
        "the standard deviation with ddof = 1": (
            _S03_STD.format(body='''mean, std = X_train.mean(axis=0), X_train.std(axis=0, ddof=1)
    if np.any(std == 0):
        raise ValueError(f"column {np.flatnonzero(std == 0)[0]} is constant")
    return (X_train - mean) / std, (X_other - mean) / std, mean, std'''),
            {"test-standardise-visible": 0, "test-standardise-hidden-values": 0}),
        "X_other scaled with its own statistics": (
            _S03_STD.format(body='''mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    if np.any(std == 0):
        raise ValueError(f"column {np.flatnonzero(std == 0)[0]} is constant")
    return (X_train - mean) / std, (X_other - X_other.mean(axis=0)) / X_other.std(axis=0), mean, std'''),
            {"test-standardise-visible": 0, "test-standardise-hidden-values": 0, "test-standardise-hidden-constant": 0}),
        "no check for a constant column (NumPy warns and returns nan)": (
            _S03_STD.format(body='''mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_other - mean) / std, mean, std'''),
            {"test-standardise-hidden-constant": 0}),
        "the error message does not name the column": (
            _S03_STD.format(body='''mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    if np.any(std == 0):
        raise ValueError("a constant column cannot be standardised")
    return (X_train - mean) / std, (X_other - mean) / std, mean, std'''),
            {"test-standardise-hidden-constant": 0}),
    },
    "split-indices": {
        "the order from NumPy's global generator": (
            _S03_SPLIT.format(body='''order = np.random.permutation(m)
    n_train, n_val = int(0.6 * m), int(0.2 * m)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]'''),
            {"test-split-indices-hidden": 0}),
        "round() instead of int()": (
            _S03_SPLIT.format(body='''order = rng.permutation(m)
    n_train, n_val = round(0.6 * m), round(0.2 * m)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]'''),
            {"test-split-indices-hidden": 0}),
        "shuffles a copy with rng.shuffle and cuts at the wrong place": (
            _S03_SPLIT.format(body='''order = np.arange(m)
    rng.shuffle(order)
    n_test, n_val = int(0.2 * m), int(0.2 * m)
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]'''),
            {"test-split-indices-hidden": 0}),
    },
    "polynomial-degree": {
        "the intercept forgotten in the fit": (
            _S03_POLY.format(**{**_S03_GOOD_POLY, "a_train": "polynomial_features(x_train, degree)", "a_val": "polynomial_features(x_val, degree)"}),
            {"test-polynomial-degree-visible": 0, "test-polynomial-degree-hidden-values": 0}),
        "the training error with the factor 1/(2m)": (
            _S03_POLY.format(**{**_S03_GOOD_POLY, "train": "np.mean((A_train @ theta - y_train) ** 2) / 2"}),
            {"test-polynomial-degree-visible": 0, "test-polynomial-degree-hidden-values": 0}),
        "features start at x**0": (
            _S03_POLY.format(**{**_S03_GOOD_POLY, "features": "np.column_stack([x ** k for k in range(degree)])"}),
            {"test-polynomial-degree-visible": 0, "test-polynomial-degree-hidden-features": 0}),
        "correct, with numpy.polyfit": (
            '''
def polynomial_features(x, degree):
    x = np.asarray(x, dtype=float)
    return np.column_stack([x ** k for k in range(1, degree + 1)])


def validation_errors(x_train, y_train, x_val, y_val, degrees):
    results = []
    for degree in degrees:
        coef = np.polyfit(x_train, y_train, degree)
        results.append((np.mean((np.polyval(coef, x_train) - y_train) ** 2),
                        np.mean((np.polyval(coef, x_val) - y_val) ** 2)))
    return np.array([r[0] for r in results]), np.array([r[1] for r in results])
''', {}),
    },
    "ridge": {
        "the bias penalised too": (
            _S03_RIDGE.format(closed='''    A = np.column_stack([np.ones(len(y)), X])
    theta = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ y)
    return theta[1:], float(theta[0])''', descent='''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        r = X @ w + b - y
        w, b = w - eta * (X.T @ r + lam * w) / m, b - eta * (np.sum(r) + lam * b) / m
    return w, float(b)'''),
            {"test-ridge-visible": 0, "test-ridge-hidden-closed-form": 0, "test-ridge-hidden-descent": 0}),
        "scikit-learn's Ridge for the closed form, penalty without 1/m in descent": (
            _S03_RIDGE.format(closed='''    model = Ridge(alpha=lam).fit(X, y)
    return model.coef_, float(model.intercept_)''', descent='''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        r = X @ w + b - y
        w, b = w - eta * (X.T @ r / m + lam * w), b - eta * np.mean(r)
    return w, float(b)'''),
            {"test-ridge-visible": 0, "test-ridge-hidden-closed-form": 0, "test-ridge-hidden-descent": 0}),
        "closed form without centring (no intercept), correct descent": (
            _S03_RIDGE.format(closed='''    w = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)
    return w, 0.0''', descent=_S03_GOOD_DESCENT),
            {"test-ridge-visible": 0, "test-ridge-hidden-closed-form": 0}),
        "gradient descent updates b with the new w's residual (closed form right)": (
            _S03_RIDGE.format(closed=_S03_GOOD_CLOSED, descent='''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        w = w - eta * (X.T @ (X @ w + b - y) + lam * w) / m
        b = b - eta * np.mean(X @ w + b - y)
    return w, float(b)'''),
            {"test-ridge-hidden-descent": 0}),
        "correct, the closed form with the matrix D of the chapter": (
            _S03_RIDGE.format(closed='''    A = np.column_stack([np.ones(len(y)), X])
    D = np.eye(A.shape[1])
    D[0, 0] = 0.0
    theta = np.linalg.solve(A.T @ A + lam * D, A.T @ y)
    return theta[1:], float(theta[0])''', descent=_S03_GOOD_DESCENT),
            {}),
    },
    "choose-lambda": {
        "standardises with training and validation data together": (
            _S03_CHOOSE.format(errors='''    both = np.vstack([X_train, X_val])
    mean, std = both.mean(axis=0), both.std(axis=0)
    Z_train, Z_val = (X_train - mean) / std, (X_val - mean) / std
    errors = []
    for lam in lams:
        w, b = ridge_closed_form(Z_train, y_train, lam)
        errors.append(np.mean((Z_val @ w + b - y_val) ** 2))
    return np.array(errors)''', choose=_S03_GOOD_CHOOSE),
            {"test-choose-lambda-hidden-errors": 0}),
        "the training error instead of the validation error": (
            _S03_CHOOSE.format(errors='''    Z_train, Z_val, _, _ = standardise(X_train, X_val)
    errors = []
    for lam in lams:
        w, b = ridge_closed_form(Z_train, y_train, lam)
        errors.append(np.mean((Z_train @ w + b - y_train) ** 2))
    return np.array(errors)''', choose=_S03_GOOD_CHOOSE),
            {"test-choose-lambda-hidden-errors": 0}),
        "returns the index of the best lambda, not the lambda": (
            _S03_CHOOSE.format(errors=_S03_GOOD_ERRORS, choose='''    return int(np.argmin(ridge_validation_errors(X_train, y_train, X_val, y_val, lams)))'''),
            {"test-choose-lambda-visible": 0, "test-choose-lambda-hidden-choice": 0}),
        "the last of equally good lambdas, and sorted lambdas": (
            _S03_CHOOSE.format(errors=_S03_GOOD_ERRORS, choose='''    errors = ridge_validation_errors(X_train, y_train, X_val, y_val, lams)
    best = None
    for lam, error in sorted(zip(lams, errors)):
        if best is None or error <= best[1]:
            best = (lam, error)
    return best[0]'''),
            {"test-choose-lambda-hidden-choice": 0}),
        "correct, and the cell also draws from the shared rng": (
            _S03_CHOOSE.format(errors=_S03_GOOD_ERRORS, choose=_S03_GOOD_CHOOSE) + "\nextra_noise = rng.normal(size=100)   # an experiment of my own\n",
            {}),
    },
}


# -------------------- ex04-logistic-regression

_S04_SIG = '''
{imports}
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    {body}
'''
_S04_LOSS = '''
def log_loss(y, p):
    {loss}


def log_loss_gradient(X, y, w, b):
    {gradient}
'''
_S04_GOOD_LOSS = '''p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))'''
_S04_GOOD_GRADIENT = '''residual = sigmoid(X @ w + b) - y
    return X.T @ residual / len(y), float(np.mean(residual))'''
_S04_FIT = '''
def fit_logistic(X, y, eta, steps):
{body}
'''
_S04_L2 = '''
def fit_logistic_l2(X, y, lam, eta, steps):
{body}


w_l2, b_l2 = fit_logistic_l2(X_train, y_train, lam=10.0, eta=0.5, steps=3000)
'''
_S04_CONF = '''
def confusion_at_threshold(y, p, threshold):
    {body}


p_test = sigmoid(X_test @ w_l2 + b_l2)
'''
_S04_CASES = {
    "sigmoid": {
        "the direct formula with the overflow warning silenced": (
            _S04_SIG.format(imports="", body='''with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))'''),
            {"test-sigmoid-hidden-rules": 0, "test-sigmoid-hidden-values": 0}),
        "scipy's expit": (
            _S04_SIG.format(imports="from scipy.special import expit as logistic\n", body="return logistic(z)"),
            {"test-sigmoid-hidden-rules": 0, "test-sigmoid-hidden-values": 0}),
        "scores clipped to [-500, 500] (wrong tiny values)": (
            _S04_SIG.format(imports="", body="return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))"),
            {"test-sigmoid-hidden-values": 0}),
        "1 - sigma(-z) for negative z (tiny values lost)": (
            _S04_SIG.format(imports="", body='''e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), 1.0 - 1.0 / (1.0 + e))'''),
            {"test-sigmoid-hidden-values": 0}),
        "correct, through the log-sigmoid": (
            _S04_SIG.format(imports="", body="return np.exp(-np.logaddexp(0.0, -z))"),
            {}),
    },
    "log-loss": {
        "no clipping (log 0)": (
            _S04_LOSS.format(loss='''p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))''', gradient=_S04_GOOD_GRADIENT),
            {"test-log-loss-hidden-loss": 0}),
        "the gradient without the 1/m": (
            _S04_LOSS.format(loss=_S04_GOOD_LOSS, gradient='''residual = sigmoid(X @ w + b) - y
    return X.T @ residual, float(np.sum(residual))'''),
            {"test-log-loss-visible": 0, "test-log-loss-hidden-gradient": 0}),
        "the gradient of the squared error of the probabilities": (
            _S04_LOSS.format(loss=_S04_GOOD_LOSS, gradient='''p = sigmoid(X @ w + b)
    residual = (p - y) * p * (1 - p)
    return X.T @ residual / len(y), float(np.mean(residual))'''),
            {"test-log-loss-visible": 0, "test-log-loss-hidden-gradient": 0}),
        "correct, the loss from scikit-learn": (
            _S04_LOSS.format(loss='''return float(sklearn_log_loss(np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12), labels=[0, 1]))''',
                        gradient=_S04_GOOD_GRADIENT),
            {}),
    },
    "fit-logistic": {
        "scikit-learn does the fit": (
            _S04_FIT.format(body='''    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    return model.coef_[0], float(model.intercept_[0])'''),
            {"test-fit-logistic-hidden-steps": 0}),
        "b's gradient taken at the already updated w": (
            _S04_FIT.format(body='''    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        w = w - eta * log_loss_gradient(X, y, w, b)[0]
        b = b - eta * log_loss_gradient(X, y, w, b)[1]
    return w, b'''),
            {"test-fit-logistic-hidden-steps": 0}),
        "gradient ascent (a sign error)": (
            _S04_FIT.format(body='''    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        g_w, g_b = log_loss_gradient(X, y, w, b)
        w, b = w + eta * g_w, b + eta * g_b
    return w, b'''),
            {"test-fit-logistic-visible": 0, "test-fit-logistic-hidden-steps": 0, "test-fit-logistic-hidden-cancer": 0}),
        "correct, on theta = (b, w)": (
            _S04_FIT.format(body='''    A = np.column_stack([np.ones(len(y)), X])
    theta = np.zeros(A.shape[1])
    for _ in range(steps):
        theta = theta - eta * A.T @ (sigmoid(A @ theta) - y) / len(y)
    return theta[1:], float(theta[0])'''),
            {}),
    },
    "fit-logistic-l2": {
        "the bias penalised too": (
            _S04_L2.format(body='''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        g_w, g_b = log_loss_gradient(X, y, w, b)
        w, b = w - eta * (g_w + lam * w / m), b - eta * (g_b + lam * b / m)
    return w, b'''),
            {"test-fit-logistic-l2-visible": 0, "test-fit-logistic-l2-hidden-steps": 0, "test-fit-logistic-l2-hidden-penalty": 0}),
        "the penalty without the 1/m": (
            _S04_L2.format(body='''    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        g_w, g_b = log_loss_gradient(X, y, w, b)
        w, b = w - eta * (g_w + lam * w), b - eta * g_b
    return w, b'''),
            {"test-fit-logistic-l2-visible": 0, "test-fit-logistic-l2-hidden-steps": 0, "test-fit-logistic-l2-hidden-penalty": 0}),
        "scikit-learn with C = 1 / lam": (
            _S04_L2.format(body='''    model = LogisticRegression(C=1 / lam if lam > 0 else np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    return model.coef_[0], float(model.intercept_[0])'''),
            {"test-fit-logistic-l2-hidden-steps": 0, "test-fit-logistic-l2-hidden-penalty": 0}),
        "correct, as weight decay before the gradient step": (
            _S04_L2.format(body='''    m = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        g_w, g_b = log_loss_gradient(X, y, w, b)
        w = (1 - eta * lam / m) * w - eta * g_w
        b = b - eta * g_b
    return w, b'''),
            {}),
    },
    "confusion": {
        "rows and columns swapped": (
            _S04_CONF.format(body='''y = np.asarray(y).astype(int)
    y_hat = (np.asarray(p) >= threshold).astype(int)
    return np.array([[np.sum((y_hat == i) & (y == j)) for j in (0, 1)] for i in (0, 1)])'''),
            {"test-confusion-visible": 0, "test-confusion-hidden": 0}),
        "p > threshold instead of p >= threshold": (
            _S04_CONF.format(body='''y = np.asarray(y).astype(int)
    y_hat = (np.asarray(p) > threshold).astype(int)
    return np.array([[np.sum((y == i) & (y_hat == j)) for j in (0, 1)] for i in (0, 1)])'''),
            {"test-confusion-visible": 0, "test-confusion-hidden": 0}),
        "scikit-learn counts": (
            _S04_CONF.format(body='''return sklearn_confusion_matrix(np.asarray(y).astype(int), (np.asarray(p) >= threshold).astype(int), labels=[0, 1])'''),
            {"test-confusion-hidden": 0}),
        "np.bincount without a fixed length (a missing combination breaks the shape)": (
            _S04_CONF.format(body='''y = np.asarray(y).astype(int)
    y_hat = (np.asarray(p) >= threshold).astype(int)
    return np.bincount(2 * y + y_hat).reshape(2, 2)'''),
            {"test-confusion-hidden": 0}),
        "correct, with np.add.at": (
            _S04_CONF.format(body='''counts = np.zeros((2, 2), dtype=int)
    np.add.at(counts, (np.asarray(y).astype(int), (np.asarray(p) >= threshold).astype(int)), 1)
    return counts'''),
            {}),
    },
}


# -------------------- ex05-softmax-regression

_S05_SOFT = '''
{imports}
def softmax(Z):
    Z = np.asarray(Z, dtype=float)
    {body}
'''
_S05_CE = '''
def cross_entropy_from_logits(Z, Y):
    Z, Y = np.asarray(Z, dtype=float), np.asarray(Y, dtype=float)
    {body}
'''
_S05_GRAD = '''
def softmax_regression_gradient(X, Y, W, b):
    {body}
'''
_S05_FIT = '''
def fit_softmax(X, Y, eta, steps):
{fit}


def predict_class(X, W, b):
    {predict}
'''
_S05_GOOD_FIT = '''    W, b = np.zeros((Y.shape[1], X.shape[1])), np.zeros(Y.shape[1])
    for _ in range(steps):
        g_W, g_b = softmax_regression_gradient(X, Y, W, b)
        W, b = W - eta * g_W, b - eta * g_b
    return W, b'''
_S05_CASES = {
    "softmax": {
        "no subtraction of the maximum": (
            _S05_SOFT.format(imports="", body="E = np.exp(Z)\n    return E / E.sum(axis=1, keepdims=True)"),
            {"test-softmax-visible": 0, "test-softmax-hidden-values": 0}),
        "the maximum of the whole array, not of each row": (
            _S05_SOFT.format(imports="", body="E = np.exp(Z - Z.max())\n    return E / E.sum(axis=1, keepdims=True)"),
            {"test-softmax-visible": 0, "test-softmax-hidden-values": 0}),
        "normalised over the whole array": (
            _S05_SOFT.format(imports="", body="E = np.exp(Z - Z.max(axis=1, keepdims=True))\n    return E / E.sum()"),
            {"test-softmax-visible": 0, "test-softmax-hidden-values": 0, "test-softmax-hidden-shape": 0}),
        "scipy's softmax": (
            _S05_SOFT.format(imports="from scipy.special import softmax as scipy_softmax\n", body="return scipy_softmax(Z, axis=1)"),
            {"test-softmax-hidden-values": 0}),
        "correct, through a log-softmax written by hand": (
            _S05_SOFT.format(imports="", body="c = Z.max(axis=1, keepdims=True)\n    return np.exp(Z - c - np.log(np.exp(Z - c).sum(axis=1, keepdims=True)))"),
            {}),
    },
    "cross-entropy": {
        "the log of the probabilities (log 0 for large scores)": (
            _S05_CE.format(body='''E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.mean(np.sum(np.where(Y > 0, Y * np.log(P), 0.0), axis=1)))'''),
            {"test-cross-entropy-visible": 0, "test-cross-entropy-hidden-values": 0}),
        "the sum over the rows instead of the mean": (
            _S05_CE.format(body='''c = Z.max(axis=1, keepdims=True)
    log_p = Z - (c + np.log(np.exp(Z - c).sum(axis=1, keepdims=True)))
    return float(-np.sum(Y * log_p))'''),
            {"test-cross-entropy-visible": 0, "test-cross-entropy-hidden-values": 0}),
        "only the score of the true class (log-sum-exp forgotten)": (
            _S05_CE.format(body='''return float(-np.mean(np.sum(Y * Z, axis=1)))'''),
            {"test-cross-entropy-visible": 0, "test-cross-entropy-hidden-values": 0, "test-cross-entropy-hidden-edges": 0}),
        "PyTorch does it": (
            _S05_CE.format(body='''return float(torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(Y)).item())'''),
            {"test-cross-entropy-hidden-values": 0}),
        "correct, with np.logaddexp.reduce": (
            _S05_CE.format(body='''return float(np.mean(np.logaddexp.reduce(Z, axis=1) - np.sum(Y * Z, axis=1)))'''),
            {}),
    },
    "softmax-gradient": {
        "Y - P instead of P - Y": (
            _S05_GRAD.format(body="G = Y - softmax(X @ W.T + b)\n    return G.T @ X / len(X), G.mean(axis=0)"),
            {"test-softmax-gradient-visible": 0, "test-softmax-gradient-hidden": 0}),
        "the 1/m forgotten for W": (
            _S05_GRAD.format(body="G = softmax(X @ W.T + b) - Y\n    return G.T @ X, G.mean(axis=0)"),
            {"test-softmax-gradient-visible": 0, "test-softmax-gradient-hidden": 0}),
        "the mean over the columns for b": (
            _S05_GRAD.format(body="G = softmax(X @ W.T + b) - Y\n    return G.T @ X / len(X), G.mean(axis=1)"),
            {"test-softmax-gradient-visible": 0, "test-softmax-gradient-hidden": 0}),
        "correct, with torch.autograd": (
            _S05_GRAD.format(body='''W_t = torch.tensor(np.asarray(W, dtype=float), requires_grad=True)
    b_t = torch.tensor(np.asarray(b, dtype=float), requires_grad=True)
    Z_t = torch.tensor(np.asarray(X, dtype=float)) @ W_t.T + b_t
    loss = -(torch.tensor(np.asarray(Y, dtype=float)) * torch.log_softmax(Z_t, dim=1)).sum(dim=1).mean()
    loss.backward()
    return W_t.grad.numpy(), b_t.grad.numpy()'''),
            {}),
    },
    "fit-softmax": {
        "scikit-learn fits the model": (
            _S05_FIT.format(fit='''    model = LogisticRegression(C=1e6, max_iter=2000).fit(X, Y.argmax(axis=1))
    return model.coef_, model.intercept_''', predict="return np.argmax(X @ W.T + b, axis=1)"),
            {"test-fit-softmax-hidden-steps": 0}),
        "predicts the class of the smallest score": (
            _S05_FIT.format(fit=_S05_GOOD_FIT, predict="return np.argmin(X @ W.T + b, axis=1)"),
            {"test-fit-softmax-visible": 0, "test-fit-softmax-hidden-predict": 0}),
        "W updated, b forgotten": (
            _S05_FIT.format(fit='''    W, b = np.zeros((Y.shape[1], X.shape[1])), np.zeros(Y.shape[1])
    for _ in range(steps):
        W = W - eta * softmax_regression_gradient(X, Y, W, b)[0]
    return W, b''', predict="return np.argmax(X @ W.T + b, axis=1)"),
            {"test-fit-softmax-hidden-steps": 0}),
        "correct, predicting from the probabilities": (
            _S05_FIT.format(fit=_S05_GOOD_FIT, predict="return np.argmax(softmax(X @ W.T + b), axis=1)"),
            {}),
    },
}


# -------------------- ex06-neural-networks

_S06_COUNT = '''
def count_parameters(layer_sizes):
    {body}
'''
_S06_RELU = '''
def ramp(x, a, b):
    {ramp}


def relu_coefficients(knots, values):
    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)
    {coefficients}
'''
_S06_GOOD_RAMP = "return (relu(np.asarray(x, dtype=float) - a) - relu(np.asarray(x, dtype=float) - b)) / (b - a)"
_S06_GOOD_COEF = "slopes = np.diff(values) / np.diff(knots)\n    return float(values[0]), np.concatenate([slopes[:1], np.diff(slopes)])"
_S06_NET = '''
def fit_cube_model(x, y):
{prelude}    torch.manual_seed(0)
    x_mean, x_std, y_mean, y_std = x.mean(), x.std(), y.mean(), y.std()
    X = torch.tensor((x - x_mean) / x_std, dtype=torch.float32).reshape(-1, 1)
    Y = torch.tensor((y - y_mean) / y_std, dtype=torch.float32).reshape(-1, 1)
    net = {net}
    optimizer = torch.optim.Adam(net.parameters(), lr={lr})
    for step in range({steps}):
        optimizer.zero_grad()
        loss = torch.mean((net(X) - Y) ** 2)
        loss.backward()
        optimizer.step()

    def predict(x_new):
        x_new = np.asarray(x_new, dtype=float)
        X_new = torch.tensor({scale_new}, dtype=torch.float32).reshape(-1, 1)
        with torch.no_grad():
            return net(X_new).numpy()[:, 0].astype(float) * y_std + y_mean

    return predict
'''
_S06_GOOD_NET = dict(prelude="", net="nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1))", lr="0.02", steps="800",
                scale_new="(x_new - x_mean) / x_std")
_S06_CASES = {
    "count-parameters": {
        "the biases forgotten": (
            _S06_COUNT.format(body="return int(sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])))"),
            {"test-count-parameters-visible": 0, "test-count-parameters-hidden": 0}),
        "a bias for the input layer too": (
            _S06_COUNT.format(body="return int(sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])) + sum(layer_sizes))"),
            {"test-count-parameters-visible": 0, "test-count-parameters-hidden": 0}),
        "the visible answer hard-coded": (
            _S06_COUNT.format(body="return 13"),
            {"test-count-parameters-hidden": 0}),
        "the course's helper": (
            _S06_COUNT.format(body="return int(lr2dnn.models.mlp_parameter_count(layer_sizes)) if len(layer_sizes) > 1 else 0"),
            {"test-count-parameters-hidden": 0}),
        "correct, by building the network in PyTorch": (
            _S06_COUNT.format(body="layers = [nn.Linear(a, b) for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]\n    return int(sum(p.numel() for layer in layers for p in layer.parameters()))"),
            {}),
    },
    "relu-curves": {
        "the slopes instead of the changes of slope": (
            _S06_RELU.format(ramp=_S06_GOOD_RAMP, coefficients="return float(values[0]), np.diff(values) / np.diff(knots)"),
            {"test-relu-curves-visible": 0, "test-relu-curves-hidden-coefficients": 0}),
        "c0 = 0 and one coefficient too many": (
            _S06_RELU.format(ramp=_S06_GOOD_RAMP, coefficients="slopes = np.diff(values) / np.diff(knots)\n    return 0.0, np.concatenate([slopes[:1], np.diff(slopes), [0.0]])"),
            {"test-relu-curves-visible": 0, "test-relu-curves-hidden-coefficients": 0}),
        "the ramp not divided by b - a": (
            _S06_RELU.format(ramp="return relu(np.asarray(x, dtype=float) - a) - relu(np.asarray(x, dtype=float) - b)", coefficients=_S06_GOOD_COEF),
            {"test-relu-curves-hidden-ramp": 0}),
        "correct, the ramp with np.clip": (
            _S06_RELU.format(ramp="return np.clip((np.asarray(x, dtype=float) - a) / (b - a), 0.0, 1.0)", coefficients=_S06_GOOD_COEF),
            {}),
    },
    "cube-model": {
        "x_new ** 3 hard-coded": (
            "def fit_cube_model(x, y):\n    return lambda x_new: np.asarray(x_new, dtype=float) ** 3\n",
            {"test-cube-model-hidden-target-1": 0, "test-cube-model-hidden-target-2": 0}),
        "a cubic polynomial fitted by np.polyfit": (
            "def fit_cube_model(x, y):\n    coef = np.polyfit(x, y, 3)\n    return lambda x_new: np.polyval(coef, np.asarray(x_new, dtype=float))\n",
            {"test-cube-model-hidden-target-1": 0, "test-cube-model-hidden-target-2": 0}),
        "interpolation between the training points (np.interp)": (
            "def fit_cube_model(x, y):\n    order = np.argsort(x)\n    x_sorted, y_sorted = x[order], y[order]\n"
            "    return lambda x_new: np.interp(np.asarray(x_new, dtype=float), x_sorted, y_sorted)\n",
            {"test-cube-model-hidden-target-1": 0, "test-cube-model-hidden-target-2": 0}),
        "not seeded (not deterministic)": (
            _S06_NET.format(**{**_S06_GOOD_NET, "prelude": "    torch.manual_seed(np.random.randint(1_000_000))\n    x = np.asarray(x)\n"}).replace("    torch.manual_seed(0)\n", ""),
            {"test-cube-model-hidden-rules": 0, "test-cube-model-hidden-target-1": 0, "test-cube-model-hidden-target-2": 0}),
        "correct, 48 ELU units, and the cell also draws from rng": (
            _S06_NET.format(**{**_S06_GOOD_NET, "net": "nn.Sequential(nn.Linear(1, 48), nn.ELU(), nn.Linear(48, 1))"})
            + "\nexperiment = rng.normal(size=10)   # an experiment of my own\n",
            {}),
    },
}


# -------------------- ex07-backpropagation

_S07_FWD = '''
def forward(params, X):
    Z1 = X @ params["W1"].T + params["b1"]
    A1 = {act}(Z1)
    Z2 = A1 @ params["W2"].T + params["b2"]
    A2 = {act}(Z2)
    Z3 = {out}
    return {{"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3}}
'''
_S07_BWD = '''
def backward(params, cache, X, Y):
{body}
'''
_S07_LOOP = '''    m = len(X)
    grads = {{}}
    delta = {delta3}
    activations = {{0: X, 1: cache["A1"], 2: cache["A2"]}}
    for l in (3, 2, 1):
        grads[f"W{{l}}"] = delta.T @ activations[l - 1]
        grads[f"b{{l}}"] = {bias}
        if l > 1:
            delta = (delta @ params[f"W{{l}}"]) * {derivative}
    return grads'''
_S07_GOOD = dict(delta3='(cache["Z3"] - Y) / m', bias="delta.sum(axis=0)", derivative="(1 - activations[l - 1] ** 2)")
_S07_STEP = '''
def central_difference_errors(f, df, x, hs):
    {errors}


def best_step(f, df, x, hs):
    {best}


hs = np.logspace(-12, -1, 45)
errors = central_difference_errors(np.exp, np.exp, 1.0, hs)
'''
_S07_GOOD_ERRORS = "return np.array([abs((f(x + h) - f(x - h)) / (2 * h) - df(x)) for h in hs])"
_S07_GOOD_BEST = "return hs[int(np.argmin(central_difference_errors(f, df, x, hs)))]"
_S07_CASES = {
    "forward": {
        "a tanh on the output layer too": (
            _S07_FWD.format(act="np.tanh", out='np.tanh(A2 @ params["W3"].T + params["b3"])'),
            {"test-forward-visible": 0, "test-forward-hidden": 0}),
        "ReLU instead of tanh": (
            _S07_FWD.format(act="(lambda z: np.maximum(z, 0))", out='A2 @ params["W3"].T + params["b3"]'),
            {"test-forward-visible": 0, "test-forward-hidden": 0}),
        "correct, with np.einsum": (
            '''
def forward(params, X):
    cache, A = {}, X
    for l in (1, 2, 3):
        Z = np.einsum("ij,kj->ik", A, params[f"W{l}"]) + params[f"b{l}"]
        cache[f"Z{l}"] = Z
        if l < 3:
            A = cache[f"A{l}"] = np.tanh(Z)
    return cache
''', {}),
    },
    "backward": {
        "returns the tests' own autograd helper": (
            _S07_BWD.format(body="    return _g_torch_gradients(params, X, Y)"),
            {"test-backward-hidden-rules": 0, "test-backward-hidden-sizes": 0, "test-backward-hidden-saturated": 0}),
        "torch.autograd inside backward": (
            _S07_BWD.format(body='''    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    A1 = torch.tanh(torch.tensor(X) @ t["W1"].T + t["b1"])
    A2 = torch.tanh(A1 @ t["W2"].T + t["b2"])
    cost = ((A2 @ t["W3"].T + t["b3"] - torch.tensor(Y)) ** 2).sum() / (2 * len(X))
    cost.backward()
    return {k: v.grad.numpy() for k, v in t.items()}'''),
            {"test-backward-hidden-rules": 0, "test-backward-hidden-sizes": 0, "test-backward-hidden-saturated": 0}),
        "Delta3 without the 1/m": (
            _S07_BWD.format(body=_S07_LOOP.format(**{**_S07_GOOD, "delta3": 'cache["Z3"] - Y'})),
            {"test-backward-visible": 0, "test-backward-hidden-sizes": 0, "test-backward-hidden-saturated": 0}),
        "tanh' computed from Z instead of A": (
            _S07_BWD.format(body=_S07_LOOP.format(**{**_S07_GOOD, "derivative": '(1 - cache[f"Z{l - 1}"] ** 2)'})),
            {"test-backward-visible": 0, "test-backward-hidden-sizes": 0, "test-backward-hidden-saturated": 0}),
        "correct, one block per layer": (
            _S07_BWD.format(body='''    m = len(X)
    D3 = (cache["Z3"] - Y) / m
    D2 = (D3 @ params["W3"]) * (1 - cache["A2"] ** 2)
    D1 = (D2 @ params["W2"]) * (1 - cache["A1"] ** 2)
    return {"W3": D3.T @ cache["A2"], "b3": D3.sum(axis=0), "W2": D2.T @ cache["A1"], "b2": D2.sum(axis=0),
            "W1": D1.T @ X, "b1": D1.sum(axis=0)}'''),
            {}),
    },
    "step-size": {
        "a forward difference": (
            _S07_STEP.format(errors="return np.array([abs((f(x + h) - f(x)) / h - df(x)) for h in hs])", best=_S07_GOOD_BEST),
            {"test-step-size-visible": 0, "test-step-size-hidden": 0}),
        "best_step returns the index of the step": (
            _S07_STEP.format(errors=_S07_GOOD_ERRORS, best="return int(np.argmin(central_difference_errors(f, df, x, hs)))"),
            {"test-step-size-visible": 0, "test-step-size-hidden": 0}),
        "the relative error, divided by |f'(x)|": (
            _S07_STEP.format(errors="return np.array([abs(((f(x + h) - f(x - h)) / (2 * h) - df(x)) / df(x)) for h in hs])", best=_S07_GOOD_BEST),
            {"test-step-size-visible": 0, "test-step-size-hidden": 0}),
        "correct, vectorised, with the difference divided in two steps": (
            _S07_STEP.format(errors="hs = np.asarray(hs, dtype=float)\n    return np.abs((f(x + hs) - f(x - hs)) / hs / 2 - df(x))", best=_S07_GOOD_BEST),
            {}),
    },
}


# -------------------- ex08-pytorch-and-optimisers

_S08_LOADER = '''
def make_loader(X, y, batch_size, seed):
    {body}
'''
_S08_TRAIN = '''
def train(model, loss_fn, optimizer, loader, epochs):
{body}
'''
_S08_TRAIN_LOOP = '''    model_device = next(model.parameters()).device
    history = []
    for _ in range(epochs):
        losses = []
        for X_batch, y_batch in loader:
            X_batch, y_batch = X_batch.to({dev}), y_batch.to({dev})
            {zero}
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            losses.append({record})
        history.append({summary})
    return history'''
_S08_GOOD_TRAIN = dict(dev="model_device", zero="optimizer.zero_grad()", record="loss.item()", summary="float(np.mean(losses))")
_S08_MOM = '''
def momentum_step(theta, grad, velocity, eta, beta):
    {body}
'''
_S08_ADAM = '''
def adam_step(theta, grad, state, eta, beta1=0.9, beta2=0.999, eps=1e-8):
    if state is None:
        state = {{"s": np.zeros_like(theta), "r": np.zeros_like(theta), "t": 0}}
    t = {t}
    s = beta1 * state["s"] + (1 - beta1) * grad
    r = beta2 * state["r"] + (1 - beta2) * grad ** 2
    s_hat, r_hat = {hats}
    return theta - eta * {update}, {{"s": s, "r": r, "t": t}}
'''
_S08_GOOD_ADAM = dict(t='state["t"] + 1', hats="s / (1 - beta1 ** t), r / (1 - beta2 ** t)", update="s_hat / (np.sqrt(r_hat) + eps)")
_S08_COMPARE = '''
def tune_and_compare(steppers, etas, grad, cost, theta0, steps):
{body}


curvature = np.array([1.0, 50.0])
'''
_S08_COMPARE_LOOP = '''    results = {{}}
    for name, step in steppers.items():
        best = (None, np.inf)
        for eta in etas:
            theta, state = {start}, None
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(steps):
                    theta, state = step(theta, grad(theta), state, eta)
                final = float(cost(theta))
            {finite}
            if {better}:
                best = (eta, final)
        results[name] = best
    return results'''
_S08_GOOD_COMPARE = dict(start="theta0.copy()", finite="final = final if np.isfinite(final) else np.inf",
                    better="best[0] is None or final < best[1]")
_S08_CASES = {
    "make-loader": {
        "no shuffling": (
            _S08_LOADER.format(body="return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)"),
            {"test-make-loader-hidden": 0}),
        "seeds the global generator instead of passing one": (
            _S08_LOADER.format(body="torch.manual_seed(seed)\n    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)"),
            {"test-make-loader-hidden": 0}),
        "drops the last, smaller batch": (
            _S08_LOADER.format(body="return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, drop_last=True,\n                      generator=torch.Generator().manual_seed(seed))"),
            {"test-make-loader-visible": 0, "test-make-loader-hidden": 0}),
        "correct, with a RandomSampler": (
            _S08_LOADER.format(body="from torch.utils.data import RandomSampler\n    dataset = TensorDataset(X, y)\n"
                               "    return DataLoader(dataset, batch_size=batch_size, sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)))"),
            {}),
    },
    "train-loop": {
        "returns the last batch's loss instead of the epoch's mean": (
            _S08_TRAIN.format(body=_S08_TRAIN_LOOP.format(**{**_S08_GOOD_TRAIN, "summary": "float(losses[-1])"})),
            {"test-train-loop-hidden-batches": 0}),
        "zero_grad forgotten": (
            _S08_TRAIN.format(body=_S08_TRAIN_LOOP.format(**{**_S08_GOOD_TRAIN, "zero": "pass"})),
            {"test-train-loop-visible": 0, "test-train-loop-hidden-full-batch": 0, "test-train-loop-hidden-batches": 0}),
        "the batch losses weighted by the batch sizes": (
            _S08_TRAIN.format(body=_S08_TRAIN_LOOP.format(**{**_S08_GOOD_TRAIN, "record": "(loss.item(), len(X_batch))",
                                                   "summary": "float(sum(l * n for l, n in losses) / sum(n for _, n in losses))"})),
            {"test-train-loop-hidden-batches": 0}),
        "the notebook's device instead of the model's": (
            _S08_TRAIN.format(body=_S08_TRAIN_LOOP.format(**{**_S08_GOOD_TRAIN, "dev": "device"})),
            {"test-train-loop-hidden-full-batch": 0, "test-train-loop-hidden-batches": 0}),
        "correct, with the optimiser zeroing the gradients after the step": (
            _S08_TRAIN.format(body=_S08_TRAIN_LOOP.format(**{**_S08_GOOD_TRAIN, "zero": "pass"}).replace(
                "            optimizer.step()\n", "            optimizer.step()\n            optimizer.zero_grad()\n").replace(
                "    history = []\n", "    history = []\n    optimizer.zero_grad()\n")),
            {}),
    },
    "momentum": {
        "an exponential average, v = beta v + (1 - beta) g": (
            _S08_MOM.format(body="velocity = beta * velocity + (1 - beta) * grad\n    return theta - eta * velocity, velocity"),
            {"test-momentum-visible": 0, "test-momentum-hidden": 0}),
        "the velocity changed in place": (
            _S08_MOM.format(body="velocity *= beta\n    velocity += grad\n    return theta - eta * velocity, velocity"),
            {"test-momentum-hidden": 0}),
        "the step with the old velocity": (
            _S08_MOM.format(body="new_velocity = beta * velocity + grad\n    return theta - eta * velocity - eta * (velocity == 0) * grad, new_velocity"),
            {"test-momentum-visible": 0, "test-momentum-hidden": 0}),
        "torch.optim.SGD does the step": (
            _S08_MOM.format(body='''p = torch.tensor(theta, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=eta, momentum=beta)
    if np.any(velocity):
        optimizer.state[p]["momentum_buffer"] = torch.tensor(velocity)
    p.grad = torch.tensor(grad)
    optimizer.step()
    return p.detach().numpy().copy(), optimizer.state[p]["momentum_buffer"].numpy().copy()'''),
            {"test-momentum-hidden": 0}),
        "correct, with the parameters updated in a copy": (
            _S08_MOM.format(body="new_velocity = np.array(velocity, dtype=float) * beta + grad\n    new_theta = np.array(theta, dtype=float)\n    new_theta -= eta * new_velocity\n    return new_theta, new_velocity"),
            {}),
    },
    "adam": {
        "no bias correction": (
            _S08_ADAM.format(**{**_S08_GOOD_ADAM, "hats": "s, r"}),
            {"test-adam-visible": 0, "test-adam-hidden-hyper": 0, "test-adam-hidden-long": 0}),
        "eps inside the square root": (
            _S08_ADAM.format(**{**_S08_GOOD_ADAM, "update": "s_hat / np.sqrt(r_hat + eps)"}),
            {"test-adam-hidden-hyper": 0, "test-adam-hidden-long": 0}),
        "the counter never advances": (
            _S08_ADAM.format(**{**_S08_GOOD_ADAM, "t": '1'}),
            {"test-adam-visible": 0, "test-adam-hidden-hyper": 0, "test-adam-hidden-long": 0}),
        "correct, with the bias correction folded into the learning rate": (
            _S08_ADAM.format(**{**_S08_GOOD_ADAM, "update": "(math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)) * s / (np.sqrt(r) + eps * math.sqrt(1 - beta2 ** t))"}),
            {}),
    },
    "compare-optimisers": {
        "every run continues from where the last one ended (theta0 changed)": (
            _S08_COMPARE.format(body=_S08_COMPARE_LOOP.format(**{**_S08_GOOD_COMPARE, "start": "theta0"})),
            {"test-compare-optimisers-hidden-fair": 0}),
        "a diverged run (nan) can win": (
            _S08_COMPARE.format(body=_S08_COMPARE_LOOP.format(**{**_S08_GOOD_COMPARE, "finite": "pass", "better": "best[0] is None or not final >= best[1]"})),
            {"test-compare-optimisers-hidden-diverged": 0}),
        "the last of equally good rates wins": (
            _S08_COMPARE.format(body=_S08_COMPARE_LOOP.format(**{**_S08_GOOD_COMPARE, "better": "best[0] is None or final <= best[1]"})),
            {"test-compare-optimisers-hidden-diverged": 0}),
        "one learning rate for all (the first of the grid)": (
            _S08_COMPARE.format(body='''    results = {}
    for name, step in steppers.items():
        theta, state = theta0.copy(), None
        for _ in range(steps):
            theta, state = step(theta, grad(theta), state, etas[0])
        results[name] = (etas[0], float(cost(theta)))
    return results'''),
            {"test-compare-optimisers-visible": 0, "test-compare-optimisers-hidden-fair": 0, "test-compare-optimisers-hidden-diverged": 0}),
        "correct, with min over the grid": (
            _S08_COMPARE.format(body='''    def final_cost(step, eta):
        theta, state = np.array(theta0, dtype=float), None
        with np.errstate(all="ignore"):
            for _ in range(steps):
                theta, state = step(theta, grad(theta), state, eta)
            value = float(cost(theta))
        return value if np.isfinite(value) else np.inf
    results = {}
    for name, step in steppers.items():
        costs = [final_cost(step, eta) for eta in etas]
        best = int(np.argmin(costs))
        results[name] = (etas[best], costs[best])
    return results'''),
            {}),
    },
}


# -------------------- ex09-covid-case-study

_S09_LAGS = '''
def make_lag_features(cases, k):
    cases = np.asarray(cases, dtype=float)
    if not 1 <= k < len(cases):
        raise ValueError("bad k")
    days = np.arange(k, len(cases))
    X = np.column_stack([cases[days - j] for j in {columns}])
    return X, cases[days], days
'''
_S09_BASE = '''
def baseline_mae(cases, lag, first_test_day):
    cases = np.asarray(cases, dtype=float)
    days = np.arange(first_test_day, len(cases))
    return float({body})
'''
_S09_MASE = '''
def mase(cases, forecasts, first_test_day):
    cases = np.asarray(cases, dtype=float)
    test_mae = np.mean(np.abs(np.asarray(forecasts, dtype=float) - cases[first_test_day:]))
    scale_days = {days}
    scale = np.mean(np.abs(cases[scale_days] - cases[scale_days - {lag}]))
    return float(test_mae / scale)
'''
_S09_SPLIT = '''
def protocol_split(X, y, days, first_test_day):
    X, y, days = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(days)
    train, test = days < first_test_day, days >= first_test_day
    validation = {validation}
    X_train, y_train = X[train], y[train]
    X_fit, y_fit, X_val, y_val = X_train[~validation], y_train[~validation], X_train[validation], y_train[validation]
    x_mean, x_std, y_mean, y_std = {statistics}
    return {{"X_fit": (X_fit - x_mean) / x_std, "y_fit": (y_fit - y_mean) / y_std,
            "X_val": (X_val - x_mean) / x_std, "y_val": (y_val - y_mean) / y_std,
            "X_test": (X[test] - x_mean) / x_std, "y_test": (y[test] - y_mean) / y_std,
            "x_mean": x_mean, "x_std": x_std, "y_mean": y_mean, "y_std": y_std}}


split = protocol_split(*make_lag_features(cases, 28), FIRST_TEST_DAY)
'''
_S09_GOOD_SPLIT = dict(validation="np.arange(train.sum()) % 5 == 4",
                  statistics="X_fit.mean(axis=0), X_fit.std(axis=0), y_fit.mean(), y_fit.std()")
_S09_EARLY = '''
def early_stopping_fit(model, X_fit, y_fit, X_val, y_val, lr, max_epochs, patience):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = {loss}
    best_loss, best_epoch, best_state, val_losses = np.inf, 0, {copy}, []
    for epoch in range(1, max_epochs + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(X_fit), y_fit)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            val_loss = loss_fn(model(X_val), y_val).item()
        val_losses.append(val_loss)
        if val_loss < best_loss:
            best_loss, best_epoch, best_state = val_loss, epoch, {copy}
        elif {stop}:
            break
    {restore}
    return {result}


def as_tensor(array):
    return torch.tensor(np.asarray(array), dtype=torch.float32).reshape(len(array), -1)


torch.manual_seed(0)
network = nn.Sequential(nn.Linear(28, 5), nn.ReLU(), nn.Linear(5, 1))
best_epoch, val_losses = early_stopping_fit(network, as_tensor(split["X_fit"]), as_tensor(split["y_fit"]),
                                            as_tensor(split["X_val"]), as_tensor(split["y_val"]),
                                            lr=0.01, max_epochs=600, patience=50)
with torch.no_grad():
    network_forecasts = network(as_tensor(split["X_test"])).numpy()[:, 0] * split["y_std"] + split["y_mean"]
'''
_S09_GOOD_EARLY = dict(loss="nn.L1Loss()", copy="copy.deepcopy(model.state_dict())", stop="epoch - best_epoch >= patience",
                  restore="model.load_state_dict(best_state)", result="best_epoch, val_losses")
_S09_SARIMA = '''
def fit_sarima(train_cases):
{fit}


def one_step_forecasts(cases, first_test_day, params):
{step}


sarima_params = fit_sarima(cases[:FIRST_TEST_DAY])
sarima_forecasts = one_step_forecasts(cases, FIRST_TEST_DAY, sarima_params)
'''
_S09_GOOD_FIT = '''    model = SARIMAX(np.log1p(np.asarray(train_cases, dtype=float)), order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)
    return np.asarray(model.fit(disp=False).params)'''
_S09_GOOD_STEP = '''    model = SARIMAX(np.log1p(np.asarray(cases, dtype=float)), order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)
    result = model.filter(np.asarray(params, dtype=float))
    return np.expm1(np.asarray(result.predict(start=first_test_day, end=len(cases) - 1)))'''
_S09_FORECAST = '''
def forecast(cases, first_test_day):
{body}
'''
_S09_LOGLIN = '''    k = {k}
    X_lag, y_lag, days = make_lag_features(np.log1p(np.asarray({series}, dtype=float)), k)
    A = np.column_stack([np.ones(len(days)), X_lag])
    train = days < first_test_day
    theta = np.linalg.lstsq(A[train], y_lag[train], rcond=None)[0]
    return np.expm1(A[~train] @ theta)'''
_S09_CASES = {
    "lag-features": {
        "the oldest lag first": (
            _S09_LAGS.format(columns="range(k, 0, -1)"),
            {"test-lag-features-visible": 0, "test-lag-features-hidden-values": 0, "test-lag-features-hidden-edges": 0}),
        "the target day among the features (reads the day it forecasts)": (
            _S09_LAGS.format(columns="range(0, k)"),
            {"test-lag-features-visible": 0, "test-lag-features-hidden-values": 0, "test-lag-features-hidden-edges": 0}),
        "no check of k": (
            '''
def make_lag_features(cases, k):
    cases = np.asarray(cases, dtype=float)
    days = np.arange(k, len(cases))
    X = np.column_stack([cases[days - j] for j in range(1, k + 1)]) if k > 0 else np.zeros((len(days), 0))
    return X, cases[days], days
''', {"test-lag-features-hidden-edges": 0}),
    },
    "baselines": {
        "the forecast one day too recent": (
            _S09_BASE.format(body="np.mean(np.abs(cases[days] - cases[days - lag + 1]))"),
            {"test-baselines-visible": 0, "test-baselines-hidden": 0}),
        "the mean squared error": (
            _S09_BASE.format(body="np.mean((cases[days] - cases[days - lag]) ** 2)"),
            {"test-baselines-visible": 0, "test-baselines-hidden": 0}),
        "the notebook's FIRST_TEST_DAY instead of the argument": (
            _S09_BASE.format(body="np.mean(np.abs(cases[FIRST_TEST_DAY:] - cases[FIRST_TEST_DAY - lag:len(cases) - lag]))"),
            {"test-baselines-visible": 0, "test-baselines-hidden": 0}),
    },
    "mase": {
        "the scale over all days, the test days included": (
            _S09_MASE.format(days="np.arange(7, len(cases))", lag="7"),
            {"test-mase-visible": 0, "test-mase-hidden-values": 0, "test-mase-hidden-future": 0}),
        "the scale from the seasonal naive on the test days": (
            _S09_MASE.format(days="np.arange(first_test_day, len(cases))", lag="7"),
            {"test-mase-visible": 0, "test-mase-hidden-values": 0, "test-mase-hidden-future": 0}),
        "the scale from tomorrow-equals-today": (
            _S09_MASE.format(days="np.arange(1, first_test_day)", lag="1"),
            {"test-mase-visible": 0, "test-mase-hidden-values": 0}),
        "correct, with the seasonal naive written with slices": (
            '''
def mase(cases, forecasts, first_test_day):
    cases = np.asarray(cases, dtype=float)
    scale = np.mean(np.abs(cases[7:first_test_day] - cases[:first_test_day - 7]))
    return float(np.mean(np.abs(np.asarray(forecasts) - cases[first_test_day:])) / scale)
''', {}),
    },
    "protocol-split": {
        "statistics of all training examples, validation included": (
            _S09_SPLIT.format(**{**_S09_GOOD_SPLIT, "statistics": "X_train.mean(axis=0), X_train.std(axis=0), y_train.mean(), y_train.std()"}),
            {"test-protocol-split-visible": 0, "test-protocol-split-hidden-statistics": 0, "test-protocol-split-hidden-examples": 0}),
        "statistics of all days, test days included": (
            _S09_SPLIT.format(**{**_S09_GOOD_SPLIT, "statistics": "X.mean(axis=0), X.std(axis=0), y.mean(), y.std()"}),
            {"test-protocol-split-visible": 0, "test-protocol-split-hidden-statistics": 0, "test-protocol-split-hidden-examples": 0}),
        "the 1st, 6th, 11th ... examples for validation": (
            _S09_SPLIT.format(**{**_S09_GOOD_SPLIT, "validation": "np.arange(train.sum()) % 5 == 0"}),
            {"test-protocol-split-visible": 0, "test-protocol-split-hidden-statistics": 0, "test-protocol-split-hidden-examples": 0}),
        "the last fifth of the training examples for validation": (
            _S09_SPLIT.format(**{**_S09_GOOD_SPLIT, "validation": "np.arange(train.sum()) >= train.sum() - train.sum() // 5"}),
            {"test-protocol-split-hidden-statistics": 0, "test-protocol-split-hidden-examples": 0}),
        "correct, with the statistics written out": (
            _S09_SPLIT.format(**{**_S09_GOOD_SPLIT, "statistics": "X_fit.sum(axis=0) / len(X_fit), np.sqrt(((X_fit - X_fit.mean(axis=0)) ** 2).mean(axis=0)), float(np.mean(y_fit)), float(np.sqrt(np.mean((y_fit - y_fit.mean()) ** 2)))"}),
            {}),
    },
    "early-stopping": {
        "keeps the weights of the last epoch": (
            _S09_EARLY.format(**{**_S09_GOOD_EARLY, "restore": "pass"}),
            {"test-early-stopping-visible": 0, "test-early-stopping-hidden": 0}),
        "the state dict not copied (the best weights keep changing)": (
            _S09_EARLY.format(**{**_S09_GOOD_EARLY, "copy": "model.state_dict()"}),
            {"test-early-stopping-visible": 0, "test-early-stopping-hidden": 0}),
        "epochs counted from 0": (
            _S09_EARLY.format(**{**_S09_GOOD_EARLY, "result": "best_epoch - 1, val_losses"}),
            {"test-early-stopping-visible": 0, "test-early-stopping-hidden": 0}),
        "stops one epoch late (> instead of >=)": (
            _S09_EARLY.format(**{**_S09_GOOD_EARLY, "stop": "epoch - best_epoch > patience"}),
            {"test-early-stopping-visible": 0, "test-early-stopping-hidden": 0}),
        "the squared error instead of the absolute error": (
            _S09_EARLY.format(**{**_S09_GOOD_EARLY, "loss": "nn.MSELoss()"}),
            {"test-early-stopping-visible": 0, "test-early-stopping-hidden": 0}),
    },
    "sarima": {
        "fitted on the notebook's whole series, not on its argument": (
            _S09_SARIMA.format(fit=_S09_GOOD_FIT.replace("np.asarray(train_cases, dtype=float)", "cases"), step=_S09_GOOD_STEP),
            {"test-sarima-hidden-fit": 0}),
        "one_step_forecasts refits on the whole series": (
            _S09_SARIMA.format(fit=_S09_GOOD_FIT, step='''    model = SARIMAX(np.log1p(np.asarray(cases, dtype=float)), order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)
    result = model.fit(disp=False, start_params=params)
    return np.expm1(np.asarray(result.predict(start=first_test_day, end=len(cases) - 1)))'''),
            {"test-sarima-hidden-frozen": 0}),
        "the smoothed states (they use later days)": (
            _S09_SARIMA.format(fit=_S09_GOOD_FIT, step='''    model = SARIMAX(np.log1p(np.asarray(cases, dtype=float)), order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)
    result = model.smooth(np.asarray(params, dtype=float))
    return np.expm1(np.asarray(result.predict(start=first_test_day, end=len(cases) - 1, dynamic=False, information_set="smoothed")))'''),
            {"test-sarima-hidden-frozen": 0}),
        "no transformation back (log1p forecasts)": (
            _S09_SARIMA.format(fit=_S09_GOOD_FIT, step=_S09_GOOD_STEP.replace("return np.expm1(", "return (")),
            {"test-sarima-visible": 0, "test-sarima-hidden-frozen": 0}),
        "correct, with extend from the training fit": (
            _S09_SARIMA.format(fit=_S09_GOOD_FIT, step='''    log = np.log1p(np.asarray(cases, dtype=float))
    train = SARIMAX(log[:first_test_day], order=(0, 1, 1), seasonal_order=(0, 1, 1, 7), concentrate_scale=True)
    result = train.filter(np.asarray(params, dtype=float)).append(log[first_test_day:])
    return np.expm1(np.asarray(result.predict(start=first_test_day, end=len(cases) - 1)))'''),
            {}),
    },
    "forecast": {
        "refits every day on all earlier days (walk-forward, test targets included)": (
            _S09_FORECAST.format(body='''    log = np.log1p(np.asarray(cases, dtype=float))
    X_lag, y_lag, days = make_lag_features(log, 28)
    A = np.column_stack([np.ones(len(days)), X_lag])
    out = []
    for d in range(first_test_day, len(cases)):
        fit = days < d
        theta = np.linalg.lstsq(A[fit], y_lag[fit], rcond=None)[0]
        out.append(np.expm1(A[days == d][0] @ theta))
    return np.array(out)'''),
            {"test-forecast-visible": 0, "test-forecast-hidden-rules": 0, "test-forecast-hidden-performance": 0}),
        "same as seven days ago, no model at all": (
            _S09_FORECAST.format(body="    cases = np.asarray(cases, dtype=float)\n    return cases[first_test_day - 7:len(cases) - 7]"),
            {"test-forecast-visible": 0, "test-forecast-hidden-performance": 0}),
        "the value of the day it forecasts": (
            _S09_FORECAST.format(body="    return np.asarray(cases, dtype=float)[first_test_day:]"),
            {"test-forecast-visible": 0, "test-forecast-hidden-rules": 0, "test-forecast-hidden-performance": 0}),
        "84 lags (a window longer than the 56 days allowed)": (
            _S09_FORECAST.format(body=_S09_LOGLIN.format(k=84, series="cases")),
            {"test-forecast-visible": 0, "test-forecast-hidden-rules": 0, "test-forecast-hidden-performance": 0}),
        "correct, 21 lags, and the cell also draws from rng": (
            _S09_FORECAST.format(body=_S09_LOGLIN.format(k=21, series="cases")) + "\n\nexperiment = rng.normal(size=5)   # an experiment of my own\n",
            {}),
    },
}


WRONG_SOLUTIONS = {
    "ex01-linear-regression": _S01_CASES,
    "ex02-gradient-descent": _S02_CASES,
    "ex03-multiple-regression": _S03_CASES,
    "ex04-logistic-regression": _S04_CASES,
    "ex05-softmax-regression": _S05_CASES,
    "ex06-neural-networks": _S06_CASES,
    "ex07-backpropagation": _S07_CASES,
    "ex08-pytorch-and-optimisers": _S08_CASES,
    "ex09-covid-case-study": _S09_CASES,
}


# ------------------------------------------------------------------------- submissions

def bundles(set_name: str) -> list[tuple[dict[str, str], dict[str, int], dict[str, str]]]:
    """The submissions of a set: [(cells replaced, {test cell: expected score}, {cell: variant})]."""
    cases = WRONG_SOLUTIONS[set_name]
    result = []
    for k in range(max(len(variants) for variants in cases.values())):
        replacements, expected, names = {}, {}, {}
        for cell, variants in cases.items():
            items = list(variants.items())
            if k < len(items):
                name, (source, losses) = items[k]
                replacements[cell], names[cell] = source, name
                expected.update(losses)
        result.append((replacements, expected, names))
    return result


def student(set_name: str, k: int) -> str:
    return f"{set_name[:4]}-wrong-{k}"


SUBMISSIONS = [(set_name, k) for set_name in SETS for k in range(len(bundles(set_name)))]


def task_cells(set_name: str) -> dict[str, set[str]]:
    """{solution cell: the test cells of its task} (from the solution cell to the next task)."""
    owner, result = None, {}
    for cell in read(source_notebook(set_name)).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Task"):
            owner = None
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            owner = grade_id(cell)
            result[owner] = set()
        elif meta.get("grade") and cell.cell_type == "code" and owner:
            result[owner].add(grade_id(cell))
    return result


# ----------------------------------------------------------------------------- fixtures

def grade_group(home, sets: list[str]):
    """One course directory for some sets: generate them, submit every bundle, autograde."""
    course = make_course(home, sets)
    environment = nbgrader_environment(home)
    process = nbgrader(course, environment, "generate_assignment", "*", "--force")   # the course's sets
    assert process.returncode == 0, process.stderr[-3000:]
    for set_name in sets:
        for k, (replacements, _, _) in enumerate(bundles(set_name)):
            submit(course, student(set_name, k), set_name, with_cells_replaced(set_name, replacements))
    return course, nbgrader(course, environment, "autograde", "*", ONE_THREAD)


def wrong_jobs():
    """The grading jobs of this module for the pool of ``test_grading.py``, the longest first."""
    return [(f"wrong-{i}", functools.partial(grade_group, sets=sets)) for i, sets in enumerate(GROUPS)]


@pytest.fixture(scope="module")
def graded_wrong(grading_pool):
    """{set: (course, finished autograde process)}, graded in the pool of ``test_grading.py``."""
    return {set_name: grading_pool[f"wrong-{i}"] for i, sets in enumerate(GROUPS) for set_name in sets}


@pytest.fixture(scope="module")
def wrong_gradebooks(graded_wrong):
    books = {}
    for course, _ in graded_wrong.values():
        if course not in books:
            books[course] = Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID)
    yield {set_name: books[course] for set_name, (course, _) in graded_wrong.items()}
    for book in books.values():
        book.close()


# -------------------------------------------------------------------------------- tests

def test_groups_cover_every_set_once():
    assert sorted(set_name for group in GROUPS for set_name in group) == SETS


@pytest.mark.parametrize("set_name", SETS)
def test_the_collection_is_well_formed(set_name):
    """Every variant replaces a solution cell of the set; a correct variant loses nothing; a wrong
    one loses points on its own task's test cells, and only there."""
    cells = task_cells(set_name)
    assert set(WRONG_SOLUTIONS[set_name]) <= set(cells), "variants of cells that are not solution cells"
    assert set(WRONG_SOLUTIONS[set_name]) == set(cells), "every code task has wrong solutions"
    for cell, variants in WRONG_SOLUTIONS[set_name].items():
        wrong = [name for name in variants if not name.startswith("correct")]
        assert len(wrong) >= 2, f"{cell}: at least two wrong solutions"
        for name, (_, losses) in variants.items():
            assert set(losses) <= cells[cell], f"{cell} / {name}: the expected losses are on another task"
            assert all(score == 0 for score in losses.values())
            assert bool(losses) != name.startswith("correct"), f"{cell} / {name}"


def test_grading_runs_finish_without_errors(graded_wrong):
    for set_name, (course, process) in graded_wrong.items():
        assert process.returncode == 0, f"{set_name}: {process.stderr[-5000:]}"


@pytest.mark.parametrize(("set_name", "k"), SUBMISSIONS)
def test_each_wrong_solution_loses_points_and_each_correct_one_keeps_them(wrong_gradebooks, set_name, k):
    _, expected, names = bundles(set_name)[k]
    grades = code_grades(wrong_gradebooks[set_name], set_name, student(set_name, k))
    owner = {test: cell for cell, tests in task_cells(set_name).items() for test in tests}
    wrong = {cell: (score, maximum) for cell, (score, maximum) in grades.items() if score != expected.get(cell, maximum)}
    assert not wrong, "\n".join(
        f"{cell}: {score} of {maximum} points, expected {expected.get(cell, maximum)}, "
        f"for the variant {names.get(owner.get(cell), 'the solution')!r} of {owner.get(cell)}"
        for cell, (score, maximum) in wrong.items())
