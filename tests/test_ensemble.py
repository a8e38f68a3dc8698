"""Tests of lr2dnn.ensemble (chapter 9): the batched trainer against the one-seed reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lr2dnn.ensemble import (
    Ensemble,
    SeedRun,
    build_mlp,
    start_training,
    train_ensemble,
    train_ensembles,
    train_reference,
)

SEEDS = (0, 1, 2, 3)
# Small problem, big steps: seeds stop at different epochs within a second of training.
PROTOCOL = dict(eta=0.2, batch_size=32, max_epochs=60, patience=6, dtype=torch.float64)


@pytest.fixture(scope="module")
def data():
    """90 fitting and 30 validation examples of a non-linear function with noise.

    90 is not a multiple of the batch size 32, so every epoch ends with a batch of 26.
    """
    rng = np.random.default_rng(11)

    def make(m):
        X = rng.normal(size=(m, 4))
        y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] + 0.3 * rng.normal(size=m)
        return X, y

    X_fit, y_fit = make(90)
    X_val, y_val = make(30)
    return X_fit, y_fit, X_val, y_val


def _reference_predictions(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float64))[:, 0].numpy()


# --------------------------------------------------------------------------- build_mlp


@pytest.mark.parametrize(
    "hidden, activation, expected",
    [
        ((), "relu", [nn.Linear]),
        ((6,), "relu", [nn.Linear, nn.ReLU, nn.Linear]),
        ((6, 3), "sigmoid", [nn.Linear, nn.Sigmoid, nn.Linear, nn.Sigmoid, nn.Linear]),
    ],
)
def test_build_mlp_matches_default_init_after_manual_seed(hidden, activation, expected):
    model = build_mlp(4, hidden, activation, seed=5)
    assert [type(layer) for layer in model] == expected
    # The definition: torch.manual_seed(seed), then the nn.Linear layers in order.
    state = torch.random.get_rng_state()
    torch.manual_seed(5)
    sizes = (4, *hidden, 1)
    plain = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    torch.random.set_rng_state(state)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    for mine, theirs in zip(linears, plain):
        assert torch.equal(mine.weight, theirs.weight)
        assert torch.equal(mine.bias, theirs.bias)


def test_build_mlp_leaves_global_random_state_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    build_mlp(3, (4,), seed=9)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_build_mlp_float64_and_seeds_differ():
    a = build_mlp(3, (4,), seed=0, dtype=torch.float64)
    b = build_mlp(3, (4,), seed=1, dtype=torch.float64)
    assert a[0].weight.dtype == torch.float64
    assert not torch.equal(a[0].weight, b[0].weight)


# --------------------------------------------------------------------------- batched == reference


@pytest.mark.parametrize(
    "hidden, activation, eta",
    [((), "relu", 0.2), ((8,), "relu", 0.2), ((8, 5), "relu", 0.2), ((6,), "sigmoid", 0.5)],
    ids=["linear", "one-hidden-relu", "two-hidden-relu", "one-hidden-sigmoid"],
)
def test_batched_equals_reference_seed_by_seed(data, hidden, activation, eta):
    X_fit, y_fit, X_val, y_val = data
    protocol = dict(PROTOCOL, eta=eta)
    ensemble = train_ensemble(
        X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=hidden, activation=activation,
        **protocol,
    )
    # The comparison must cover early stopping: seeds stop at different epochs, and at
    # least one before max_epochs.
    epochs = [run.epochs_run for run in ensemble.runs]
    assert min(epochs) < protocol["max_epochs"] and len(set(epochs)) > 1
    assert isinstance(ensemble, Ensemble)
    predictions = ensemble.predict(X_val)
    assert predictions.shape == (len(SEEDS), len(y_val))
    for i, seed in enumerate(SEEDS):
        reference, model = train_reference(
            X_fit, y_fit, X_val, y_val, seed=seed, hidden=hidden, activation=activation,
            **protocol,
        )
        batched = ensemble.runs[i]
        assert isinstance(batched, SeedRun)
        assert batched.seed == seed
        assert batched.epochs_run == reference.epochs_run
        assert batched.best_epoch == reference.best_epoch
        assert len(batched.train_loss) == len(batched.val_loss) == batched.epochs_run
        np.testing.assert_allclose(batched.train_loss, reference.train_loss, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(batched.val_loss, reference.val_loss, rtol=1e-10, atol=1e-12)
        assert batched.best_val_loss == pytest.approx(reference.best_val_loss, rel=1e-10)
        assert batched.best_val_loss == pytest.approx(batched.val_loss.min(), rel=0, abs=0)
        expected = _reference_predictions(model, X_val)
        np.testing.assert_allclose(predictions[i], expected, rtol=1e-10, atol=1e-12)
        # The plain model rebuilt from the stacked weights predicts the same.
        np.testing.assert_allclose(
            _reference_predictions(ensemble.model(i), X_val), expected, rtol=1e-10, atol=1e-12
        )


def test_protocol_produces_early_stopping_and_different_stopping_epochs(data):
    """Guards the test above: it must cover seeds that stop early, at different epochs."""
    X_fit, y_fit, X_val, y_val = data
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=(8,), **PROTOCOL)
    epochs = [run.epochs_run for run in ensemble.runs]
    assert min(epochs) < PROTOCOL["max_epochs"]
    assert len(set(epochs)) > 1
    for run in ensemble.runs:
        if run.epochs_run < PROTOCOL["max_epochs"]:
            assert run.epochs_run - run.best_epoch == PROTOCOL["patience"]
        assert run.best_epoch == int(np.argmin(run.val_loss)) + 1


def test_seeds_differ_from_one_another(data):
    X_fit, y_fit, X_val, y_val = data
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=(8,), **PROTOCOL)
    curves = [run.val_loss[:5] for run in ensemble.runs]
    for i in range(len(SEEDS)):
        for j in range(i + 1, len(SEEDS)):
            assert not np.allclose(curves[i], curves[j])
    predictions = ensemble.predict(X_val)
    assert np.ptp(predictions, axis=0).max() > 1e-3


def test_a_seed_that_stops_early_freezes_while_others_continue(data):
    X_fit, y_fit, X_val, y_val = data
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=(8,), **PROTOCOL)
    epochs = np.array([run.epochs_run for run in ensemble.runs])
    early, late = int(np.argmin(epochs)), int(np.argmax(epochs))
    assert epochs[early] < epochs[late]
    # Trained alone, the early seed gives the same result, whoever else trains beside it.
    alone = train_ensemble(
        X_fit, y_fit, X_val, y_val, seeds=[SEEDS[early]], hidden=(8,), **PROTOCOL
    )
    np.testing.assert_allclose(alone.runs[0].val_loss, ensemble.runs[early].val_loss, rtol=1e-12)
    np.testing.assert_allclose(
        alone.predict(X_val)[0], ensemble.predict(X_val)[early], rtol=1e-12, atol=1e-14
    )
    # The late seed's result does not depend on the early seed being there either.
    pair = train_ensemble(
        X_fit, y_fit, X_val, y_val, seeds=[SEEDS[late], SEEDS[early]], hidden=(8,), **PROTOCOL
    )
    np.testing.assert_allclose(pair.runs[0].val_loss, ensemble.runs[late].val_loss, rtol=1e-12)
    # Stopping early means: with a larger budget, the early seed's result is unchanged.
    longer = dict(PROTOCOL, max_epochs=PROTOCOL["max_epochs"] + 40)
    more = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=(8,), **longer)
    assert more.runs[early].epochs_run == epochs[early]
    np.testing.assert_allclose(
        more.predict(X_val)[early], ensemble.predict(X_val)[early], rtol=1e-12, atol=1e-14
    )


def test_best_weights_are_kept_not_the_last(data):
    X_fit, y_fit, X_val, y_val = data
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=SEEDS, hidden=(8,), **PROTOCOL)
    predictions = ensemble.predict(X_val)
    for i, run in enumerate(ensemble.runs):
        assert np.abs(predictions[i] - y_val).mean() == pytest.approx(run.best_val_loss, rel=1e-12)
        assert run.best_val_loss <= run.val_loss[-1]


def test_float32_batched_close_to_float32_reference(data):
    """In float32 the two trainers round differently, but only in the last digits."""
    X_fit, y_fit, X_val, y_val = data
    short = dict(PROTOCOL, max_epochs=5, patience=100, dtype=torch.float32)
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=[0], hidden=(8,), **short)
    reference, _ = train_reference(X_fit, y_fit, X_val, y_val, seed=0, hidden=(8,), **short)
    assert ensemble.weights[0].dtype == torch.float32
    np.testing.assert_allclose(ensemble.runs[0].val_loss, reference.val_loss, rtol=1e-5)


# --------------------------------------------------------------------------- several data sets


def test_several_data_sets_of_different_sizes_train_as_if_alone(data):
    """Data sets with fewer examples, fewer features and an empty last batch: padding
    changes nothing; every member equals the one-seed reference on its own data."""
    X_fit, y_fit, X_val, y_val = data
    datasets = [
        (X_fit, y_fit, X_val, y_val),
        (X_fit[:60, :3], y_fit[:60] ** 2, X_val[:20, :3], y_val[:20]),  # batch 3 is empty
        (X_fit[5:77, :1], -y_fit[5:77], X_val[3:, :1], y_val[3:]),
    ]
    seeds = (2, 0)
    protocol = dict(PROTOCOL, max_epochs=25)
    ensembles = train_ensembles(datasets, seeds=seeds, hidden=(5,), **protocol)
    assert len(ensembles) == len(datasets)
    for (Xf, yf, Xv, yv), ensemble in zip(datasets, ensembles):
        assert ensemble.n_inputs == Xf.shape[1]
        assert ensemble.predict(Xv).shape == (len(seeds), len(yv))
        for i, seed in enumerate(seeds):
            reference, model = train_reference(
                Xf, yf, Xv, yv, seed=seed, hidden=(5,), **protocol
            )
            run = ensemble.runs[i]
            assert (run.seed, run.epochs_run, run.best_epoch) == (
                seed, reference.epochs_run, reference.best_epoch
            )
            np.testing.assert_allclose(run.train_loss, reference.train_loss, rtol=1e-10)
            np.testing.assert_allclose(run.val_loss, reference.val_loss, rtol=1e-10)
            np.testing.assert_allclose(
                ensemble.predict(Xv)[i], _reference_predictions(model, Xv),
                rtol=1e-10, atol=1e-12,
            )


def test_several_data_sets_stop_independently(data):
    X_fit, y_fit, X_val, y_val = data
    datasets = [(X_fit, y_fit, X_val, y_val), (X_fit[:70], y_fit[:70], X_val, y_val)]
    together = train_ensembles(datasets, seeds=SEEDS, hidden=(8,), **PROTOCOL)
    epochs = [run.epochs_run for ensemble in together for run in ensemble.runs]
    assert len(set(epochs)) > 1 and min(epochs) < PROTOCOL["max_epochs"]
    for dataset, ensemble in zip(datasets, together):
        alone = train_ensemble(*dataset, seeds=SEEDS, hidden=(8,), **PROTOCOL)
        for a, b in zip(alone.runs, ensemble.runs):
            assert a.epochs_run == b.epochs_run
            np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-12)


def test_backward_pass_uses_public_operators_only():
    import inspect

    import lr2dnn.ensemble as module

    source = inspect.getsource(module)
    assert "torch.ops" not in source and "_foreach" not in source


# --------------------------------------------------------------------------- bad input


def test_bad_data_is_rejected(data):
    X_fit, y_fit, X_val, y_val = data
    kwargs = dict(seeds=[0], max_epochs=1)
    with pytest.raises(ValueError, match="X_fit and y_fit must have the same number"):
        train_ensemble(X_fit, y_fit[:-1], X_val, y_val, **kwargs)
    with pytest.raises(ValueError, match="X_val must have the same number of features"):
        train_ensemble(X_fit, y_fit, X_val[:, :3], y_val, **kwargs)
    with pytest.raises(ValueError, match="X_fit must be a 2-d array"):
        train_ensemble(y_fit, y_fit, X_val, y_val, **kwargs)
    bad = X_fit.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_fit must hold finite numbers"):
        train_ensemble(bad, y_fit, X_val, y_val, **kwargs)
    with pytest.raises(ValueError, match="X_val and y_val must have the same number"):
        train_reference(X_fit, y_fit, X_val, y_val[:3], max_epochs=1)


def test_bad_settings_are_rejected(data):
    X_fit, y_fit, X_val, y_val = data
    args = (X_fit, y_fit, X_val, y_val)
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        train_ensemble(*args, seeds=[])
    with pytest.raises(ValueError, match=r"seeds must be distinct, got \(1, 1\)"):
        train_ensemble(*args, seeds=[1, 1])
    with pytest.raises(TypeError, match="seeds must be an int, got float"):
        train_ensemble(*args, seeds=[1.5])
    with pytest.raises(TypeError, match="seeds must be a sequence of ints, got int"):
        train_ensemble(*args, seeds=3)
    with pytest.raises(ValueError, match="seeds must be a non-negative int"):
        train_ensemble(*args, seeds=[-1])
    with pytest.raises(ValueError, match="activation must be one of"):
        train_ensemble(*args, seeds=[0], hidden=(4,), activation="tanh")
    with pytest.raises(TypeError, match="hidden must be a sequence of layer widths"):
        train_ensemble(*args, seeds=[0], hidden=4)
    with pytest.raises(ValueError, match="hidden widths must be at least 1, got 0"):
        train_ensemble(*args, seeds=[0], hidden=(4, 0))
    with pytest.raises(ValueError, match="eta must be a positive finite learning rate"):
        train_ensemble(*args, seeds=[0], eta=0.0)
    with pytest.raises(ValueError, match="eta must be a positive finite learning rate"):
        train_reference(*args, eta=float("nan"))
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        train_ensemble(*args, seeds=[0], batch_size=0)
    with pytest.raises(ValueError, match="max_epochs must be at least 1"):
        train_reference(*args, max_epochs=0)
    with pytest.raises(TypeError, match="patience must be an int, got float"):
        train_ensemble(*args, seeds=[0], patience=10.0)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        train_ensemble(*args, seeds=[0], dtype=torch.float16)
    with pytest.raises(TypeError, match="n_inputs must be an int"):
        build_mlp("4")
    with pytest.raises(ValueError, match="datasets must hold at least one data set"):
        train_ensembles([], seeds=[0])
    with pytest.raises(TypeError, match=r"datasets\[1\] must be a tuple"):
        train_ensembles([args, args[:3]], seeds=[0])
    with pytest.raises(TypeError, match="datasets must be a sequence"):
        train_ensembles(X_fit, seeds=[0])
    with pytest.raises(ValueError, match="X_val must have the same number of features"):
        train_ensembles([args, (X_fit, y_fit, X_val[:, :2], y_val)], seeds=[0])


def test_predict_and_model_check_their_arguments(data):
    X_fit, y_fit, X_val, y_val = data
    ensemble = train_ensemble(X_fit, y_fit, X_val, y_val, seeds=[0, 1], max_epochs=2)
    with pytest.raises(ValueError, match=r"X must have 4 features \(columns\), got shape \(30, 3\)"):
        ensemble.predict(X_val[:, :3])
    with pytest.raises(ValueError, match="i must be below the number of seeds, 2, got 2"):
        ensemble.model(2)
    assert "seeds=(0, 1)" in repr(ensemble)


def test_start_training_equals_training_one_job_after_another(data):
    # Two jobs of different shapes on two worker processes: bit for bit what one thread gives.
    torch.set_num_threads(1)
    jobs = [dict(datasets=[data], seeds=[0, 1], hidden=hidden, **PROTOCOL) for hidden in [(5,), ()]]
    alone = [train_ensembles(**job) for job in jobs]
    futures = start_training(jobs, workers=2)
    for job_alone, future in zip(alone, futures):
        for a, b in zip(job_alone, future.result()):
            for run_a, run_b in zip(a.runs, b.runs):
                assert run_a.epochs_run == run_b.epochs_run
                assert np.array_equal(run_a.val_loss, run_b.val_loss)
            assert all(torch.equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases))


def test_start_training_checks_its_arguments(data):
    with pytest.raises(TypeError, match="jobs must be a sequence"):
        start_training({"datasets": [data], "seeds": [0]})
    with pytest.raises(ValueError, match="at least one job"):
        start_training([])
    with pytest.raises(ValueError, match="missing"):
        start_training([dict(datasets=[data])])
    with pytest.raises(TypeError, match=r"jobs\[0\]"):
        start_training([[data]])
    # An error in a job's arguments comes back from its future.
    (future,) = start_training([dict(datasets=[data], seeds=[0], hidden=(3,), activation="tanh")], workers=1)
    with pytest.raises(ValueError):
        future.result()
