"""Tests of lr2dnn.repro: seeding and device choice."""

import random

import numpy as np
import pytest
import torch

from lr2dnn.repro import DEVICE_VARIABLE, pick_device, seed_everything


def draw_all():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_same_seed_same_numbers_in_every_generator():
    seed_everything(7)
    first = draw_all()
    seed_everything(7)
    assert draw_all() == first


def test_different_seeds_differ():
    seed_everything(1)
    first = draw_all()
    seed_everything(2)
    second = draw_all()
    assert all(a != b for a, b in zip(first, second))


def test_returned_generator_is_seeded():
    a = seed_everything(3).normal(size=4)
    b = np.random.default_rng(3).normal(size=4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad, error, message", [
    (1.5, TypeError, "seed must be an int, got float"),
    ("3", TypeError, "seed must be an int, got str"),
    (True, TypeError, "seed must be an int, got bool"),
    (-1, ValueError, "seed must be between 0 and 2\\*\\*32 - 1, got -1"),
    (2**32, ValueError, "got 4294967296"),
])
def test_bad_seeds(bad, error, message):
    with pytest.raises(error, match=message):
        seed_everything(bad)


@pytest.fixture(autouse=True)
def no_forced_device(monkeypatch):
    """Every test starts without LR2DNN_DEVICE, whatever the shell running the tests set."""
    monkeypatch.delenv(DEVICE_VARIABLE, raising=False)


def test_pick_device_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device().type == expected
    assert pick_device("cpu") == torch.device("cpu")


def test_pick_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device().type == "cpu"


def test_pick_device_bad_requests(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="prefer asks for device 'cuda', but only"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="prefer must be 'cuda', 'mps', 'cpu' or None, got 'tpu'"):
        pick_device("tpu")


def test_the_variable_is_called_lr2dnn_device():
    assert DEVICE_VARIABLE == "LR2DNN_DEVICE"


@pytest.mark.parametrize("value, expected", [("cpu", "cpu"), ("meta", "meta"), (" meta ", "meta")])
def test_environment_variable_forces_the_device(monkeypatch, value, expected):
    monkeypatch.setenv("LR2DNN_DEVICE", value)
    assert pick_device() == torch.device(expected)


def test_environment_variable_overrides_an_available_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LR2DNN_DEVICE", "cpu")
    assert pick_device().type == "cpu"
    monkeypatch.setenv("LR2DNN_DEVICE", "cuda")
    assert pick_device().type == "cuda"


def test_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setenv("LR2DNN_DEVICE", "")
    assert pick_device().type == "cpu"


def test_explicit_prefer_wins_over_the_variable(monkeypatch):
    monkeypatch.setenv("LR2DNN_DEVICE", "meta")
    assert pick_device("cpu").type == "cpu"


def test_bad_environment_variable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setenv("LR2DNN_DEVICE", "tpu")
    with pytest.raises(ValueError, match="LR2DNN_DEVICE must be 'cuda', 'mps', 'cpu', 'meta' "
                                         "or empty, got 'tpu'"):
        pick_device()
    monkeypatch.setenv("LR2DNN_DEVICE", "cuda")
    with pytest.raises(ValueError, match="LR2DNN_DEVICE asks for device 'cuda', but only "
                                         "\\['cpu'\\] are available"):
        pick_device()
