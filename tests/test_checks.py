"""Tests of lr2dnn._checks: the input checks every public function shares."""

import numpy as np
import pytest

from lr2dnn._checks import as_float_array, as_int, check_same_length


def test_as_int_accepts_python_and_numpy_integers():
    assert as_int(3, "k", 1) == 3 and type(as_int(np.int64(3), "k", 1)) is int
    assert as_int(5, "k", 1, maximum=5) == 5


@pytest.mark.parametrize("value, kwargs, error, message", [
    (True, {}, TypeError, "k must be an int, got bool"),
    (2.0, {}, TypeError, "k must be an int, got float"),
    (0, {}, ValueError, "k must be at least 1, got 0"),
    (6, {"maximum": 5}, ValueError, "k must be between 1 and 5, got 6"),
])
def test_as_int_bad_values(value, kwargs, error, message):
    with pytest.raises(error, match=message):
        as_int(value, "k", 1, **kwargs)


def test_as_float_array_and_same_length():
    np.testing.assert_array_equal(as_float_array([[1, 2]], "X", ndim=2), [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"X must be a 1-d array \(a vector\)"):
        as_float_array([[1.0]], "X", ndim=1)
    with pytest.raises(ValueError, match="a and b must have the same number of examples"):
        check_same_length(np.zeros(2), "a", np.zeros(3), "b")
