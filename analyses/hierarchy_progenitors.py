"""The hierarchical progenitor diagram of the enhancer-selection toy model.

K = 6 patterns over N = 9 genes: pattern k is 1 on the genes (1, 2), (2, 3),
(4, 5), (5, 6), (7, 8), (8, 9) (k = 1..6; genes 1-based) and 0 elsewhere,
each row scaled to length 1, in the modern model with readout Q = X.  So
every pattern overlaps its sibling by s = 1/2 and the others not at all: the
pairs {1, 2}, {3, 4}, {5, 6} are the lineages.  Going up in beta the state
moves from the root (all six patterns equally weighted) to a progenitor (one
pair) to a terminal state (one pattern).

Two diagrams over beta 1..14:

* w = 0: symmetric, with degenerate branch points (several eigenvalues cross
  zero at once);
* w5 = 0.05: pattern 5 (1-based; w[4] in numpy's 0-based indexing) is
  favoured by 0.05, which unfolds the branch points of its lineage.

The script prints the special points (kind, beta, kernel dimension), the
attractors (stable stretches of branches) and the beta intervals where
several coexist, and checks the w = 0 thresholds against the coarse-grained
model of THEORY.md: on the pair-symmetric subspace the network is the same
model with one pattern per pair (the pair mean, norm 3/4, orthogonal to the
others) and weights w + ln 2.

Should a branch change stability where the diagram records no special
point, the script says so and locates the change of stability itself (a
guard: with the current engine every such change carries a BP or LP).

Run from the repository root: ``python analyses/hierarchy_progenitors.py``.
It writes figures/hierarchy_progenitors.png and .svg.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.optimize import brentq, minimize_scalar

from hopdyn.continuation import build_diagram
from hopdyn.fixed_points import newton
from hopdyn.models import ModernModel
from hopdyn.patterns import PatternSet, preprocess
from hopdyn.plotting.style import (
    ATTRACTOR_KIND_COLORS,
    DOUBLE_COLUMN_WIDTH,
    apply_style,
    save_figure,
)
from hopdyn.symbolic import reduce

OUTPUT = Path(__file__).resolve().parents[1] / "figures" / "hierarchy_progenitors"

BETA_MIN, BETA_MAX = 1.0, 14.0
ZOOM = (3.3, 5.0)

# Genes (0-based) of each pattern; consecutive patterns form the pairs.
GENE_PAIRS = ((0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8))
LINEAGES = ((0, 1), (2, 3), (4, 5))
WEIGHTED_PATTERN = 5  # 1-based, as in the text
WEIGHT = 0.05

# Unit patterns of a pair share one of their two genes.
NORM, SIBLING_OVERLAP = 1.0, 0.5

# A stretch of an attractor counts as a stage of it (root, progenitor,
# terminal) when it lasts at least this long in beta; shorter ones are the
# crossover near a branch point.
MIN_STAGE = 0.3

# Halvings of a bracket where this script locates a change of stability
# that the diagram did not mark (see `stretch_ends`).
BISECTIONS = 40

# Two members of a lineage weigh the same to this precision at a located
# turn of a side branch, which is only bracketed to about 1e-10 in beta.
EQUAL_WEIGHTS = 1e-4


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def toy_patterns() -> PatternSet:
    X = np.zeros((len(GENE_PAIRS), 9))
    for k, genes in enumerate(GENE_PAIRS):
        X[k, list(genes)] = 1.0
    genes = [f"g{i + 1}" for i in range(X.shape[1])]
    return preprocess(PatternSet.from_array(X, features=genes), normalize="unit")


def weight_vectors() -> dict:
    """Panel title -> pattern weights w."""
    favoured = np.zeros(len(GENE_PAIRS))
    favoured[WEIGHTED_PATTERN - 1] = WEIGHT
    return {
        "w = 0": np.zeros(len(GENE_PAIRS)),
        f"w{WEIGHTED_PATTERN} = {WEIGHT:g}": favoured,
    }


# --------------------------------------------------------------------------
# Naming states by the hierarchy
# --------------------------------------------------------------------------


def stage(p) -> str:
    """Terminal (one pattern above 1/2), progenitor (the two largest weights
    a pair holding more than 1/2), root (every pattern above half its equal
    share), else the mixture of the patterns above that."""
    order = np.argsort(-p, kind="stable")
    if p[order[0]] > 0.5:
        return f"terminal {order[0] + 1}"
    pair = sorted(order[:2])
    if tuple(pair) in LINEAGES and p[pair].sum() > 0.5:
        return f"progenitor {{{pair[0] + 1},{pair[1] + 1}}}"
    taking_part = np.flatnonzero(p > 0.5 / len(p))
    if len(taking_part) == len(p):
        return "root"
    return "mixture {" + ",".join(str(k + 1) for k in taking_part) + "}"


def branch_weights(system, branch) -> np.ndarray:
    """Softmax weights at every point of a branch, shape (n, K)."""
    return system.coefficients(branch.states, branch.beta[:, None])


def stages_along(beta, weights) -> str:
    """The stages an attractor passes through, e.g. "root → progenitor"."""
    names = [stage(p) for p in weights]
    runs, start = [], 0
    for i in range(1, len(names) + 1):
        if i == len(names) or names[i] != names[start]:
            span = np.ptp(beta[start:i]) if i - start > 1 else 0.0
            runs.append((names[start], span))
            start = i
    kept = [name for name, span in runs if span >= MIN_STAGE]
    kept = [n for i, n in enumerate(kept) if i == 0 or n != kept[i - 1]]
    return " → ".join(kept) or names[len(names) // 2]


# --------------------------------------------------------------------------
# Attractors and where they coexist
# --------------------------------------------------------------------------


@dataclass
class Attractor:
    """A stable stretch of one branch (and its symmetric copies)."""

    branch: int
    low: float
    high: float
    name: str
    copies: int
    points: slice
    estimated: bool = False


def attractors(system, diagram) -> list:
    found = []
    for branch in diagram.branches:
        weights = branch_weights(system, branch)
        special = {p.index for p in diagram.special_points if p.branch == branch.id}
        for start, stop in stable_runs(branch.n_unstable == 0):
            low, high, estimated = stretch_ends(system, branch, special, start, stop)
            piece = slice(start, stop + 1)
            found.append(
                Attractor(
                    branch=branch.id,
                    low=low,
                    high=high,
                    name=stages_along(branch.beta[piece], weights[piece]),
                    copies=branch.multiplicity,
                    points=piece,
                    estimated=estimated,
                )
            )
    return found


def stable_runs(stable) -> list:
    """(start, stop) of every run of True, stop inclusive."""
    runs, start = [], None
    for i, flag in enumerate([*stable, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def stretch_ends(system, branch, special, start, stop):
    """(low, high, located here): the beta range of a stable run.

    A run reaches onto a special point next to it (an eigenvalue is zero
    there, and round-off may count it unstable).  Where stability changes
    and the diagram recorded no special point, the end is located here."""
    betas, located = list(branch.beta[start : stop + 1]), False
    for inside, outside in ((start, start - 1), (stop, stop + 1)):
        if not 0 <= outside < branch.n_points or inside in special:
            continue
        if outside in special:
            betas.append(branch.beta[outside])
            continue
        betas.append(stability_change(system, branch, inside, outside))
        located = True
    return float(min(betas)), float(max(betas)), located


def stability_change(system, branch, inside, outside) -> float:
    """Bisect in beta for the zero of the leading eigenvalue between a stable
    and an unstable point of a branch, correcting each guess onto the branch
    with Newton's method at fixed beta."""
    stable = (branch.beta[inside], branch.states[inside])
    unstable = (branch.beta[outside], branch.states[outside])
    for _ in range(BISECTIONS):
        beta = 0.5 * (stable[0] + unstable[0])
        guess = 0.5 * (stable[1] + unstable[1])
        (state,), (converged,) = newton(system, guess[None], beta)
        if not converged:
            break
        leading = np.linalg.eigvals(system.jac(state, beta)).real.max()
        if leading <= 0:
            stable = (beta, state)
        else:
            unstable = (beta, state)
    return 0.5 * (stable[0] + unstable[0])


def coexistence(found) -> list:
    """(low, high, attractors present) over the beta range, merged where the
    set does not change."""
    edges = _distinct(
        [BETA_MIN, BETA_MAX, *(a.low for a in found), *(a.high for a in found)]
    )
    intervals = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        middle = 0.5 * (low + high)
        present = tuple(a for a in found if a.low <= middle <= a.high)
        if intervals and intervals[-1][2] == present:
            intervals[-1] = (intervals[-1][0], high, present)
        else:
            intervals.append((low, high, present))
    return intervals


def _distinct(values, tol=1e-6) -> list:
    """Sorted values, dropping any within tol of the previous one: the same
    bifurcation located on two branches differs by round-off."""
    kept = []
    for value in sorted(values):
        if not kept or value - kept[-1] > tol:
            kept.append(value)
    return kept


def _with_copies(name, copies) -> str:
    count = copies.get(name, 1)
    return f"{name} (×{count})" if count > 1 else name


def describe(present) -> str:
    parts = [_with_copies(a.name, {a.name: a.copies}) for a in present]
    return "; ".join(parts) if parts else "none"


ESTIMATED_NOTE = (
    "[one end located by this script: the diagram recorded no special point "
    "where stability changes]"
)


# --------------------------------------------------------------------------
# Coarse-grained predictions (w = 0)
# --------------------------------------------------------------------------


def group_model_thresholds() -> dict:
    """Thresholds of the 3-lineage model, solved with scipy alone.

    A lineage's mean pattern has norm n_g = (n + s) / 2 = 3/4 and is
    orthogonal to the others; its weight is w + ln 2 for every lineage, so
    ln 2 drops out of the softmax.  On the line P = (u, v, v), v = (1-u)/2
    the fixed points satisfy ln(u / v) = beta n_g (u - v), i.e. beta(u)."""
    n_g, K_g = (NORM + SIBLING_OVERLAP) / 2.0, len(LINEAGES)
    gap = NORM - SIBLING_OVERLAP

    def beta_of(u):
        v = (1.0 - u) / 2.0
        return np.log(u / v) / (n_g * (u - v))

    fold = minimize_scalar(
        beta_of,
        bounds=(1 / 3 + 1e-6, 1 - 1e-9),
        method="bounded",
        options={"xatol": 1e-12},
    )

    # A lineage splits into its two members when beta (n - s) u_member = 1,
    # u_member being half the lineage's weight.
    def split(u):
        return beta_of(u) * gap * u / 2.0 - 1.0

    progenitor_u = brentq(split, fold.x, 1 - 1e-9, xtol=1e-14)

    def split_of_pair_mixture(u):
        return beta_of(u) * gap * (1.0 - u) / 4.0 - 1.0

    mixture_u = brentq(split_of_pair_mixture, 1e-6, 1 / 3 - 1e-6, xtol=1e-14)
    K = len(GENE_PAIRS)
    return {
        "root -> progenitors (BP, kernel K_g - 1 = 2): K_g / (n_g - s_g)": K_g / n_g,
        "progenitor born (LP): min over u of beta(u)": fold.fun,
        "progenitor -> terminals (BP, kernel 1): beta (n-s) u = 1": beta_of(
            progenitor_u
        ),
        "two-lineage mixture splits (BP, kernel 2): beta (n-s) u = 1": beta_of(
            mixture_u
        ),
        "root splits inside lineages (BP, kernel 3): beta (n-s) / K = 1": K / gap,
    }


def nearest_special(diagram, beta, kind):
    candidates = [p for p in diagram.special_points if p.kind == kind]
    return min(candidates, key=lambda p: abs(p.beta - beta), default=None)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def report(title, system, diagram, found, seconds):
    print(f"\n{title}: {diagram.message} ({seconds:.1f} s)")
    print(
        "  special points (kind, beta, kernel dimension, n_unstable before -> "
        "after, copies, state):"
    )
    for p in sorted(diagram.special_points, key=lambda p: p.beta):
        weights = system.coefficients(p.state, p.beta)
        note = f"  [{p.note}]" if p.note else ""
        print(
            f"    {p.kind:>12}  beta = {p.beta:9.6f}  kernel {p.kernel_dimension}"
            f"  {p.n_unstable_before} -> {p.n_unstable_after}  ×{p.multiplicity:<2d}"
            f"  {stage(weights):<18} p = {np.round(weights, 3)}{note}"
        )
    split_check(system, diagram)
    for p in diagram.special("undetermined"):
        partner = stability_change_through(diagram, p)
        if partner is not None:
            print(
                f"    undetermined at beta = {p.beta:.6f}: the turn of a pitchfork's "
                f"side branch at the branch point of branch {partner.id} "
                f"({partner.label}), which changes stability there with no BP "
                "recorded"
            )

    print("  attractors (stable stretches of branches):")
    for a in sorted(found, key=lambda a: a.low):
        copies = f" ×{a.copies}" if a.copies > 1 else ""
        flag = f"  {ESTIMATED_NOTE}" if a.estimated else ""
        print(f"    beta {a.low:8.5f} .. {a.high:8.5f}  {a.name}{copies}{flag}")

    print("  where attractors coexist:")
    for low, high, present in coexistence(found):
        count = sum(a.copies for a in present)
        flag = "  multistable" if count > 1 else ""
        print(
            f"    beta {low:8.5f} .. {high:8.5f}  {count:2d}: {describe(present)}{flag}"
        )


def split_check(system, diagram):
    """THEORY.md's splitting rule at the branch points (and the turns of
    side branches, which sit at branch points): beta (n - s) u for each
    lineage whose two members weigh the same, u being that weight."""
    points = [p for p in diagram.special_points if p.kind in ("BP", "undetermined")]
    for p in sorted(points, key=lambda p: p.beta):
        weights = system.coefficients(p.state, p.beta)
        values = [
            p.beta * (NORM - SIBLING_OVERLAP) * weights[a]
            for a, b in LINEAGES
            if abs(weights[a] - weights[b]) < EQUAL_WEIGHTS
        ]
        splitting = sum(abs(v - 1.0) < 1e-4 for v in values)
        if splitting:
            print(
                f"    {p.kind} at beta = {p.beta:.6f}: beta (n - s) u = 1 for "
                f"{splitting} lineage(s); kernel dimension {p.kernel_dimension}"
            )


def stability_change_through(diagram, point):
    """The branch whose stability changes, with no special point recorded,
    across a step that passes by the point's state.  Branches through the
    state itself are the point's own side branches, not its parent."""
    for branch in diagram.branches:
        marked = {p.index for p in diagram.special_points if p.branch == branch.id}
        for i in np.flatnonzero(np.diff(branch.n_unstable) != 0):
            low, high = sorted(branch.beta[i : i + 2])
            if {i, i + 1} & marked or not low < point.beta < high:
                continue
            ends = np.linalg.norm(branch.states[i : i + 2] - point.state, axis=1)
            chord = np.linalg.norm(branch.states[i + 1] - branch.states[i])
            if 1e-9 < ends.min() <= chord:
                return branch
    return None


def report_theory(diagram):
    print("\ncoarse-grained 3-lineage model against the w = 0 diagram:")
    kinds = ("BP", "LP", "BP", "BP", "BP")
    for (text, predicted), kind in zip(
        group_model_thresholds().items(), kinds, strict=True
    ):
        point = nearest_special(diagram, predicted, kind)
        found = f"{point.beta:.6f} ({kind}, kernel {point.kernel_dimension})"
        print(f"  {text}\n      predicted {predicted:.6f}   diagram {found}")


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


# One hue per lineage: (progenitor, first member, second member).
LINEAGE_COLORS = (
    ("#1f77b4", "#0e4470", "#7fb2dc"),
    ("#ff7f0e", "#a04a00", "#ffb570"),
    ("#2ca02c", "#15601a", "#8fd18f"),
)
ROOT_COLOR = ATTRACTOR_KIND_COLORS["uniform"]
SADDLE_COLOR = "#c4c4c4"
COEXISTENCE_SHADE = "0.94"
MARKERS = {"BP": "o", "LP": "s", "HB": "D", "undetermined": "X"}


def attractor_color(name) -> str:
    """Colour of the coldest stage: its lineage, or the root's."""
    last = name.split(" → ")[-1]
    if last == "root":
        return ROOT_COLOR
    pattern = int(last.split()[1].strip("{").split(",")[0]) - 1
    lineage, member = divmod(pattern, 2)
    shade = 1 + member if last.startswith("terminal") else 0
    return LINEAGE_COLORS[lineage][shade]


def draw(results) -> Figure:
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 6.2), layout="constrained")
        rows = fig.subfigures(len(results), 1)
        for row, (title, result) in zip(rows, results.items(), strict=True):
            draw_row(row, title, *result)
    return fig


def draw_row(fig, title, system, diagram, found):
    overview, zoom = fig.subplots(1, 2, width_ratios=(1.0, 1.0))
    palette = {a.name: attractor_color(a.name) for a in found}
    for ax in (overview, zoom):
        shade_coexistence(ax, found)
        for branch in diagram.branches:
            own = [a for a in found if a.branch == branch.id]
            weights = branch_weights(system, branch)
            draw_branch(ax, branch, weights, own, palette)
        draw_special(ax, system, diagram)
        mark_levels(ax)

    overview.set_xlim(BETA_MIN, BETA_MAX)
    zoom.set_xlim(*ZOOM)
    overview.axvspan(*ZOOM, fill=False, edgecolor="0.5", linewidth=0.6, zorder=1)
    overview.set_ylabel("largest softmax weight")
    for ax in (overview, zoom):
        ax.set_ylim(0.1, 1.03)
        ax.set_xlabel("inverse temperature β")
    overview.set_title(
        f"{title}: β {BETA_MIN:g}..{BETA_MAX:g}", loc="left", fontweight="bold"
    )
    zoom.set_title(f"{title}: zoom on β {ZOOM[0]:g}..{ZOOM[1]:g}", loc="left")
    fig.legend(
        handles=legend_handles(palette, diagram, found),
        loc="outside right upper",
        frameon=False,
        fontsize=6,
    )


def draw_branch(ax, branch, weights, own, palette):
    """Solid in the colour of each attractor stretch; dashed elsewhere, in
    the colour of the branch's longest stretch (grey if it has none)."""
    default = SADDLE_COLOR
    if own:
        default = palette[max(own, key=lambda a: a.high - a.low).name]
    colors = np.full(branch.n_points, default, dtype=object)
    stable = np.zeros(branch.n_points, dtype=bool)
    for a in own:
        colors[a.points], stable[a.points] = palette[a.name], True

    top = weights.max(axis=1)
    style = [(stable[i] and stable[i + 1], colors[i + 1]) for i in range(len(top) - 1)]
    start = 0
    for i in range(1, len(style) + 1):
        if i == len(style) or style[i] != style[start]:
            solid, color = style[start]
            ax.plot(
                branch.beta[start : i + 1],
                top[start : i + 1],
                color=color if solid else default,
                linestyle="-" if solid else "--",
                linewidth=1.5 if solid else 0.8,
                zorder=3 if solid else 2,
            )
            start = i


def draw_special(ax, system, diagram):
    for p in diagram.special_points:
        top = system.coefficients(p.state, p.beta).max()
        ax.plot(
            p.beta,
            top,
            MARKERS[p.kind],
            markersize=4,
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=0.8,
            zorder=5,
        )
        if p.kind == "BP" and p.kernel_dimension > 1:
            ax.annotate(
                f"k={p.kernel_dimension}",
                (p.beta, top),
                xytext=(3, -8),
                textcoords="offset points",
                fontsize=5.5,
                clip_on=True,
            )


def mark_levels(ax):
    """Reference weights of the root (1/6) and of a progenitor (1/2),
    labelled at the left end, where no branch is near them."""
    for level, text, va in ((1 / 6, "root 1/6", "top"), (0.5, "pair 1/2", "bottom")):
        ax.axhline(level, color="0.6", linewidth=0.5, linestyle=":", zorder=0)
        ax.text(
            0.01,
            level,
            text,
            transform=ax.get_yaxis_transform(),
            fontsize=5.5,
            va=va,
            color="0.4",
        )


def shade_coexistence(ax, found):
    """Grey where two or more different attractors (not only symmetric
    copies of one) coexist."""
    for low, high, present in coexistence(found):
        if len(present) > 1:
            ax.axvspan(low, high, color=COEXISTENCE_SHADE, linewidth=0, zorder=0)


def legend_handles(palette, diagram, found) -> list:
    copies = {a.name: a.copies for a in found}
    handles = [
        Line2D([], [], color=color, linewidth=1.5, label=_with_copies(name, copies))
        for name, color in palette.items()
    ]
    handles.append(
        Line2D(
            [], [], color=SADDLE_COLOR, linestyle="--", label="never stable (saddles)"
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            color="black",
            linestyle="--",
            linewidth=0.8,
            label="unstable stretch",
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            color=COEXISTENCE_SHADE,
            linewidth=6,
            label="distinct attractors coexist",
        )
    )
    kinds = dict.fromkeys(p.kind for p in diagram.special_points)
    for kind in kinds:
        handles.append(
            Line2D(
                [],
                [],
                marker=MARKERS[kind],
                linestyle="none",
                markerfacecolor="white",
                markeredgecolor="black",
                label=kind,
            )
        )
    return handles


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    start = time.perf_counter()
    patterns = toy_patterns()
    print(f"pattern {WEIGHTED_PATTERN} (1-based) is w[{WEIGHTED_PATTERN - 1}] in numpy")

    results = {}
    for title, w in weight_vectors().items():
        began = time.perf_counter()
        system = reduce(ModernModel(patterns, w=w))
        diagram = build_diagram(system, BETA_MIN, BETA_MAX)
        found = attractors(system, diagram)
        report(title, system, diagram, found, time.perf_counter() - began)
        results[title] = (system, diagram, found)

    report_theory(results["w = 0"][1])

    figure = draw(results)
    OUTPUT.parent.mkdir(exist_ok=True)
    save_figure(figure, OUTPUT.with_suffix(""))

    elapsed = time.perf_counter() - start
    print(f"\nwrote {OUTPUT.with_suffix('.png')} and .svg in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
