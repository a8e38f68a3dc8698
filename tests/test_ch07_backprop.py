"""Derivation checks for chapter 7 (backpropagation).

The chapter writes backpropagation for a one-hidden-layer network in the open, in the cells
tagged ``ch07-backprop``. These tests run those very cells, and a general L-layer version
(the solution of exercise ex-ch07-two-hidden), against central finite differences and
``torch.autograd``.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

NOTEBOOK = Path(__file__).resolve().parents[1] / "chapters" / "07-backpropagation.ipynb"
TAG = "ch07-backprop"


@pytest.fixture(scope="module")
def chapter():
    """The namespace left by running the chapter's tagged cells."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c.source for c in notebook.cells
             if c.cell_type == "code" and TAG in c.metadata.get("tags", [])]
    assert len(cells) >= 2, f"expected the cells tagged {TAG!r} in {NOTEBOOK.name}"
    namespace = {"np": np, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}
    for source in cells:
        exec(compile(source, f"{NOTEBOOK.name}[{TAG}]", "exec"), namespace)
    return namespace


def data(seed=0, m=20, n=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return rng, X, y


# ----------------------------------------------------------------------------- reference tools


def central_differences(f, params, h=1e-6):
    """Independent of the chapter's version: perturb a copy, never the original."""
    grads = {}
    for name in params:
        g = np.zeros_like(params[name])
        for idx in np.ndindex(g.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            g[idx] = (f(plus) - f(minus)) / (2 * h)
        grads[name] = g
    return grads


def rel_error(g1, g2):
    v1 = np.concatenate([g1[k].ravel() for k in sorted(g1)])
    v2 = np.concatenate([g2[k].ravel() for k in sorted(g1)])
    return np.linalg.norm(v1 - v2) / (np.linalg.norm(v1) + np.linalg.norm(v2))


TORCH_SIGMA = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


def autograd_gradients(params, X, y, activation):
    """Gradients of J = 1/(2m) sum (y_hat - y)^2 for an L-layer MLP with a linear output."""
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    L = len(params) // 2
    A = torch.tensor(X)
    for l in range(1, L + 1):
        Z = A @ tensors[f"W{l}"].T + tensors[f"b{l}"]
        A = Z if l == L else TORCH_SIGMA[activation](Z)
    J = ((A[:, 0] - torch.tensor(y)) ** 2).mean() / 2
    J.backward()
    return J.item(), {k: t.grad.numpy() for k, t in tensors.items()}


# ----------------------------------------------------------------------------- the chapter's code


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chapter_backprop_matches_finite_differences(chapter, activation, seed):
    rng, X, y = data(seed)
    params = chapter["init_params"](3, 4, rng)
    cache = chapter["forward"](params, X, activation)
    grads = chapter["backward"](params, cache, y, activation)
    numeric = central_differences(lambda p: chapter["cost"](p, X, y, activation), params)
    assert rel_error(grads, numeric) < 1e-8


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_chapter_backprop_matches_autograd(chapter, activation):
    rng, X, y = data(3)
    params = chapter["init_params"](3, 5, rng)
    grads = chapter["backward"](params, chapter["forward"](params, X, activation), y, activation)
    J, reference = autograd_gradients(params, X, y, activation)
    assert J == pytest.approx(chapter["cost"](params, X, y, activation), rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-10, atol=1e-13)


def test_chapter_numerical_gradient_restores_parameters(chapter):
    rng, X, y = data(4)
    params = chapter["init_params"](3, 4, rng)
    before = {k: v.copy() for k, v in params.items()}
    numeric = chapter["numerical_gradient"](lambda p: chapter["cost"](p, X, y), params)
    for name in params:
        np.testing.assert_array_equal(params[name], before[name])
    assert rel_error(numeric, central_differences(lambda p: chapter["cost"](p, X, y), params)) < 1e-12


def test_chapter_relative_error_is_scale_free(chapter):
    g = {"a": np.array([1.0, 2.0])}
    assert chapter["relative_error"](g, g) == 0.0
    assert chapter["relative_error"](g, {"a": -g["a"]}) == pytest.approx(1.0)
    big = {"a": 1e6 * g["a"]}
    assert chapter["relative_error"](big, {"a": 1.01 * big["a"]}) == pytest.approx(
        chapter["relative_error"](g, {"a": 1.01 * g["a"]}))


def test_bug_from_the_exercise_is_caught_in_the_first_layer_only(chapter):
    # exercise ex-ch07-gradcheck: forgetting sigma'(Z1) in the error of layer 1
    rng, X, y = data(0)
    params = chapter["init_params"](3, 4, rng)
    cache = chapter["forward"](params, X)
    m = len(y)
    D2 = cache["A2"] - y[:, None]
    D1 = D2 @ params["W2"]
    buggy = {"W1": D1.T @ cache["A0"] / m, "b1": D1.sum(axis=0) / m,
             "W2": D2.T @ cache["A1"] / m, "b2": D2.sum(axis=0) / m}
    numeric = central_differences(lambda p: chapter["cost"](p, X, y), params)
    for name in ("W2", "b2"):
        assert rel_error({name: buggy[name]}, {name: numeric[name]}) < 1e-8
    for name in ("W1", "b1"):
        assert rel_error({name: buggy[name]}, {name: numeric[name]}) > 1e-2


# ----------------------------------------------------------------------------- L layers


ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
}


def forward_deep(params, X, activation):
    sigma, _ = ACTIVATIONS[activation]
    L = len(params) // 2
    cache = {"A0": X}
    for l in range(1, L + 1):
        Z = cache[f"A{l - 1}"] @ params[f"W{l}"].T + params[f"b{l}"]
        cache[f"Z{l}"] = Z
        cache[f"A{l}"] = Z if l == L else sigma(Z)
    return cache


def backward_deep(params, cache, y, activation):
    """The four equations, for any number of layers (rows of the matrices are examples)."""
    _, sigma_prime = ACTIVATIONS[activation]
    L, m = len(params) // 2, len(y)
    D = cache[f"A{L}"] - y[:, None]
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = D.T @ cache[f"A{l - 1}"] / m
        grads[f"b{l}"] = D.sum(axis=0) / m
        if l > 1:
            D = (D @ params[f"W{l}"]) * sigma_prime(cache[f"Z{l - 1}"])
    return grads


def deep_params(rng, widths):
    params = {}
    for l, (n_prev, n) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        params[f"W{l}"] = rng.normal(size=(n, n_prev)) / np.sqrt(n_prev)
        params[f"b{l}"] = rng.normal(size=n) * 0.5
    return params


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("widths", [[3, 5, 4, 1], [3, 4, 1], [3, 6, 6, 6, 1]])
def test_deep_backprop_matches_finite_differences_and_autograd(activation, widths):
    rng, X, y = data(len(widths))
    params = deep_params(rng, widths)
    L = len(widths) - 1
    cost = lambda p: np.mean((forward_deep(p, X, activation)[f"A{L}"][:, 0] - y) ** 2) / 2
    grads = backward_deep(params, forward_deep(params, X, activation), y, activation)
    # ReLU has a kink at 0: no pre-activation may lie within h of it for the check to be fair
    if activation == "relu":
        cache = forward_deep(params, X, activation)
        assert min(np.min(np.abs(cache[f"Z{l}"])) for l in range(1, L)) > 1e-5
    assert rel_error(grads, central_differences(cost, params)) < 1e-7
    J, reference = autograd_gradients(params, X, y, activation)
    assert J == pytest.approx(cost(params), rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-10, atol=1e-13)


def test_two_hidden_layer_deltas_by_hand():
    # delta(3) = y_hat - y; delta(2) = (W3^T delta3) * s'(z2); delta(1) = (W2^T delta2) * s'(z1)
    rng, X, y = data(7, m=1)
    params = deep_params(rng, [3, 4, 2, 1])
    cache = forward_deep(params, X, "tanh")
    d = lambda z: 1 - np.tanh(z) ** 2
    delta3 = cache["A3"][0] - y
    delta2 = (params["W3"].T @ delta3) * d(cache["Z2"][0])
    delta1 = (params["W2"].T @ delta2) * d(cache["Z1"][0])
    grads = backward_deep(params, cache, y, "tanh")
    np.testing.assert_allclose(grads["W1"], np.outer(delta1, X[0]))
    np.testing.assert_allclose(grads["b1"], delta1)
    np.testing.assert_allclose(grads["W3"], np.outer(delta3, cache["A2"][0]))


def test_one_neuron_chain_rule():
    s = lambda z: 1 / (1 + np.exp(-z))
    x, y, w, b = 1.5, 0.0, 0.8, -0.2
    a = s(w * x + b)
    dw = (a - y) * a * (1 - a) * x
    C = lambda w, b: 0.5 * (s(w * x + b) - y) ** 2
    assert dw == pytest.approx((C(w + 1e-6, b) - C(w - 1e-6, b)) / 2e-6, rel=1e-8)


def test_sigmoid_derivative_bound():
    z = np.linspace(-20, 20, 100001)
    s = 1 / (1 + np.exp(-z))
    assert np.max(s * (1 - s)) == pytest.approx(0.25)
    assert np.max(1 - np.tanh(z) ** 2) == pytest.approx(1.0)
