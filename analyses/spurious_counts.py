"""How many spurious attractors the classical mean field has, against beta.

The mean field of K = 4 random +-1 patterns over beta 0.8..4: at each beta of
a grid, every fixed point is found and the attractors are counted by family
(retrieval states, n-mixtures, others) and followed to the next beta
(`hopdyn.landscape.landscape_sweep`).  Where a family appears or vanishes
between two grid points, a finer sweep inside that bracket narrows it down.

Writes figures/spurious_counts.png and .svg (counts against beta) and
figures/spurious_counts.csv (one row per event: family, whether it is
spurious, appears or vanishes, the refined beta bracket, how many attractors,
how it vanishes).

Run from the repository root: ``python analyses/spurious_counts.py``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from hopdyn.landscape import landscape_sweep
from hopdyn.models import MeanFieldModel
from hopdyn.plotting.landscape import plot_catalogue_counts
from hopdyn.plotting.style import save_figure
from hopdyn.symbolic import reduce

OUTPUT = Path(__file__).resolve().parents[1] / "figures" / "spurious_counts"

K = 4
# 50 points: the grid steps over beta = 1 rather than landing on it.  At
# exactly beta = 1 the origin is a degenerate fixed point (a K-fold zero
# eigenvalue), and the fixed-point finder then returns tens of thousands of
# spurious near-zero "roots" (reported as a hopdyn bug).
BETAS = np.linspace(0.8, 4.0, 50)
REFINE_POINTS = 11

# Not spurious: the retrieval states, and the origin (the paramagnetic state).
NOT_SPURIOUS = ("retrieval", "other")


def sweep_counts(system):
    began = time.perf_counter()
    sweep = landscape_sweep(system, BETAS)
    seconds = time.perf_counter() - began
    print(
        f"K = {K}, {len(BETAS)} betas in {BETAS[0]:g}..{BETAS[-1]:g}: {sweep.message}"
    )
    print(f"  status {sweep.status}, {seconds:.1f} s")
    return sweep


def refine(system, row):
    """The event's bracket narrowed by a sweep over the bracket itself."""
    family, event, before, after = row[:4]
    inner = landscape_sweep(system, np.linspace(before, after, REFINE_POINTS))
    _, rows = inner.event_rows()
    for candidate in rows:
        if candidate[0] == family and candidate[1] == event:
            return candidate[2], candidate[3]
    return before, after


def event_table(system, sweep):
    """Rows of the CSV: the sweep's events with refined brackets."""
    _, rows = sweep.event_rows()
    table = []
    for family, event, before, after, count, how in rows:
        low, high = refine(system, (family, event, before, after))
        spurious = family not in NOT_SPURIOUS
        table.append([family, spurious, event, low, high, count, how])
    return table


HEADER = ["family", "spurious", "event", "beta_before", "beta_after", "count", "how"]


def report(table, sweep):
    print("\n  family      spurious  event     beta bracket          count  how")
    for family, spurious, event, low, high, count, how in table:
        print(
            f"  {family:<11} {'yes' if spurious else 'no':<9} {event:<9} "
            f"{low:8.5f} .. {high:8.5f}  {count:5d}  {how}"
        )
    last = {family: int(c[-1]) for family, c in sweep.family_counts.items()}
    print(f"  at beta = {BETAS[-1]:g}: {last}")


def write_table(table):
    with open(OUTPUT.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for family, spurious, event, low, high, count, how in table:
            writer.writerow(
                [family, spurious, event, f"{low:.6f}", f"{high:.6f}", count, how]
            )


def mark_events(ax, table, sweep):
    """A dotted line and the refined beta at each event, the labels
    staggered in height; the legend says which states "other" and
    "mixture" are here."""
    betas = sorted({round(0.5 * (row[3] + row[4]), 3) for row in table})
    for i, beta in enumerate(betas):
        ax.axvline(beta, color="0.5", linewidth=0.6, linestyle=":", zorder=0)
        # Left of the line, clear of the coarse grid's step just after it,
        # unless the axis starts too close.
        left = beta - BETAS[0] > 0.6
        ax.annotate(
            f"β ≈ {beta:.3f}",
            (beta, 0.45 + 0.25 * i),
            xycoords=("data", "axes fraction"),
            xytext=(-3 if left else 3, 0),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize=6,
            color="0.3",
        )
    mixtures = [f for f in sweep.family_counts if f.endswith("-mixture")]
    names = {"other": "other (origin)"}
    if len(mixtures) == 1:
        names["mixture"] = f"mixture ({mixtures[0]}s)"
    legend = ax.get_legend()
    for text in legend.get_texts():
        text.set_text(names.get(text.get_text(), text.get_text()))
    # The longer names would reach the step of the mixtures.
    legend.set_loc("center right")


def main():
    start = time.perf_counter()
    system = reduce(MeanFieldModel(K))
    sweep = sweep_counts(system)
    table = event_table(system, sweep)
    report(table, sweep)

    OUTPUT.parent.mkdir(exist_ok=True)
    write_table(table)
    title = f"mean field, K = {K}: attractors by kind"
    figure = plot_catalogue_counts(sweep, title=title)
    mark_events(figure.axes[0], table, sweep)
    save_figure(figure, OUTPUT.with_suffix(""))

    elapsed = time.perf_counter() - start
    print(f"\nwrote {OUTPUT.with_suffix('.png')}, .svg and .csv in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
