"""Figures of the landscape: the attractor graph, its disconnectivity tree,
and the number of attractors of each kind across beta.

Both figures draw from result objects (`hopdyn.landscape.Landscape` and
`hopdyn.landscape.LandscapeSweep`) and never recompute the analysis.
"""

from __future__ import annotations

import textwrap

import networkx as nx
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hopdyn.landscape import ATTRACTOR_KINDS
from hopdyn.plotting.style import (
    ATTRACTOR_KIND_COLORS,
    DOUBLE_COLUMN_WIDTH,
    SINGLE_COLUMN_WIDTH,
    apply_style,
)

__all__ = ["plot_catalogue_counts", "plot_landscape"]

# Node labels are wrapped to this many characters per line.
LABEL_WIDTH = 16

# Beyond this many attractors, labels would overlap; they are then left out
# of the graph panel (the tree panel still names its leaves).
MAX_LABELLED = 24

# Beyond this many edges, barriers are shown as edge colours, not numbers.
MAX_EDGE_LABELS = 16


def plot_landscape(landscape, path=None, title=None) -> Figure:
    """Draw the attractor graph and, for gradient flows, its disconnectivity
    tree.

    Parameters
    ----------
    landscape : Landscape
        A result of `hopdyn.landscape.build_landscape`.
    path : str or path-like, optional
        Save the figure there; the format follows the extension.
    title : str, optional
        Figure title; default names beta.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Left: the attractors, coloured by kind, with an area proportional to
    their basin fraction when it was sampled; an edge joins two attractors
    that an index-1 saddle connects and is labelled with the lower of the
    two barriers.  Right: attractors ordered along the x axis and drawn at
    their energy; the horizontal bars mark the saddle energy at which groups
    of attractors merge.

    Examples
    --------
    >>> from hopdyn.landscape import build_landscape
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> landscape = build_landscape(reduce(MeanFieldModel(2)), 2.0)
    >>> len(plot_landscape(landscape).axes)
    2
    """
    A = landscape.attractor_graph()
    tree = landscape.disconnectivity_tree()
    with apply_style():
        width = DOUBLE_COLUMN_WIDTH if tree is not None else SINGLE_COLUMN_WIDTH
        fig = Figure(figsize=(width, 3.4), layout="constrained")
        columns = {"ncols": 2, "width_ratios": (1.3, 1)} if tree is not None else {}
        axes = np.atleast_1d(fig.subplots(**columns))
        _draw_attractor_graph(axes[0], A)
        if tree is not None:
            _draw_tree(axes[1], tree)
        fig.suptitle(title or f"landscape at beta = {landscape.beta:g}")
        _save(fig, path)
    return fig


def _wrap(label, width):
    """Break a long label after its commas where possible."""
    return textwrap.fill(label, width, break_long_words=False)


def _kind_color(data):
    detail = data.get("fixed_point_kind")
    if detail in ATTRACTOR_KIND_COLORS:
        return ATTRACTOR_KIND_COLORS[detail]
    return ATTRACTOR_KIND_COLORS.get(data["kind"], "0.5")


def _node_sizes(A):
    fractions = [A.nodes[n].get("basin_fraction") for n in A]
    if any(f is None for f in fractions):
        return [60.0] * len(fractions)
    return [20.0 + 400.0 * f for f in fractions]


def _layout(A):
    """Positions: retrieval states on an outer ring, the other attractors on
    an inner one, relaxed by Kamada-Kawai so that joined attractors sit
    close.  (Projecting the states instead stacks symmetric attractors on
    top of each other.)"""
    nodes = list(A)
    if len(nodes) < 3:
        return {n: (float(i), 0.0) for i, n in enumerate(nodes)}
    outer = [n for n in nodes if A.nodes[n].get("kind") == "retrieval"]
    inner = [n for n in nodes if n not in outer]
    shells = [inner, outer] if inner and outer else [nodes]
    start = nx.shell_layout(A, nlist=shells)
    return nx.kamada_kawai_layout(A, pos=start, weight=None)


def _draw_attractor_graph(ax, A):
    ax.set_axis_off()
    ax.set_title("attractor graph")
    if len(A) == 0:
        ax.text(0.5, 0.5, "no attractors", ha="center", transform=ax.transAxes)
        return

    pos = _layout(A)
    barriers = _edge_barriers(A)
    shown = {f"{b:.3g}" for b in barriers.values()}
    if len(shown) == 1 and len(barriers) > 1:
        # Symmetric models: one barrier everywhere reads better said once.
        ax.set_title(
            f"attractor graph (barrier {shown.pop()} on every edge,\n"
            "from the shallower attractor)"
        )
        nx.draw_networkx_edges(A, pos, ax=ax, edge_color="0.6", width=0.8)
    elif len(barriers) > MAX_EDGE_LABELS:
        _draw_edges_by_barrier(ax, A, pos, barriers)
    else:
        nx.draw_networkx_edges(A, pos, ax=ax, edge_color="0.6", width=0.8)
        _label_edges(ax, A, pos, barriers)
    colors = [_kind_color(A.nodes[n]) for n in A]
    nx.draw_networkx_nodes(
        A, pos, ax=ax, node_color=colors, node_size=_node_sizes(A), linewidths=0
    )
    if len(A) <= MAX_LABELLED:
        _label_nodes(ax, A, pos, list(A))
    else:
        # Too many to name them all: name the retrieval states, which the
        # reader needs to find their way around the graph.
        retrieval = [n for n in A if A.nodes[n].get("kind") == "retrieval"]
        _label_nodes(ax, A, pos, retrieval)
    _kind_legend(ax, A)
    ax.margins(0.15)


def _edge_barriers(A):
    return {
        (a, b): d["barrier"]
        for a, b, d in A.edges(data=True)
        if d.get("barrier") is not None
    }


def _draw_edges_by_barrier(ax, A, pos, barriers):
    """Many edges: the barrier as a colour, read off a colour bar."""
    edges = list(barriers)
    values = [barriers[e] for e in edges]
    drawn = nx.draw_networkx_edges(
        A,
        pos,
        edgelist=edges,
        ax=ax,
        edge_color=values,
        edge_cmap=colormaps["viridis"],
        edge_vmin=min(values),
        edge_vmax=max(values),
        width=0.9,
    )
    ax.figure.colorbar(drawn, ax=ax, shrink=0.6, label="barrier")


def _label_nodes(ax, A, pos, nodes):
    for n in nodes:
        ax.annotate(
            _wrap(A.nodes[n]["label"], LABEL_WIDTH),
            pos[n],
            xytext=(0, -5),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=5.5,
        )


def _label_edges(ax, A, pos, barriers):
    labels = {e: f"{b:.3g}" for e, b in barriers.items()}
    nx.draw_networkx_edge_labels(
        A,
        pos,
        labels,
        ax=ax,
        font_size=5,
        font_color="0.3",
        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
    )


def _kind_legend(ax, A):
    seen = {}
    for n in A:
        data = A.nodes[n]
        name = data.get("fixed_point_kind") or data["kind"]
        seen.setdefault(name, _kind_color(data))
    handles = [
        Line2D([], [], marker="o", linestyle="", color=color, label=name)
        for name, color in seen.items()
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(handles),
        frameon=False,
    )


# ---------------------------------------------------------------- tree
def _leaf_order(T, node):
    """Leaves under node, lower branches first."""
    if T.nodes[node]["leaf"]:
        return [node]
    children = sorted(T.successors(node), key=lambda c: _lowest(T, c))
    return [leaf for child in children for leaf in _leaf_order(T, child)]


def _lowest(T, node):
    if T.nodes[node]["leaf"]:
        return T.nodes[node]["energy"]
    return min(_lowest(T, c) for c in T.successors(node))


def _draw_tree(ax, T):
    ax.set_title("disconnectivity tree")
    ax.set_ylabel("energy")
    roots = sorted(T.graph.get("roots", []), key=lambda r: _lowest(T, r))
    leaves = [leaf for root in roots for leaf in _leaf_order(T, root)]
    x = {leaf: float(i) for i, leaf in enumerate(leaves)}
    for root in roots:
        _draw_branch(ax, T, root, x)

    ax.set_xticks([x[leaf] for leaf in leaves])
    ax.set_xticklabels(
        [_wrap(T.nodes[leaf]["label"], 2 * LABEL_WIDTH) for leaf in leaves],
        rotation=90,
        fontsize=5.5,
    )
    ax.set_xlim(-0.7, len(leaves) - 0.3)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="x", length=0)


def _draw_branch(ax, T, node, x):
    """Draw node's subtree; returns its x position."""
    data = T.nodes[node]
    if data["leaf"]:
        ax.scatter([x[node]], [data["energy"]], s=14, color=_kind_color(data), zorder=3)
        return x[node]

    children = list(T.successors(node))
    xs = [_draw_branch(ax, T, child, x) for child in children]
    for child, cx in zip(children, xs, strict=True):
        ax.plot([cx, cx], [T.nodes[child]["energy"], data["energy"]], color="0.3")
    ax.plot([min(xs), max(xs)], [data["energy"]] * 2, color="0.3")
    return float(np.mean(xs))


# ---------------------------------------------------------------- sweep
def plot_catalogue_counts(sweep, path=None, title=None) -> Figure:
    """Number of attractors of each kind against beta.

    Parameters
    ----------
    sweep : LandscapeSweep
        A result of `hopdyn.landscape.landscape_sweep`.
    path : str or path-like, optional
        Save the figure there; the format follows the extension.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Solid lines count the kinds (retrieval, mixture, other); when a kind
    has several families (mixtures of 3 and of 5 patterns, say), each
    family is drawn dashed in the same colour.

    Examples
    --------
    >>> import numpy as np
    >>> from hopdyn.landscape import landscape_sweep
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.symbolic import reduce
    >>> sweep = landscape_sweep(reduce(MeanFieldModel(2)), [1.5, 2.0])
    >>> len(plot_catalogue_counts(sweep).axes)
    1
    """
    with apply_style():
        fig = Figure(figsize=(SINGLE_COLUMN_WIDTH, 2.6), layout="constrained")
        ax = fig.add_subplot()
        _draw_counts(ax, sweep)
        ax.set_xlabel("inverse temperature β")
        ax.set_ylabel("attractors")
        if title:
            ax.set_title(title)
        _save(fig, path)
    return fig


def _draw_counts(ax, sweep):
    betas = np.asarray(sweep.betas, dtype=float)
    for kind in ATTRACTOR_KINDS:
        counts = np.asarray(sweep.counts[kind])
        if not counts.any():
            continue
        color = ATTRACTOR_KIND_COLORS.get(kind, "0.5")
        ax.plot(betas, counts, drawstyle="steps-mid", color=color, label=kind)
        families = [f for f in sweep.family_counts if _kind_of(f) == kind]
        if len(families) > 1:
            for family in families:
                ax.plot(
                    betas,
                    sweep.family_counts[family],
                    drawstyle="steps-mid",
                    linestyle="--",
                    linewidth=0.8,
                    color=color,
                    label=family,
                )
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)


def _kind_of(family):
    return "mixture" if family.endswith("-mixture") else family


def _save(fig, path):
    if path is None:
        return
    from hopdyn.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp)
