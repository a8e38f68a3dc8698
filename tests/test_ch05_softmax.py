"""Checks of the derivations in chapter 5 (softmax regression).

- the gradient of the cross-entropy -log softmax(z)_y with respect to the logits is p - e_y
  (e_y the one-hot vector of the label), checked against central finite differences and
  torch.autograd;
- for the model Z = X W^T + 1 b^T (W of shape K x n, as nn.Linear stores it) with cost
  J = mean cross-entropy, dJ/dW = (P - Y)^T X / m and dJ/db = the column means of P - Y;
- the Hessian of log-sum-exp is diag(p) - p p^T, positive semi-definite with the ones vector in
  its null space, so the cost is convex (but not strictly);
- cross-entropy is never below entropy (Gibbs' inequality), with equality at p = p*;
- two-class softmax equals logistic regression: softmax([z0, z1])_1 = sigmoid(z1 - z0), the
  losses agree, and gradient descent on a two-class softmax model with step eta gives, at every
  step, the probabilities of logistic regression trained with step 2 eta on w = w1 - w0.
"""

import numpy as np
import pytest
import torch

from lr2dnn.checks import numerical_gradient
from lr2dnn.classification import (
    binary_cross_entropy_from_logits,
    cross_entropy_from_logits,
    logsumexp,
    one_hot,
    sigmoid,
    softmax,
)


def random_problem(seed, m=20, n=5, K=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = rng.integers(0, K, size=m)
    W = rng.normal(size=(K, n))            # one row per class, as nn.Linear stores it
    b = rng.normal(size=K)
    return X, y, W, b


@pytest.mark.parametrize("seed", range(5))
def test_gradient_of_one_example_loss_is_p_minus_y(seed):
    rng = np.random.default_rng(seed)
    K = 5
    z = rng.normal(scale=3.0, size=K)
    label = int(rng.integers(0, K))
    numeric = numerical_gradient(
        lambda v: cross_entropy_from_logits([label], v[None, :]), z
    )
    np.testing.assert_allclose(softmax(z) - one_hot([label], K)[0], numeric, atol=1e-8)


def test_gradient_with_respect_to_logits_matches_autograd():
    _, y, _, _ = random_problem(10)
    Z = np.random.default_rng(11).normal(scale=2.0, size=(y.size, 4))
    Z_t = torch.tensor(Z, requires_grad=True)
    torch.nn.functional.cross_entropy(Z_t, torch.tensor(y)).backward()
    # The cost is a mean over m examples, so each row's gradient is (p - y) / m.
    np.testing.assert_allclose((softmax(Z) - one_hot(y, 4)) / y.size, Z_t.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


def model_gradient(X, y, W, b):
    """dJ/dW = (P - Y)^T X / m, dJ/db = mean of the rows of P - Y (W is K x n)."""
    G = softmax(X @ W.T + b) - one_hot(y, W.shape[0])
    return G.T @ X / X.shape[0], G.mean(axis=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weight_gradient_matches_finite_differences(seed):
    X, y, W, b = random_problem(seed)
    grad_W, grad_b = model_gradient(X, y, W, b)
    numeric_W = numerical_gradient(lambda V: cross_entropy_from_logits(y, X @ V.T + b), W)
    numeric_b = numerical_gradient(lambda c: cross_entropy_from_logits(y, X @ W.T + c), b)
    np.testing.assert_allclose(grad_W, numeric_W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-6, atol=1e-9)


def test_weight_gradient_matches_torch_autograd():
    X, y, W, b = random_problem(3, m=50, n=8, K=6)
    W_t = torch.tensor(W, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    loss = torch.nn.CrossEntropyLoss()(torch.tensor(X) @ W_t.T + b_t, torch.tensor(y))
    loss.backward()
    grad_W, grad_b = model_gradient(X, y, W, b)
    np.testing.assert_allclose(grad_W, W_t.grad.numpy(), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_b, b_t.grad.numpy(), rtol=1e-11, atol=1e-14)
    assert cross_entropy_from_logits(y, X @ W.T + b) == pytest.approx(loss.item(), rel=1e-12)


def test_nn_linear_stores_w_in_the_chapters_orientation():
    X, y, W, b = random_problem(8, m=7, n=5, K=3)
    layer = torch.nn.Linear(5, 3, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(W))
        layer.bias.copy_(torch.tensor(b))
    np.testing.assert_allclose(layer(torch.tensor(X)).detach().numpy(), X @ W.T + b, rtol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_hessian_of_logsumexp_is_diag_p_minus_p_p_transpose(seed):
    z = np.random.default_rng(seed).normal(scale=3.0, size=6)
    p = softmax(z)
    H = np.diag(p) - np.outer(p, p)
    # the gradient of logsumexp is softmax, so row k of the Hessian is the gradient of p_k
    numeric = np.array([numerical_gradient(lambda v: softmax(v)[k], z) for k in range(6)])
    np.testing.assert_allclose(H, numeric, atol=1e-8)
    second = numerical_gradient(lambda v: numerical_gradient(logsumexp, v, h=1e-4)[2], z, h=1e-4)
    np.testing.assert_allclose(H[2], second, atol=1e-6)
    eigenvalues = np.linalg.eigvalsh(H)
    assert eigenvalues.min() > -1e-12                 # positive semi-definite
    np.testing.assert_allclose(H @ np.ones(6), 0.0, atol=1e-15)   # the ones vector: not strict
    v = np.random.default_rng(seed + 10).normal(size=6)
    variance = p @ v ** 2 - (p @ v) ** 2                  # the proof's variance identity
    assert v @ H @ v == pytest.approx(variance, rel=1e-12) and variance >= 0


def test_cost_is_convex_along_segments_but_flat_along_the_row_shift():
    X, y, W1, b1 = random_problem(20)
    _, _, W2, b2 = random_problem(21)
    J = lambda W, b: cross_entropy_from_logits(y, X @ W.T + b)
    for a in np.linspace(0, 1, 21):
        assert J((1 - a) * W1 + a * W2, (1 - a) * b1 + a * b2) <= (1 - a) * J(W1, b1) + a * J(W2, b2) + 1e-12
    v = np.random.default_rng(22).normal(size=W1.shape[1])
    assert J(W1 + v, b1 + 0.7) == pytest.approx(J(W1, b1), rel=1e-12)   # same v added to every row
    # a convex function that is not always flat: a strictly convex slice exists
    assert J(0.5 * (W1 + W2), 0.5 * (b1 + b2)) < 0.5 * (J(W1, b1) + J(W2, b2))


def test_cross_entropy_is_never_below_entropy():
    rng = np.random.default_rng(30)
    H = lambda q: -np.sum(q * np.log(q))
    CE = lambda q, p: -np.sum(q * np.log(p))
    for _ in range(500):
        q, p = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        assert CE(q, p) >= H(q) - 1e-12
    q = rng.dirichlet(np.ones(4))
    assert CE(q, q) == pytest.approx(H(q))
    # one-hot targets: the entropy is 0 and the cross-entropy is -log p_y
    p = rng.dirichlet(np.ones(4))
    e2 = np.eye(4)[2]
    assert -np.sum(e2 * np.log(p)) == pytest.approx(-np.log(p[2]))


def test_two_class_softmax_is_the_sigmoid_of_the_score_difference():
    Z = np.random.default_rng(4).normal(scale=5.0, size=(100, 2))
    P = softmax(Z)
    np.testing.assert_allclose(P[:, 1], sigmoid(Z[:, 1] - Z[:, 0]), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(P[:, 0], sigmoid(Z[:, 0] - Z[:, 1]), rtol=1e-12, atol=1e-300)
    y = np.random.default_rng(5).integers(0, 2, size=100)
    assert cross_entropy_from_logits(y, Z) == pytest.approx(
        binary_cross_entropy_from_logits(y, Z[:, 1] - Z[:, 0]), rel=1e-12
    )


def test_training_two_class_softmax_equals_logistic_regression_with_twice_the_step():
    rng = np.random.default_rng(6)
    m, n = 60, 3
    X = rng.normal(size=(m, n))
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=m) > 0).astype(int)
    eta, steps = 0.3, 200

    W, b2 = np.zeros((2, n)), np.zeros(2)
    Y = one_hot(y, 2)
    w, b = np.zeros(n), 0.0
    for _ in range(steps):
        G = softmax(X @ W.T + b2) - Y
        W, b2 = W - eta * G.T @ X / m, b2 - eta * G.mean(axis=0)
        r = sigmoid(X @ w + b) - y
        w, b = w - 2 * eta * X.T @ r / m, b - 2 * eta * r.mean()

    np.testing.assert_allclose(W[1] - W[0], w, rtol=1e-10, atol=1e-12)
    assert b2[1] - b2[0] == pytest.approx(b, rel=1e-10)
    np.testing.assert_allclose(softmax(X @ W.T + b2)[:, 1], sigmoid(X @ w + b), atol=1e-12)
    # The two softmax rows move in opposite directions from zero: W[0] = -W[1].
    np.testing.assert_allclose(W[0], -W[1], atol=1e-12)
    # Same step size would NOT give the same model (the factor 2 matters).
    w_same = np.zeros(n)
    b_same = 0.0
    for _ in range(steps):
        r = sigmoid(X @ w_same + b_same) - y
        w_same, b_same = w_same - eta * X.T @ r / m, b_same - eta * r.mean()
    assert np.max(np.abs(w_same - w)) > 1e-2


def test_penalised_minimiser_has_centred_rows():
    """Solution of ex-ch05-not-unique: with the penalty lam/(2m) ||W||^2 the minimiser has
    sum_c w_c = 0 (found here by a quasi-Newton method, from a start whose rows are not centred)."""
    from scipy.optimize import minimize

    X, y, _, _ = random_problem(21, m=40, n=3, K=4)
    m, n, K, lam = 40, 3, 4, 0.5

    def penalised(theta):
        W, b = theta[:K * n].reshape(K, n), theta[K * n:]
        G = softmax(X @ W.T + b) - one_hot(y, K)
        J = cross_entropy_from_logits(y, X @ W.T + b) + lam / (2 * m) * np.sum(W**2)
        grad_W = G.T @ X / m + lam / m * W
        return J, np.concatenate([grad_W.ravel(), G.mean(axis=0)])

    start = np.random.default_rng(22).normal(size=K * n + K) + 3.0
    result = minimize(penalised, start, jac=True, method="BFGS", options={"gtol": 1e-10})
    W = result.x[:K * n].reshape(K, n)
    assert np.abs(W.sum(axis=0)).max() < 1e-6
    assert np.abs(W).max() > 0.1                       # the rows themselves are not zero


@pytest.mark.parametrize("K", [2, 3, 7])
def test_gradient_descent_from_zero_keeps_the_sum_of_the_rows_at_zero(K):
    """The rows of P - Y sum to 0, so sum_c w_c does not move; from zero it stays 0."""
    X, y, _, _ = random_problem(30 + K, m=50, n=4, K=K)
    W, b = np.zeros((K, 4)), np.zeros(K)
    for _ in range(100):
        G = softmax(X @ W.T + b) - one_hot(y, K)
        W, b = W - 0.5 * G.T @ X / 50, b - 0.5 * G.mean(axis=0)
    assert np.abs(W.sum(axis=0)).max() < 1e-12
    assert np.abs(W).max() > 0.05


def test_the_snippet_of_the_solution_of_ex_ch05_gradient_runs():
    """The code in the solution of exercise ex-ch05-gradient runs and its check holds."""
    import re
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "chapters" / "05-softmax-regression.ipynb"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "markdown" and "{solution} ex-ch05-gradient" in c.source]
    assert len(cells) == 1
    snippets = re.findall(r"```python\n(.*?)```", cells[0], flags=re.S)
    assert len(snippets) == 1 and "assert" in snippets[0]
    namespace = {"np": np, "numerical_gradient": numerical_gradient, "softmax": softmax,
                 "cross_entropy": cross_entropy_from_logits, "print": lambda *args: None}
    exec(snippets[0], namespace)
