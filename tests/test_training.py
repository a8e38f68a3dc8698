"""Tests of lr2dnn.training: the course's training loop (chapter 8)."""

import copy

import pytest
import torch
from torch import nn

from lr2dnn.training import History, evaluate, fit


def linear_data(m=64, seed=0):
    """Exact linear data y = X w + b, no noise."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(m, 3, generator=g)
    y = X @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.7
    return X, y


def make_model(seed=0, n_in=3):
    torch.manual_seed(seed)
    return nn.Linear(n_in, 1)


def run(seed=0, **kwargs):
    X, y = linear_data()
    model = make_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    options = dict(batch_size=16, max_epochs=30, generator=123, progress=False)
    options.update(kwargs)
    history = fit(model, nn.MSELoss(), optimizer, X[:48], y[:48], X[48:], y[48:], **options)
    return model, history


def test_linear_model_learns_exact_linear_data():
    model, history = run(max_epochs=200)
    assert history.train_loss[-1] < 1e-8
    assert history.val_loss[-1] < 1e-8
    torch.testing.assert_close(model.weight.data, torch.tensor([[1.5, -2.0, 0.5]]), atol=1e-4, rtol=0)
    torch.testing.assert_close(model.bias.data, torch.tensor([0.7]), atol=1e-4, rtol=0)
    assert history.epochs_run == 200 and not history.stopped_early
    assert len(history.train_loss) == len(history.val_loss) == 200


def test_train_loss_is_batch_weighted_mean_of_the_epoch():
    # With lr = 0 the weights never move, so every batch loss is measured on the same model
    # and the epoch's mean equals the loss on the whole training set.
    X, y = linear_data()
    model = make_model()
    history = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.0),
                  X[:50], y[:50], X[50:], y[50:], batch_size=16, max_epochs=2,
                  generator=0, progress=False)  # batches of 16, 16, 16, 2
    whole = evaluate(model, nn.MSELoss(), X[:50], y[:50])
    assert history.train_loss == pytest.approx([whole, whole], rel=1e-6)
    assert history.val_loss == pytest.approx([evaluate(model, nn.MSELoss(), X[50:], y[50:])] * 2)


def rising_validation_problem():
    """Training data y = x, validation data y = -x: every step towards y = x raises the
    validation loss, so the best epoch is the first one."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(40, 1, generator=g)
    X_val = torch.randn(20, 1, generator=g)
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    return model, X, X.clone(), X_val, -X_val


def test_early_stopping_when_validation_loss_rises():
    model, X, y, X_val, y_val = rising_validation_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    history = fit(model, nn.MSELoss(), optimizer, X, y, X_val, y_val,
                  batch_size=8, max_epochs=100, patience=3, generator=0, progress=False)
    assert all(b > a for a, b in zip(history.val_loss, history.val_loss[1:]))
    assert history.best_epoch == 1
    assert history.epochs_run == 1 + 3
    assert history.stopped_early
    assert history.best_val_loss == history.val_loss[0]
    # the model holds the weights of epoch 1, not those of epoch 4
    assert evaluate(model, nn.MSELoss(), X_val, y_val) == pytest.approx(history.val_loss[0])


def test_no_early_stop_without_patience():
    model, X, y, X_val, y_val = rising_validation_problem()
    history = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05),
                  X, y, X_val, y_val, batch_size=8, max_epochs=10, generator=0, progress=False)
    assert history.epochs_run == 10 and not history.stopped_early and history.best_epoch == 1


def noisy_problem():
    """A small over-parameterised network on noisy data: validation loss falls, then rises."""
    g = torch.Generator().manual_seed(5)
    X = torch.rand(30, 1, generator=g) * 4 - 2
    y = torch.sin(2 * X) + 0.4 * torch.randn(30, 1, generator=g)
    X_val = torch.rand(30, 1, generator=g) * 4 - 2
    y_val = torch.sin(2 * X_val) + 0.4 * torch.randn(30, 1, generator=g)
    return X, y, X_val, y_val


def train_noisy(max_epochs, patience=None):
    X, y, X_val, y_val = noisy_problem()
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = fit(model, nn.MSELoss(), optimizer, X, y, X_val, y_val, batch_size=10,
                  max_epochs=max_epochs, patience=patience, generator=7, progress=False)
    return model, history


def test_best_weights_are_restored():
    model, history = train_noisy(max_epochs=300, patience=40)
    assert 1 < history.best_epoch < history.epochs_run  # a real minimum inside the run
    assert history.val_loss[-1] > history.best_val_loss
    # Re-run for exactly best_epoch epochs: its final weights are those of the best epoch.
    model_again, history_again = train_noisy(max_epochs=history.best_epoch)
    assert history_again.best_epoch == history.best_epoch
    for (name, p), (_, q) in zip(model.state_dict().items(), model_again.state_dict().items()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)
    X, y, X_val, y_val = noisy_problem()
    assert evaluate(model, nn.MSELoss(), X_val, y_val) == pytest.approx(history.best_val_loss)


def test_same_seed_same_history_different_seed_different():
    _, first = run(generator=11)
    _, second = run(generator=11)
    _, third = run(generator=12)
    assert first == second
    assert first.train_loss != third.train_loss


def test_generator_object_and_global_generator():
    _, from_int = run(generator=11)
    _, from_object = run(generator=torch.Generator().manual_seed(11))
    assert from_int == from_object
    torch.manual_seed(99)
    X, y = linear_data()
    model = make_model()  # reseeds with 0, then shuffles come from the global generator
    torch.manual_seed(5)
    a = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05), X, y, X, y,
            batch_size=8, max_epochs=3, progress=False)
    model = make_model()
    torch.manual_seed(5)
    b = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05), X, y, X, y,
            batch_size=8, max_epochs=3, progress=False)
    assert a == b


def test_full_batch_equals_plain_gradient_descent():
    X, y = linear_data()
    model = make_model()
    reference = copy.deepcopy(model)
    fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), X, y, X, y,
        batch_size=len(X), max_epochs=5, generator=0, progress=False)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(5):
        optimizer.zero_grad()
        nn.MSELoss()(reference(X), y).backward()
        optimizer.step()
    torch.testing.assert_close(model.weight, reference.weight)
    torch.testing.assert_close(model.bias, reference.bias)


def test_progress_false_prints_nothing(capsys):
    run(progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_shows_a_bar(capsys):
    run(progress=True, max_epochs=3)
    captured = capsys.readouterr()
    assert "epochs" in captured.err and "3/3" in captured.err


def test_history_frame():
    _, history = run(max_epochs=4)
    frame = history.to_frame()
    assert list(frame.columns) == ["epoch", "split", "loss"]
    assert len(frame) == 8
    assert frame.loc[frame.split == "validation", "loss"].tolist() == history.val_loss
    with pytest.raises(ValueError, match="the history is empty"):
        History().best_val_loss


def test_evaluate_uses_no_grad_and_restores_mode():
    X, y = linear_data()
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    model.train()
    value = evaluate(model, nn.MSELoss(), X, y)
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        assert value == pytest.approx(float(nn.MSELoss()(model(X), y)))  # dropout was off
    assert not model.training


def test_diverging_training_raises():
    X, y = linear_data()
    y = y * 1e3
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)  # far too large: diverges
    with pytest.raises(FloatingPointError,
                       match=r"the (training|validation) loss became (nan|inf) in epoch \d+"):
        fit(model, nn.MSELoss(), optimizer, X, y, X, y, batch_size=64, max_epochs=1000,
            generator=0, progress=False)


class NanOnCall:
    """MSE, except that call number ``bad_call`` (counting from 1) returns NaN."""

    def __init__(self, bad_call):
        self.bad_call, self.calls = bad_call, 0

    def __call__(self, y_hat, y):
        self.calls += 1
        loss = nn.functional.mse_loss(y_hat, y)
        return loss * float("nan") if self.calls == self.bad_call else loss


@pytest.mark.parametrize("bad_call, message", [
    # 40 training examples in batches of 10: 4 training calls, then 1 validation call per epoch
    (7, r"the training loss became nan in epoch 2 \(batch starting at example 10 "),
    (15, r"the validation loss became nan in epoch 3;"),
])
def test_non_finite_loss_names_the_epoch(bad_call, message):
    X, y = linear_data()
    model = make_model()
    with pytest.raises(FloatingPointError, match=message):
        fit(model, NanOnCall(bad_call), torch.optim.SGD(model.parameters(), lr=0.01),
            X[:40], y[:40], X[40:], y[40:], batch_size=10, max_epochs=5, generator=0,
            progress=False)


def good_args():
    X, y = linear_data()
    model = make_model()
    return dict(model=model, loss_fn=nn.MSELoss(),
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                X_train=X[:40], y_train=y[:40], X_val=X[40:], y_val=y[40:],
                batch_size=8, max_epochs=2, progress=False)


@pytest.mark.parametrize("change, error, message", [
    (dict(model="net"), TypeError, "model must be a torch.nn.Module, got str"),
    (dict(loss_fn=3), TypeError, "loss_fn must be callable, got int"),
    (dict(optimizer=None), TypeError, "optimizer must be a torch.optim.Optimizer, got NoneType"),
    (dict(X_train=[[1.0]]), TypeError, "X_train must be a torch.Tensor, got list"),
    (dict(X_train=torch.zeros(40)), ValueError,
     r"X_train must be a 2-d tensor \(examples x features\), got shape \(40,\)"),
    (dict(y_train=torch.zeros(39, 1)), ValueError,
     r"X_train and y_train must have the same number of examples \(rows\), got 40 and 39"),
    (dict(X_val=torch.zeros(0, 3)), ValueError, "X_val must hold at least one example"),
    (dict(X_val=torch.zeros(24, 2)), ValueError,
     r"X_val must have as many features \(columns\) as X_train, got 2 and 3"),
    (dict(y_val=torch.full((24, 1), float("nan"))), ValueError,
     r"y_val must hold finite numbers, got 24 NaN or infinite value\(s\)"),
    (dict(batch_size=0), ValueError, "batch_size must be between 1 and 40, got 0"),
    (dict(batch_size=41), ValueError, "batch_size must be between 1 and 40, got 41"),
    (dict(batch_size=8.0), TypeError, "batch_size must be an int, got float"),
    (dict(max_epochs=0), ValueError, "max_epochs must be at least 1, got 0"),
    (dict(patience=0), ValueError, "patience must be at least 1, got 0"),
    (dict(patience=2.5), TypeError, "patience must be an int, got float"),
    (dict(generator="seed"), TypeError,
     "generator must be a torch.Generator, an int seed or None, got str"),
    (dict(generator=-1), ValueError, "generator must be a non-negative seed, got -1"),
])
def test_bad_input_messages(change, error, message):
    args = good_args()
    args.update(change)
    with pytest.raises(error, match=message):
        fit(**args)


def test_evaluate_bad_input():
    X, y = linear_data()
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        evaluate(lambda X: X, nn.MSELoss(), X, y)
    with pytest.raises(ValueError, match="X and y must have the same number of examples"):
        evaluate(make_model(), nn.MSELoss(), X, y[:-1])
