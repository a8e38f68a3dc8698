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


# --------------------------------------------------------------------------------------
# contour_lines and square_window (chapter 2)
# --------------------------------------------------------------------------------------

import numpy as np  # noqa: E402
from plotnine import facet_wrap, geom_blank, geom_path, theme  # noqa: E402

from lr2dnn.plotting import contour_lines, square_window  # noqa: E402


def test_contour_lines_of_circles_have_the_right_radius():
    x = np.linspace(-3, 3, 241)
    y = np.linspace(-2, 2, 161)
    X, Y = np.meshgrid(x, y)
    lines = contour_lines(x, y, X**2 + Y**2, [1.0, 2.25], x_name="w1", y_name="w2")
    assert list(lines.columns) == ["w1", "w2", "level", "piece"]
    radius = np.hypot(lines["w1"], lines["w2"])
    for level in (1.0, 2.25):
        on_level = radius[lines["level"] == level]
        np.testing.assert_allclose(on_level, np.sqrt(level), atol=1e-3)
    # one closed piece per level
    assert lines.groupby("level")["piece"].nunique().tolist() == [1, 1]


def test_contour_lines_splits_pieces_and_skips_unreached_levels():
    x = np.linspace(-3, 3, 121)
    X, Y = np.meshgrid(x, x)
    two_wells = np.minimum((X - 1.5) ** 2 + Y**2, (X + 1.5) ** 2 + Y**2)
    lines = contour_lines(x, x, two_wells, [0.5, 100.0])
    assert lines["piece"].nunique() == 2  # two separate circles, and nothing at level 100
    assert set(lines["level"]) == {0.5}
    empty = contour_lines(x, x, two_wells, [500.0])
    assert empty.empty and list(empty.columns) == ["x", "y", "level", "piece"]


def test_contour_lines_warns_about_nothing():
    """pandas 2.2 (the Colab stack) warns when a concat includes an empty frame; none may reach a notebook."""
    import warnings

    x = np.linspace(-3, 3, 61)
    X, Y = np.meshgrid(x, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        contour_lines(x, x, X**2 + Y**2, [1.0, 4.0, 500.0])
        contour_lines(x, x, X**2 + Y**2, [500.0])


@pytest.mark.parametrize("args, message", [
    ((np.arange(3.0), np.arange(2.0), np.zeros((3, 2)), [1.0]),
     r"z_values must have shape \(len\(y_values\), len\(x_values\)\) = \(2, 3\), got \(3, 2\)"),
    ((np.array([0.0, 2.0, 1.0]), np.arange(2.0), np.zeros((2, 3)), [1.0]),
     "x_values must hold at least 2 increasing numbers"),
    ((np.arange(3.0), np.arange(2.0), np.full((2, 3), np.nan), [1.0]),
     "z_values must hold finite numbers"),
])
def test_contour_lines_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        contour_lines(*args)


def test_square_window_gives_equal_ranges_per_panel():
    data = pd.DataFrame({"a": [0.0, 10.0, 5.0, 6.0], "b": [0.0, 2.0, 1.0, 4.0],
                         "panel": ["wide", "wide", "tall", "tall"]})
    corners = square_window(data, "a", "b", by="panel", pad=0.0)
    for panel, part in corners.groupby("panel"):
        width, height = np.ptp(part["a"]), np.ptp(part["b"])
        assert width == pytest.approx(height)
        points = data[data["panel"] == panel]
        assert part["a"].min() <= points["a"].min() and part["a"].max() >= points["a"].max()
        assert part["b"].min() <= points["b"].min() and part["b"].max() >= points["b"].max()
    assert corners.loc[corners["panel"] == "wide", "a"].tolist() == [0.0, 10.0]
    # drawn with aspect_ratio=1 and free scales, each panel then has equal units
    plot = (ggplot(data, aes("a", "b")) + geom_path() + geom_blank(corners)
            + facet_wrap("~panel", scales="free") + theme_course() + theme(aspect_ratio=1))
    figure = plot.draw()
    for axis in figure.axes:
        (x0, x1), (y0, y1) = axis.get_xlim(), axis.get_ylim()
        assert x1 - x0 == pytest.approx(y1 - y0)
    matplotlib.pyplot.close(figure)


def test_square_window_bad_input():
    data = pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, np.nan]})
    with pytest.raises(ValueError, match=r"data must have the columns \['c'\]"):
        square_window(data, "a", "c")
    with pytest.raises(ValueError, match="must be finite"):
        square_window(data, "a", "b")
    with pytest.raises(ValueError, match="pad must be a number >= 0"):
        square_window(data.dropna(), "a", "b", pad=-1)
