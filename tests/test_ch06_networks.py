"""Derivation checks for chapter 6 (from linear models to neural networks).

Each test re-derives a claim of the chapter or of its exercise solutions in code.
"""

import numpy as np
import pytest
import torch
from torch import nn

from lr2dnn.classification import sigmoid
from lr2dnn.models import count_parameters, mlp, mlp_parameter_count


def relu(z):
    return np.maximum(z, 0.0)


def hard_sigmoid(x, t, d):
    return np.clip((x - t) / d, 0.0, 1.0)


def hardsig(u):
    return np.clip(u, 0.0, 1.0)


CHAPTER_KNOTS = np.array([-3.0, -1.5, -0.5, 1.0, 2.0, 3.0])
CHAPTER_VALUES = np.array([1.0, 2.5, 0.5, 1.5, -0.5, 0.5])


def smooth_curve(x, knots, values, steepness=1.0, per_piece=1):
    """The chapter's construction: sigma(steepness (4 (w x + b) - 2)) for each of the ramps."""
    edges = np.concatenate([np.linspace(a, c, per_piece + 1)[:-1] for a, c in zip(knots[:-1], knots[1:])]
                           + [knots[-1:]])
    rises = np.repeat(np.diff(values) / per_piece, per_piece)
    w = 1.0 / np.diff(edges)
    b = -w * edges[:-1]
    return values[0] + sum(c * sigmoid(steepness * (4 * (wj * x + bj) - 2)) for c, wj, bj in zip(rises, w, b))


def random_knots(rng, K):
    knots = np.sort(rng.uniform(-5, 5, size=K + 1))
    return knots, rng.normal(size=K + 1)


@pytest.mark.parametrize("seed", range(5))
def test_constant_plus_hard_sigmoids_is_the_curve_through_the_knots(seed):
    rng = np.random.default_rng(seed)
    knots, values = random_knots(rng, K=int(rng.integers(1, 8)))
    x = np.linspace(-7, 7, 1001)
    f = values[0] + sum((values[k] - values[k - 1]) * hard_sigmoid(x, knots[k - 1], knots[k] - knots[k - 1])
                        for k in range(1, len(knots)))
    np.testing.assert_allclose(f, np.interp(x, knots, values), atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_hard_sum_in_the_w_b_form_is_the_curve_through_the_knots(seed):
    # eq-ch06-hard-sum: c_j hardsig(w_j x + b_j), w_j = 1 / (xi_j - xi_{j-1}), b_j = -w_j xi_{j-1}
    knots, values = random_knots(np.random.default_rng(seed + 100), K=6)
    w = 1.0 / np.diff(knots)
    b = -w * knots[:-1]
    x = np.linspace(-7, 7, 1001)
    f = values[0] + sum(c * hardsig(wj * x + bj) for c, wj, bj in zip(np.diff(values), w, b))
    np.testing.assert_allclose(f, np.interp(x, knots, values), atol=1e-12)
    for wj, bj, left, right in zip(w, b, knots[:-1], knots[1:]):
        assert wj * left + bj == pytest.approx(0.0, abs=1e-12) and wj * right + bj == pytest.approx(1.0)


@pytest.mark.parametrize("w, b, c", [(1.0, 0.0, 1.0), (2.0, -1.0, 3.0), (0.5, 0.25, -0.7)])
def test_two_relus_make_a_hard_sigmoid_in_the_w_b_form(w, b, c):
    x = np.linspace(-5, 5, 2001)
    u = w * x + b
    np.testing.assert_allclose(c * relu(u) - c * relu(u - 1), c * hardsig(u), atol=1e-12)


def test_sigmoid_4u_minus_2_has_the_middle_and_slope_of_the_hard_sigmoid():
    u = 0.5
    assert sigmoid(4 * u - 2) == pytest.approx(0.5)
    slope = (sigmoid(4 * (u + 1e-6) - 2) - sigmoid(4 * (u - 1e-6) - 2)) / 2e-6
    assert slope == pytest.approx(1.0, rel=1e-8)          # hardsig has slope 1 between 0 and 1


def test_steeper_sigmoids_do_not_hug_the_corners_more_sigmoids_do():
    # the numbers quoted in the chapter (fig-ch06-steepness)
    x = np.linspace(-4, 4, 401)
    hard = np.interp(x, CHAPTER_KNOTS, CHAPTER_VALUES)
    gap = lambda s, k=1: np.max(np.abs(smooth_curve(x, CHAPTER_KNOTS, CHAPTER_VALUES, s, k) - hard))
    assert [round(gap(s), 2) for s in (1.0, 1.5, 3.0, 100.0)] == [0.41, 0.17, 0.43, 0.96]
    grid = np.geomspace(0.5, 100, 61)
    best = grid[np.argmin([gap(s) for s in grid])]
    assert 1.2 < best < 2.0                                # a best moderate steepness
    at_one = [gap(1.0, k) for k in (1, 2, 4, 8)]
    np.testing.assert_allclose(np.array(at_one[1:]) / np.array(at_one[:-1]), 0.5, atol=0.03)  # halves


@pytest.mark.parametrize("t, d, c", [(0.0, 1.0, 1.0), (-2.0, 0.5, 3.0), (1.5, 2.0, -0.7)])
def test_two_relus_make_a_hard_sigmoid(t, d, c):
    x = np.linspace(-5, 5, 2001)
    np.testing.assert_allclose(c / d * (relu(x - t) - relu(x - t - d)), c * hard_sigmoid(x, t, d),
                               atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_k_plus_one_relus_suffice(seed):
    # exercise ex-ch06-relus (b): slope changes at the knots
    rng = np.random.default_rng(seed)
    knots, values = random_knots(rng, K=int(rng.integers(1, 8)))
    slopes = np.concatenate([[0.0], np.diff(values) / np.diff(knots), [0.0]])
    x = np.linspace(-7, 7, 1001)
    f = values[0] + sum((slopes[k + 1] - slopes[k]) * relu(x - knots[k]) for k in range(len(knots)))
    np.testing.assert_allclose(f, np.interp(x, knots, values), atol=1e-9)


def test_sigmoid_matched_to_a_ramp_has_its_middle_and_slope():
    t, d, c = 0.7, 2.0, 1.5
    w, b = 4.0 / d, -(4.0 / d) * (t + d / 2)
    g = lambda x: c / (1.0 + np.exp(-(b + w * x)))
    middle = t + d / 2
    assert g(middle) == pytest.approx(c / 2)
    slope = (g(middle + 1e-6) - g(middle - 1e-6)) / 2e-6
    assert slope == pytest.approx(c / d, rel=1e-6)


def test_x_squared_with_four_relus():
    # exercise ex-ch06-relus (a)
    x = np.linspace(0, 2, 20001)
    f_hat = 0.5 * relu(x) + relu(x - 0.5) + relu(x - 1) + relu(x - 1.5)
    knots = np.array([0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(f_hat, np.interp(x, knots, knots ** 2), atol=1e-12)
    assert np.max(np.abs(f_hat - x ** 2)) == pytest.approx(1 / 16)


@pytest.mark.parametrize("sizes", [(3, 4, 5, 2), (1, 1, 1, 1), (6, 2, 8, 3)])
def test_affine_maps_collapse(sizes):
    rng = np.random.default_rng(sum(sizes))
    n0, n1, n2, n3 = sizes
    W1, b1 = rng.normal(size=(n1, n0)), rng.normal(size=n1)
    W2, b2 = rng.normal(size=(n2, n1)), rng.normal(size=n2)
    W3, b3 = rng.normal(size=(n3, n2)), rng.normal(size=n3)
    X = rng.normal(size=(50, n0))
    stacked = ((X @ W1.T + b1) @ W2.T + b2) @ W3.T + b3
    W = W3 @ W2 @ W1
    b = W3 @ W2 @ b1 + W3 @ b2 + b3
    np.testing.assert_allclose(stacked, X @ W.T + b, rtol=1e-10, atol=1e-10)


def test_relu_stack_is_not_affine():
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(2, 4)), rng.normal(size=2)
    X = rng.normal(size=(200, 3))
    Y = relu(X @ W1.T + b1) @ W2.T + b2
    A = np.column_stack([X, np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    assert np.sqrt(np.mean((A @ coef - Y) ** 2)) > 0.05


def test_torch_sequential_without_activation_is_one_linear_layer():
    torch.manual_seed(0)
    stack = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 4), nn.Linear(4, 2)).double()
    W = stack[2].weight @ stack[1].weight @ stack[0].weight
    b = stack[2].weight @ (stack[1].weight @ stack[0].bias + stack[1].bias) + stack[2].bias
    X = torch.randn(10, 3, dtype=torch.float64)
    torch.testing.assert_close(stack(X), X @ W.T + b)


@pytest.mark.parametrize("widths, expected", [
    ([2, 3, 1], 13),                 # the chapter's example by hand
    ([784, 128, 64, 10], 109386),    # exercise ex-ch06-count (a)
    ([1, 1024, 1], 3073),            # exercise ex-ch06-count (c)
])
def test_parameter_counts_quoted_in_the_chapter(widths, expected):
    assert mlp_parameter_count(widths) == expected == count_parameters(mlp(widths))


@pytest.mark.parametrize("n, h", [(1, 1), (3, 7), (28, 100)])
def test_one_hidden_layer_count_formula(n, h):
    # exercise ex-ch06-count (b): (n + 2) h + 1
    assert count_parameters(mlp([n, h, 1])) == (n + 2) * h + 1


def test_tent_map_composition_has_two_to_the_L_pieces():
    tent = lambda u: 2 * relu(u) - 4 * relu(u - 0.5)
    u = np.linspace(0, 1, 2 ** 12 + 1)
    z = u.copy()
    for L in range(1, 9):
        z = tent(z)
        slopes = np.diff(z) / np.diff(u)
        assert set(np.abs(slopes)) == {2.0 ** L}
        assert 1 + np.sum(np.abs(np.diff(slopes)) > 1e-6) == 2 ** L


@pytest.mark.parametrize("L", [2, 3, 5])
def test_tent_composition_is_a_network_of_depth_L(L):
    # L - 1 tents: L - 1 hidden layers of 2 ReLUs and one output layer
    tent = lambda u: 2 * relu(u) - 4 * relu(u - 0.5)
    net = mlp([1] + [2] * (L - 1) + [1]).double()
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    assert len(linears) == L
    with torch.no_grad():
        for l, layer in enumerate(linears, start=1):
            first, last = l == 1, l == L
            layer.weight.copy_(torch.tensor([[1.0], [1.0]] if first else [[2.0, -4.0]] if last else [[2.0, -4.0]] * 2))
            layer.bias.copy_(torch.tensor([0.0] if last else [0.0, -0.5]))
    u = np.linspace(0, 1, 2 ** 10 + 1)
    z = u
    for _ in range(L - 1):
        z = tent(z)
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.tensor(u).reshape(-1, 1)).numpy()[:, 0], z, atol=1e-12)


def test_activation_derivatives_of_the_table():
    z = torch.linspace(-4, 4, 321, dtype=torch.float64, requires_grad=True)
    zn = z.detach().numpy()
    s = 1 / (1 + np.exp(-zn))
    pairs = [
        (torch.sigmoid, s * (1 - s)), (torch.tanh, 1 - np.tanh(zn) ** 2),
        (nn.functional.softplus, s), (lambda t: nn.functional.leaky_relu(t, 0.1), np.where(zn > 0, 1.0, 0.1)),
        (nn.functional.gelu, 0.5 * (1 + np.vectorize(__import__("math").erf)(zn / np.sqrt(2)))
         + zn * np.exp(-zn ** 2 / 2) / np.sqrt(2 * np.pi)),
    ]
    for function, expected in pairs:
        (slope,) = torch.autograd.grad(function(z).sum(), z)
        np.testing.assert_allclose(slope.numpy(), expected, atol=1e-12)
    assert np.max(s * (1 - s)) == pytest.approx(0.25)


def test_best_line_for_x_cubed_has_slope_three_and_error_six():
    # exercise ex-ch06-slope-three, with exact Gaussian moments (Gauss-Hermite quadrature)
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    weights = weights / weights.sum()
    E = lambda f: np.sum(weights * f(nodes))
    assert E(lambda x: x ** 4) == pytest.approx(3.0)
    assert E(lambda x: x ** 6) == pytest.approx(15.0)
    # normal equations for (w, b)
    M = np.array([[E(lambda x: x ** 2), E(lambda x: x)], [E(lambda x: x), 1.0]])
    rhs = np.array([E(lambda x: x ** 4), E(lambda x: x ** 3)])
    w, b = np.linalg.solve(M, rhs)
    assert w == pytest.approx(3.0) and b == pytest.approx(0.0, abs=1e-12)
    assert E(lambda x: (w * x + b - x ** 3) ** 2) == pytest.approx(6.0)
