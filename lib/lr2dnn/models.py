"""Multilayer perceptrons in PyTorch and counting their parameters.

Chapter 6 (from linear models to neural networks) builds a network from layers of affine
maps with an activation between them, and counts its parameters by hand with the formula
``sum over layers l of (n(l-1) + 1) * n(l)``, where ``n(l)`` is the width of layer ``l``. Chapter 8 (PyTorch and optimisers) shows how
``torch.nn`` expresses the same network. This module gives the short versions that later
chapters import:

:func:`mlp`
    An ``nn.Sequential`` from a list of layer widths ``[n(0), n(1), ..., n(L)]``.
:func:`mlp_parameter_count`
    The number of weights and biases of such a network, from the formula.
:func:`count_parameters`
    The number of trainable parameters of any ``nn.Module``, by asking the module.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}
"""The activation names :func:`mlp` understands and the ``torch.nn`` classes they stand for."""


def _check_widths(widths: object) -> list[int]:
    """Return ``widths`` as a list of ints, or raise an error that says what is wrong."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(
            "widths must be a list of layer widths [n_in, n_1, ..., n_out], "
            f"got {type(widths).__name__}"
        )
    if len(widths) < 2:
        raise ValueError(
            "widths must hold at least 2 layer widths (inputs and outputs), "
            f"got {len(widths)}: {list(widths)}"
        )
    for position, width in enumerate(widths):
        if isinstance(width, bool) or not isinstance(width, numbers.Integral):
            raise TypeError(
                f"widths must hold ints, got {type(width).__name__} {width!r} "
                f"at position {position}"
            )
        if width < 1:
            raise ValueError(
                f"widths must hold positive ints, got {width} at position {position}"
            )
    return [int(width) for width in widths]


def _activation_class(activation: object) -> type[nn.Module]:
    """Return the ``nn.Module`` class named or given by ``activation``."""
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation.lower()]
        except KeyError:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)} or an nn.Module class, "
                f"got {activation!r}"
            ) from None
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation
    raise TypeError(
        f"activation must be one of {sorted(ACTIVATIONS)} or an nn.Module class "
        f"(such as nn.GELU), got {type(activation).__name__} {activation!r}"
    )


def mlp(widths: Sequence[int], activation: str | type[nn.Module] = "relu") -> nn.Sequential:
    """Build a multilayer perceptron (a stack of fully connected layers).

    Introduced in chapter 6. ``widths = [n(0), n(1), ..., n(L)]`` (inputs, the hidden layers'
    widths, outputs) gives a network with ``L = len(widths) - 1`` layers with weights (its
    depth): layer ``l`` is ``nn.Linear(widths[l - 1], widths[l])``, whose weight matrix is
    ``n(l) x n(l-1)``. An activation follows every layer except the
    last, so the output is an affine function of the last hidden layer (suitable for
    regression, or for logits fed to a cross-entropy loss).

    Parameters
    ----------
    widths : sequence of int
        The number of units in each layer, inputs first and outputs last; at least two
        positive ints. ``[n_in, n_out]`` gives a linear model.
    activation : {"relu", "sigmoid", "tanh"} or nn.Module class, optional
        The non-linearity between layers. A class (for example ``nn.GELU``) is called with
        no arguments once per hidden layer.

    Returns
    -------
    torch.nn.Sequential
        Layers ``Linear, activation, Linear, activation, ..., Linear``, initialised by
        PyTorch's default scheme (seed torch first for reproducible weights).

    Raises
    ------
    TypeError
        If ``widths`` is not a sequence of ints or ``activation`` is neither a known name
        nor an ``nn.Module`` class.
    ValueError
        If ``widths`` has fewer than two entries or a width below 1, or ``activation`` is an
        unknown name.

    Examples
    --------
    >>> mlp([2, 3, 1])
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    widths = _check_widths(widths)
    activation_class = _activation_class(activation)
    layers: list[nn.Module] = []
    for n_previous, n_current in zip(widths[:-2], widths[1:-1]):
        layers.append(nn.Linear(n_previous, n_current))
        layers.append(activation_class())
    layers.append(nn.Linear(widths[-2], widths[-1]))
    return nn.Sequential(*layers)


def mlp_parameter_count(widths: Sequence[int]) -> int:
    """Number of weights and biases of the fully connected network with these widths.

    Introduced in chapter 6. Layer ``l`` has an ``n(l) x n(l-1)`` weight matrix and
    ``n(l)`` biases, so the network has ``sum_l (n(l-1) + 1) * n(l)`` parameters.

    Parameters
    ----------
    widths : sequence of int
        Layer widths ``[n(0), n(1), ..., n(L)]``, as for :func:`mlp`.

    Returns
    -------
    int
        The parameter count; equal to ``count_parameters(mlp(widths))``.

    Raises
    ------
    TypeError, ValueError
        For bad ``widths``, as :func:`mlp`.

    Examples
    --------
    >>> mlp_parameter_count([2, 3, 1])  # (2 + 1) * 3 + (3 + 1) * 1
    13
    """
    widths = _check_widths(widths)
    return sum((n_previous + 1) * n_current for n_previous, n_current in zip(widths, widths[1:]))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of a PyTorch model.

    Introduced in chapter 6. Adds up ``p.numel()`` over ``model.parameters()``, counting
    only parameters with ``requires_grad=True`` (those an optimiser updates); frozen
    parameters and buffers (such as batch-norm running means) are left out.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.

    Returns
    -------
    int
        The number of trainable scalar parameters.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
