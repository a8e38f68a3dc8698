"""Training several seeds of one network at once, and a plain one-seed reference trainer.

Introduced in chapter 9 (the COVID-19 case study). A single training run is noisy, so the
chapter trains every model with several seeds and reports the mean and spread. Training
the seeds one after the other is slow for small networks, because most of the time goes
into Python and into launching many tiny operations. :func:`train_ensemble` trains S seeds
of one configuration together: each layer's weights are stacked into one tensor with a
leading seed dimension, ``W`` of shape ``(S, n_out, n_in)`` (each seed's ``nn.Linear.weight``),
and every seed's mini-batch goes through the same batched matrix products (``torch.baddbmm``
forward, ``torch.bmm`` backward). The gradients are the backpropagation equations written
out by hand for the mean absolute error loss, with public tensor operations only (the
activation's derivative is written with its output, as chapter 7 does), and plain SGD
updates the weights. :func:`train_ensembles` goes one step further and trains the seeds of
one architecture on several data sets (forecast origins, target scales) as one batched
model, so that the Python overhead of a training step is paid once for all of them.
:func:`start_training` runs several such calls at once on worker processes, one per core,
with results identical, bit for bit, to running them one after another on one thread.

:func:`train_reference` is the straightforward loop (``nn.Linear`` layers, autograd,
``torch.optim.SGD``) for one seed. Both follow the same protocol, and for the same seed they
give the same result (up to rounding), which ``tests/test_ensemble.py`` checks.

The protocol
------------
- Model: :func:`build_mlp`, ``nn.Linear`` layers with ReLU or sigmoid between them and one
  output; with no hidden layer it is a linear model.
- Initialisation of seed ``s``: the weights that ``torch.manual_seed(s)`` followed by
  creating the ``nn.Linear`` layers in order, input to output, would give (each layer
  draws its weight and then its bias with PyTorch's default initialisation, uniform on
  ``(-1/sqrt(n_in), 1/sqrt(n_in))``). :func:`build_mlp` draws them from a
  ``torch.Generator`` of its own seeded with ``s``, which gives the same numbers without
  touching the global random state.
- Shuffling of seed ``s``: its own ``torch.Generator`` seeded with ``s``; at the start of
  every epoch ``torch.randperm(m, generator=...)`` orders the m fitting examples and the
  mini-batches are consecutive chunks of ``batch_size`` (the last one may be smaller).
- Loss: mean absolute error on each mini-batch; update ``theta <- theta - eta * gradient``.
- After every epoch: the training loss of that epoch (the mean absolute error over the
  epoch's examples as they were seen, i.e. the mini-batch losses averaged with weights
  equal to the batch sizes) and the validation loss (mean absolute error of the current
  weights on the whole validation set) are recorded.
- Early stopping, per seed: epochs are numbered from 1. The best epoch is the first epoch
  with the lowest validation loss so far; its weights are kept. A seed stops after epoch
  ``e`` when ``e - best_epoch == patience`` (no improvement for ``patience`` epochs), or
  when ``e == max_epochs``. A stopped seed is no longer updated; the others go on.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._checks import as_float_array, check_same_length, as_int

ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid")
"""The hidden-layer activations the trainers support."""

_DTYPES = (torch.float32, torch.float64)


# --------------------------------------------------------------------------- checks



def _check_architecture(
    n_inputs: object, hidden: object, activation: object
) -> tuple[int, tuple[int, ...], str]:
    n_inputs = as_int(n_inputs, "n_inputs", 1)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(
            f"hidden must be a sequence of layer widths (e.g. (50,) or ()), "
            f"got {type(hidden).__name__}"
        )
    widths = tuple(as_int(width, "hidden widths", 1) for width in hidden)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return n_inputs, widths, str(activation)


def _check_dtype(dtype: object) -> torch.dtype:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def _check_seed(seed: object, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"{name} must be a non-negative int below 2**63, got {seed}")
    return int(seed)


def _check_data(
    X_fit: object, y_fit: object, X_val: object, y_val: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X_fit = as_float_array(X_fit, "X_fit", ndim=2)
    y_fit = as_float_array(y_fit, "y_fit", ndim=1)
    X_val = as_float_array(X_val, "X_val", ndim=2)
    y_val = as_float_array(y_val, "y_val", ndim=1)
    check_same_length(X_fit, "X_fit", y_fit, "y_fit")
    check_same_length(X_val, "X_val", y_val, "y_val")
    if X_val.shape[1] != X_fit.shape[1]:
        raise ValueError(
            f"X_val must have the same number of features (columns) as X_fit, "
            f"{X_fit.shape[1]}, got {X_val.shape[1]}"
        )
    return X_fit, y_fit, X_val, y_val


def _check_protocol(eta: object, batch_size: object, max_epochs: object, patience: object):
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)):
        raise TypeError(f"eta must be a number, got {type(eta).__name__}")
    if not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a positive finite learning rate, got {eta}")
    return (
        float(eta),
        as_int(batch_size, "batch_size", 1),
        as_int(max_epochs, "max_epochs", 1),
        as_int(patience, "patience", 1),
    )


# --------------------------------------------------------------------------- models


def build_mlp(
    n_inputs: int,
    hidden: Sequence[int] = (),
    activation: str = "relu",
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """Build a multilayer perceptron with one output, initialised from ``seed``.

    Introduced in chapter 9. The layers are ``nn.Linear(n_inputs, hidden[0])``, the
    activation, ..., ``nn.Linear(hidden[-1], 1)``; with ``hidden=()`` the model is the linear
    model ``nn.Linear(n_inputs, 1)``. The weights are those that ``torch.manual_seed(seed)``
    followed by creating the layers in order would give: PyTorch's default initialisation
    of ``nn.Linear`` (weight, then bias, each uniform on ``(-1/sqrt(n_in), 1/sqrt(n_in))``),
    drawn from a generator of the model's own seeded with ``seed``. The global random state
    is neither used nor changed, so models can be built in parallel threads.

    Parameters
    ----------
    n_inputs : int
        Number of features n.
    hidden : sequence of int, optional
        Widths of the hidden layers, input side first; empty for a linear model.
    activation : {"relu", "sigmoid"}, optional
        The activation after every hidden layer.
    seed : int, optional
        The seed of the initialisation.
    dtype : torch.dtype, optional
        ``torch.float32`` or ``torch.float64``.

    Returns
    -------
    torch.nn.Sequential
        The model; it maps a tensor of shape (m, n_inputs) to one of shape (m, 1).

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or value (the message names it).
    """
    n_inputs, widths, activation = _check_architecture(n_inputs, hidden, activation)
    seed = _check_seed(seed)
    dtype = _check_dtype(dtype)
    sizes = (n_inputs, *widths, 1)
    generator = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        # nn.Linear's own initialisation, drawn from this model's generator.
        layer = torch.nn.utils.skip_init(nn.Linear, n_in, n_out, dtype=dtype)
        with torch.no_grad():
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(n_in)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        layers.append(layer)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU() if activation == "relu" else nn.Sigmoid())
    return nn.Sequential(*layers)


@dataclass
class SeedRun:
    """What training one seed produced.

    Introduced in chapter 9.

    Attributes
    ----------
    seed : int
        The seed (initialisation and shuffling).
    epochs_run : int
        How many epochs were trained before stopping.
    best_epoch : int
        The epoch with the lowest validation loss (the first one if tied); its weights are
        the ones kept.
    best_val_loss : float
        The validation loss at ``best_epoch``.
    train_loss, val_loss : numpy.ndarray, shape (epochs_run,)
        The learning curves: training and validation loss after each epoch (entry ``e - 1``
        for epoch ``e``).
    """

    seed: int
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    train_loss: np.ndarray
    val_loss: np.ndarray


# --------------------------------------------------------------------------- reference


def train_reference(
    X_fit: object,
    y_fit: object,
    X_val: object,
    y_val: object,
    *,
    hidden: Sequence[int] = (),
    activation: str = "relu",
    seed: int = 0,
    eta: float = 0.001,
    batch_size: int = 128,
    max_epochs: int = 5000,
    patience: int = 1000,
    dtype: torch.dtype = torch.float32,
) -> tuple[SeedRun, nn.Sequential]:
    """Train one seed with a plain PyTorch loop: mini-batch SGD on the mean absolute error.

    Introduced in chapter 9 as the reference that :func:`train_ensemble` must agree with.
    It follows the protocol of the module docstring: ``nn.Linear`` layers from
    :func:`build_mlp`, ``nn.L1Loss``, ``torch.optim.SGD``, early stopping on the validation
    loss, best weights kept.

    Parameters
    ----------
    X_fit : array_like, shape (m, n)
        Features of the examples to fit (already standardised, if wanted).
    y_fit : array_like, shape (m,)
        Their targets.
    X_val : array_like, shape (m_val, n)
        Features of the validation examples.
    y_val : array_like, shape (m_val,)
        Their targets.
    hidden : sequence of int, optional
        Hidden-layer widths; empty (default) for a linear model.
    activation : {"relu", "sigmoid"}, optional
        Activation of the hidden layers.
    seed : int, optional
        Seed of the initialisation and of the shuffling.
    eta : float, optional
        Learning rate.
    batch_size : int, optional
        Mini-batch size.
    max_epochs : int, optional
        Most epochs to train.
    patience : int, optional
        Stop after this many epochs without a lower validation loss.
    dtype : torch.dtype, optional
        ``torch.float32`` (default) or ``torch.float64``.

    Returns
    -------
    run : SeedRun
        Epochs run, best epoch and learning curves.
    model : torch.nn.Sequential
        The network with the weights of the best epoch.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, shape or value (the message names it).
    """
    X_fit, y_fit, X_val, y_val = _check_data(X_fit, y_fit, X_val, y_val)
    eta, batch_size, max_epochs, patience = _check_protocol(eta, batch_size, max_epochs, patience)
    seed = _check_seed(seed)
    model = build_mlp(X_fit.shape[1], hidden, activation, seed=seed, dtype=dtype)
    X = torch.as_tensor(X_fit, dtype=dtype)
    y = torch.as_tensor(y_fit, dtype=dtype).reshape(-1, 1)
    Xv = torch.as_tensor(X_val, dtype=dtype)
    yv = torch.as_tensor(y_val, dtype=dtype).reshape(-1, 1)
    m = X.shape[0]

    loss_fn = nn.L1Loss()
    optimiser = torch.optim.SGD(model.parameters(), lr=eta)
    shuffler = torch.Generator().manual_seed(seed)
    best_val, best_epoch = math.inf, 0
    best_state = {name: value.clone() for name, value in model.state_dict().items()}
    train_curve: list[float] = []
    val_curve: list[float] = []
    for epoch in range(1, max_epochs + 1):
        order = torch.randperm(m, generator=shuffler)
        total = 0.0
        for start in range(0, m, batch_size):
            rows = order[start : start + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(X[rows]), y[rows])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(rows)
        train_curve.append(total / m)
        with torch.no_grad():
            val = loss_fn(model(Xv), yv).item()
        val_curve.append(val)
        if val < best_val:
            best_val, best_epoch = val, epoch
            best_state = {name: value.clone() for name, value in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    run = SeedRun(
        seed=seed,
        epochs_run=len(val_curve),
        best_epoch=best_epoch,
        best_val_loss=best_val,
        train_loss=np.array(train_curve),
        val_loss=np.array(val_curve),
    )
    return run, model


# --------------------------------------------------------------------------- batched


class Ensemble:
    """The best weights of S seeds of one network, stacked, and how each seed trained.

    Introduced in chapter 9; returned by :func:`train_ensemble`.

    Attributes
    ----------
    runs : list of SeedRun
        One per seed, in the order of ``seeds``.
    seeds : tuple of int
    hidden : tuple of int
    activation : str
    weights : list of torch.Tensor
        Layer by layer, the stacked best weights of shape ``(S, n_out, n_in)``: entry ``s``
        is ``nn.Linear.weight`` of seed ``seeds[s]``.
    biases : list of torch.Tensor
        Layer by layer, the stacked best biases of shape ``(S, 1, n_out)``.
    """

    def __init__(self, runs, seeds, hidden, activation, weights, biases):
        self.runs: list[SeedRun] = runs
        self.seeds: tuple[int, ...] = seeds
        self.hidden: tuple[int, ...] = hidden
        self.activation: str = activation
        self.weights: list[torch.Tensor] = weights
        self.biases: list[torch.Tensor] = biases

    def __repr__(self) -> str:
        return (
            f"Ensemble(seeds={self.seeds}, hidden={self.hidden}, "
            f"activation={self.activation!r})"
        )

    @property
    def n_inputs(self) -> int:
        """The number of features the networks take."""
        return self.weights[0].shape[2]

    def predict(self, X: object) -> np.ndarray:
        """Predict with every seed's best weights.

        Parameters
        ----------
        X : array_like, shape (m, n_inputs)
            Features, scaled as the training features were.

        Returns
        -------
        numpy.ndarray, shape (S, m)
            Row s holds the predictions of seed ``seeds[s]``.
        """
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.n_inputs:
            raise ValueError(
                f"X must have {self.n_inputs} features (columns), got shape {X.shape}"
            )
        dtype = self.weights[0].dtype
        S = len(self.seeds)
        with torch.no_grad():
            inputs = torch.as_tensor(X, dtype=dtype).expand(S, *X.shape)
            out, _ = _forward(inputs, self.weights, self.biases, self.activation)
        return out[:, 0, :].numpy().copy()

    def model(self, i: int) -> nn.Sequential:
        """Return seed number ``i`` (position in ``seeds``) as a plain ``nn.Sequential``.

        The model has the best weights of that seed; it is built by :func:`build_mlp`.
        """
        i = as_int(i, "i", 0)
        if i >= len(self.seeds):
            raise ValueError(f"i must be below the number of seeds, {len(self.seeds)}, got {i}")
        dtype = self.weights[0].dtype
        net = build_mlp(self.n_inputs, self.hidden, self.activation, self.seeds[i], dtype)
        linears = [layer for layer in net if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for layer, W, b in zip(linears, self.weights, self.biases):
                layer.weight.copy_(W[i])
                layer.bias.copy_(b[i, 0])
        return net


def _activate_(z: torch.Tensor, activation: str) -> torch.Tensor:
    """Apply the activation in place and return the result."""
    return z.relu_() if activation == "relu" else z.sigmoid_()


def _times_derivative_(delta: torch.Tensor, a: torch.Tensor, activation: str) -> torch.Tensor:
    """Multiply ``delta`` in place by the activation's derivative, written with its output ``a``.

    This is the factor sigma'(z) of chapter 7's backpropagation equations, expressed through
    the activation a = sigma(z) that the forward pass kept:

    - ReLU: sigma'(z) is 1 where the unit is active (a > 0) and 0 where it is not. Because
      a = max(0, z) >= 0, that indicator is ``sign(a)``; it is computed in place in ``a``
      (the layer's output is not needed any more at this point of the backward pass). The
      float ``sign`` is used rather than the boolean ``a > 0`` because the boolean product
      is several times slower on the CPU for these tensor sizes.
    - sigmoid: sigma'(z) = sigma(z) (1 - sigma(z)) = a (1 - a), computed in place in ``a``
      as a - a * a (one ``addcmul_``, which is as fast as PyTorch's own backward kernel,
      while ``(1 - a) * a`` takes three passes over the tensor).
    """
    if activation == "relu":
        return delta.mul_(a.sign_())
    return delta.mul_(a.addcmul_(a, a, value=-1))


def _forward(
    a: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor], activation: str
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Forward pass of S stacked networks.

    ``a`` has shape (S, B, n): one batch of inputs per seed. ``weights[l]`` has the shape of
    ``nn.Linear.weight`` with a seed dimension in front, (S, n_out, n_in); ``biases[l]`` is
    (S, 1, n_out). Returns the outputs as rows, shape (S, 1, B), and the input of every
    layer (``a`` first), which the backward pass needs.

    The output layer (one unit) is computed as the row ``W a^T`` rather than the column
    ``a W^T``: the two are equal, but batched matrix products with a single output column
    are far slower on the CPU than with a single output row.
    """
    inputs = [a]
    for W, b in zip(weights[:-1], biases[:-1]):
        a = _activate_(torch.baddbmm(b, a, W.transpose(1, 2)), activation)
        inputs.append(a)
    out = torch.baddbmm(biases[-1], weights[-1], a.transpose(1, 2))
    return out, inputs


def _one_buffer(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Copy ``tensors`` into one flat buffer; return it and views of it shaped like them.

    The trainer keeps all parameters in one buffer and all gradients in another with the
    same layout, so that one SGD step is one operation, ``theta -= eta * gradient``.
    """
    flat = torch.cat([t.reshape(-1) for t in tensors])
    parts = torch.split(flat, [t.numel() for t in tensors])
    return flat, [part.view(t.shape) for part, t in zip(parts, tensors)]


def _check_seeds(seeds: object) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    seeds = tuple(_check_seed(seed, "seeds") for seed in seeds)
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed, got an empty sequence")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return seeds


def train_ensemble(
    X_fit: object,
    y_fit: object,
    X_val: object,
    y_val: object,
    *,
    seeds: Sequence[int],
    hidden: Sequence[int] = (),
    activation: str = "relu",
    eta: float = 0.001,
    batch_size: int = 128,
    max_epochs: int = 5000,
    patience: int = 1000,
    dtype: torch.dtype = torch.float32,
) -> Ensemble:
    """Train several seeds of one network together, as one batched model.

    Introduced in chapter 9. Seed ``seeds[s]`` gets exactly what :func:`train_reference`
    with that seed would use: the same initial weights, its own shuffling generator, its own
    early stopping. The seeds are trained side by side: layer l's weights of all seeds that
    are still training form one tensor of shape ``(S, n_out, n_in)``, the mini-batches of all
    seeds one tensor of shape ``(S, batch, n)``, and one ``torch.baddbmm`` computes every
    seed's layer at once. The backward pass applies the backpropagation equations for the
    mean absolute error by hand (``torch.bmm`` for the weight gradients, the activation's
    derivative written with its output), then SGD updates all seeds. When a seed stops, it
    is dropped from the stacked tensors, so it is no longer updated and costs nothing.

    This is :func:`train_ensembles` with one data set.

    Parameters
    ----------
    X_fit, y_fit, X_val, y_val : array_like
        As in :func:`train_reference`.
    seeds : sequence of int
        One or more distinct non-negative seeds.
    hidden, activation, eta, batch_size, max_epochs, patience, dtype
        As in :func:`train_reference`.

    Returns
    -------
    Ensemble
        Per seed: a :class:`SeedRun` and the best weights (``predict``, ``model``).

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, shape or value (the message names it).
    """
    return train_ensembles(
        [(X_fit, y_fit, X_val, y_val)], seeds=seeds, hidden=hidden, activation=activation,
        eta=eta, batch_size=batch_size, max_epochs=max_epochs, patience=patience, dtype=dtype,
    )[0]


def _check_datasets(datasets: object) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    if isinstance(datasets, (str, bytes)) or not isinstance(datasets, Sequence):
        raise TypeError(
            f"datasets must be a sequence of (X_fit, y_fit, X_val, y_val) tuples, "
            f"got {type(datasets).__name__}"
        )
    if len(datasets) == 0:
        raise ValueError("datasets must hold at least one data set, got an empty sequence")
    checked = []
    for i, dataset in enumerate(datasets):
        if not isinstance(dataset, Sequence) or len(dataset) != 4:
            raise TypeError(
                f"datasets[{i}] must be a tuple (X_fit, y_fit, X_val, y_val), got "
                f"{type(dataset).__name__}"
            )
        checked.append(_check_data(*dataset))
    return checked


def train_ensembles(
    datasets: Sequence[tuple[object, object, object, object]],
    *,
    seeds: Sequence[int],
    hidden: Sequence[int] = (),
    activation: str = "relu",
    eta: float = 0.001,
    batch_size: int = 128,
    max_epochs: int = 5000,
    patience: int = 1000,
    dtype: torch.dtype = torch.float32,
) -> list[Ensemble]:
    """Train the seeds of one architecture on several data sets together, as one batched model.

    Introduced in chapter 9. ``datasets[i] = (X_fit, y_fit, X_val, y_val)`` is one problem
    (for example the examples of another forecast origin, or another target scale); every
    pair (data set i, seed s) is one *member*, trained exactly as :func:`train_reference`
    would train it with seed s on data set i. All members are stacked along the first
    dimension of the weight tensors, as :func:`train_ensemble` stacks seeds, so each layer
    of every member is computed by one batched matrix product.

    Data sets may differ in their numbers of examples and features. Internally every data
    set is padded with zero rows to the largest number of fitting (and validation) examples
    and with zero columns to the largest number of features; a padded column's weight gets
    a zero gradient and never moves, and a padded row has weight 0 in the loss, so neither
    changes what a member learns. Each member's mini-batch loss is the mean over its own
    examples in that batch (the last batch of a smaller data set may be short, or empty:
    then the member's step is zero). Padding costs memory traffic: data sets of very
    different sizes (say 1 and 84 features) are faster trained in separate calls.

    Parameters
    ----------
    datasets : sequence of tuples (X_fit, y_fit, X_val, y_val)
        One or more data sets, each as in :func:`train_reference`.
    seeds : sequence of int
        One or more distinct non-negative seeds, used for every data set.
    hidden, activation, eta, batch_size, max_epochs, patience, dtype
        As in :func:`train_reference`.

    Returns
    -------
    list of Ensemble
        One per data set, in the order of ``datasets``, each with one run per seed.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, shape or value (the message names it).
    """
    checked = _check_datasets(datasets)
    eta, batch_size, max_epochs, patience = _check_protocol(eta, batch_size, max_epochs, patience)
    seeds = _check_seeds(seeds)
    _, hidden, activation = _check_architecture(1, hidden, activation)
    dtype = _check_dtype(dtype)

    G, S = len(checked), len(seeds)
    P = G * S  # members: (data set i, seed s) is member i * S + s
    n_features = [X_fit.shape[1] for X_fit, _, _, _ in checked]
    m_fit = [len(y_fit) for _, y_fit, _, _ in checked]
    m_val = [len(y_val) for _, _, _, y_val in checked]
    n_max, M, M_val = max(n_features), max(m_fit), max(m_val)

    # Data, padded: data set i occupies rows i*M .. i*M + M - 1 of X_all; its rows from
    # m_fit[i] on (and its columns from n_features[i] on) are zeros.
    X_all = torch.zeros(G * M, n_max, dtype=dtype)
    y_all = torch.zeros(G * M, dtype=dtype)
    Xv = torch.zeros(G, M_val, n_max, dtype=dtype)
    yv = torch.zeros(G, 1, M_val, dtype=dtype)
    for i, (X_fit, y_fit, X_val, y_val) in enumerate(checked):
        X_all[i * M : i * M + m_fit[i], : n_features[i]] = torch.as_tensor(X_fit, dtype=dtype)
        y_all[i * M : i * M + m_fit[i]] = torch.as_tensor(y_fit, dtype=dtype)
        Xv[i, : m_val[i], : n_features[i]] = torch.as_tensor(X_val, dtype=dtype)
        yv[i, 0, : m_val[i]] = torch.as_tensor(y_val, dtype=dtype)

    data_of = np.repeat(np.arange(G), S)  # data set of each member
    seed_of = np.tile(np.arange(S), G)  # position in seeds of each member
    # Weight of position j of an epoch in member p's loss: 1 / (size of the mini-batch that
    # holds j) for the member's real examples, 0 for padding. `counted` is 1 or 0.
    positions = np.arange(M)
    row_weight = np.zeros((P, 1, M))
    counted = np.zeros((P, 1, M))
    for p in range(P):
        m = m_fit[data_of[p]]
        real = positions < m
        batch_start = positions // batch_size * batch_size
        row_weight[p, 0, real] = 1.0 / np.minimum(batch_size, m - batch_start[real])
        counted[p, 0, real] = 1.0
    row_weight = torch.as_tensor(row_weight, dtype=dtype)
    counted = torch.as_tensor(counted, dtype=dtype)
    val_weight = torch.zeros(G, 1, M_val, dtype=dtype)
    for i in range(G):
        val_weight[i, 0, : m_val[i]] = 1.0 / m_val[i]

    # Initial weights: member by member, exactly as a single model would get them, with
    # zero columns for padded features.
    n_layers = len(hidden) + 1
    weights = [[] for _ in range(n_layers)]
    biases = [[] for _ in range(n_layers)]
    for p in range(P):
        net = build_mlp(n_features[data_of[p]], hidden, activation, seeds[seed_of[p]], dtype)
        linears = [layer for layer in net if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for l, layer in enumerate(linears):
                W = layer.weight
                if l == 0 and W.shape[1] < n_max:
                    W = torch.cat([W, W.new_zeros(W.shape[0], n_max - W.shape[1])], dim=1)
                weights[l].append(W)
                biases[l].append(layer.bias.reshape(1, -1))
    with torch.no_grad():
        weights = [torch.stack(W).contiguous() for W in weights]
        biases = [torch.stack(b).contiguous() for b in biases]
    best_weights = [W.clone() for W in weights]
    best_biases = [b.clone() for b in biases]

    # Shuffling: one generator per (seed, number of fitting examples); members that share
    # both draw the same orders, so the order is drawn once for all of them. `orders[g]`
    # holds group g's order of the epoch in its first m places and the padding positions
    # m, m + 1, ..., M - 1 after them.
    groups = sorted({(seed_of[p], m_fit[data_of[p]]) for p in range(P)})
    group_of = np.array([groups.index((seed_of[p], m_fit[data_of[p]])) for p in range(P)])
    shufflers = [torch.Generator().manual_seed(seeds[s]) for s, _ in groups]
    orders = torch.arange(M).repeat(len(groups), 1)
    offsets = torch.as_tensor(data_of * M)  # first row of each member's data set in X_all
    batches = [(start, min(start + batch_size, M)) for start in range(0, M, batch_size)]

    active = np.arange(P)  # members still training
    train_curve = np.full((P, max_epochs), np.nan)
    val_curve = np.full((P, max_epochs), np.nan)
    best_val = np.full(P, np.inf)
    best_epoch = np.zeros(P, dtype=np.int64)
    epochs_run = np.zeros(P, dtype=np.int64)

    def buffers(weights: list[torch.Tensor], biases: list[torch.Tensor]) -> tuple:
        # All parameters in one buffer (theta), all gradients in another with the same layout.
        theta, params = _one_buffer(weights + biases)
        gradient, grads = _one_buffer(params)
        return theta, params, gradient, grads[:n_layers], grads[n_layers:]

    theta, params, gradient, grads_W, grads_b = buffers(weights, biases)
    weights, biases = params[:n_layers], params[n_layers:]

    def select(rows: np.ndarray) -> dict:
        # Everything the members in `rows` need every epoch, built once per change of the
        # members (when some stop): their shuffling groups, the rows of their data, buffers
        # for the epoch's examples (reused every epoch) and the views of each mini-batch.
        rows_t = torch.from_numpy(rows)
        data_t = torch.from_numpy(data_of[rows])
        A = len(rows)
        X_epoch = torch.empty(A * M, n_max, dtype=dtype)
        y_epoch = torch.empty(A * M, dtype=dtype)
        abs_residuals = torch.empty(A, 1, M, dtype=dtype)  # |r| of every position
        weight = row_weight.index_select(0, rows_t)
        X_3d, y_3d = X_epoch.view(A, M, n_max), y_epoch.view(A, 1, M)  # targets as rows
        return dict(
            groups=[(g, groups[g][1]) for g in np.unique(group_of[rows])],
            group=torch.from_numpy(group_of[rows]),
            offset=offsets.index_select(0, rows_t)[:, None],
            X_epoch=X_epoch, y_epoch=y_epoch, abs_residuals=abs_residuals,
            batches=[(X_3d[:, start:stop], y_3d[:, :, start:stop], weight[:, :, start:stop],
                      abs_residuals[:, :, start:stop]) for start, stop in batches],
            counted=counted.index_select(0, rows_t),
            m_fit=np.array([m_fit[i] for i in data_of[rows]]),
            val=(Xv.index_select(0, data_t), yv.index_select(0, data_t),
                 val_weight.index_select(0, data_t)),
        )

    state = select(active)
    with torch.no_grad():
        for epoch in range(1, max_epochs + 1):
            # Every group orders its examples with its own generator.
            for g, m in state["groups"]:
                torch.randperm(m, generator=shufflers[g], out=orders[g, :m])
            rows = (orders.index_select(0, state["group"]) + state["offset"]).reshape(-1)
            torch.index_select(X_all, 0, rows, out=state["X_epoch"])
            torch.index_select(y_all, 0, rows, out=state["y_epoch"])
            for X_batch, y_batch, weight_batch, abs_batch in state["batches"]:
                out, inputs = _forward(X_batch, weights, biases, activation)
                residual = out.sub_(y_batch)  # (A, 1, B)
                torch.abs(residual, out=abs_batch)
                # Backward. d(mean |r|)/d(y_hat_j) = sign(r_j) / B for the B real examples
                # of the batch, 0 for padding: the row weight holds both.
                delta = residual.sign_().mul_(weight_batch)  # (A, 1, B)
                torch.bmm(delta, inputs[-1], out=grads_W[-1])  # (A, 1, n_in)
                torch.sum(delta, dim=2, keepdim=True, out=grads_b[-1])  # (A, 1, 1)
                if n_layers > 1:
                    # Error at the last hidden layer: an outer product, delta^T W^(L).
                    delta = delta.transpose(1, 2) * weights[-1]  # (A, B, n_in)
                for l in range(n_layers - 2, -1, -1):
                    delta = _times_derivative_(delta, inputs[l + 1], activation)
                    torch.bmm(delta.transpose(1, 2), inputs[l], out=grads_W[l])
                    torch.sum(delta, dim=1, keepdim=True, out=grads_b[l])
                    if l > 0:
                        delta = torch.bmm(delta, weights[l])
                theta.sub_(gradient, alpha=eta)  # SGD: every layer of every member at once

            abs_residuals = state["abs_residuals"]
            train_loss = abs_residuals.mul_(state["counted"]).sum(dim=(1, 2)).numpy() / state["m_fit"]
            X_val_m, y_val_m, val_weight_m = state["val"]
            val_out, _ = _forward(X_val_m, weights, biases, activation)
            val_loss = val_out.sub_(y_val_m).abs_().mul_(val_weight_m).sum(dim=(1, 2)).numpy()
            train_curve[active, epoch - 1] = train_loss
            val_curve[active, epoch - 1] = val_loss

            improved = val_loss < best_val[active]
            if improved.any():
                rows_i = torch.from_numpy(np.flatnonzero(improved))
                targets = torch.from_numpy(active[improved])
                for best, current in zip(best_weights + best_biases, params):
                    best.index_copy_(0, targets, current.index_select(0, rows_i))
                best_val[active[improved]] = val_loss[improved]
                best_epoch[active[improved]] = epoch

            done = epoch - best_epoch[active] >= patience
            if epoch == max_epochs:
                done[:] = True
            if done.any():
                epochs_run[active[done]] = epoch
                keep = np.flatnonzero(~done)
                active = active[keep]
                if len(active) == 0:
                    break
                keep_t = torch.from_numpy(keep)
                theta, params, gradient, grads_W, grads_b = buffers(
                    [W.index_select(0, keep_t) for W in weights],
                    [b.index_select(0, keep_t) for b in biases],
                )
                weights, biases = params[:n_layers], params[n_layers:]
                state = select(active)

    ensembles = []
    for i in range(G):
        members = torch.arange(i * S, (i + 1) * S)
        runs = [
            SeedRun(
                seed=seeds[s],
                epochs_run=int(epochs_run[i * S + s]),
                best_epoch=int(best_epoch[i * S + s]),
                best_val_loss=float(best_val[i * S + s]),
                train_loss=train_curve[i * S + s, : epochs_run[i * S + s]].copy(),
                val_loss=val_curve[i * S + s, : epochs_run[i * S + s]].copy(),
            )
            for s in range(S)
        ]
        W_i = [W.index_select(0, members) for W in best_weights]
        W_i[0] = W_i[0][:, :, : n_features[i]].contiguous()
        b_i = [b.index_select(0, members) for b in best_biases]
        ensembles.append(Ensemble(runs, seeds, hidden, activation, W_i, b_i))
    return ensembles


# --------------------------------------------------------------------------- processes


def _one_thread() -> None:
    """Initialise a worker process of :func:`start_training`: one thread per operation."""
    torch.set_num_threads(1)


def _train_job(job: dict) -> bytes:
    """Run ``train_ensembles(**job)`` in a worker process; return the result pickled."""
    # Pickled here with the standard pickler, so that the tensors travel as plain bytes
    # rather than through the shared-memory handles of torch.multiprocessing.
    return pickle.dumps(train_ensembles(**job))


def _check_jobs(jobs: object) -> list[dict]:
    if isinstance(jobs, (str, bytes, Mapping)) or not isinstance(jobs, Sequence):
        raise TypeError(
            f"jobs must be a sequence of dicts of keyword arguments of train_ensembles, "
            f"got {type(jobs).__name__}"
        )
    if len(jobs) == 0:
        raise ValueError("jobs must hold at least one job, got an empty sequence")
    checked = []
    for j, job in enumerate(jobs):
        if not isinstance(job, Mapping):
            raise TypeError(
                f"jobs[{j}] must be a dict of keyword arguments of train_ensembles, "
                f"got {type(job).__name__}"
            )
        missing = {"datasets", "seeds"} - set(job)
        if missing:
            raise ValueError(f"jobs[{j}] must give datasets and seeds, missing {sorted(missing)}")
        checked.append(dict(job))
    return checked


def start_training(jobs: Sequence[Mapping[str, object]], workers: int = 2) -> list[Future]:
    """Start several :func:`train_ensembles` calls on worker processes and return at once.

    Introduced in chapter 9. ``jobs[j]`` holds the keyword arguments of one call of
    :func:`train_ensembles` (``datasets``, ``seeds``, ``hidden``, ...). The jobs run on a pool
    of ``workers`` processes, so that they use that many cores; each worker computes with
    one thread (``torch.set_num_threads(1)``) and runs one job at a time, and a worker that
    is free takes the next job in the order given: put the longest jobs first, so that the
    workers finish at about the same time.

    Each job runs exactly as ``train_ensembles(**job)`` runs in a process with one thread:
    the same operations on the same numbers in the same order. The results are therefore the
    same, bit for bit, as training the jobs one after another on one thread (the tests and
    chapter 9 check it). Separate processes, unlike threads, do not share Python's
    interpreter lock, so the Python work between the tensor operations runs in parallel too.

    Parameters
    ----------
    jobs : sequence of dict
        One dict of keyword arguments of :func:`train_ensembles` per job; each must give at
        least ``datasets`` and ``seeds``. The arrays are copied to the worker processes.
    workers : int, optional
        The number of worker processes, at least 1 (2 by default: one per core of a laptop).

    Returns
    -------
    list of concurrent.futures.Future
        One per job, in the order of ``jobs``; ``future.result()`` waits for the job and
        returns its list of :class:`Ensemble` (or raises the job's error). The pool shuts
        down by itself when the last job is done.

    Raises
    ------
    TypeError, ValueError
        If ``jobs`` is not a non-empty sequence of dicts with ``datasets`` and ``seeds``, or
        ``workers`` is not a positive int. An error in a job's arguments is raised by its
        future's ``result()``.
    """
    jobs = _check_jobs(jobs)
    workers = as_int(workers, "workers", 1)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_one_thread)
    results = []
    for job in jobs:
        result: Future = Future()
        pickled = pool.submit(_train_job, job)
        pickled.add_done_callback(lambda done, result=result: _unpickle_into(done, result))
        results.append(result)
    pool.shutdown(wait=False)  # the submitted jobs still run; the workers exit after them
    return results


def _unpickle_into(done: Future, result: Future) -> None:
    """Pass a worker's pickled result (or its error) on to the caller's future."""
    error = done.exception()
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(pickle.loads(done.result()))

