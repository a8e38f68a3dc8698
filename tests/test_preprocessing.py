"""Tests of lr2dnn.preprocessing: splits, z-scores and polynomial features (chapter 3)."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from lr2dnn.preprocessing import Standardizer, polynomial_features, train_val_test_split


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -200.0, 0.0], scale=[1.0, 50.0, 0.01], size=(100, 3))
    y = np.arange(100.0)
    return X, y


def test_split_sizes_are_60_20_20_and_partition_the_data(data):
    X, y = data
    parts = train_val_test_split(X, y, rng=1)
    X_train, X_val, X_test, y_train, y_val, y_test = parts
    assert [len(p) for p in (X_train, X_val, X_test)] == [60, 20, 20]
    assert [len(p) for p in (y_train, y_val, y_test)] == [60, 20, 20]
    # every example lands in exactly one part, with its own target
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_val, y_test])), y)
    for X_part, y_part in [(X_train, y_train), (X_val, y_val), (X_test, y_test)]:
        np.testing.assert_array_equal(X_part, X[y_part.astype(int)])
    assert not np.array_equal(y_train, y[:60])  # shuffled


def test_split_proportions_match_scikit_learn(data):
    X, y = data
    X_rest, X_test = train_test_split(X, test_size=0.2, random_state=0)
    X_train, X_val = train_test_split(X_rest, test_size=0.25, random_state=0)
    ours = train_val_test_split(X, y, rng=0)
    assert [len(p) for p in ours[:3]] == [len(X_train), len(X_val), len(X_test)]
    odd = train_val_test_split(X[:53], y[:53], fractions=(0.5, 0.25, 0.25), rng=0)
    assert [len(p) for p in odd[:3]] == [26, 13, 14]


def test_split_is_reproducible_and_takes_a_1d_feature(data):
    X, y = data
    a = train_val_test_split(X[:, 0], y, rng=np.random.default_rng(3))
    b = train_val_test_split(X[:, 0], y, rng=3)
    for part_a, part_b in zip(a, b):
        np.testing.assert_array_equal(part_a, part_b)
    assert a[0].shape == (60,)


def test_split_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match="fractions must be three positive numbers"):
        train_val_test_split(X, y, fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="fractions must be three positive numbers"):
        train_val_test_split(X, y, fractions=(0.8, 0.2))
    with pytest.raises(ValueError, match="same number of examples"):
        train_val_test_split(X, y[:-1])
    with pytest.raises(ValueError, match="too few examples"):
        train_val_test_split(X[:3], y[:3], fractions=(0.8, 0.1, 0.1))
    with pytest.raises(TypeError, match="rng must be"):
        train_val_test_split(X, y, rng=0.5)


def test_standardizer_matches_scikit_learn(data):
    X, _ = data
    ours = Standardizer().fit(X[:70])
    theirs = StandardScaler().fit(X[:70])
    np.testing.assert_allclose(ours.mean_, theirs.mean_)
    np.testing.assert_allclose(ours.scale_, theirs.scale_)
    np.testing.assert_allclose(ours.transform(X[70:]), theirs.transform(X[70:]))
    Z = Standardizer().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1)


def test_standardizer_known_values_and_inverse(data):
    scaler = Standardizer().fit([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(scaler.mean_, [2.0, 20.0])
    np.testing.assert_allclose(scaler.scale_, [1.0, 10.0])
    np.testing.assert_allclose(scaler.transform([[2.0, 40.0]]), [[0.0, 2.0]])
    X, _ = data
    scaler = Standardizer().fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X)


def test_standardizer_bad_input(data):
    X, _ = data
    with pytest.raises(ValueError, match="not fitted yet: call fit"):
        Standardizer().transform(X)
    with pytest.raises(ValueError, match="not fitted yet"):
        Standardizer().inverse_transform(X)
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] with zero spread"):
        Standardizer().fit(np.column_stack([X[:, 0], np.full(100, 0.1)]))
    scaler = Standardizer().fit(X)
    with pytest.raises(ValueError, match="X must have 3 columns, .* got 2"):
        scaler.transform(X[:, :2])
    with pytest.raises(ValueError, match="X must be a 2-d array"):
        scaler.transform(X[:, 0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        scaler.transform(np.full((2, 3), np.nan))


def test_polynomial_features_known_values_and_scikit_learn():
    np.testing.assert_allclose(polynomial_features([2.0, -1.0], 3), [[2, 4, 8], [-1, 1, -1]])
    x = np.linspace(-1, 2, 7)
    theirs = PolynomialFeatures(degree=5, include_bias=False).fit_transform(x[:, None])
    np.testing.assert_allclose(polynomial_features(x, 5), theirs)


def test_polynomial_features_bad_input():
    with pytest.raises(ValueError, match="degree must be at least 1, got 0"):
        polynomial_features([1.0, 2.0], 0)
    with pytest.raises(TypeError, match="degree must be an int, got float"):
        polynomial_features([1.0, 2.0], 2.0)
    with pytest.raises(ValueError, match="x must be a 1-d array"):
        polynomial_features([[1.0, 2.0]], 2)
