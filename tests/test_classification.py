"""Tests of lr2dnn.classification: known values, agreement with SciPy, scikit-learn and
PyTorch, no overflow for large scores, and the messages for bad input."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import special
from sklearn import metrics

from lr2dnn import classification as clf

RNG = np.random.default_rng(20240405)


def no_warnings(function, *args):
    """Call ``function`` and fail if it overflows, divides by zero or makes a NaN.

    Underflow (e.g. exp(-2000) becoming 0.0) is harmless and allowed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return function(*args)


# ----------------------------------------------------------------------------- sigmoid


def test_sigmoid_known_values():
    assert clf.sigmoid(0.0) == 0.5
    assert clf.sigmoid(math.log(3.0)) == pytest.approx(0.75)
    assert clf.sigmoid(-math.log(3.0)) == pytest.approx(0.25)
    assert isinstance(clf.sigmoid(0.0), float)


def test_sigmoid_matches_scipy_expit_and_keeps_shape():
    z = RNG.normal(scale=10.0, size=(7, 3))
    out = clf.sigmoid(z)
    assert out.shape == z.shape
    np.testing.assert_allclose(out, special.expit(z), rtol=1e-13, atol=1e-300)


def test_sigmoid_is_symmetric():
    z = np.linspace(-40, 40, 81)
    np.testing.assert_allclose(clf.sigmoid(-z), 1.0 - clf.sigmoid(z), atol=1e-15)


def test_sigmoid_does_not_overflow():
    z = np.array([1000.0, -1000.0, 710.0, -710.0, 40.0, -40.0])
    out = no_warnings(clf.sigmoid, z)
    np.testing.assert_array_equal(out[:3], [1.0, 0.0, 1.0])
    np.testing.assert_allclose(out, special.expit(z), rtol=1e-12, atol=1e-300)


def test_log_sigmoid_matches_scipy_and_stays_finite():
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(clf.log_sigmoid(z), special.log_expit(z), rtol=1e-12)
    small = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(clf.log_sigmoid(small), np.log(special.expit(small)), rtol=1e-12)
    out = no_warnings(clf.log_sigmoid, np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(out, [-1000.0, 0.0], atol=1e-300)


# ----------------------------------------------------------------------------- binary loss


def test_binary_cross_entropy_known_values():
    assert clf.binary_cross_entropy_from_logits([1, 0], [0.0, 0.0]) == pytest.approx(math.log(2))
    # p = 0.75 for the first example, 0.25 for the second: both predicted well.
    z = [math.log(3.0), -math.log(3.0)]
    assert clf.binary_cross_entropy_from_logits([1, 0], z) == pytest.approx(-math.log(0.75))


def test_binary_cross_entropy_matches_sklearn_and_torch():
    z = RNG.normal(scale=3.0, size=50)
    y = RNG.integers(0, 2, size=50)
    ours = clf.binary_cross_entropy_from_logits(y, z)
    assert ours == pytest.approx(metrics.log_loss(y, special.expit(z)), rel=1e-10)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y, dtype=torch.float64)
    ).item()
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_binary_cross_entropy_large_scores_are_finite():
    loss = no_warnings(clf.binary_cross_entropy_from_logits, np.array([1, 0, 0, 1]),
                       np.array([1000.0, -1000.0, 1000.0, -1000.0]))
    # Two right (loss 0) and two wrong by a score of 1000 (loss 1000 each): mean 500.
    assert loss == pytest.approx(500.0)


def test_binary_cross_entropy_accepts_bool_and_whole_float_labels():
    z = np.array([0.3, -1.2, 2.0])
    expected = clf.binary_cross_entropy_from_logits([1, 0, 1], z)
    assert clf.binary_cross_entropy_from_logits([True, False, True], z) == expected
    assert clf.binary_cross_entropy_from_logits([1.0, 0.0, 1.0], z) == expected


# ----------------------------------------------------------------------------- softmax family


def test_softmax_known_values():
    np.testing.assert_allclose(clf.softmax([0.0, 0.0, 0.0, 0.0]), [0.25] * 4)
    p = clf.softmax([0.0, math.log(3.0)])
    np.testing.assert_allclose(p, [0.25, 0.75])


def test_softmax_matches_scipy_rows_sum_to_one():
    Z = RNG.normal(scale=5.0, size=(20, 6))
    P = clf.softmax(Z)
    np.testing.assert_allclose(P, special.softmax(Z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_softmax_is_shift_invariant():
    Z = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(clf.softmax(Z + 123.0), clf.softmax(Z), rtol=1e-12)


def test_softmax_does_not_overflow():
    P = no_warnings(clf.softmax, np.array([[1000.0, 1000.0], [-1000.0, 0.0], [1000.0, -1000.0]]))
    np.testing.assert_allclose(P, [[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])


def test_logsumexp_matches_scipy_and_known_values():
    Z = RNG.normal(scale=4.0, size=(10, 5))
    np.testing.assert_allclose(clf.logsumexp(Z), special.logsumexp(Z, axis=1), rtol=1e-13)
    assert clf.logsumexp([0.0, 0.0]) == pytest.approx(math.log(2.0))
    assert isinstance(clf.logsumexp([1.0, 2.0]), float)
    big = no_warnings(clf.logsumexp, np.array([1000.0, 1000.0]))
    assert big == pytest.approx(1000.0 + math.log(2.0))


def test_log_softmax_matches_scipy_and_stays_finite():
    Z = RNG.normal(scale=4.0, size=(10, 5))
    np.testing.assert_allclose(clf.log_softmax(Z), special.log_softmax(Z, axis=1), rtol=1e-12)
    out = no_warnings(clf.log_softmax, np.array([1000.0, 0.0]))
    np.testing.assert_allclose(out, [0.0, -1000.0])


def test_cross_entropy_known_value_is_log_k_for_equal_scores():
    Z = np.zeros((3, 7))
    assert clf.cross_entropy_from_logits([0, 3, 6], Z) == pytest.approx(math.log(7.0))


def test_cross_entropy_matches_torch_and_sklearn():
    Z = RNG.normal(scale=3.0, size=(40, 5))
    y = RNG.integers(0, 5, size=40)
    ours = clf.cross_entropy_from_logits(y, Z)
    torch_value = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(y)).item()
    assert ours == pytest.approx(torch_value, rel=1e-12)
    sklearn_value = metrics.log_loss(y, special.softmax(Z, axis=1), labels=range(5))
    assert ours == pytest.approx(sklearn_value, rel=1e-10)


def test_cross_entropy_large_scores_are_finite():
    Z = np.array([[1000.0, -1000.0], [0.0, 1000.0]])
    loss = no_warnings(clf.cross_entropy_from_logits, np.array([1, 1]), Z)
    # The first example is wrong by a margin of 2000, the second right: mean 1000.
    assert loss == pytest.approx(1000.0)


def test_two_class_cross_entropy_equals_binary_cross_entropy():
    Z = RNG.normal(size=(30, 2))
    y = RNG.integers(0, 2, size=30)
    binary = clf.binary_cross_entropy_from_logits(y, Z[:, 1] - Z[:, 0])
    assert clf.cross_entropy_from_logits(y, Z) == pytest.approx(binary, rel=1e-12)


# ----------------------------------------------------------------------------- labels


def test_one_hot_known_values():
    np.testing.assert_array_equal(
        clf.one_hot([2, 0, 1], 3), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    )
    np.testing.assert_array_equal(clf.one_hot(np.array([0.0, 1.0]), 2), np.eye(2))


def test_accuracy_matches_sklearn():
    y = RNG.integers(0, 4, size=60)
    y_hat = RNG.integers(0, 4, size=60)
    assert clf.accuracy(y, y_hat) == pytest.approx(metrics.accuracy_score(y, y_hat))
    assert clf.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75


def test_confusion_matrix_matches_sklearn_and_counts_rows():
    y = RNG.integers(0, 4, size=80)
    y_hat = RNG.integers(0, 4, size=80)
    counts = clf.confusion_matrix(y, y_hat, 4)
    np.testing.assert_array_equal(counts, metrics.confusion_matrix(y, y_hat, labels=range(4)))
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y, minlength=4))


def test_confusion_matrix_known_value_with_an_absent_class():
    counts = clf.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [1, 2, 0], [0, 0, 0]])
    assert counts.dtype.kind == "i"


# ----------------------------------------------------------------------------- bad input

Z3 = np.zeros((2, 3))

BAD_INPUT = [
    # labels out of range
    (clf.binary_cross_entropy_from_logits, ([0, 2], [0.0, 0.0]), ValueError,
     r"y must hold labels from 0 to 1 \(2 classes\), got 2"),
    (clf.cross_entropy_from_logits, ([0, 3], Z3), ValueError,
     r"y must hold labels from 0 to 2 \(3 classes\), got 3"),
    (clf.cross_entropy_from_logits, ([-1, 0], Z3), ValueError,
     r"y must hold labels from 0 to 2 \(3 classes\), got -1"),
    (clf.one_hot, ([0, 5], 3), ValueError, r"y must hold labels from 0 to 2 \(3 classes\), got 5"),
    (clf.confusion_matrix, ([0, 1], [0, 4], 2), ValueError,
     r"y_hat must hold labels from 0 to 1 \(2 classes\), got 4"),
    # non-integer labels
    (clf.binary_cross_entropy_from_logits, ([0.5, 1.0], [0.0, 0.0]), ValueError,
     "y must hold integer class labels, got the non-integer value 0.5"),
    (clf.accuracy, ([1, 0], [1.0, 0.25]), ValueError,
     "y_hat must hold integer class labels, got the non-integer value 0.25"),
    (clf.one_hot, ([0, np.nan], 2), ValueError, "y must hold integer class labels, got NaN"),
    (clf.accuracy, (["a", "b"], [0, 1]), TypeError,
     "y must hold integer class labels, got an array of dtype <U1"),
    (clf.one_hot, ([[0, 1]], 2), ValueError,
     r"y must be a 1-d array of class labels, got an array of shape \(1, 2\)"),
    # shape mismatch between labels and scores
    (clf.binary_cross_entropy_from_logits, ([0, 1, 1], [0.0, 0.0]), ValueError,
     r"y and z must have the same number of examples \(rows\), got 3 and 2"),
    (clf.cross_entropy_from_logits, ([0, 1, 2], Z3), ValueError,
     r"y and Z must have the same number of examples \(rows\), got 3 and 2"),
    (clf.accuracy, ([0, 1], [0]), ValueError,
     r"y and y_hat must have the same number of examples \(rows\), got 2 and 1"),
    (clf.confusion_matrix, ([0, 1], [0, 1, 1], 2), ValueError,
     r"y and y_hat must have the same number of examples \(rows\), got 2 and 3"),
    (clf.cross_entropy_from_logits, ([0, 1], [0.0, 1.0]), ValueError,
     r"Z must be a 2-d array \(a matrix\), got an array of shape \(2,\)"),
    (clf.binary_cross_entropy_from_logits, ([0, 1], Z3), ValueError,
     r"z must be a 1-d array \(a vector\), got an array of shape \(2, 3\)"),
    (clf.softmax, (np.zeros((2, 2, 2)),), ValueError,
     r"Z must be a 1-d or 2-d array, got an array of shape \(2, 2, 2\)"),
    # non-finite scores
    (clf.sigmoid, ([0.0, np.inf],), ValueError, r"z must hold finite numbers, got 1 NaN or infinite"),
    (clf.log_sigmoid, (np.nan,), ValueError, r"z must hold finite numbers, got 1 NaN or infinite"),
    (clf.softmax, ([[0.0, np.nan]],), ValueError, r"Z must hold finite numbers, got 1 NaN"),
    (clf.logsumexp, ([np.inf, -np.inf],), ValueError, r"Z must hold finite numbers, got 2 NaN"),
    (clf.log_softmax, ([[np.inf, 0.0]],), ValueError, r"Z must hold finite numbers, got 1 NaN"),
    (clf.cross_entropy_from_logits, ([0], [[0.0, np.inf]]), ValueError,
     r"Z must hold finite numbers, got 1 NaN"),
    (clf.binary_cross_entropy_from_logits, ([0], [np.nan]), ValueError,
     r"z must hold finite numbers, got 1 NaN"),
    # empty input
    (clf.sigmoid, ([],), ValueError, r"z must not be empty, got an array of shape \(0,\)"),
    (clf.softmax, (np.zeros((0, 3)),), ValueError,
     r"Z must not be empty, got an array of shape \(0, 3\)"),
    (clf.binary_cross_entropy_from_logits, ([], []), ValueError,
     r"y must not be empty, got an array of shape \(0,\)"),
    (clf.accuracy, ([], []), ValueError, r"y must not be empty, got an array of shape \(0,\)"),
    (clf.confusion_matrix, ([0], [], 2), ValueError,
     r"y_hat must not be empty, got an array of shape \(0,\)"),
    # not numbers, bad n_classes
    (clf.sigmoid, ("high",), TypeError, "z must be an array of numbers, got str"),
    (clf.softmax, ([[0.0, "x"]],), TypeError, "Z must be an array of numbers, got list"),
    (clf.one_hot, ([0, 1], 2.0), TypeError, "n_classes must be an int, got float"),
    (clf.confusion_matrix, ([0], [0], 0), ValueError, "n_classes must be at least 1, got 0"),
]


@pytest.mark.parametrize("function, args, error, message", BAD_INPUT)
def test_bad_input_is_refused_with_a_clear_message(function, args, error, message):
    with pytest.raises(error, match=message):
        function(*args)
