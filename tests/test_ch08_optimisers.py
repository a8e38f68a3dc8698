"""Derivation checks for chapter 8 (PyTorch and optimisers).

The update rules the chapter writes down are re-implemented here in NumPy (float64) and
compared with torch.optim over several steps; so are the chapter's hand computations.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def by_hand(name, theta, grad, steps, eta, mu=0.9, alpha=0.99, beta1=0.9, beta2=0.999,
            eps=1e-8, lam=0.01):
    v, s = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad(theta)
        if name == "SGD":
            theta = theta - eta * g
        elif name == "momentum":
            v = mu * v + g
            theta = theta - eta * v
        elif name == "RMSProp":
            s = alpha * s + (1 - alpha) * g ** 2
            theta = theta - eta * g / (np.sqrt(s) + eps)
        elif name in ("Adam", "AdamW"):
            if name == "AdamW":
                theta = theta - eta * lam * theta
            v = beta1 * v + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g ** 2
            theta = theta - eta * (v / (1 - beta1 ** t)) / (np.sqrt(s / (1 - beta2 ** t)) + eps)
        else:
            raise ValueError(name)
    return theta


def torch_optimizer(name, params, eta, mu=0.9, alpha=0.99, betas=(0.9, 0.999), lam=0.01):
    return {
        "SGD": lambda: torch.optim.SGD(params, lr=eta),
        "momentum": lambda: torch.optim.SGD(params, lr=eta, momentum=mu),
        "RMSProp": lambda: torch.optim.RMSprop(params, lr=eta, alpha=alpha),
        "Adam": lambda: torch.optim.Adam(params, lr=eta, betas=betas),
        "AdamW": lambda: torch.optim.AdamW(params, lr=eta, betas=betas, weight_decay=lam),
    }[name]()


def cost_torch(theta, A, target):
    """A non-quadratic cost, so that the gradient changes from step to step in a rich way."""
    r = A @ theta - target
    return 0.5 * (r ** 2).sum() + torch.log(torch.cosh(theta)).sum()


def grad_numpy(theta, A, target):
    return A.T @ (A @ theta - target) + np.tanh(theta)


@pytest.mark.parametrize("name", ["SGD", "momentum", "RMSProp", "Adam", "AdamW"])
@pytest.mark.parametrize("eta", [0.01, 0.1])
def test_update_rules_match_torch(name, eta):
    rng = np.random.default_rng(0)
    A, target = rng.normal(size=(6, 4)), rng.normal(size=6)
    theta0 = rng.normal(size=4)
    theta = torch.tensor(theta0, requires_grad=True)
    optimizer = torch_optimizer(name, [theta], eta)
    for _ in range(10):
        optimizer.zero_grad()
        cost_torch(theta, torch.tensor(A), torch.tensor(target)).backward()
        optimizer.step()
    expected = by_hand(name, theta0, lambda t: grad_numpy(t, A, target), 10, eta)
    np.testing.assert_allclose(theta.detach().numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, keys", [
    ("SGD", set()), ("momentum", {"momentum_buffer"}), ("RMSProp", {"square_avg", "step"}),
    ("Adam", {"exp_avg", "exp_avg_sq", "step"}), ("AdamW", {"exp_avg", "exp_avg_sq", "step"}),
])
def test_optimizer_state_as_in_the_table(name, keys):
    layer = nn.Linear(3, 2)
    optimizer = torch_optimizer(name, layer.parameters(), 0.1)
    layer(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    assert set(optimizer.state[layer.weight]) == keys
    for key in keys - {"step"}:
        assert optimizer.state[layer.weight][key].shape == layer.weight.shape


def test_adam_first_step_is_eta_times_sign():
    # exercise ex-ch08-adam
    theta0 = np.array([1.0, -2.0, 3.0])
    grad = lambda t: np.array([1e-3, -50.0, 2.0])
    step = by_hand("Adam", theta0, grad, 1, eta=0.01) - theta0
    np.testing.assert_allclose(step, -0.01 * np.sign(grad(theta0)), rtol=1e-4)


def test_adamw_differs_from_adam_with_l2_penalty():
    theta0 = torch.tensor([1.0, 5.0], dtype=torch.float64)
    results = []
    for make in (lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.5),
                 lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.5)):
        theta = theta0.clone().requires_grad_(True)
        optimizer = make([theta])
        for _ in range(3):
            optimizer.zero_grad()
            (theta ** 2).sum().backward()
            optimizer.step()
        results.append(theta.detach().clone())
    assert not torch.allclose(results[0], results[1])


def test_autograd_example_by_hand():
    w = torch.tensor(3.0, requires_grad=True)
    b = torch.tensor(0.5, requires_grad=True)
    L = (w * 2.0 + b - 1.0) ** 2
    L.backward()
    assert (L.item(), w.grad.item(), b.grad.item()) == (30.25, 22.0, 11.0)
    ((w * 2.0 + b - 1.0) ** 2).backward()
    assert w.grad.item() == 44.0  # gradients accumulate


def test_linear_layer_is_x_w_transpose_plus_b():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3)
    X = torch.randn(7, 5)
    torch.testing.assert_close(layer(X), X @ layer.weight.T + layer.bias)
    # the column form (examples as columns) is the transpose: Z^T = W A^T + b 1^T
    torch.testing.assert_close(layer(X).T, layer.weight @ X.T + layer.bias[:, None])


def test_losses_match_their_formulas():
    torch.manual_seed(1)
    y_hat, y = torch.randn(6), torch.randn(6)
    torch.testing.assert_close(nn.MSELoss()(y_hat, y), ((y_hat - y) ** 2).mean())
    torch.testing.assert_close(nn.L1Loss()(y_hat, y), (y_hat - y).abs().mean())
    z, labels01 = torch.randn(6), torch.tensor([0.0, 1, 1, 0, 1, 0])
    torch.testing.assert_close(nn.BCEWithLogitsLoss()(z, labels01),
                               (torch.log1p(torch.exp(z)) - labels01 * z).mean())
    logits, labels = torch.randn(6, 4), torch.tensor([0, 3, 1, 1, 2, 0])
    torch.testing.assert_close(nn.CrossEntropyLoss()(logits, labels),
                               (torch.logsumexp(logits, 1) - logits[torch.arange(6), labels]).mean())


def test_dataloader_with_our_order_gives_the_same_batches():
    X, y = torch.randn(50, 3), torch.arange(50)
    order = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(TensorDataset(X, y), batch_size=8, sampler=order.tolist())
    for k, (X_batch, y_batch) in enumerate(loader):
        idx = order[8 * k:8 * k + 8]
        assert torch.equal(X_batch, X[idx]) and torch.equal(y_batch, y[idx])


# ----------------------------------------------------------------------------- claims of the chapter


def test_adam_bias_correction_makes_the_averages_exact_for_a_constant_gradient():
    g = np.array([0.5, -2.0, 1e-3])
    beta1, beta2 = 0.9, 0.999
    v, s = np.zeros(3), np.zeros(3)
    for t in range(1, 60):
        v = beta1 * v + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g ** 2
        # unrolled: E[v] = (1 - beta1^t) g, so the corrected averages are g and g^2
        np.testing.assert_allclose(v, (1 - beta1 ** t) * g, rtol=1e-12)
        np.testing.assert_allclose(v / (1 - beta1 ** t), g, rtol=1e-12)
        np.testing.assert_allclose(s / (1 - beta2 ** t), g ** 2, rtol=1e-12)


def test_rmsprop_first_steps_are_larger_by_one_over_sqrt_one_minus_beta2_to_the_t():
    g = np.array([0.3, -4.0])
    path = [np.zeros(2)]
    s = np.zeros(2)
    for t in range(1, 101):
        s = 0.99 * s + 0.01 * g ** 2
        path.append(path[-1] - 0.01 * g / (np.sqrt(s) + 1e-8))
    sizes = np.abs(np.diff(np.array(path), axis=0)) / 0.01
    for t in (1, 34, 100):
        np.testing.assert_allclose(sizes[t - 1], 1 / np.sqrt(1 - 0.99 ** t), rtol=1e-6)
    assert sizes[0, 0] == pytest.approx(10.0, rel=1e-6)            # exercise ex-ch08-adam (c)
    # torch agrees on the first step
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RMSprop([theta], lr=0.01)
    (theta * torch.tensor(g)).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(theta.detach().numpy(), -0.1 * np.sign(g), rtol=1e-6)


def test_adam_without_momentum_is_rmsprop_with_bias_correction():
    rng = np.random.default_rng(3)
    A, target = rng.normal(size=(6, 4)), rng.normal(size=6)
    theta0 = rng.normal(size=4)
    theta = torch.tensor(theta0, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.01, betas=(0.0, 0.99), eps=1e-8)
    s = np.zeros(4)
    expected = theta0.copy()
    for t in range(1, 11):
        optimizer.zero_grad()
        cost_torch(theta, torch.tensor(A), torch.tensor(target)).backward()
        optimizer.step()
        g = grad_numpy(expected, A, target)
        s = 0.99 * s + 0.01 * g ** 2
        expected = expected - 0.01 * g / (np.sqrt(s / (1 - 0.99 ** t)) + 1e-8)
    np.testing.assert_allclose(theta.detach().numpy(), expected, rtol=1e-12)


def test_sgd_weight_decay_is_an_l2_penalty_with_lambda_over_m():
    torch.manual_seed(0)
    X, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 1, dtype=torch.float64)
    lam, m = 4.0, 40                       # chapter 3's lambda; weight decay lambda / m
    results = []
    for how in ("weight_decay", "penalty"):
        layer = nn.Linear(3, 1, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.fill_(0.5)
            layer.bias.zero_()
        optimizer = torch.optim.SGD([layer.weight], lr=0.1, weight_decay=lam / m if how == "weight_decay" else 0.0)
        for _ in range(20):
            optimizer.zero_grad()
            loss = ((layer(X) - y) ** 2).mean() / 2
            if how == "penalty":
                loss = loss + lam / (2 * m) * (layer.weight ** 2).sum()
            loss.backward()
            optimizer.step()
        results.append(layer.weight.detach().clone())
    torch.testing.assert_close(results[0], results[1], rtol=1e-12, atol=1e-14)


def test_adamw_parameter_groups_keep_biases_out_of_the_decay():
    layer = nn.Linear(4, 3)
    optimizer = torch.optim.AdamW([{"params": [layer.weight], "weight_decay": 0.1},
                                   {"params": [layer.bias], "weight_decay": 0.0}], lr=0.01)
    weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    for p in layer.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    torch.testing.assert_close(layer.weight.detach(), weight * (1 - 0.01 * 0.1))
    torch.testing.assert_close(layer.bias.detach(), bias)


def test_cosine_schedule_is_half_a_cosine_from_eta_to_zero():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
    used = []
    for _ in range(31):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(used, 0.3 * (1 + np.cos(np.pi * np.arange(31) / 30)) / 2, atol=1e-12)
