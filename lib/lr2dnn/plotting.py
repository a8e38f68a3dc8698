"""The course's plotnine theme and colours, and small helpers for its figures.

Every figure in the book adds ``+ theme_course()`` so that all chapters look alike
(introduced in the preface). ``contour_lines`` and ``square_window`` (chapter 2) draw the
level sets of a cost with equal units on both axes; ``confusion_matrix_plot`` (chapter 4)
draws a confusion matrix.
"""

from __future__ import annotations

from plotnine import element_blank, element_line, element_rect, element_text, theme, theme_bw

COURSE_COLORS: tuple[str, ...] = (
    "#1f5f8b",  # blue: data, the main series
    "#d1495b",  # red: a model's prediction, a highlighted point
    "#edae49",  # yellow: a second model or a reference
    "#00798c",  # teal
    "#66a182",  # green
    "#2e4057",  # slate
)
"""Colours for discrete series, in the order they are used (colour-blind friendly)."""

FIGURE_SIZE: tuple[float, float] = (6.0, 3.6)
"""Default width and height of a figure, in inches."""


def theme_course(base_size: float = 10, figure_size: tuple[float, float] = FIGURE_SIZE) -> theme:
    """Return the course's plotnine theme.

    A light theme with horizontal grid lines only, a legend at the bottom, and a fixed
    figure size and resolution so that figures look alike in the book and in notebooks.

    Parameters
    ----------
    base_size : float, optional
        Font size of the text, in points.
    figure_size : tuple of float, optional
        Width and height of the figure, in inches.

    Returns
    -------
    plotnine.theme
        Add it to a plot: ``ggplot(...) + geom_point() + theme_course()``.

    Raises
    ------
    ValueError
        If ``base_size`` is not positive or ``figure_size`` is not two positive numbers.
    """
    if not base_size > 0:
        raise ValueError(f"base_size must be a positive number of points, got {base_size!r}")
    if len(figure_size) != 2 or not all(side > 0 for side in figure_size):
        raise ValueError(
            f"figure_size must be (width, height) in inches, both positive, got {figure_size!r}"
        )
    return theme_bw(base_size=base_size) + theme(
        figure_size=tuple(float(side) for side in figure_size),
        dpi=110,
        panel_grid_minor=element_blank(),
        panel_grid_major_x=element_blank(),
        panel_grid_major_y=element_line(color="#dddddd"),
        panel_border=element_rect(color="#999999"),
        strip_background=element_rect(fill="#eeeeee", color="#999999"),
        legend_position="bottom",
        plot_title=element_text(size=base_size + 1, ha="left"),
    )


def contour_lines(
    x_values, y_values, z_values, levels, x_name: str = "x", y_name: str = "y"
):
    """Trace the contour lines of a function on a grid, as a data frame for ``geom_path``.

    Introduced in chapter 2, which draws the level sets of the cost. The lines are traced
    by ``contourpy`` (the library matplotlib uses); every separate piece of a line gets its
    own ``piece`` label, so that ``geom_path(aes(group="piece"))`` does not join them.

    Parameters
    ----------
    x_values : array_like, shape (nx,)
        The grid's x coordinates, increasing.
    y_values : array_like, shape (ny,)
        The grid's y coordinates, increasing.
    z_values : array_like, shape (ny, nx)
        The function at every grid point, ``z_values[i, j] = f(x_values[j], y_values[i])``
        (the layout ``numpy.meshgrid(x_values, y_values)`` gives).
    levels : array_like
        The values of ``f`` whose contour lines are wanted.
    x_name, y_name : str, optional
        Names of the two coordinate columns of the result.

    Returns
    -------
    pandas.DataFrame
        Columns ``x_name``, ``y_name``, ``level`` and ``piece``, one row per point of a line.
        A level that the grid does not reach gives no rows.

    Raises
    ------
    ValueError
        If the shapes do not fit, the coordinates are not increasing, or a value is not
        finite.
    """
    import contourpy
    import numpy as np
    import pandas as pd

    from ._checks import as_float_array

    x_values = as_float_array(x_values, "x_values", ndim=1)
    y_values = as_float_array(y_values, "y_values", ndim=1)
    z_values = as_float_array(z_values, "z_values", ndim=2)
    levels = as_float_array(np.atleast_1d(levels), "levels", ndim=1)
    if z_values.shape != (y_values.size, x_values.size):
        raise ValueError(
            f"z_values must have shape (len(y_values), len(x_values)) = "
            f"{(y_values.size, x_values.size)}, got {z_values.shape}"
        )
    for name, values in (("x_values", x_values), ("y_values", y_values)):
        if values.size < 2 or np.any(np.diff(values) <= 0):
            raise ValueError(f"{name} must hold at least 2 increasing numbers, got {values[:4]}")
    generator = contourpy.contour_generator(x_values, y_values, z_values)
    pieces = []
    for k, level in enumerate(levels):
        for j, line in enumerate(generator.lines(float(level))):
            pieces.append(pd.DataFrame({x_name: line[:, 0], y_name: line[:, 1],
                                        "level": float(level), "piece": f"{k}-{j}"}))
    # concatenate only non-empty pieces: pandas 2.2 warns about empty frames in a concat
    frame = (pd.concat(pieces, ignore_index=True) if pieces
             else pd.DataFrame(columns=[x_name, y_name, "level", "piece"]))
    return frame.astype({x_name: float, y_name: float, "level": float, "piece": str})


def square_window(data, x: str, y: str, by: str | None = None, pad: float = 0.04):
    """Corners of a square window around each panel's points, for equal units on both axes.

    Introduced in chapter 2. A facetted plot with ``scales="free"`` gives each panel its own
    ranges; drawn with ``theme(aspect_ratio=1)``, a panel has equal units on its two axes
    exactly when its two ranges have the same length. Add the corners this function returns
    with ``geom_blank``: each panel then spans a square centred on its data.

    Parameters
    ----------
    data : pandas.DataFrame
        The points the window must contain.
    x, y : str
        The names of the two coordinate columns.
    by : str, optional
        The column that names the panel (the facet variable); one window per value.
    pad : float, optional
        Extra room on every side, as a share of the window's side (0.04 by default).

    Returns
    -------
    pandas.DataFrame
        Two rows per panel, the lower-left and upper-right corners, with columns ``x``,
        ``y`` and ``by``.
    """
    import numpy as np
    import pandas as pd

    missing = [name for name in (x, y, by) if name is not None and name not in data]
    if missing:
        raise ValueError(f"data must have the columns {missing}, got {list(data.columns)}")
    if not (isinstance(pad, (int, float)) and pad >= 0):
        raise ValueError(f"pad must be a number >= 0, got {pad!r}")
    groups = [(None, data)] if by is None else list(data.groupby(by, observed=True))
    rows = []
    for key, part in groups:
        xs, ys = part[x].to_numpy(dtype=float), part[y].to_numpy(dtype=float)
        if xs.size == 0 or not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise ValueError(f"the points of panel {key!r} must be finite and not empty")
        half = max(np.ptp(xs), np.ptp(ys), 1e-12) * (0.5 + pad)
        centre = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
        for sign in (-1.0, 1.0):
            row = {x: centre[0] + sign * half, y: centre[1] + sign * half}
            if by is not None:
                row[by] = key
            rows.append(row)
    corners = pd.DataFrame(rows)
    if by is not None and isinstance(data[by].dtype, pd.CategoricalDtype):
        corners[by] = pd.Categorical(corners[by], categories=data[by].cat.categories)
    return corners


def confusion_matrix_plot(matrix, labels=None, title=None):
    """Draw a confusion matrix as a heat map with the counts written in the cells.

    Introduced in chapter 4. Rows are the true classes (top to bottom), columns the
    predicted classes (left to right), as returned by
    :func:`lr2dnn.classification.confusion_matrix`.

    Parameters
    ----------
    matrix : array_like of int, shape (K, K)
        Counts: entry ``[i, j]`` is the number of examples of class ``i`` predicted as ``j``.
    labels : sequence of str, optional
        The K class names, in label order; by default ``"0"``, ``"1"``, ...
    title : str, optional
        A title for the figure.

    Returns
    -------
    plotnine.ggplot
        The figure, with :func:`theme_course` applied. Its data frame has one row per cell,
        with columns ``true``, ``predicted`` and ``count``.

    Raises
    ------
    TypeError
        If ``matrix`` is not numeric or ``labels`` is not a sequence of K names.
    ValueError
        If ``matrix`` is not square, is empty, or holds negative, non-integer or
        non-finite counts, or ``labels`` does not have K entries.
    """
    import numpy as np
    import pandas as pd
    from plotnine import (
        aes,
        coord_equal,
        geom_text,
        geom_tile,
        ggplot,
        labs,
        scale_color_identity,
        scale_fill_gradient,
        scale_x_discrete,
        scale_y_discrete,
    )

    from ._checks import as_float_array

    counts = as_float_array(matrix, "matrix", ndim=2)
    if counts.shape[0] != counts.shape[1]:
        raise ValueError(
            f"matrix must be square (K x K, one row and one column per class), "
            f"got shape {counts.shape}"
        )
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("matrix must hold counts (non-negative whole numbers), got other values")
    n_classes = counts.shape[0]
    if labels is None:
        labels = [str(k) for k in range(n_classes)]
    elif isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise TypeError(f"labels must be a sequence of {n_classes} names, got {type(labels).__name__}")
    labels = [str(label) for label in labels]
    if len(labels) != n_classes:
        raise ValueError(f"labels must have {n_classes} entries (one per class), got {len(labels)}")
    if len(set(labels)) != n_classes:
        raise ValueError(f"labels must be {n_classes} different names, got {labels}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")

    rows, cols = np.indices(counts.shape)
    frame = pd.DataFrame(
        {
            "true": pd.Categorical(np.array(labels)[rows.ravel()], categories=labels),
            "predicted": pd.Categorical(np.array(labels)[cols.ravel()], categories=labels),
            "count": counts.ravel().astype(np.int64),
        }
    )
    darkest = max(int(frame["count"].max()), 1)
    frame["text_color"] = np.where(frame["count"] > darkest / 2, "white", "#222222")
    side = min(1.8 + 0.35 * n_classes, 5.0)
    return (
        ggplot(frame, aes("predicted", "true", fill="count"))
        + geom_tile(color="white", size=0.6)
        + geom_text(aes(label="count", color="text_color"), size=8 if n_classes > 6 else 10)
        + scale_color_identity()
        + scale_fill_gradient(low="#f3f6f9", high=COURSE_COLORS[0], name="count")
        + scale_x_discrete(limits=labels)
        + scale_y_discrete(limits=list(reversed(labels)))
        + coord_equal()
        + labs(x="predicted class", y="true class", title=title)
        + theme_course(figure_size=(side + 1.2, side + 0.6))
        + theme(legend_position="right", panel_grid_major_y=element_blank())
    )
