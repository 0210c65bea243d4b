"""The PBMC cell types: bifurcation diagram and landscape.

The modern network of examples/pbmc_modern.toml stores the ten PBMC 68k
cell-type profiles (centred per gene, unit length).  Two figures:

* figures/pbmc_diagram: every branch of fixed points over beta 1..12, with
  the folds where the cell types become attractors;
* figures/pbmc_landscape: at beta = 10, the attractors joined by the index-1
  saddles between them (edge labels are barriers), and the disconnectivity
  tree of their energies.

The script prints, per cell type, the beta from which it is an attractor,
and the saddles of the landscape with the two cell types each one joins.

Run from the repository root: ``python analyses/pbmc_diagram_landscape.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hopdyn.continuation import build_diagram
from hopdyn.io import load_spec
from hopdyn.landscape import build_landscape
from hopdyn.plotting.diagram import plot_diagram
from hopdyn.plotting.landscape import plot_landscape
from hopdyn.plotting.style import DOUBLE_COLUMN_WIDTH, save_figure
from hopdyn.symbolic import reduce

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "pbmc_modern.toml"
FIGURES = ROOT / "figures"

BETA_MIN, BETA_MAX = 1.0, 12.0
LANDSCAPE_BETA = 10.0
LANDSCAPE_HEIGHT = 5.0


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def report_diagram(diagram, seconds):
    print(
        f"diagram, beta {BETA_MIN:g}..{BETA_MAX:g}: {diagram.message} ({seconds:.1f} s)"
    )
    print("  branch label                         stable for beta in")
    for branch in sorted(diagram.branches, key=_first_stable):
        stable = branch.beta[branch.n_unstable == 0]
        span = f"{stable.min():6.3f} .. {stable.max():6.3f}" if len(stable) else "never"
        print(f"  {branch.id:3d}  {branch.label:<32} {span}")

    folds = sorted(diagram.special("LP"), key=lambda p: p.beta)
    print("  folds (LP): " + ", ".join(f"{p.beta:.3f}" for p in folds))


def _first_stable(branch):
    stable = branch.beta[branch.n_unstable == 0]
    return stable.min() if len(stable) else np.inf


def report_landscape(landscape, seconds):
    print(f"\nlandscape at beta = {landscape.beta:g}: {landscape.message}")
    print(f"  ({seconds:.1f} s)")
    A = landscape.attractor_graph()
    print("  attractor                            basin    energy")
    for a in sorted(A, key=lambda a: A.nodes[a]["energy"]):
        data = A.nodes[a]
        print(
            f"  {data['label']:<34} {data['basin_fraction']:6.3f}  {data['energy']:.5f}"
        )

    print("  index-1 saddles joining two attractors (barrier: the lower side):")
    for a, b, data in sorted(A.edges(data=True), key=lambda e: e[2]["barrier"]):
        saddle = landscape.graph.nodes[data["saddle"]]["label"]
        print(
            f"    {A.nodes[a]['label']} -- {A.nodes[b]['label']}: "
            f"barrier {data['barrier']:.4f} over {saddle}"
        )


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def without_marker_text(figure):
    """Drop the "LP" tags beside the fold markers: twenty folds, several
    within 0.1 in beta, make the tags overlap, and the legend names the
    marker already."""
    for ax in figure.axes:
        for text in list(ax.texts):
            text.remove()
    return figure


def save(figure, stem):
    save_figure(figure, FIGURES / stem)


def main():
    start = time.perf_counter()
    model = load_spec(SPEC).build_model()
    system = reduce(model)
    FIGURES.mkdir(exist_ok=True)

    began = time.perf_counter()
    diagram = build_diagram(system, BETA_MIN, BETA_MAX)
    report_diagram(diagram, time.perf_counter() - began)
    title = f"PBMC cell types, {model.describe()}"
    save(without_marker_text(plot_diagram(diagram, title=title)), "pbmc_diagram")

    began = time.perf_counter()
    landscape = build_landscape(system, LANDSCAPE_BETA, diagram=diagram)
    report_landscape(landscape, time.perf_counter() - began)
    title = f"PBMC cell types: landscape at β = {LANDSCAPE_BETA:g}"
    figure = plot_landscape(landscape, title=title)
    # Ten long cell-type names need more height than the default 3.4 in.
    figure.set_size_inches(DOUBLE_COLUMN_WIDTH, LANDSCAPE_HEIGHT)
    save(figure, "pbmc_landscape")

    elapsed = time.perf_counter() - start
    print(f"\nwrote figures/pbmc_diagram and figures/pbmc_landscape in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
