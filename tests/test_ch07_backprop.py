"""Derivation checks for chapter 7 (backpropagation).

The chapter writes backpropagation in the open, in the cells tagged ``ch07-backprop``: for a
network with one hidden layer, and for any number of layers (``forward_deep``,
``backward_deep``, used in exercise ex-ch07-two-hidden). These tests run those very cells
against central finite differences and ``torch.autograd``, for tanh, the sigmoid and ReLU; and they check the initialisation claims (He's 2/n, PyTorch's default
variance 1/(3n), the tanh spreads of exercise ex-ch07-xavier).
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from lr2dnn.checks import numerical_gradient, relative_error
from lr2dnn.classification import sigmoid

NOTEBOOK = Path(__file__).resolve().parents[1] / "chapters" / "07-backpropagation.ipynb"
TAG = "ch07-backprop"


@pytest.fixture(scope="module")
def chapter():
    """The namespace left by running the chapter's tagged cells."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c.source for c in notebook.cells
             if c.cell_type == "code" and TAG in c.metadata.get("tags", [])]
    assert len(cells) >= 2, f"expected the cells tagged {TAG!r} in {NOTEBOOK.name}"
    namespace = {"np": np, "sigmoid": sigmoid, "numerical_gradient": numerical_gradient,
                 "relative_error": relative_error}
    for source in cells:
        exec(compile(source, f"{NOTEBOOK.name}[{TAG}]", "exec"), namespace)
    return namespace


def data(seed=0, m=20, n=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return rng, X, y


# ----------------------------------------------------------------------------- reference tools


def stack(params):
    """The test's own packing of a dict of arrays into one vector (sorted names)."""
    return np.concatenate([params[k].ravel() for k in sorted(params)])


def central_differences(f, params, h=1e-6):
    """Central differences of f(dict) for every entry, via lr2dnn.checks on a stacked vector."""
    shapes = {k: params[k].shape for k in sorted(params)}

    def as_dict(theta):
        out, start = {}, 0
        for k, shape in shapes.items():
            size = int(np.prod(shape))
            out[k] = theta[start:start + size].reshape(shape)
            start += size
        return out

    return as_dict(numerical_gradient(lambda theta: f(as_dict(theta)), stack(params), h))


def rel_error(g1, g2):
    return relative_error(stack(g1), stack({k: g2[k] for k in g1}))


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


def test_chapter_pack_and_unpack_are_inverse(chapter):
    rng, X, y = data(4)
    params = chapter["init_params"](3, 4, rng)
    theta = chapter["pack"](params)
    np.testing.assert_array_equal(theta, stack(params))
    back = chapter["unpack"](theta, params)
    assert set(back) == set(params)
    for name in params:
        np.testing.assert_array_equal(back[name], params[name])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_chapter_gradient_check_reports_a_small_error_and_both_gradients(chapter, activation):
    rng, X, y = data(5)
    params = chapter["init_params"](3, 4, rng)
    error, grads, numeric = chapter["gradient_check"](params, X, y, activation)
    assert error < 1e-8
    assert rel_error(numeric, central_differences(lambda p: chapter["cost"](p, X, y, activation), params)) < 1e-12
    assert rel_error(grads, numeric) == pytest.approx(error, rel=1e-9)


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


def deep_params(rng, widths):
    params = {}
    for l, (n_prev, n) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        params[f"W{l}"] = rng.normal(size=(n, n_prev)) / np.sqrt(n_prev)
        params[f"b{l}"] = rng.normal(size=n) * 0.5
    return params


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("widths", [[3, 5, 4, 1], [3, 4, 1], [3, 6, 6, 6, 1]])
def test_deep_backprop_matches_finite_differences_and_autograd(chapter, activation, widths):
    """The chapter's forward_deep and backward_deep (solution of ex-ch07-two-hidden)."""
    forward_deep, backward_deep = chapter["forward_deep"], chapter["backward_deep"]
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


def test_two_hidden_layer_deltas_by_hand(chapter):
    # delta(3) = y_hat - y; delta(2) = (W3^T delta3) * s'(z2); delta(1) = (W2^T delta2) * s'(z1)
    forward_deep, backward_deep = chapter["forward_deep"], chapter["backward_deep"]
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


# ----------------------------------------------------------------------------- initialisation


def spread(variance, activation, depth=20, width=256, seed=0, examples=300):
    """Standard deviation of z(l) in a network with zero biases and N(0, variance) weights."""
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(examples, width, generator=generator)
    out = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                    # small products: one thread is fastest
    try:
        for _ in range(depth):
            W = torch.randn(width, width, generator=generator) * np.sqrt(variance)
            Z = A @ W.T
            out.append(Z.std().item())
            A = activation(Z)
    finally:
        torch.set_num_threads(threads)
    return np.array(out)


@pytest.mark.parametrize("variance, factor", [(1 / 3, 1 / np.sqrt(6)), (2.0, 1.0), (4.0, np.sqrt(2))])
def test_relu_spread_per_layer_is_sqrt_of_half_n_v(variance, factor):
    # the derivation of He's 2/n: Var(z(l)) = n v Var(z(l-1)) / 2 for ReLU (v given times 1/n)
    s = spread(variance / 256, torch.relu)
    assert (s[-1] / s[0]) ** (1 / 19) == pytest.approx(factor, rel=0.05)


def test_pytorch_default_linear_weights_have_variance_one_over_3n():
    torch.manual_seed(0)
    layer = torch.nn.Linear(400, 300)
    assert layer.weight.var().item() == pytest.approx(1 / (3 * 400), rel=0.02)
    assert layer.weight.abs().max().item() <= 1 / np.sqrt(400)


def test_tanh_spreads_of_the_xavier_exercise():
    # exercise ex-ch07-xavier: 1/(3n) vanishes, 1/n shrinks slowly, 2/n settles below 1
    third, xavier, double = (spread(v / 256, torch.tanh) for v in (1 / 3, 1.0, 2.0))
    assert third[-1] < 1e-3 * third[0]
    assert third[10] / third[9] == pytest.approx(1 / np.sqrt(3), rel=0.05)
    assert 0.05 < xavier[-1] / xavier[0] < 0.5 and np.all(np.diff(xavier) < 0)
    assert 0.3 < double[-1] < 1.0 and abs(double[-1] / double[-5] - 1) < 0.05
