"""Figure of one trajectory: overlaps and speed against time.

The left panel shows the overlap m_mu(t) with each pattern, the right panel
the speed |dx/dt| on a log scale, where plateaus reveal the saddles that a
trajectory passes.  When beta changes in time (an annealing schedule) a thin
panel under the overlaps shows beta(t); production pulses are shaded.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hopdyn.plotting.style import DOUBLE_COLUMN_WIDTH, apply_style, pattern_color

__all__ = ["plot_trajectory"]

# Above this many patterns the legend would cover the figure; colours repeat.
MAX_LEGEND_ENTRIES = 10

_PULSE_SHADE = {"color": "0.88", "linewidth": 0, "zorder": 0}


def plot_trajectory(trajectory, path=None, title=None) -> Figure:
    """Draw overlaps and speed of a trajectory side by side.

    Parameters
    ----------
    trajectory : Trajectory
        A result of `hopdyn.simulate.simulate`.
    path : str or path-like, optional
        Save the figure there; the format follows the extension (PNG, SVG,
        PDF).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot, so it needs no backend and is not registered
        with pyplot's figure manager.

    Notes
    -----
    Pattern mu is drawn in ``PATTERN_COLORS[mu % 10]``; with more than ten
    patterns the colours repeat and the legend is left out.  Saved times at
    which the speed is exactly zero cannot be shown on the log scale and are
    skipped.

    Examples
    --------
    >>> from hopdyn.models import MeanFieldModel
    >>> from hopdyn.simulate import simulate
    >>> run = simulate(MeanFieldModel(2), 2.0, 5.0, [0.3, 0.1])
    >>> len(plot_trajectory(run).axes)
    2
    """
    with apply_style():
        fig = Figure(figsize=(DOUBLE_COLUMN_WIDTH, 2.8), layout="constrained")
        overlap_ax, speed_ax, beta_ax = _panels(fig, _beta_varies(trajectory))

        _draw_overlaps(overlap_ax, trajectory)
        _draw_speed(speed_ax, trajectory)
        if beta_ax is not None:
            _draw_beta(beta_ax, trajectory)
            overlap_ax.set_xlabel("")
        if len(trajectory.pattern_names) <= MAX_LEGEND_ENTRIES:
            _legend_outside(fig, overlap_ax)

        _fit_time_axis(fig, trajectory.t)
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path)

    return fig


def _beta_varies(trajectory) -> bool:
    beta = np.asarray(trajectory.beta, dtype=float)
    return beta.size > 1 and np.ptp(beta) > 1e-12 * np.max(np.abs(beta))


def _panels(fig, with_beta):
    """Overlap, speed and (optional) beta axes; beta sits under overlaps."""
    if not with_beta:
        overlap_ax, speed_ax = fig.subplots(1, 2)
        return overlap_ax, speed_ax, None

    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1))
    overlap_ax = fig.add_subplot(grid[0, 0])
    beta_ax = fig.add_subplot(grid[1, 0], sharex=overlap_ax)
    speed_ax = fig.add_subplot(grid[:, 1])
    overlap_ax.tick_params(labelbottom=False)
    return overlap_ax, speed_ax, beta_ax


def _draw_overlaps(ax, trajectory):
    ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
    _shade_pulses(ax, trajectory.pulses, label="pulse")

    for mu, name in enumerate(trajectory.pattern_names):
        ax.plot(
            trajectory.t,
            trajectory.overlaps[:, mu],
            color=pattern_color(mu),
            label=str(name),
        )

    ax.set_xlabel(r"$t$")
    ax.set_ylabel(r"overlap $m_\mu(t)$")


def _legend_outside(fig, ax):
    """One column to the right of both panels: long names never hide data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False)


def _draw_speed(ax, trajectory):
    _shade_pulses(ax, trajectory.pulses)

    speed = np.asarray(trajectory.speed, dtype=float)
    shown = speed > 0
    ax.plot(trajectory.t[shown], speed[shown], color="0.15")
    if shown.any():
        ax.set_yscale("log")

    ax.set_xlabel(r"$t$")
    symbol = "m" if trajectory.reduced else "x"
    ax.set_ylabel(rf"speed $|\mathrm{{d}}{symbol}/\mathrm{{d}}t|$")
    ax.set_title(_speed_title(trajectory), loc="left")


def _speed_title(trajectory) -> str:
    """Constant beta and the outcome, when worth stating."""
    parts = []
    if not _beta_varies(trajectory) and len(trajectory.beta):
        parts.append(rf"$\beta = {trajectory.beta[0]:g}$")
    parts.append("reduced dynamics" if trajectory.reduced else "full dynamics")
    if not trajectory.success:
        parts.append("integration failed")
    return ", ".join(parts)


def _draw_beta(ax, trajectory):
    _shade_pulses(ax, trajectory.pulses)
    ax.plot(trajectory.t, trajectory.beta, color="0.15")
    ax.set_xlabel(r"$t$")
    ax.set_ylabel(r"$\beta(t)$")


def _fit_time_axis(fig, t):
    """Time axes span the saved times, even when a pulse reaches past them."""
    if len(t) < 2:
        return
    for ax in fig.axes:
        ax.set_xlim(t[0], t[-1])


def _shade_pulses(ax, pulses, label=None):
    for number, pulse in enumerate(pulses):
        ax.axvspan(
            pulse.t_on,
            pulse.t_off,
            label=label if number == 0 else None,
            **_PULSE_SHADE,
        )
