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
    # column form Z = W X + B with examples as columns is the transpose
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
