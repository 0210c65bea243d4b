"""Annealing the enhancer-selection toy model: can a cell change its fate?

The toy model of analyses/hierarchy_progenitors.py (K = 6 patterns over
N = 9 genes, the pairs {1, 2}, {3, 4}, {5, 6} being lineages) with pattern 5
(1-based) favoured by w5 = 0.05.  Each run starts in a terminal state at
beta = 8, lowers beta linearly, holds it, and raises it back
(`hopdyn.simulate.annealing_schedule`), integrating the full 9-gene
dynamics.  Three runs, one column each:

(a) from terminal 6 down to beta = 4.2, below the fold where terminal 6
    ceases to exist: the state falls into the progenitor {5, 6} and, as
    beta rises, the favoured sibling 5 takes over;
(b) from terminal 1 down to beta = 4.2: the state becomes the progenitor
    {1, 2} but goes back to terminal 1, since the symmetry between patterns
    1 and 2 keeps its sign of p1 - p2 (only noise could flip it);
(c) from terminal 1 down to beta = 3: below every progenitor's fold the
    state reaches the root, which leads to terminal 5 on the way back up.

Rows: beta(t) with the betas where attractors appear or vanish (from the
continuation diagram), the softmax weights (patterns x t) and the expression
levels (genes x t).

Run from the repository root: ``python analyses/toy_annealing.py``.
It writes figures/toy_annealing.png and .svg.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hopdyn.continuation import build_diagram
from hopdyn.fixed_points import find_fixed_points
from hopdyn.models import ModernModel
from hopdyn.patterns import PatternSet, preprocess
from hopdyn.plotting.style import DOUBLE_COLUMN_WIDTH, apply_style, save_figure
from hopdyn.simulate import annealing_schedule, simulate
from hopdyn.symbolic import reduce

OUTPUT = Path(__file__).resolve().parents[1] / "figures" / "toy_annealing"

GENE_PAIRS = ((0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8))
LINEAGES = ((0, 1), (2, 3), (4, 5))
WEIGHTED_PATTERN = 5  # 1-based; w[4] in numpy
WEIGHT = 0.05

BETA_HIGH = 8.0
# Ramps of 30 time units are slow against the relaxation time (about 1),
# so the state follows its attractor until the attractor disappears; the
# hold is long enough for the state to settle near the low-beta attractor
# (near the folds the passage is slow).
T_DOWN, T_HOLD, T_UP = 30.0, 25.0, 30.0
T_MAX = T_DOWN + T_HOLD + T_UP + 10.0
N_POINTS = 701

EVENT_COLORS = ("#9467bd", "#1f77b4", "#17becf", "#8fd18f", "#d62728", "#8c564b")


@dataclass
class Run:
    title: str
    start: int  # 1-based pattern whose terminal state the run starts from
    beta_low: float


RUNS = (
    Run("(a) terminal 6, β down to 4.2", 6, 4.2),
    Run("(b) terminal 1, β down to 4.2", 1, 4.2),
    Run("(c) terminal 1, β down to 3", 1, 3.0),
)


# --------------------------------------------------------------------------
# Model and naming
# --------------------------------------------------------------------------


def toy_model() -> ModernModel:
    X = np.zeros((len(GENE_PAIRS), 9))
    for k, genes in enumerate(GENE_PAIRS):
        X[k, list(genes)] = 1.0
    genes = [f"g{i + 1}" for i in range(X.shape[1])]
    patterns = preprocess(PatternSet.from_array(X, features=genes), normalize="unit")
    w = np.zeros(len(GENE_PAIRS))
    w[WEIGHTED_PATTERN - 1] = WEIGHT
    return ModernModel(patterns, w=w)


def stage(p) -> str:
    """Terminal k (p_k > 1/2), progenitor (a pair holding the two largest
    weights and more than 1/2), root (every weight above half its equal
    share) or mixture."""
    order = np.argsort(-p, kind="stable")
    if p[order[0]] > 0.5:
        return f"terminal {order[0] + 1}"
    pair = sorted(order[:2])
    if tuple(pair) in LINEAGES and p[pair].sum() > 0.5:
        return f"progenitor {{{pair[0] + 1},{pair[1] + 1}}}"
    return "root" if np.all(p > 0.5 / len(p)) else "mixture"


# --------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------


def attractor_events(system) -> list:
    """(beta, text) where attractors appear or vanish, between the lowest
    schedule and BETA_HIGH; points closer than 0.01 in beta share a line."""
    low = min(run.beta_low for run in RUNS) - 0.5
    diagram = build_diagram(system, low, BETA_HIGH)
    points = sorted(
        (
            p
            for p in diagram.special_points
            if min(p.n_unstable_before, p.n_unstable_after) == 0
        ),
        key=lambda p: p.beta,
    )
    events = []
    for p in points:
        text = f"{p.kind}: {stage(system.coefficients(p.state, p.beta))}"
        if events and p.beta - events[-1][0] < 0.01:
            events[-1] = (events[-1][0], f"{events[-1][1]} / {text}")
        else:
            events.append((p.beta, text))
    return events


def terminal_state(model, system, k):
    """The full state of terminal k at BETA_HIGH."""
    found = find_fixed_points(system, BETA_HIGH)
    for point in found.fixed_points:
        weights = system.coefficients(point.state, BETA_HIGH)
        if point.stability == "attractor" and stage(weights) == f"terminal {k}":
            return model.lift(point.state, BETA_HIGH)
    raise SystemExit(f"terminal {k} is not an attractor at beta = {BETA_HIGH:g}")


def anneal(model, system, run):
    schedule = annealing_schedule(BETA_HIGH, run.beta_low, T_DOWN, T_UP, T_HOLD)
    x0 = terminal_state(model, system, run.start)
    trajectory = simulate(model, None, T_MAX, x0, schedule=schedule, n_points=N_POINTS)
    weights = model.weights(trajectory.states, trajectory.beta[:, None])
    return trajectory, weights


def stage_path(trajectory, weights) -> list:
    """(t, beta, stage) at the start and wherever the stage changes."""
    names = [stage(p) for p in weights]
    return [
        (trajectory.t[i], trajectory.beta[i], names[i])
        for i in range(len(names))
        if i == 0 or names[i] != names[i - 1]
    ]


def report(run, trajectory, weights):
    print(f"\n{run.title}: {trajectory.message}, {trajectory.nfev} evaluations")
    path = stage_path(trajectory, weights)
    for t, beta, name in path:
        print(f"  t = {t:6.2f}  beta = {beta:5.3f}  {name}")
    outcome = "returns" if path[-1][2] == path[0][2] else "moves"
    held = np.searchsorted(trajectory.t, T_DOWN + T_HOLD)
    print(
        f"  at the end of the hold (t = {trajectory.t[held]:g}): "
        f"{stage(weights[held])}, p = {np.round(weights[held], 3)}"
    )
    print(f"  {outcome}: {path[0][2]} -> {path[-1][2]}")


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


def draw(model, results, events) -> Figure:
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 5.4), layout="constrained")
        axes = fig.subplots(3, len(results), sharex=True, height_ratios=(0.8, 1.0, 1.3))
        for column, (run, (trajectory, weights)) in enumerate(results):
            top, middle, bottom = axes[:, column]
            handles = draw_beta(top, trajectory, events)
            weight_image = draw_weights(middle, trajectory, weights)
            expression_image = draw_expression(bottom, trajectory, model)
            top.set_title(run.title, loc="left", fontsize=7)
            bottom.set_xlabel("time")
        for ax in axes[:, 1:].ravel():
            ax.tick_params(labelleft=False)
        axes[0, 0].set_ylabel("β")
        axes[1, 0].set_ylabel("pattern")
        axes[2, 0].set_ylabel("gene")
        fig.colorbar(weight_image, ax=axes[1, :], label="softmax weight", pad=0.01)
        fig.colorbar(expression_image, ax=axes[2, :], label="expression", pad=0.01)
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=2,
            frameon=False,
            fontsize=6,
            title="attractors appear or vanish at (kind: state there)",
            title_fontsize=6,
        )
    return fig


def draw_beta(ax, trajectory, events) -> list:
    handles = []
    for (beta, text), color in zip(events, EVENT_COLORS, strict=False):
        handles.append(
            ax.axhline(
                beta,
                color=color,
                linewidth=0.8,
                linestyle=(0, (2, 1.5)),
                label=f"β = {beta:.3f}  {text}",
            )
        )
    ax.plot(trajectory.t, trajectory.beta, color="black", linewidth=1.0)
    ax.set_ylim(2.6, BETA_HIGH + 0.4)
    return handles


def draw_weights(ax, trajectory, weights):
    K = weights.shape[1]
    ax.set_yticks(range(1, K + 1))
    return ax.imshow(
        weights.T,
        cmap="magma_r",
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
        extent=(trajectory.t[0], trajectory.t[-1], K + 0.5, 0.5),
    )


def draw_expression(ax, trajectory, model):
    N = trajectory.states.shape[1]
    image = ax.imshow(
        trajectory.states.T,
        cmap="viridis",
        vmin=0.0,
        vmax=float(model.X.max()),
        aspect="auto",
        interpolation="nearest",
        extent=(trajectory.t[0], trajectory.t[-1], N + 0.5, 0.5),
    )
    ax.set_yticks(range(1, N + 1), model.patterns.features, fontsize=5.5)
    return image


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    start = time.perf_counter()
    model = toy_model()
    system = reduce(model)
    print(f"pattern {WEIGHTED_PATTERN} (1-based) weighted {WEIGHT:g}: w = {model.w}")

    events = attractor_events(system)
    print("attractors appear or vanish at (kind: the state there)")
    for beta, text in events:
        print(f"  beta = {beta:.4f}  {text}")

    results = []
    for run in RUNS:
        trajectory, weights = anneal(model, system, run)
        report(run, trajectory, weights)
        results.append((run, (trajectory, weights)))

    figure = draw(model, results, events)
    OUTPUT.parent.mkdir(exist_ok=True)
    save_figure(figure, OUTPUT.with_suffix(""))

    elapsed = time.perf_counter() - start
    print(f"\nwrote {OUTPUT.with_suffix('.png')} and .svg in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
