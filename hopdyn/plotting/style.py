"""Shared look of hopdyn figures: colours, sizes and fonts.

Every figure draws pattern mu in ``PATTERN_COLORS[mu % 10]`` and colours
attractors by kind with ``ATTRACTOR_KIND_COLORS``, so that one pattern or
one kind of state has the same colour in every figure of a paper.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
from matplotlib import cycler

__all__ = [
    "ATTRACTOR_KIND_COLORS",
    "DOUBLE_COLUMN_WIDTH",
    "PATTERN_COLORS",
    "SINGLE_COLUMN_WIDTH",
    "apply_style",
    "pattern_color",
]

# matplotlib's tab10, in its own order.
PATTERN_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

ATTRACTOR_KIND_COLORS = {
    "retrieval": "#1f77b4",
    "mixture": "#ff7f0e",
    "other": "#7f7f7f",
    "origin": "#000000",
    "uniform": "#9467bd",
}

# Journal column widths, in inches.
SINGLE_COLUMN_WIDTH = 3.4
DOUBLE_COLUMN_WIDTH = 7.0

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "lines.linewidth": 1.2,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PATTERN_COLORS),
    "figure.dpi": 150,
    "savefig.dpi": 300,
}


def pattern_color(index: int) -> str:
    """The colour of pattern ``index`` (0-based); it repeats after ten."""
    return PATTERN_COLORS[index % len(PATTERN_COLORS)]


def apply_style():
    """A context in which new figures get hopdyn's fonts, lines and colours.

    Returns
    -------
    contextlib.AbstractContextManager
        ``matplotlib.rc_context`` with font sizes that stay readable when a
        figure is printed at single-column width (3.4 in) and the pattern
        colour cycle.  The settings end with the ``with`` block.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> with apply_style():
    ...     fig = Figure(figsize=(SINGLE_COLUMN_WIDTH, 2.5))
    ...     line, = fig.add_subplot().plot([0, 1])
    >>> line.get_color() == PATTERN_COLORS[0]
    True
    """
    return mpl.rc_context(_RC)


def save_figure(figure, stem, suffixes=(".png", ".svg"), dpi=150):
    """Save a figure as ``stem`` + each suffix, reproducibly.

    SVG files carry no date and draw their element ids from a fixed salt,
    so regenerating an unchanged figure leaves the file unchanged (and the
    repository clean).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    stem : str or path-like
        The path without its extension; the folder is created if missing.
    suffixes : sequence of str
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    undated = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}
    with mpl.rc_context({"svg.hashsalt": "hopdyn"}):
        for suffix in suffixes:
            path = stem.with_name(stem.name + suffix)
            figure.savefig(path, dpi=dpi, metadata=undated.get(suffix))
            written.append(path)
    return written
