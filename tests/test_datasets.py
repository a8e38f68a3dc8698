"""Tests of lr2dnn.datasets: the simulated data of chapters 1 to 3."""

import numpy as np
import pytest
from sklearn.datasets import make_regression

from lr2dnn import datasets


def test_chapter1_data_equals_seed_then_make_regression():
    saved = np.random.get_state()
    try:
        np.random.seed(42)
        expected = make_regression(
            n_samples=1000, n_features=2, n_informative=2, n_targets=1,
            bias=0, noise=10, coef=True,
        )
    finally:
        np.random.set_state(saved)
    for got, want in zip(datasets.make_chapter1_data(), expected):
        np.testing.assert_array_equal(got, want)


def test_chapter1_data_shapes_and_known_coefficients():
    X, y, coef = datasets.make_chapter1_data()
    assert X.shape == (1000, 2) and y.shape == (1000,) and coef.shape == (2,)
    np.testing.assert_allclose(coef, [40.71064891, 6.60098441], rtol=1e-8)
    # bias=0 and noise=10: the residuals of the true model have standard deviation near 10
    assert 9.0 < np.std(y - X @ coef) < 11.0


def test_chapter1_data_leaves_global_random_state_alone():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    datasets.make_chapter1_data()
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_noisy_sine_is_reproducible_and_close_to_the_curve():
    x1, y1 = datasets.make_noisy_sine(200, noise_sd=0.1, rng=5)
    x2, y2 = datasets.make_noisy_sine(200, noise_sd=0.1, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == y1.shape == (200,)
    assert np.all((0 <= x1) & (x1 <= 1))
    assert 0.08 < np.std(y1 - datasets.sine_curve(x1)) < 0.12


def test_noisy_sine_without_noise_is_the_curve():
    x, y = datasets.make_noisy_sine(5, noise_sd=0.0, rng=0)
    np.testing.assert_allclose(y, np.sin(2 * np.pi * x))
    np.testing.assert_allclose(datasets.sine_curve([0.25, 0.75]), [1.0, -1.0])


def test_apartment_prices_recover_the_true_weights():
    X, y = datasets.make_apartment_prices(5000, rng=1)
    assert X.shape == (5000, 2)
    assert 30 <= X[:, 0].min() and X[:, 0].max() <= 200
    assert 0.5 <= X[:, 1].min() and X[:, 1].max() <= 15
    A = np.column_stack([np.ones(len(y)), X])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(theta[0], datasets.APARTMENT_BIAS, atol=3.0)
    np.testing.assert_allclose(theta[1:], datasets.APARTMENT_WEIGHTS, atol=0.3)


@pytest.mark.parametrize("maker", [datasets.make_noisy_sine, datasets.make_apartment_prices])
def test_bad_arguments_are_named(maker):
    with pytest.raises(ValueError, match="m must be at least 1, got 0"):
        maker(0)
    with pytest.raises(TypeError, match="m must be an int, got float"):
        maker(3.0)
    with pytest.raises(ValueError, match="noise_sd must be a finite number >= 0, got -1"):
        maker(3, noise_sd=-1)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        maker(3, rng="seed")
    with pytest.raises(ValueError, match="rng must be a non-negative seed, got -2"):
        maker(3, rng=-2)
