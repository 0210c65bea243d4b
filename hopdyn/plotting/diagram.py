"""Bifurcation diagrams: branches against beta, with their special points.

Every branch is drawn on its own -- pieces of different branches are never
joined -- solid where it is stable (n_unstable = 0) and dashed where it is
not.  A segment between two points is solid only when both ends are
stable, so a change of stability splits the line at the located crossing
point, which both pieces share.  Each branch label has one colour; LP, BP,
HB and undetermined points have their own markers and a short text label.
The legend sits outside the axes, to the right.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hopdyn.continuation.results import apply_element
from hopdyn.errors import InputError
from hopdyn.plotting.style import (
    ATTRACTOR_KIND_COLORS,
    DOUBLE_COLUMN_WIDTH,
    PATTERN_COLORS,
    apply_style,
)

__all__ = ["plot_diagram"]

# Ten more colours after the pattern colours (matplotlib's tab20 light tones).
_MORE_COLORS = (
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)
_PALETTE = PATTERN_COLORS + _MORE_COLORS

MARKERS = {
    "BP": ("o", "BP"),
    "LP": ("s", "LP"),
    "HB": ("D", "HB"),
    "undetermined": ("X", "?"),
}
_MAX_TEXT_LABELS = 40


def plot_diagram(diagram, path=None, y="norm", title=None, ax=None) -> Figure:
    """Draw a bifurcation diagram.

    Parameters
    ----------
    diagram : Diagram
        From `hopdyn.continuation.build_diagram`.
    path : str or path-like, optional
        Where to save the figure; the format follows the extension.
    y : str
        What to plot against beta: "norm" (|state|), "energy" (gradient
        flows only) or "overlap:k", the component k (1-based pattern
        number) of the reduced state -- the overlap m_k for the modern
        model and the classical forms A and D.  For "overlap:k" every
        symmetric copy of a branch is drawn.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (a panel of a larger figure) instead of a new
        figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the one holding ``ax``.

    Raises
    ------
    InputError
        If ``y`` is not one of the choices above, or asks for the energy of
        a diagram without one.

    Examples
    --------
    >>> from hopdyn.continuation import build_diagram
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> fig = plot_diagram(build_diagram(reduce(MeanFieldModel(2)), 0.5, 3.0))
    >>> fig.axes[0].get_xlabel()
    'inverse temperature β'
    """
    quantity, k = _parse_y(y, diagram)
    colors, by_kind = _colors(diagram)
    with apply_style():
        if ax is None:
            fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 3.6), layout="constrained")
            ax = fig.add_subplot()
        fig = ax.figure
        for branch in diagram.branches:
            color = colors[branch.kind if by_kind else _key(branch, diagram)]
            for values in _curves(branch, quantity, k):
                _draw_branch(ax, branch.beta, values, branch.n_unstable, color)
        _draw_special(ax, diagram, quantity, k)
        _decorate(ax, diagram, quantity, k, colors, by_kind, title)
        if path is not None:
            fig.savefig(path)
    return fig


# ------------------------------------------------------------- quantities
def _parse_y(y, diagram):
    if y in ("norm", "energy"):
        if y == "energy" and any(b.energy is None for b in diagram.branches):
            raise InputError("y='energy' needs a gradient flow; this diagram has none")
        return y, None
    if isinstance(y, str) and y.startswith("overlap:"):
        K = len(diagram.pattern_names)
        text = y.split(":", 1)[1]
        if text.isdigit() and 1 <= int(text) <= K:
            return "overlap", int(text) - 1
    raise InputError(
        "y must be 'norm', 'energy' or 'overlap:k' with k a pattern number "
        f"from 1 to {len(diagram.pattern_names)}, got {y!r}"
    )


def _curves(branch, quantity, k):
    """The y values of a branch: one curve, or one per distinct copy."""
    if quantity == "norm":
        return [np.linalg.norm(branch.states, axis=1)]
    if quantity == "energy":
        return [np.asarray(branch.energy)]
    return [
        _component(apply_element(c, branch.states), k) for c in _distinct_at(branch, k)
    ]


def _distinct_at(branch, k):
    """Copies that differ in component k (the others coincide there)."""
    seen, kept = set(), []
    for copy in branch.copies:
        if copy[k] not in seen:
            seen.add(copy[k])
            kept.append(copy)
    return kept


def _component(states, k):
    return states[..., k]


def _point_values(point, branch, quantity, k):
    if quantity == "norm":
        return [float(np.linalg.norm(point.state))]
    if quantity == "energy":
        return [] if point.energy is None else [point.energy]
    copies = _distinct_at(branch, k)
    return [float(apply_element(c, point.state)[k]) for c in copies]


# ---------------------------------------------------------------- drawing
def _pieces(n_unstable):
    """Runs of segments with one stability: (start, stop, stable), stop
    inclusive; neighbouring runs share their end point."""
    stable_points = np.asarray(n_unstable) == 0
    if len(stable_points) < 2:
        return [(0, len(stable_points) - 1, bool(stable_points.all()))]
    segments = stable_points[:-1] & stable_points[1:]
    runs, start = [], 0
    for i in range(1, len(segments) + 1):
        if i == len(segments) or segments[i] != segments[start]:
            runs.append((start, i, bool(segments[start])))
            start = i
    return runs


def _draw_branch(ax, beta, values, n_unstable, color):
    for start, stop, stable in _pieces(n_unstable):
        ax.plot(
            beta[start : stop + 1],
            values[start : stop + 1],
            color=color,
            linestyle="-" if stable else "--",
            linewidth=1.3 if stable else 1.0,
        )


def _draw_special(ax, diagram, quantity, k):
    labelled = len(diagram.special_points) <= _MAX_TEXT_LABELS
    for point in diagram.special_points:
        marker, text = MARKERS.get(point.kind, MARKERS["undetermined"])
        branch = diagram.branch(point.branch)
        for value in _point_values(point, branch, quantity, k):
            ax.plot(
                point.beta,
                value,
                marker=marker,
                markersize=5,
                markerfacecolor="white",
                markeredgecolor="black",
                markeredgewidth=0.9,
                linestyle="none",
                zorder=5,
            )
            if labelled:
                ax.annotate(
                    text,
                    (point.beta, value),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=6,
                    zorder=6,
                )


# ----------------------------------------------------------------- legend
def _key(branch, diagram):
    """The legend entry of a branch: its label, plus its id when another
    branch has the same label (a symmetric and an asymmetric mixture, the
    two legs of a fold) so that different curves never share an entry."""
    same = sum(b.label == branch.label for b in diagram.branches)
    return branch.label if same == 1 else f"{branch.label} [branch {branch.id}]"


def _colors(diagram):
    """Colour per legend entry, or per kind when entries are too many."""
    labels = list(dict.fromkeys(_key(b, diagram) for b in diagram.branches))
    if len(labels) <= len(_PALETTE):
        return {label: _PALETTE[i] for i, label in enumerate(labels)}, False
    kinds = dict.fromkeys(b.kind for b in diagram.branches)
    grey = ATTRACTOR_KIND_COLORS["other"]
    return {kind: ATTRACTOR_KIND_COLORS.get(kind, grey) for kind in kinds}, True


def _branch_handles(diagram, colors, by_kind):
    counts = {}
    for b in diagram.branches:
        key = b.kind if by_kind else _key(b, diagram)
        counts[key] = counts.get(key, 0) + b.multiplicity
    handles = []
    for key, color in colors.items():
        text = key if counts[key] == 1 else f"{key} (×{counts[key]})"
        handles.append(Line2D([], [], color=color, label=text))
    return handles


def _style_handles(diagram):
    handles = [
        Line2D([], [], color="black", linestyle="-", label="stable"),
        Line2D([], [], color="black", linestyle="--", linewidth=1.0, label="unstable"),
    ]
    kinds = dict.fromkeys(p.kind for p in diagram.special_points)
    for kind in MARKERS:
        if kind in kinds:
            marker, _ = MARKERS[kind]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=marker,
                    linestyle="none",
                    markerfacecolor="white",
                    markeredgecolor="black",
                    label=kind,
                )
            )
    return handles


def _decorate(ax, diagram, quantity, k, colors, by_kind, title):
    ax.set_xlabel("inverse temperature β")
    if quantity == "overlap":
        ax.set_ylabel(f"overlap with pattern {diagram.pattern_names[k]}")
    else:
        ax.set_ylabel({"norm": "|state|", "energy": "energy"}[quantity])
    ax.set_xlim(*diagram.beta_range)
    handles = _branch_handles(diagram, colors, by_kind) + _style_handles(diagram)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        title="kind" if by_kind else "branch",
    )
    if title:
        ax.set_title(title)
