"""Tests of lr2dnn.plotting: the course theme."""

import matplotlib
import pandas as pd
import pytest
from plotnine import aes, geom_point, ggplot

from lr2dnn.plotting import COURSE_COLORS, FIGURE_SIZE, theme_course


def test_theme_sets_figure_size_and_draws(tmp_path):
    plot = (ggplot(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), aes("x", "y"))
            + geom_point() + theme_course())
    figure = plot.draw()
    width, height = figure.get_size_inches()
    assert (width, height) == pytest.approx(FIGURE_SIZE)
    matplotlib.pyplot.close(figure)


def test_custom_figure_size():
    plot = ggplot(pd.DataFrame({"x": [1]}), aes("x", "x")) + geom_point()
    figure = (plot + theme_course(figure_size=(3, 2))).draw()
    assert tuple(figure.get_size_inches()) == pytest.approx((3, 2))
    matplotlib.pyplot.close(figure)


def test_colours_are_hex_codes():
    assert len(COURSE_COLORS) == len(set(COURSE_COLORS)) >= 4
    assert all(len(c) == 7 and c.startswith("#") and int(c[1:], 16) >= 0 for c in COURSE_COLORS)


@pytest.mark.parametrize("kwargs, message", [
    ({"base_size": 0}, "base_size must be a positive number of points, got 0"),
    ({"figure_size": (6, -1)}, r"figure_size must be \(width, height\) in inches"),
    ({"figure_size": (6,)}, r"figure_size must be \(width, height\) in inches"),
])
def test_bad_theme_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        theme_course(**kwargs)
