"""Bifurcation diagrams of the classical mean field with K = 3 and K = 5.

dm/dt = -m + E_s[s tanh(beta s.m)] over beta 0.5..4, continued by hopdyn.
Every symmetric n-mixture m = a (1, ..., 1, 0, ..., 0) branches off the
origin at beta = 1; the odd ones become stable later, at the temperatures
T_n = 1 / beta_n of Amit, Gutfreund and Sompolinsky (Phys. Rev. A 32, 1007
(1985)).  The script reads T_3 and T_5 off the diagrams' branch points and
prints them next to an independent computation: the amplitude a solved from
its scalar equation, and the beta where the largest eigenvalue of the
Jacobian at that state crosses zero, both with scipy's brentq.

Run from the repository root: ``python analyses/meanfield_diagram.py``.
It writes figures/meanfield_diagram.png and .svg.
"""

from __future__ import annotations

import itertools
import time
from math import comb
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.optimize import brentq

from hopdyn.continuation import build_diagram
from hopdyn.models import MeanFieldModel
from hopdyn.plotting.style import (
    ATTRACTOR_KIND_COLORS,
    DOUBLE_COLUMN_WIDTH,
    PATTERN_COLORS,
    apply_style,
    save_figure,
)
from hopdyn.symbolic import reduce

OUTPUT = Path(__file__).resolve().parents[1] / "figures" / "meanfield_diagram"

BETA_MIN, BETA_MAX = 0.5, 4.0
PATTERN_COUNTS = (3, 5)

# Components below this count as zero, and equal within it as equal, when a
# state is sorted into a family.
ZERO = 1e-6

# Just above beta = 1 the amplitude is of order sqrt(beta - 1): far enough
# from the origin for brentq to bracket the nonzero root.
BETA_LOW_BRACKET = 1.0 + 1e-3

# Diagrams with more branches than this get a zoom on the mixtures.
SIMPLE_DIAGRAM = 6
ZOOM_BETA, ZOOM_NORM = (2.0, 4.0), (0.68, 0.86)
ZOOM_PLACE = (0.52, 0.33, 0.46, 0.28)  # axes fraction: x, y, width, height

# Lighter than the kind colour "other", so that the symmetric branches
# stand out of the bundle of asymmetric ones.
ASYMMETRIC_COLOR = "#b5b5b5"

MARKERS = {"BP": "o", "LP": "s", "HB": "D", "undetermined": "X"}


# --------------------------------------------------------------------------
# Families of states
# --------------------------------------------------------------------------


def family(state) -> str:
    """ "origin", "retrieval", "n-mixture" (symmetric) or "asymmetric"."""
    size = np.abs(np.asarray(state))
    present = size[size > ZERO]
    if len(present) == 0:
        return "origin"
    if np.ptp(present) > ZERO * 1e3:
        return "asymmetric"
    return "retrieval" if len(present) == 1 else f"{len(present)}-mixture"


def family_color(name) -> str:
    if name in ("origin", "retrieval"):
        return ATTRACTOR_KIND_COLORS[name]
    if name == "asymmetric":
        return ASYMMETRIC_COLOR
    return PATTERN_COLORS[int(name.split("-")[0])]


def branch_family(branch) -> str:
    """The family at the coldest end of a branch (its most developed state)."""
    return family(branch.states[np.argmax(branch.beta)])


# --------------------------------------------------------------------------
# The diagrams and their thresholds
# --------------------------------------------------------------------------


def stabilising_points(diagram) -> dict:
    """beta at which each symmetric odd mixture becomes stable, by n.

    These are the branch points on a symmetric mixture's branch after which
    no direction is unstable any more."""
    found = {}
    for point in diagram.special(kind="BP"):
        name = family(point.state)
        if name.endswith("-mixture") and point.n_unstable_after == 0:
            found[int(name.split("-")[0])] = point
    return found


def born_at_origin(diagram) -> list:
    """Families of the branches that leave the origin at its branch point."""
    origin_points = [p for p in diagram.special("BP") if family(p.state) == "origin"]
    names = []
    for point in origin_points:
        names += [branch_family(diagram.branch(b)) for b in point.children]
    return names, origin_points


# --------------------------------------------------------------------------
# Independent check: scalar amplitude equation and the largest eigenvalue
# --------------------------------------------------------------------------


def amplitude(n, beta) -> float:
    """a > 0 with a = (1/n) E[Z tanh(beta a Z)], Z the sum of n random signs.

    Each overlap of the symmetric n-mixture is E[s_1 tanh(beta a Z)], which
    by symmetry is E[Z tanh(beta a Z)] / n; Z = n - 2j with probability
    C(n, j) / 2^n."""
    z = np.array([n - 2 * j for j in range(n + 1)], dtype=float)
    p = np.array([comb(n, j) for j in range(n + 1)]) / 2.0**n

    def excess(a):
        return a - np.sum(p * z * np.tanh(beta * a * z)) / n

    return brentq(excess, 1e-9, 1.0, xtol=1e-15)


def largest_eigenvalue(n, K, beta) -> float:
    """Largest eigenvalue of -I + beta E[s s^T sech^2(beta a Z)] at the
    symmetric n-mixture, averaging over all 2^K sign vectors s."""
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=K)))
    a = amplitude(n, beta)
    sech2 = 1.0 / np.cosh(beta * a * signs[:, :n].sum(axis=1)) ** 2
    jacobian = beta * (signs.T * sech2) @ signs / len(signs) - np.eye(K)
    return float(np.linalg.eigvalsh(jacobian)[-1])


def stability_threshold(n, K) -> float | None:
    """beta where the largest eigenvalue crosses zero; None if it keeps one
    sign over the range."""
    low, high = BETA_LOW_BRACKET, BETA_MAX
    if largest_eigenvalue(n, K, low) * largest_eigenvalue(n, K, high) > 0:
        return None
    return brentq(lambda b: largest_eigenvalue(n, K, b), low, high, xtol=1e-13)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def report(K, diagram, seconds):
    print(f"\nK = {K}: {diagram.message} ({seconds:.1f} s)")

    names, origin_points = born_at_origin(diagram)
    for point in origin_points:
        print(
            f"  BP at beta = {point.beta:.9f} on the origin, kernel dimension "
            f"{point.kernel_dimension}: branches born there: {', '.join(names)}"
        )

    found = stabilising_points(diagram)
    print("   n  beta_n (diagram)  beta_n (brentq)   T_n (diagram)  T_n (brentq)")
    for n in range(1, K + 1):
        check = stability_threshold(n, K)
        point = found.get(n)
        print(_threshold_row(n, K, point, check))


def _threshold_row(n, K, point, check) -> str:
    if point is None and check is None:
        stable = largest_eigenvalue(n, K, BETA_MAX) < 0
        sign = "stable" if stable else "never stable"
        return f"  {n:2d}  {'-':>16}  {'-':>15}   {sign} for beta in (1, {BETA_MAX:g}]"
    diagram_beta = point.beta if point is not None else float("nan")
    check_beta = check if check is not None else float("nan")
    return (
        f"  {n:2d}  {diagram_beta:16.9f}  {check_beta:15.9f}   "
        f"{1 / diagram_beta:13.6f}  {1 / check_beta:12.6f}"
    )


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


def draw(diagrams) -> Figure:
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 3.9), layout="constrained")
        axes = fig.subplots(1, len(diagrams), sharey=True)
        seen = {}
        for ax, (K, diagram) in zip(axes, diagrams.items(), strict=True):
            seen.update(draw_panel(ax, K, diagram))
        axes[0].set_ylabel("|m|")
        fig.legend(
            handles=legend_handles(seen),
            loc="outside lower center",
            ncols=5,
            frameon=False,
        )
    return fig


def draw_panel(ax, K, diagram) -> dict:
    """Branches by family, special points, thresholds; returns the
    families drawn with their multiplicities."""
    seen = draw_branches(ax, diagram)
    mark_thresholds(ax, diagram)
    add_temperature_axis(ax)
    if len(diagram.branches) > SIMPLE_DIAGRAM:
        add_zoom(ax, diagram)

    ax.set_xlim(BETA_MIN, BETA_MAX)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("inverse temperature β")
    # Above the temperature axis, which takes the usual place of a title.
    ax.set_title(f"mean field, K = {K}", loc="left", pad=12, fontweight="bold")
    return seen


def draw_branches(ax, diagram) -> dict:
    seen = {}
    for branch in diagram.branches:
        name = branch_family(branch)
        seen[name] = seen.get(name, 0) + branch.multiplicity
        draw_branch(ax, branch, family_color(name))

    for point in diagram.special_points:
        ax.plot(
            point.beta,
            np.linalg.norm(point.state),
            MARKERS[point.kind],
            markersize=4,
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=0.8,
            zorder=5,
        )
    return seen


def add_zoom(ax, diagram):
    """An inset on the bundle of mixtures, in the empty lower right."""
    inset = ax.inset_axes(ZOOM_PLACE)
    draw_branches(inset, diagram)
    inset.set_xlim(*ZOOM_BETA)
    inset.set_ylim(*ZOOM_NORM)
    inset.tick_params(labelsize=5.5, length=2, pad=1)
    for side in ("top", "right"):
        inset.spines[side].set_visible(True)
    ax.indicate_inset_zoom(inset, edgecolor="0.4", linewidth=0.6)


def draw_branch(ax, branch, color):
    """Solid where stable, dashed where not; a segment is solid only when
    both its ends are stable."""
    stable = branch.n_unstable == 0
    norm = np.linalg.norm(branch.states, axis=1)
    both = stable[:-1] & stable[1:]
    start = 0
    for i in range(1, len(both) + 1):
        if i == len(both) or both[i] != both[start]:
            ax.plot(
                branch.beta[start : i + 1],
                norm[start : i + 1],
                color=color,
                linestyle="-" if both[start] else "--",
                linewidth=1.4 if both[start] else 0.8,
            )
            start = i


def mark_thresholds(ax, diagram):
    """Dotted lines at beta = 1 and where odd mixtures become stable."""
    ax.axvline(1.0, color="0.5", linewidth=0.6, linestyle=":", zorder=0)
    ax.text(1.03, 1.05, "all mixtures\nborn, β = 1", va="top", fontsize=6)
    points = sorted(stabilising_points(diagram).items())
    for row, (n, point) in enumerate(points):
        color = family_color(f"{n}-mixture")
        ax.axvline(point.beta, color=color, linewidth=0.7, linestyle=":", zorder=0)
        # Staggered: the thresholds of K = 5 are too close for one row.
        ax.text(
            point.beta + 0.04,
            0.02 + 0.08 * row,
            f"$T_{n}$ = {1 / point.beta:.3f} ($β_{n}$ = {point.beta:.3f})",
            color=color,
            fontsize=6.5,
            va="bottom",
        )


def add_temperature_axis(ax):
    """T = 1 / beta along the top."""
    top = ax.secondary_xaxis("top", functions=(_inverse, _inverse))
    top.set_xticks([2.0, 1.0, 0.5, 0.4, 0.3])
    top.set_xlabel("temperature T = 1/β")


def _inverse(x):
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, 1.0 / np.maximum(x, 1e-12), np.inf)


def legend_handles(seen) -> list:
    order = ["origin", "retrieval"] + sorted(
        (n for n in seen if n.endswith("-mixture")), key=lambda n: int(n[0])
    )
    order += ["asymmetric"] if "asymmetric" in seen else []
    handles = [
        Line2D([], [], color=family_color(n), label=_legend_text(n)) for n in order
    ]
    handles += [
        Line2D([], [], color="black", label="stable"),
        Line2D([], [], color="black", linestyle="--", linewidth=0.8, label="unstable"),
    ]
    for kind in ("BP", "LP"):
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


def _legend_text(name) -> str:
    if name == "asymmetric":
        return "asymmetric mixture"
    if name.endswith("-mixture"):
        return f"symmetric {name}"
    return name


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    start = time.perf_counter()
    diagrams = {}
    for K in PATTERN_COUNTS:
        began = time.perf_counter()
        diagrams[K] = build_diagram(reduce(MeanFieldModel(K)), BETA_MIN, BETA_MAX)
        report(K, diagrams[K], time.perf_counter() - began)

    figure = draw(diagrams)
    OUTPUT.parent.mkdir(exist_ok=True)
    save_figure(figure, OUTPUT.with_suffix(""))

    elapsed = time.perf_counter() - start
    print(f"\nwrote {OUTPUT.with_suffix('.png')} and .svg in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
