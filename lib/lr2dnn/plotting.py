"""The course's plotnine theme and colours.

Every figure in the book adds ``+ theme_course()`` so that all chapters look alike.
Introduced in the preface.
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
