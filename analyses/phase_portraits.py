"""Phase portraits of Hopfield networks with two patterns.

Two figures of two panels each, with basins, separatrices and nullclines:

* figures/portrait_classic_k2: (a) the mean field of two random +-1 patterns
  at beta = 2; (b) form A of the classical network with two correlated
  rolling patterns (N = 10, blocks of 2, overlap 0.2) at beta = 2;
* figures/portrait_modern_k2: the softmax network at beta = 3 with (c) two
  orthonormal patterns and (d) the same two correlated rolling patterns
  scaled to unit length, with pattern weights w = (0, 0.05).

Run from the repository root: ``python analyses/phase_portraits.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hopdyn.fixed_points import find_fixed_points
from hopdyn.models import ClassicModel, MeanFieldModel, ModernModel
from hopdyn.patterns import PatternSet, preprocess, rolling_patterns
from hopdyn.plotting.portrait import compute_portrait, draw_portrait
from hopdyn.plotting.style import DOUBLE_COLUMN_WIDTH, apply_style, save_figure
from hopdyn.symbolic import reduce

FIGURES = Path(__file__).resolve().parent.parent / "figures"

# Two rolling patterns of N = 10 with blocks of 2 overlap by 1 - 8/10 = 0.2.
ROLLING = rolling_patterns(10, 2, block=2)


def classic_panels():
    """(title, model, beta) of the classical panels."""
    return [
        ("(a) mean field\ntwo random patterns", MeanFieldModel(2), 2.0),
        (
            "(b) form A, N = 10\ntwo rolling patterns, overlap 0.2",
            ClassicModel(ROLLING, form="A"),
            2.0,
        ),
    ]


def modern_panels():
    """(title, model, beta) of the softmax panels."""
    orthonormal = PatternSet.from_array(np.eye(2))
    correlated = preprocess(ROLLING, normalize="unit")
    return [
        ("(c) softmax\ntwo orthonormal patterns", ModernModel(orthonormal), 3.0),
        (
            "(d) softmax, w = (0, 0.05)\ntwo unit patterns, overlap 0.2",
            ModernModel(correlated, w=[0.0, 0.05]),
            3.0,
        ),
    ]


def portrait_figure(panels, title):
    """One row of portraits with a shared legend underneath."""
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 3.75), layout="constrained")
        axes = fig.subplots(1, len(panels))
        handles = {}
        for ax, (panel_title, model, beta) in zip(axes, panels, strict=True):
            portrait = panel_portrait(model, beta)
            for handle in draw_portrait(ax, portrait):
                handles.setdefault(handle.get_label(), handle)
            first, second = panel_title.split("\n")
            ax.set_title(f"{first}, β = {beta:g}\n{second}", loc="left")
        fig.legend(
            handles=_generic(handles),
            loc="outside lower center",
            ncols=4,
            frameon=False,
        )
        fig.suptitle(title)
    return fig


def panel_portrait(model, beta):
    system = reduce(model)
    fixed_points = find_fixed_points(system, beta)
    return compute_portrait(system, beta, basins=True, fixed_points=fixed_points)


def _generic(handles):
    """Legend entries shared by the panels; each basin is told by the
    colour and label of its attractor instead."""
    return [h for label, h in handles.items() if not label.startswith("basin of")]


def save(fig, stem):
    save_figure(fig, FIGURES / stem)


def main():
    FIGURES.mkdir(exist_ok=True)
    start = time.perf_counter()

    classic = portrait_figure(
        classic_panels(), "Classical Hopfield networks with two patterns"
    )
    save(classic, "portrait_classic_k2")
    modern = portrait_figure(
        modern_panels(), "Modern (softmax) Hopfield networks with two patterns"
    )
    save(modern, "portrait_modern_k2")

    elapsed = time.perf_counter() - start
    print(f"wrote portrait_classic_k2 and portrait_modern_k2 in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
