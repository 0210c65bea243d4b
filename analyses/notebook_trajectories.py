"""The trajectory figures of the exploratory notebook, made with hopdyn.

K = 4 random +-1 patterns of N = 5000 features, beta = 10, integrated to
t = 4 in the full dynamics of the classical forms A, B, C and D and of the
modern (softmax) network on the same patterns scaled to unit length (the
panel the notebook left as a placeholder).  Each row shows the overlaps with
the four patterns and the speed |dx/dt| of the state that was integrated.

Two figures, from two initial states:

* figures/notebook_trajectories_random: visible units uniform in [0, 1)
  (seed 0);
* figures/notebook_trajectories_near_pattern: pattern 1 plus a random
  combination of all patterns with Gaussian coefficients of scale 0.2
  (seed 0).

Form C starts with its hidden layer at h = X v / sqrt(N) and form D at the
overlaps X v / N, so that every form starts from the same point (the
notebook started form C with h = X v / N).

Run from the repository root: ``python analyses/notebook_trajectories.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hopdyn.models import ClassicModel, ModernModel
from hopdyn.patterns import preprocess, random_patterns
from hopdyn.plotting.style import (
    DOUBLE_COLUMN_WIDTH,
    apply_style,
    pattern_color,
    save_figure,
)
from hopdyn.simulate import simulate

FIGURES = Path(__file__).resolve().parent.parent / "figures"

N, K, BETA, T_MAX = 5000, 4, 10.0, 4.0
SEED = 0
NEAR_PATTERN_SCALE = 0.2
N_POINTS = 161

ROW_TITLES = {
    "A": r"form A: $\dot x = -x + \tanh(\beta J x)$, dimension $N$",
    "B": r"form B: $\dot x = -x + J \tanh(\beta x)$, dimension $N$",
    "C": r"form C: two layers $(v, h)$, dimension $N + K$",
    "D": r"form D: $\dot h = -h + X \tanh(\beta X^\top h) / N$, dimension $K$",
    "modern": (
        r"modern: $\dot x = \hat X^\top \mathrm{softmax}(\beta \hat X x) - x$, "
        r"$\hat X = X / \sqrt{N}$"
    ),
}
SPEED_SYMBOL = {"C": "(v, h)", "D": "h"}


def models():
    """The four classical forms and the modern network, by row key."""
    patterns = random_patterns(N, K, seed=SEED)
    rows = {form: ClassicModel(patterns, form=form) for form in "ABCD"}
    rows["modern"] = ModernModel(preprocess(patterns, normalize="unit"))
    return rows


# --------------------------------------------------------------------------
# Initial states
# --------------------------------------------------------------------------


def random_visible():
    """Visible units uniform in [0, 1)."""
    return np.random.default_rng(SEED).uniform(0.0, 1.0, size=N)


def near_pattern_visible(X):
    """Pattern 1 plus sum_mu c_mu X_mu, with c_mu ~ Normal(0, 0.2^2)."""
    coefficients = np.random.default_rng(SEED).normal(0.0, NEAR_PATTERN_SCALE, K)
    return X[0] + coefficients @ X


def full_state(model, visible):
    """The full state of a model whose visible layer is ``visible``."""
    if model.form == "C":
        return np.concatenate([visible, model.X @ visible / np.sqrt(N)])
    if model.form == "D":
        return model.X @ visible / N
    return visible


def initial_states(rows, kind):
    """The initial full state of each row, for 'random' or 'near_pattern'."""
    states = {}
    for key, model in rows.items():
        if kind == "random":
            visible = random_visible()
        else:
            visible = near_pattern_visible(model.X)
        states[key] = full_state(model, visible)
    return states


# --------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------


def run_all(rows, starts):
    return {
        key: simulate(model, BETA, T_MAX, starts[key], n_points=N_POINTS)
        for key, model in rows.items()
    }


def hidden_overlaps(trajectory):
    """h / sqrt(N) of form C, on the scale of the visible overlaps."""
    return trajectory.states[:, N:] / np.sqrt(N)


def draw_row(axes, key, trajectory):
    overlap_ax, speed_ax = axes
    overlap_ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
    for mu in range(K):
        overlap_ax.plot(
            trajectory.t, trajectory.overlaps[:, mu], color=pattern_color(mu)
        )
    if key == "C":
        hidden = hidden_overlaps(trajectory)
        for mu in range(K):
            overlap_ax.plot(
                trajectory.t, hidden[:, mu], color=pattern_color(mu), linestyle="--"
            )
    overlap_ax.set_title(ROW_TITLES[key], loc="left")
    overlap_ax.set_ylabel(_overlap_label(key))

    speed_ax.plot(trajectory.t, trajectory.speed, color="0.15")
    speed_ax.set_yscale("log")
    # Plain labels at 1, 2 and 5 times the powers of ten.
    speed_ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    speed_ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    speed_ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    symbol = SPEED_SYMBOL.get(key, "x")
    speed_ax.set_ylabel(rf"$|\mathrm{{d}}{symbol}/\mathrm{{d}}t|$")
    if not trajectory.success:
        speed_ax.set_title(trajectory.message, loc="left", color="firebrick")


def _overlap_label(key):
    if key == "D":
        return r"$h_\mu$"
    if key == "modern":
        return r"$\hat X_\mu \cdot x$"
    return r"$X_\mu \cdot x / N$"


def legend_handles():
    handles = [
        Line2D([], [], color=pattern_color(mu), label=f"pattern {mu + 1}")
        for mu in range(K)
    ]
    handles.append(Line2D([], [], color="0.3", label="visible overlap"))
    handles.append(
        Line2D([], [], color="0.3", linestyle="--", label=r"form C: $h_\mu/\sqrt{N}$")
    )
    return handles


def trajectory_figure(rows, trajectories, title):
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 9.0), layout="constrained")
        axes = fig.subplots(len(rows), 2, sharex=True)
        # One overlap scale for every form, so that the rows compare.
        for ax in axes[1:, 0]:
            ax.sharey(axes[0, 0])
        for row_axes, key in zip(axes, rows, strict=True):
            draw_row(row_axes, key, trajectories[key])
        for ax in axes[-1]:
            ax.set_xlabel(r"$t$")
        axes[0, 1].set_title("speed of the integrated state", loc="left")
        axes[0, 0].set_xlim(0.0, T_MAX)
        fig.legend(
            handles=legend_handles(),
            loc="outside lower center",
            ncols=6,
            frameon=False,
        )
        fig.suptitle(title)
    return fig


def save(fig, stem):
    save_figure(fig, FIGURES / stem)


def main():
    FIGURES.mkdir(exist_ok=True)
    rows = models()
    header = rf"$N = {N}$, $K = {K}$ random patterns, $\beta = {BETA:g}$"
    cases = {
        "random": f"Trajectories from a random state in $[0, 1)^N$\n{header}",
        "near_pattern": (
            "Trajectories from pattern 1 plus a random mixture of all patterns "
            f"(scale {NEAR_PATTERN_SCALE})\n{header}"
        ),
    }
    for kind, title in cases.items():
        start = time.perf_counter()
        trajectories = run_all(rows, initial_states(rows, kind))
        save(
            trajectory_figure(rows, trajectories, title),
            f"notebook_trajectories_{kind}",
        )
        elapsed = time.perf_counter() - start
        print(f"wrote notebook_trajectories_{kind} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
