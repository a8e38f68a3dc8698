"""Tests of lr2dnn.plotting.confusion_matrix_plot."""

import numpy as np
import pytest
from plotnine import ggplot

from lr2dnn.plotting import confusion_matrix_plot


def test_returns_a_ggplot_with_the_counts_in_its_data():
    matrix = np.array([[5, 1, 0], [2, 7, 3], [0, 4, 9]])
    plot = confusion_matrix_plot(matrix, labels=["cat", "dog", "fox"], title="Pets")
    assert isinstance(plot, ggplot)
    data = plot.data
    assert len(data) == 9
    for i, true in enumerate(["cat", "dog", "fox"]):
        for j, predicted in enumerate(["cat", "dog", "fox"]):
            row = data[(data["true"] == true) & (data["predicted"] == predicted)]
            assert row["count"].tolist() == [matrix[i, j]]
    assert plot.labels.title == "Pets"


def test_default_labels_are_class_numbers_and_the_plot_draws(tmp_path):
    plot = confusion_matrix_plot([[3, 0], [1, 4]])
    assert list(plot.data["true"].cat.categories) == ["0", "1"]
    assert plot.data["count"].sum() == 8
    path = tmp_path / "cm.png"
    plot.save(path, verbose=False)
    assert path.stat().st_size > 0


@pytest.mark.parametrize(
    "matrix, labels, error, message",
    [
        (np.zeros((2, 3)), None, ValueError, r"matrix must be square .* got shape \(2, 3\)"),
        (np.zeros(4), None, ValueError, r"matrix must be a 2-d array \(a matrix\), got an array of shape \(4,\)"),
        ([[1, -1], [0, 2]], None, ValueError, "matrix must hold counts"),
        ([[1, 0.5], [0, 2]], None, ValueError, "matrix must hold counts"),
        ([[1, np.nan], [0, 2]], None, ValueError, "matrix must hold finite numbers"),
        ([[1, 0], [0, 2]], ["a", "b", "c"], ValueError, "labels must have 2 entries .* got 3"),
        ([[1, 0], [0, 2]], ["a", "a"], ValueError, "labels must be 2 different names"),
        ([[1, 0], [0, 2]], "ab", TypeError, "labels must be a sequence of 2 names, got str"),
    ],
)
def test_bad_input_is_refused(matrix, labels, error, message):
    with pytest.raises(error, match=message):
        confusion_matrix_plot(matrix, labels=labels)
