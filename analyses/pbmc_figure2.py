"""Figure 2 of the enhancer-selection paper, rebuilt on the bundled PBMC data.

The modern (softmax) network of examples/pbmc_modern.toml stores the ten
PBMC cell-type profiles, centred and scaled to unit length. The figure shows

(a) the patterns: cell types against their most variable genes;
(b) trajectories from noised copies of every cell type, projected on the
    first two principal components of the patterns; each returns to its type;
(c) a reprogramming run: a production pulse on the genes that hopdyn's
    search chose moves a monocyte into the dendritic-cell attractor;
(d) the softmax weights of that run over time;
(e) the expression of the pulsed genes and of marker genes over time.

Run from the repository root:

    python analyses/pbmc_figure2.py

It prints what it checked and writes figures/pbmc_figure2.png and .svg.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure

from hopdyn.fixed_points import find_fixed_points
from hopdyn.io import load_spec
from hopdyn.plotting.style import (
    DOUBLE_COLUMN_WIDTH,
    PATTERN_COLORS,
    apply_style,
    save_figure,
)
from hopdyn.reprogramming import find_reprogramming_pulse
from hopdyn.simulate import noised_pattern, simulate
from hopdyn.symbolic import reduce

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "pbmc_modern.toml"
OUTPUT = ROOT / "figures" / "pbmc_figure2"

# All ten cell types are attractors from beta = 8 up; at 12 every attractor
# puts more than 95% of its softmax weight on its own type.
BETA = 12.0

# Monocytes differentiate into dendritic cells in vivo, so this is the
# reprogramming a biologist would try first.
SOURCE = "CD14+ Monocyte"
TARGET = "Dendritic"

# Noise of 0.5 pattern rms moves a state by only ~0.03 in the PC plane;
# at 4 the paths are visible and every copy still returns (at 6, some don't).
NOISE_SCALE = 4.0
COPIES = 3
T_RETURN = 15.0

HEATMAP_GENES = 60
MARKERS_PER_TYPE = 4
RUN_POINTS = 401

EXPRESSION_MAP = "RdBu_r"
WEIGHT_MAP = "magma_r"


@dataclass
class Results:
    """Everything the figure draws, computed before any drawing."""

    model: object
    returns: list
    reprogramming: object
    run: object


# --------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------


def compute() -> Results:
    model = load_spec(SPEC).build_model()

    fixed_points = find_fixed_points(reduce(model), BETA)
    attractors = _retrieval_attractors(fixed_points)
    print(f"beta = {BETA:g}: {fixed_points.message}")
    print(f"  cell types that are attractors: {len(attractors)} of {model.K}")
    if len(attractors) < model.K:
        raise SystemExit("panel (b) needs every cell type to be an attractor")

    returns = _noised_runs(model, fixed_points)

    result = find_reprogramming_pulse(
        model, BETA, SOURCE, TARGET, fixed_points=fixed_points
    )
    _report_reprogramming(result)
    if not result.success:
        raise SystemExit(f"no reprogramming run to draw: {result.message}")

    run = simulate(
        model, BETA, result.t_max, result.x0, pulse=result.pulse, n_points=RUN_POINTS
    )
    return Results(model, returns, result, run)


def _retrieval_attractors(fixed_points) -> set:
    """Names of the cell types whose retrieval state is an attractor."""
    return {
        point.label
        for point in fixed_points.fixed_points
        if point.stability == "attractor" and point.kind == "retrieval"
    }


def _noised_runs(model, fixed_points) -> list:
    """Full runs from noised copies of each type, with whether they return."""
    states = np.array([p.state for p in fixed_points.fixed_points])
    labels = [p.label for p in fixed_points.fixed_points]

    runs = []
    for k, name in enumerate(model.pattern_names):
        for copy in range(COPIES):
            # One seed per copy: equal seeds would give every type the same noise.
            seed = COPIES * k + copy
            x0 = noised_pattern(model, k, NOISE_SCALE, seed=seed)
            run = simulate(model, BETA, T_RETURN, x0, n_points=151)
            nearest = np.argmin(np.linalg.norm(states - run.overlaps[-1], axis=1))
            runs.append((k, run, labels[nearest] == name))

    returned = sum(ok for _, _, ok in runs)
    print(
        f"noised copies (noise {NOISE_SCALE:g} x pattern rms) that return to "
        f"their type: {returned} of {len(runs)}"
    )
    return runs


def _report_reprogramming(result):
    print(f"reprogramming {result.source} -> {result.target}: {result.message}")
    if result.genes:
        low, high = result.strength_bracket
        print(
            f"  pulse on {', '.join(result.genes)}: strength {high:.3f} "
            f"(fails at {low:.3f}), t = {result.t_on:g} to {result.t_off:g}"
        )
    print(
        f"  {result.n_trials} reduced trials, {result.n_full} full run; "
        f"ends in {result.final_label!r}"
    )


# --------------------------------------------------------------------------
# Gene choices
# --------------------------------------------------------------------------


def heatmap_genes(patterns) -> np.ndarray:
    """The most variable genes, grouped by the type expressing them most."""
    X = patterns.values
    variable = np.argsort(-X.var(axis=0), kind="stable")[:HEATMAP_GENES]

    owner = np.argmax(X[:, variable], axis=0)
    peak = X[owner, variable]
    return variable[np.lexsort((-peak, owner))]


def run_genes(patterns, result) -> list:
    """The pulsed genes, then the genes that most separate target and source."""
    genes = list(result.genes)
    pair = (result.target, result.source)
    for first, second in (pair, pair[::-1]):
        ranked = [g for g in _favoured(patterns, first, second) if g not in genes]
        genes += ranked[:MARKERS_PER_TYPE]
    return genes


def _favoured(patterns, first, second) -> list:
    """Genes by how much more cell type `first` expresses them than `second`."""
    X, names = patterns.values, patterns.names
    difference = X[names.index(first)] - X[names.index(second)]
    order = np.argsort(-difference, kind="stable")
    return [patterns.features[g] for g in order]


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


def draw(results: Results) -> Figure:
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 7.0), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.9])
        left, right = bottom.subfigures(1, 2, width_ratios=[1.0, 1.15])

        draw_patterns(top, results.model.patterns)
        draw_returns(left, results)
        draw_run(right, results)
    return fig


def _label(ax, letter):
    ax.set_title(f"({letter})", loc="left", fontweight="bold")


def _type_strip(ax, n_types):
    """A column of the cell types' colours, standing in for a legend."""
    strip = ListedColormap(PATTERN_COLORS[:n_types])
    ax.imshow(np.arange(n_types)[:, None], cmap=strip, aspect="auto")
    ax.set_xticks([])


def draw_patterns(fig, patterns):
    genes = heatmap_genes(patterns)
    values = patterns.values[:, genes]
    limit = np.abs(values).max()

    strip_ax, ax = fig.subplots(1, 2, width_ratios=[0.012, 1.0])
    _type_strip(strip_ax, patterns.K)
    strip_ax.set_yticks(range(patterns.K), patterns.names)
    _label(strip_ax, "a")

    image = ax.imshow(
        values, cmap=EXPRESSION_MAP, vmin=-limit, vmax=limit, aspect="auto"
    )
    ax.set_yticks([])
    ax.set_xticks(range(len(genes)), [patterns.features[g] for g in genes])
    ax.tick_params(axis="x", labelrotation=90, labelsize=5, length=1.5, pad=1)
    ax.set_title(
        f"patterns: the {len(genes)} most variable of {patterns.N} genes "
        "(centred, unit length)"
    )
    fig.colorbar(image, ax=ax, label="expression", fraction=0.03, pad=0.01)


def draw_returns(fig, results):
    X = results.model.X
    mean = X.mean(axis=0)
    _, singular, axes = np.linalg.svd(X - mean, full_matrices=False)
    explained = singular**2 / np.sum(singular**2)

    ax = fig.subplots()
    for k, run, _ in results.returns:
        path = (run.states - mean) @ axes[:2].T
        color = PATTERN_COLORS[k]
        ax.plot(*path.T, color=color, linewidth=0.8, alpha=0.8)
        ax.plot(*path[0], "o", color=color, markersize=2, alpha=0.8)

    corners = (X - mean) @ axes[:2].T
    for k, name in enumerate(results.model.pattern_names):
        ax.plot(
            *corners[k],
            "*",
            color=PATTERN_COLORS[k],
            markeredgecolor="k",
            markeredgewidth=0.5,
            markersize=9,
            zorder=3,
            label=name,
        )

    returned = sum(ok for _, _, ok in results.returns)
    ax.set_title(
        f"noise {NOISE_SCALE:g}\u00d7 rms: {returned} of {len(results.returns)} return",
        loc="right",
    )
    _label(ax, "b")
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    ax.set_aspect("equal")
    ax.set_anchor("N")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.26),
        ncols=2,
        frameon=False,
        fontsize=6,
        handletextpad=0.1,
        columnspacing=0.6,
        markerscale=0.8,
    )


def draw_run(fig, results):
    result, run = results.reprogramming, results.run
    weights = results.model.weights(run.states, BETA)
    axes = fig.subplots(3, 1, sharex=True, height_ratios=[1.0, 1.1, 1.2])

    names = results.model.pattern_names
    draw_weights(axes[0], run.t, weights, names, result)
    draw_weight_map(fig, axes[1], run.t, weights, names)
    draw_expression(fig, axes[2], run, results.model.patterns, result)
    for ax in axes:
        ax.axvline(result.t_on, color="0.3", linewidth=0.6, linestyle=":")
        ax.axvline(result.t_off, color="0.3", linewidth=0.6, linestyle=":")
    axes[2].set_xlabel("time")


def draw_weights(ax, t, weights, names, result):
    ax.axvspan(result.t_on, result.t_off, color="0.9", linewidth=0, zorder=0)
    for k, name in enumerate(names):
        emphasised = name in (result.source, result.target)
        ax.plot(
            t, weights[:, k], color=PATTERN_COLORS[k], lw=1.4 if emphasised else 0.7
        )

    # After the switch the right half is empty: room for every label there.
    source, target = names.index(result.source), names.index(result.target)
    right = {"x": 0.98, "transform": ax.transAxes, "ha": "right", "fontsize": 6}
    ax.text(y=0.9, s=result.target, color=PATTERN_COLORS[target], va="top", **right)
    ax.text(y=0.1, s=result.source, color=PATTERN_COLORS[source], va="bottom", **right)
    pulsed = ", ".join(result.genes)
    pulse = f"pulse (shaded):\n{pulsed}\nstrength {result.strength:.2f}"
    ax.text(y=0.5, s=pulse, color="0.3", va="center", **right)

    ax.set_ylabel("softmax weight")
    ax.set_ylim(-0.02, 1.02)
    _label(ax, "c")


def draw_weight_map(fig, ax, t, weights, names):
    extent = (t[0], t[-1], len(names) - 0.5, -0.5)
    image = ax.imshow(
        weights.T,
        cmap=WEIGHT_MAP,
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        extent=extent,
        interpolation="nearest",
    )
    ax.set_yticks(range(len(names)), names)
    ax.tick_params(axis="y", labelsize=6)
    fig.colorbar(image, ax=ax, label="weight", fraction=0.05, pad=0.02)
    _label(ax, "d")


def draw_expression(fig, ax, run, patterns, result):
    genes = run_genes(patterns, result)
    index = [patterns.features.index(g) for g in genes]
    levels = run.states[:, index].T
    limit = np.abs(levels).max()

    extent = (run.t[0], run.t[-1], len(genes) - 0.5, -0.5)
    image = ax.imshow(
        levels,
        cmap=EXPRESSION_MAP,
        norm=TwoSlopeNorm(0.0, -limit, limit),
        aspect="auto",
        extent=extent,
        interpolation="nearest",
    )
    ax.set_yticks(range(len(genes)), genes)
    ax.tick_params(axis="y", labelsize=6)
    _mark_genes(ax, patterns, result)
    fig.colorbar(image, ax=ax, label="expression", fraction=0.05, pad=0.02)
    _label(ax, "e")


def _mark_genes(ax, patterns, result):
    """Bold for the pulsed genes; each gene in the colour of the cell type of
    the pair that expresses it more."""
    X, names = patterns.values, patterns.names
    source, target = names.index(result.source), names.index(result.target)
    for label in ax.get_yticklabels():
        g = patterns.features.index(label.get_text())
        higher = target if X[target, g] > X[source, g] else source
        label.set_color(PATTERN_COLORS[higher])
        if label.get_text() in result.genes:
            label.set_fontweight("bold")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    start = time.perf_counter()
    results = compute()

    figure = draw(results)
    OUTPUT.parent.mkdir(exist_ok=True)
    save_figure(figure, OUTPUT.with_suffix(""))

    elapsed = time.perf_counter() - start
    print(f"wrote {OUTPUT.with_suffix('.png')} and .svg in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
