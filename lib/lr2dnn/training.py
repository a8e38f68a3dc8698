"""The course's training loop for PyTorch models, with early stopping.

Chapter 8 (PyTorch and optimisers) writes the training loop in the open: shuffle, cut into
mini-batches, and for each batch ``zero_grad``, forward, loss, ``backward``, ``step``; then
measure the validation loss. :func:`fit` is that loop, plus what a study needs around it:
early stopping on the validation loss, restoring the best weights, and a progress bar.
It trains one model at a time; chapter 9 (the case study) follows the same protocol but trains
several seeds of a network at once with :func:`lr2dnn.ensemble.train_ensemble`.

:func:`fit`
    Train a model with mini-batches; returns a :class:`History`.
:func:`evaluate`
    The loss of a model on some data, without tracking gradients.
:class:`History`
    Per-epoch training and validation losses, the best epoch and why training stopped.

The data are tensors held in memory and mini-batches are taken by plain indexing
(``X[idx]``); for a few thousand examples this is much faster than a ``DataLoader``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ._checks import as_int

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What happened while :func:`fit` trained a model.

    Introduced in chapter 8. Epochs are numbered from 1: ``train_loss[0]`` and
    ``val_loss[0]`` belong to epoch 1.

    Attributes
    ----------
    train_loss : list of float
        For each epoch, the mean of the mini-batch losses over the epoch, each weighted by
        its batch size (measured while the weights were changing, as is usual).
    val_loss : list of float
        For each epoch, the loss on the validation data at the end of the epoch.
    best_epoch : int
        The epoch with the lowest validation loss (the first one, in a tie); the model
        holds the weights of the end of that epoch when :func:`fit` returns.
    epochs_run : int
        How many epochs were run.
    stopped_early : bool
        True if training stopped because the validation loss had not improved for
        ``patience`` epochs, False if it ran ``max_epochs`` epochs.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False

    @property
    def best_val_loss(self) -> float:
        """The lowest validation loss, reached at ``best_epoch``."""
        if not self.val_loss:
            raise ValueError("the history is empty: no epoch has been run")
        return self.val_loss[self.best_epoch - 1]

    def to_frame(self):
        """The losses as a long pandas DataFrame with columns epoch, split, loss.

        ``split`` is ``"training"`` or ``"validation"``; the shape suits plotnine
        (``aes("epoch", "loss", color="split")``).
        """
        import pandas as pd

        epochs = list(range(1, self.epochs_run + 1))
        return pd.DataFrame(
            {
                "epoch": epochs + epochs,
                "split": ["training"] * self.epochs_run + ["validation"] * self.epochs_run,
                "loss": self.train_loss + self.val_loss,
            }
        )


# ----------------------------------------------------------------------------- checks


def _check_tensor(value: object, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.ndim == 0 or value.shape[0] == 0:
        raise ValueError(
            f"{name} must hold at least one example (rows), got a tensor of shape "
            f"{tuple(value.shape)}"
        )
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name} must hold finite numbers, got {bad} NaN or infinite value(s)")
    return value


def _check_pair(X: object, X_name: str, y: object, y_name: str) -> None:
    X = _check_tensor(X, X_name)
    y = _check_tensor(y, y_name)
    if X.ndim != 2:
        raise ValueError(
            f"{X_name} must be a 2-d tensor (examples x features), got shape {tuple(X.shape)}"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{X_name} and {y_name} must have the same number of examples (rows), "
            f"got {X.shape[0]} and {y.shape[0]}"
        )



def _as_torch_generator(generator: object) -> torch.Generator | None:
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, numbers.Integral):
        raise TypeError(
            "generator must be a torch.Generator, an int seed or None, "
            f"got {type(generator).__name__}"
        )
    if generator < 0:
        raise ValueError(f"generator must be a non-negative seed, got {generator}")
    return torch.Generator().manual_seed(int(generator))


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights (and buffers) that later training steps leave alone."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


# ----------------------------------------------------------------------------- evaluation


def evaluate(model: nn.Module, loss_fn: LossFunction, X: torch.Tensor, y: torch.Tensor) -> float:
    """The loss of ``model`` on ``(X, y)``, computed without tracking gradients.

    Introduced in chapter 8. The model is put in evaluation mode (``model.eval()``) for the
    computation and then returned to the mode it was in.

    Parameters
    ----------
    model : torch.nn.Module
        The model; ``model(X)`` gives the predictions.
    loss_fn : callable
        ``loss_fn(predictions, targets)`` returns a scalar tensor, e.g. ``nn.MSELoss()``.
    X : torch.Tensor, shape (m, n)
        Inputs, one row per example.
    y : torch.Tensor, first dimension m
        Targets.

    Returns
    -------
    float
        The loss.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module`` or ``X``, ``y`` are not tensors.
    ValueError
        If ``X`` is not 2-d, is empty, holds NaN or infinity, or ``X`` and ``y`` differ in
        length.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_pair(X, "X", y, "y")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)


# ----------------------------------------------------------------------------- training


def fit(
    model: nn.Module,
    loss_fn: LossFunction,
    optimizer: torch.optim.Optimizer,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    *,
    batch_size: int,
    max_epochs: int,
    patience: int | None = None,
    generator: torch.Generator | int | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` with mini-batches, early stopping and best-weight restoring.

    Introduced in chapter 8. Each epoch shuffles the training examples
    (``torch.randperm`` with ``generator``), cuts them into mini-batches of ``batch_size``
    (the last one may be smaller) and, for each batch, runs ``optimizer.zero_grad()``, the
    forward pass, the loss, ``backward()`` and ``optimizer.step()``. After each epoch the
    validation loss is measured with :func:`evaluate`. Training stops after ``max_epochs``
    epochs, or earlier when the validation loss has not improved (strictly decreased) for
    ``patience`` epochs in a row. At the end the model is given back the weights it had at
    the end of the epoch with the lowest validation loss.

    Parameters
    ----------
    model : torch.nn.Module
        The model to train, changed in place. It, the optimizer and the data must be on the
        same device.
    loss_fn : callable
        ``loss_fn(predictions, targets)`` returns the mean loss of a batch as a scalar
        tensor, e.g. ``nn.MSELoss()``, ``nn.L1Loss()`` or ``nn.CrossEntropyLoss()``.
    optimizer : torch.optim.Optimizer
        An optimiser built on ``model.parameters()``.
    X_train, X_val : torch.Tensor, shape (m, n) and (m_val, n)
        Training and validation inputs, one row per example.
    y_train, y_val : torch.Tensor, first dimension m and m_val
        Their targets, in the shape ``loss_fn`` expects.
    batch_size : int
        Examples per mini-batch, from 1 to m (m gives full-batch gradient descent).
    max_epochs : int
        The most epochs to run, at least 1.
    patience : int or None, optional
        Stop when the validation loss has not improved for this many epochs (at least 1).
        None (the default) never stops early.
    generator : torch.Generator, int or None, optional
        The source of the shuffling: a generator (it advances), an int seed for a new one,
        or None for torch's global generator (seeded by ``lr2dnn.repro.seed_everything``).
    progress : bool, optional
        Show a progress bar over epochs (``tqdm.auto``) with the latest losses. The book
        passes ``progress=False``.

    Returns
    -------
    History
        Per-epoch losses, ``best_epoch``, ``epochs_run`` and ``stopped_early``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (not a module, optimiser, tensor or int).
    ValueError
        If the data have the wrong shapes, different lengths, or hold NaN or infinity, or
        if ``batch_size``, ``max_epochs`` or ``patience`` is out of range.
    FloatingPointError
        If a training or validation loss becomes NaN or infinite; the message names the
        epoch (a learning rate that is too large is the usual cause).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    _check_pair(X_train, "X_train", y_train, "y_train")
    _check_pair(X_val, "X_val", y_val, "y_val")
    if X_val.shape[1] != X_train.shape[1]:
        raise ValueError(
            "X_val must have as many features (columns) as X_train, "
            f"got {X_val.shape[1]} and {X_train.shape[1]}"
        )
    m = X_train.shape[0]
    batch_size = as_int(batch_size, "batch_size", 1, m)
    max_epochs = as_int(max_epochs, "max_epochs", 1)
    if patience is not None:
        patience = as_int(patience, "patience", 1)
    generator = _as_torch_generator(generator)

    from tqdm.auto import tqdm

    history = History()
    best_state = _copy_state(model)
    best_loss = math.inf
    epochs_without_improvement = 0
    bar = tqdm(range(1, max_epochs + 1), desc="epochs", unit="epoch", disable=not progress)
    model.train()
    for epoch in bar:
        order = torch.randperm(m, generator=generator).to(X_train.device)
        total = 0.0
        for start in range(0, m, batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X_train[idx]), y_train[idx])
            loss_value = loss.detach().item()
            if not math.isfinite(loss_value):
                bar.close()
                raise FloatingPointError(
                    f"the training loss became {loss_value} in epoch {epoch} (batch starting "
                    f"at example {start} of the shuffled order); try a smaller learning rate "
                    "or check the data for extreme values"
                )
            loss.backward()
            optimizer.step()
            total += loss_value * len(idx)
        val_loss = evaluate(model, loss_fn, X_val, y_val)
        if not math.isfinite(val_loss):
            bar.close()
            raise FloatingPointError(
                f"the validation loss became {val_loss} in epoch {epoch}; try a smaller "
                "learning rate or check the data for extreme values"
            )
        history.train_loss.append(total / m)
        history.val_loss.append(val_loss)
        history.epochs_run = epoch
        if val_loss < best_loss:
            best_loss = val_loss
            history.best_epoch = epoch
            best_state = _copy_state(model)
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
        bar.set_postfix(train=f"{total / m:.4g}", val=f"{val_loss:.4g}", refresh=False)
        if patience is not None and epochs_without_improvement >= patience:
            history.stopped_early = True
            break
    bar.close()
    model.load_state_dict(best_state)
    return history
