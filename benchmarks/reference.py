"""An independent count of the fixed points at the reference beta (not timed).

Newton's method from many random states finds fixed points of every
stability; closing the set under the signed permutations of the coordinates
that commute with the field (found by testing each one on random states)
fills in the copies that no start happened to reach.  The result is the
yardstick for the "fixed points at beta_ref" columns.
"""

from __future__ import annotations

import itertools

import numpy as np
from findings import classify, merge, polish

N_STARTS = 20_000


def symmetries(problem, beta, seed=0):
    """Signed permutations g with f(g u) = g f(u), as (permutation, signs)."""
    d = problem.dimension
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(8, d))
    f = problem.fun(u, beta)
    found = []
    for perm in itertools.permutations(range(d)):
        for signs in itertools.product((1.0, -1.0), repeat=d):
            g = (np.array(perm), np.array(signs))
            if np.allclose(problem.fun(u[:, g[0]] * g[1], beta), f[:, g[0]] * g[1]):
                found.append(g)
    return found


def newton_starts(problem, beta, n_starts=N_STARTS, seed=1, iterations=60):
    """Fixed points reached by plain Newton from random states."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, (n_starts, problem.dimension))
    for _ in range(iterations):
        J = problem.jac(x, beta)
        regular = np.abs(np.linalg.det(J)) > 1e-14
        step = np.linalg.solve(J[regular], problem.fun(x[regular], beta)[..., None])
        x[regular] -= step[..., 0]
        np.clip(x, -1.5, 1.5, out=x)
    residual = np.abs(problem.fun(x, beta)).max(axis=-1)
    return x[residual < 1e-10]


def _key(state):
    return tuple(np.round(state, 7) + 0.0)  # + 0.0 turns -0.0 into 0.0


def close_under(group, seeds):
    """All images of the seeds; each orbit is generated once."""
    known, states = set(), []
    for seed in seeds:
        if _key(seed) in known:
            continue
        for perm, signs in group:
            image = seed[perm] * signs
            if _key(image) not in known:
                known.add(_key(image))
                states.append(image)
    return np.array(states)


def fixed_points(problem):
    """Counts of fixed points at problem.beta_ref, by stability."""
    beta = problem.beta_ref
    found = newton_starts(problem, beta)
    seeds = merge(np.vstack([np.zeros(problem.dimension), found]), tol=1e-7)
    group = symmetries(problem, beta)
    states = merge(polish(problem, close_under(group, seeds), beta), tol=1e-6)
    return {
        "beta": beta,
        "n": len(states),
        "symmetry_order": len(group),
        "n_starts": N_STARTS,
        **classify(problem, states, beta),
    }
