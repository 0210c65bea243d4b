"""The brute-force baseline: simulate from many initial states on a beta grid.

This is what a notebook does today.  At every beta of the grid, the same
random initial states are integrated together (one stacked `solve_ivp`
system) until every trajectory has stopped moving or the time budget is
spent; the converged end points are clustered into attractors.  Saddles are
never found this way, and a bifurcation shows only as a change in the
number of attractors between two grid values.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

N_BETA = 200
N_INITIAL = 200
T_CHUNK = 20.0
T_MAX = 200.0
CONVERGED = 1e-6  # |f| at an end point that counts as a fixed point
CLUSTER_TOL = 1e-3


def initial_states(problem, n_initial=N_INITIAL, seed=0):
    """Uniform random states in the cube [-1, 1]^d (fixed points lie in it)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n_initial, problem.dimension))


def beta_grid(problem, n_beta=N_BETA):
    """The grid, with the reference beta added so attractors can be counted."""
    grid = np.linspace(problem.beta_min, problem.beta_max, n_beta)
    return np.unique(np.append(grid, problem.beta_ref))


def settle(problem, beta, states):
    """Integrate all states at one beta; return end points and the time used."""
    shape = states.shape

    def rhs(_, y):
        return problem.fun(y.reshape(shape), beta).ravel()

    y, t = states.ravel(), 0.0
    while t < T_MAX:
        sol = solve_ivp(rhs, (t, t + T_CHUNK), y, rtol=1e-7, atol=1e-9)
        y, t = sol.y[:, -1], t + T_CHUNK
        speed = np.abs(problem.fun(y.reshape(shape), beta)).max(axis=1)
        if speed.max() < CONVERGED:
            break
    return y.reshape(shape), speed, t


def cluster(points, tol=CLUSTER_TOL):
    """Greedy clustering: one representative per group closer than tol."""
    centres = []
    for p in points:
        if not any(np.abs(p - c).max() < tol for c in centres):
            centres.append(p)
    return np.array(centres).reshape(-1, points.shape[-1])


def run(problem, n_beta=N_BETA, n_initial=N_INITIAL):
    """Sweep the grid; return attractors per beta and where their count changes.

    Returns
    -------
    dict
        ``grid``, ``n_attractors`` (per grid value), ``n_unconverged`` (end
        points still moving at T_MAX), ``attractors_at_ref`` (states at
        ``problem.beta_ref``), ``events`` (midpoints between grid values where
        the number of attractors changes) and ``integrated`` (trajectories).
    """
    states = initial_states(problem, n_initial)
    grid = beta_grid(problem, n_beta)
    counts, unconverged, at_ref = [], [], None
    for beta in grid:
        ends, speed, _ = settle(problem, beta, states)
        attractors = cluster(ends[speed < CONVERGED])
        counts.append(len(attractors))
        unconverged.append(int(np.sum(speed >= CONVERGED)))
        if beta == problem.beta_ref:
            at_ref = attractors

    counts = np.array(counts)
    jumps = np.flatnonzero(np.diff(counts) != 0)
    events = [
        {
            "beta": float((grid[i] + grid[i + 1]) / 2),
            "resolution": float(grid[i + 1] - grid[i]),
            "n_before": int(counts[i]),
            "n_after": int(counts[i + 1]),
        }
        for i in jumps
    ]
    return {
        "grid": grid,
        "n_attractors": counts,
        "n_unconverged": np.array(unconverged),
        "attractors_at_ref": at_ref,
        "events": events,
        "integrated": len(grid) * n_initial,
    }
