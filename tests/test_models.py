"""Tests of lr2dnn.models: building MLPs and counting their parameters (chapter 6)."""

import pytest
import torch
from torch import nn

from lr2dnn.models import count_parameters, mlp, mlp_parameter_count

WIDTHS = [[1, 1], [2, 3, 1], [3, 2], [1, 1024, 1], [784, 128, 64, 10], [5, 4, 3, 2, 1]]


@pytest.mark.parametrize("widths", WIDTHS)
def test_output_shape(widths):
    torch.manual_seed(0)
    model = mlp(widths)
    assert model(torch.randn(7, widths[0])).shape == (7, widths[-1])


def test_two_three_one_by_hand():
    # (2 inputs + 1 bias) * 3 hidden units + (3 + 1) * 1 output = 9 + 4
    assert mlp_parameter_count([2, 3, 1]) == 13
    assert count_parameters(mlp([2, 3, 1])) == 13


@pytest.mark.parametrize("widths", WIDTHS)
def test_formula_matches_torch(widths):
    model = mlp(widths)
    assert mlp_parameter_count(widths) == count_parameters(model)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())


def test_count_parameters_skips_frozen_parameters():
    model = mlp([2, 3, 1])
    model[0].weight.requires_grad_(False)  # 6 weights frozen
    assert count_parameters(model) == 13 - 6


@pytest.mark.parametrize("name, cls", [("relu", nn.ReLU), ("sigmoid", nn.Sigmoid),
                                       ("tanh", nn.Tanh), ("ReLU", nn.ReLU), (nn.GELU, nn.GELU)])
def test_activation_placement(name, cls):
    model = mlp([3, 5, 4, 2], activation=name)
    kinds = [type(layer) for layer in model]
    assert kinds == [nn.Linear, cls, nn.Linear, cls, nn.Linear]
    assert [(layer.in_features, layer.out_features) for layer in model[::2]] == [
        (3, 5), (5, 4), (4, 2)]
    assert model[1] is not model[3]  # one activation object per hidden layer


def test_two_widths_give_a_linear_model():
    model = mlp([4, 2], activation="sigmoid")
    assert len(model) == 1 and isinstance(model[0], nn.Linear)


def test_output_is_affine_in_last_hidden_layer():
    # No activation after the last layer: outputs can be negative and large.
    torch.manual_seed(1)
    model = mlp([1, 8, 1], activation="sigmoid")
    with torch.no_grad():
        model[-1].bias.fill_(-100.0)
        assert (model(torch.randn(5, 1)) < -90).all()


@pytest.mark.parametrize("bad, error, message", [
    (3, TypeError, r"widths must be a list of layer widths \[n_in, n_1, \.\.\., n_out\], got int"),
    ("23", TypeError, "widths must be a list of layer widths .* got str"),
    ([3], ValueError, r"widths must hold at least 2 layer widths \(inputs and outputs\), got 1"),
    ([], ValueError, "at least 2 layer widths .* got 0"),
    ([2, 0, 1], ValueError, "widths must hold positive ints, got 0 at position 1"),
    ([2, -3], ValueError, "positive ints, got -3 at position 1"),
    ([2, 3.0, 1], TypeError, "widths must hold ints, got float 3.0 at position 1"),
    ([True, 1], TypeError, "widths must hold ints, got bool True at position 0"),
])
def test_bad_widths(bad, error, message):
    with pytest.raises(error, match=message):
        mlp(bad)
    with pytest.raises(error, match=message):
        mlp_parameter_count(bad)


def test_bad_activation():
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'sigmoid', "
                                         r"'tanh'\] or an nn.Module class, got 'softplus'"):
        mlp([2, 3, 1], activation="softplus")
    with pytest.raises(TypeError, match="activation must be one of .* got ReLU ReLU()"):
        mlp([2, 3, 1], activation=nn.ReLU())  # an instance, not the class
    with pytest.raises(TypeError, match="got type <class 'int'>"):
        mlp([2, 3, 1], activation=int)


def test_count_parameters_needs_a_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got list"):
        count_parameters([torch.zeros(3)])
